// The owner of a worker's RTCPeerConnections: one per peer worker, reused for every data channel
// between the two (Chromium allows 500 per tab over its lifetime). It runs where
// RTCPeerConnection exists (a browser tab's page, a Node process's main thread with
// node-datachannel), while the worker it serves runs elsewhere (a Web Worker, a worker thread):
// the worker asks for channels (dial), the host hands them over (deliver) and passes signalling
// messages to and from it; the worker relays those through its scheduler connection.
//
// Negotiation: whoever needs a channel first makes the connection and offers. If both offered at
// once (glare), the end with the smaller address keeps its offer and the other drops its own
// connection, answers, and opens its pending channels on the answered one. ICE candidates that
// arrive before the remote description is set are held, then added in order.

import { type Logger, realmLogger } from "../log.js";
import type { RtcSignal } from "../protocol/messages.js";
import type { DataChannelLike } from "./datachannel.js";

export type { RtcSignal };

/** The part of the standard RTCPeerConnection used here (the browser's or node-datachannel's polyfill). */
export interface PeerConnectionLike {
  readonly connectionState: string;
  readonly localDescription: { type: string; sdp: string } | null;
  readonly sctp?: SctpTransportLike | null;
  createDataChannel(label: string): DataChannelLike;
  createOffer(): Promise<{ type: string; sdp?: string }>;
  createAnswer(): Promise<{ type: string; sdp?: string }>;
  setLocalDescription(d: { type: string; sdp?: string }): Promise<void>;
  setRemoteDescription(d: { type: string; sdp: string }): Promise<void>;
  addIceCandidate(c: {
    candidate: string;
    sdpMid?: string | null | undefined;
    sdpMLineIndex?: number | null | undefined;
  }): Promise<void>;
  close(): void;
  addEventListener(
    type: "icecandidate",
    l: (e: { candidate: { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null } | null }) => void,
  ): void;
  addEventListener(type: "datachannel", l: (e: { channel: DataChannelLike }) => void): void;
  addEventListener(type: "connectionstatechange", l: () => void): void;
}

/** RTCSctpTransport: its state turns "closed" as soon as the peer closes its connection. */
export interface SctpTransportLike {
  readonly maxMessageSize: number;
  readonly state?: string;
  addEventListener?(type: "statechange", l: () => void): void;
}

/** A channel for the worker: one it asked for (`id`), or one the peer opened to it (no id). */
export interface RtcDelivery {
  peer: string;
  id?: number | undefined;
  channel: DataChannelLike;
}

export interface RtcHostOptions {
  /** The worker's data-server address: its name in signalling. */
  self: string;
  createPeerConnection(): PeerConnectionLike;
  /** Sends a signalling message to the worker at `to` (through the scheduler). */
  signal(to: string, data: RtcSignal): void;
  /** Hands a new channel to the worker, at once (a transfer must happen before any send). */
  deliver(delivery: RtcDelivery): void;
  /** A channel the worker asked for cannot be made. */
  failed(id: number, reason: string): void;
  /** A connection not up within this long is given up. Default 10 s. */
  connectTimeoutMs?: number;
  /** Where the host's diagnostics go. Default: the realm's logger (setLogger). */
  logger?: Logger | undefined;
}

interface Pair {
  pcId: string;
  pc: PeerConnectionLike;
  offerer: boolean;
  remoteSet: boolean;
  held: Extract<RtcSignal, { kind: "candidate" }>["candidate"][];
  /** Channels asked for and not yet known to be up: opened again on a replacement connection. */
  pending: Set<number>;
  timer: ReturnType<typeof setTimeout>;
  /** The connection has been up (a failure after that is final). */
  connected: boolean;
  /** 1 for the first connection to this peer, 2 for its retry. */
  attempt: number;
}

let nextPc = 0;
const MAX_ATTEMPTS = 2;

export class RtcHost {
  private readonly pairs = new Map<string, Pair>();
  private closed = false;

  private readonly log: Logger;

  constructor(private readonly options: RtcHostOptions) {
    this.log = options.logger ?? realmLogger;
  }

  /** Opens data channel `id` to `peer`, connecting first if there is no connection yet. */
  dial(id: number, peer: string): void {
    if (this.closed) return this.options.failed(id, "closed");
    const pair = this.pairs.get(peer);
    if (pair) {
      pair.pending.add(id);
      return this.open(pair, peer, id);
    }
    const fresh = this.makePair(peer, `${this.options.self}#${++nextPc}`, true);
    fresh.pending.add(id);
    this.open(fresh, peer, id); // before the offer: the offer must describe the data channels
    void this.offer(fresh, peer);
  }

  /** The worker has its channel `id` (open, or given up): forget it. */
  settled(id: number): void {
    for (const pair of this.pairs.values()) pair.pending.delete(id);
  }

  /** A signalling message from the host of the worker at `from`. */
  signal(from: string, data: RtcSignal): void {
    if (this.closed) return;
    const pair = this.pairs.get(from);
    switch (data.kind) {
      case "offer":
        if (pair?.pcId === data.pc) return;
        if (pair?.offerer && !pair.remoteSet && this.options.self < from) return; // glare: ours stands
        return void this.answer(from, data.pc, data.sdp, pair);
      case "answer":
        if (!pair || pair.pcId !== data.pc || !pair.offerer || pair.remoteSet) return;
        return void this.remote(pair, from, { type: "answer", sdp: data.sdp }).catch((err: Error) =>
          this.drop(from, pair, `cannot use the answer: ${err.message}`, true),
        );
      case "candidate":
        if (!pair || pair.pcId !== data.pc) return;
        if (pair.remoteSet)
          void pair.pc
            .addIceCandidate(data.candidate)
            .catch((err: Error) => this.log.debug(`webrtc ${from}: candidate refused: ${err.message}`));
        else pair.held.push(data.candidate);
        return;
      case "refused":
      case "bye":
        if (pair?.pcId === data.pc) this.drop(from, pair, data.reason, false);
        return;
    }
  }

  /** Closes every connection. */
  close(): void {
    this.closed = true;
    for (const [peer, pair] of this.pairs) this.drop(peer, pair, "closed", true);
  }

  private retry(peer: string, failed: Pair): void {
    const carried = [...failed.pending];
    this.drop(peer, failed, "handshake failed, trying again", true, true);
    const pair = this.makePair(peer, `${this.options.self}#${++nextPc}`, true, failed.attempt + 1);
    for (const id of carried) {
      pair.pending.add(id);
      this.open(pair, peer, id);
    }
    void this.offer(pair, peer);
  }

  private makePair(peer: string, pcId: string, offerer: boolean, attempt = 1): Pair {
    const pc = this.options.createPeerConnection();
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    const pair: Pair = {
      pcId,
      pc,
      offerer,
      remoteSet: false,
      held: [],
      pending: new Set(),
      timer: setTimeout(() => this.drop(peer, pair, `no connection within ${timeoutMs} ms`, true), timeoutMs),
      connected: false,
      attempt,
    };
    this.pairs.set(peer, pair);
    pc.addEventListener("icecandidate", (e) => {
      if (e.candidate?.candidate && this.pairs.get(peer) === pair) {
        const { candidate, sdpMid, sdpMLineIndex } = e.candidate;
        this.options.signal(peer, { pc: pcId, kind: "candidate", candidate: { candidate, sdpMid, sdpMLineIndex } });
      }
    });
    pc.addEventListener("datachannel", (e) => {
      if (this.pairs.get(peer) === pair) this.options.deliver({ peer, channel: e.channel });
      else e.channel.close();
    });
    pc.addEventListener("connectionstatechange", () => {
      const state = pc.connectionState;
      if (state === "connected") {
        pair.connected = true;
        clearTimeout(pair.timer);
        // A peer that closes its connection (a worker leaving) says so on SCTP at once; the
        // connection state would take 15 s in Chromium to turn "failed".
        const sctp = pc.sctp;
        sctp?.addEventListener?.("statechange", () => {
          if (sctp.state === "closed") this.drop(peer, pair, "the peer closed the connection", false);
        });
      } else if (state === "failed" || state === "closed") {
        // A first handshake that fails is tried once more on a fresh connection (libdatachannel
        // now and then fails a DTLS handshake between two of its own connections in one process).
        if (
          !pair.connected &&
          pair.offerer &&
          pair.attempt < MAX_ATTEMPTS &&
          pair.pending.size > 0 &&
          this.pairs.get(peer) === pair
        )
          return this.retry(peer, pair);
        // A working connection that fails takes its channels down without a goodbye: say so.
        if (pair.connected && state === "failed" && this.pairs.get(peer) === pair)
          this.log.warn(`webrtc ${peer}: the connection failed; its channels close`);
        this.drop(peer, pair, `connection ${state}`, state === "failed");
      }
    });
    return pair;
  }

  private open(pair: Pair, peer: string, id: number): void {
    let channel: DataChannelLike;
    try {
      channel = pair.pc.createDataChannel(`meshwork-${id}`);
    } catch (err) {
      pair.pending.delete(id);
      return this.options.failed(id, `cannot open a data channel to ${peer}: ${(err as Error).message}`);
    }
    this.options.deliver({ peer, id, channel });
  }

  private async offer(pair: Pair, peer: string): Promise<void> {
    try {
      const offer = await pair.pc.createOffer();
      await pair.pc.setLocalDescription(offer);
      if (this.pairs.get(peer) !== pair) return;
      this.options.signal(peer, {
        pc: pair.pcId,
        kind: "offer",
        sdp: pair.pc.localDescription?.sdp ?? offer.sdp ?? "",
      });
    } catch (err) {
      this.drop(peer, pair, `cannot make an offer: ${(err as Error).message}`, true);
    }
  }

  private async answer(peer: string, pcId: string, sdp: string, previous: Pair | undefined): Promise<void> {
    // A new offer replaces whatever was there: our own losing offer, or a connection the peer gave up.
    const carried = previous ? [...previous.pending] : [];
    if (previous) this.drop(peer, previous, "replaced by the peer's offer", false, true);
    const pair = this.makePair(peer, pcId, false);
    try {
      await this.remote(pair, peer, { type: "offer", sdp });
      const answer = await pair.pc.createAnswer();
      await pair.pc.setLocalDescription(answer);
      if (this.pairs.get(peer) !== pair) return;
      this.options.signal(peer, { pc: pcId, kind: "answer", sdp: pair.pc.localDescription?.sdp ?? answer.sdp ?? "" });
      for (const id of carried) {
        pair.pending.add(id);
        this.open(pair, peer, id);
      }
    } catch (err) {
      this.drop(peer, pair, `cannot answer: ${(err as Error).message}`, true);
    }
  }

  private async remote(pair: Pair, peer: string, d: { type: string; sdp: string }): Promise<void> {
    // libdatachannel sets its local description on a thread of its own; a description from the
    // peer that arrives first is refused ("remote candidate without ICE transport"): try again shortly.
    for (let attempt = 1; ; attempt++) {
      try {
        await pair.pc.setRemoteDescription(d);
        break;
      } catch (err) {
        if (attempt >= 4 || this.pairs.get(peer) !== pair) throw err;
        await new Promise((r) => setTimeout(r, 10 * attempt));
      }
    }
    pair.remoteSet = true;
    for (const c of pair.held.splice(0)) {
      await pair.pc
        .addIceCandidate(c)
        .catch((err: Error) => this.log.debug(`webrtc ${peer}: held candidate refused: ${err.message}`));
    }
  }

  /** Closes a connection; its pending channels fail (unless `quiet`: they move to a replacement). */
  private drop(peer: string, pair: Pair, reason: string, tellPeer: boolean, quiet = false): void {
    if (this.pairs.get(peer) !== pair) return;
    this.pairs.delete(peer);
    clearTimeout(pair.timer);
    if (tellPeer) this.options.signal(peer, { pc: pair.pcId, kind: "bye", reason });
    if (!quiet) for (const id of pair.pending) this.options.failed(id, `WebRTC to ${peer}: ${reason}`);
    pair.pending.clear();
    try {
      pair.pc.close();
    } catch {
      // already closed
    }
  }
}
