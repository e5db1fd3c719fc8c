// A worker's end of WebRTC: it asks its RtcHost (on the page, or the process's main thread) for
// data channels to peers, gets the channels peers open to it, and carries the hosts' signalling
// through its scheduler connection. The two ends talk over a bridge (postMessage); a channel comes
// over it either itself (transferred: a browser's Web Worker) or as a MessagePort pipe.

import { ConnectError, TimeoutError } from "../errors.js";
import {
  dataChannelSocket,
  DATA_CHANNEL_HIGH_WATER_BYTES,
  DATA_CHANNEL_MESSAGE_BYTES,
  pipeDataChannel,
  portSocket,
  type DataChannelLike,
  type PortLike,
} from "./datachannel.js";
import type { Logger } from "../log.js";
import type { RtcConfig } from "../protocol/messages.js";
import { RtcHost, type PeerConnectionLike, type RtcDelivery, type RtcSignal } from "./rtc-host.js";
import { SocketChannel, type SocketLike } from "./socket.js";
import type { Channel, Transfer, TransportOptions } from "./types.js";
import { socketOptions } from "./ws.js";

/** What a worker and its host tell each other. */
export type BridgeMessage =
  // worker → host
  | { rtc: "init"; self: string }
  /** The cluster's WebRTC settings (from the scheduler's welcome), for connections made from now on. */
  | { rtc: "config"; config: RtcConfig }
  | { rtc: "dial"; id: number; peer: string }
  | { rtc: "settled"; id: number }
  | { rtc: "signal-in"; from: string; data: RtcSignal }
  | { rtc: "close" }
  // host → worker
  | { rtc: "signal-out"; to: string; data: RtcSignal }
  | { rtc: "channel"; peer: string; id?: number | undefined; channel?: DataChannelLike; port?: PortLike }
  | { rtc: "failed"; id: number; reason: string };

/** One end of the bridge. */
export interface BridgeEnd {
  post(message: BridgeMessage, transfer?: Transfer[]): void;
  /** Sets the receiver of the other end's messages. */
  receive(handler: (message: BridgeMessage) => void): void;
}

/** Whether a message on a shared postMessage channel is bridge traffic. */
export function isBridgeMessage(m: unknown): m is BridgeMessage {
  return typeof m === "object" && m !== null && typeof (m as { rtc?: unknown }).rtc === "string";
}

/**
 * A bridge end over a postMessage channel shared with other traffic: it sends with `post`, and
 * `take` hands it each message from the other side, returning whether it was bridge traffic.
 */
export function bridgeEnd(
  post: (m: BridgeMessage, transfer: Transfer[]) => void,
): BridgeEnd & { take(m: unknown): m is BridgeMessage } {
  let handler: (m: BridgeMessage) => void = () => {};
  return {
    post: (m, transfer) => post(m, transfer ?? []),
    receive: (h) => (handler = h),
    take(m): m is BridgeMessage {
      if (!isBridgeMessage(m)) return false;
      handler(m);
      return true;
    },
  };
}

interface Dial {
  resolve(channel: Channel): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
  /** Channels delivered for it and not open yet: closed if the dial fails. */
  sockets: SocketLike[];
}

export class RtcLink {
  /** Set by the worker: sends a signalling message to the worker at `to` through the scheduler. */
  onSignal: (to: string, data: RtcSignal) => void = () => {};
  /** Set by the worker: a channel a peer opened to this worker (it gets the data-server handshake). */
  onChannel: (channel: Channel) => void = (c) => c.close("not accepting");
  private readonly dials = new Map<number, Dial>();
  private nextId = 0;
  private closed = false;

  constructor(
    private readonly bridge: BridgeEnd,
    private readonly self: string,
    private readonly transport: TransportOptions = {},
  ) {
    bridge.receive((m) => this.fromHost(m));
    bridge.post({ rtc: "init", self });
  }

  /** Uses the cluster's WebRTC settings for connections made from now on. */
  configure(config: RtcConfig): void {
    if (!this.closed) this.bridge.post({ rtc: "config", config });
  }

  /** A signalling message for this worker's host, from the worker at `from`. */
  signal(from: string, data: RtcSignal): void {
    if (!this.closed) this.bridge.post({ rtc: "signal-in", from, data });
  }

  /** A data channel to the worker whose data server is at `peer`, open; rejects after `timeoutMs`. */
  dial(peer: string, timeoutMs: number): Promise<Channel> {
    if (this.closed) return Promise.reject(new ConnectError("WebRTC is closed"));
    const id = ++this.nextId;
    return new Promise<Channel>((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(id, new TimeoutError(`no WebRTC link to ${peer} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.dials.set(id, { resolve, reject, timer, sockets: [] });
      this.bridge.post({ rtc: "dial", id, peer });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.dials.keys()]) this.fail(id, new ConnectError("WebRTC closed"));
    this.bridge.post({ rtc: "close" });
  }

  private fail(id: number, err: Error): void {
    const d = this.dials.get(id);
    if (!d) return;
    this.dials.delete(id);
    clearTimeout(d.timer);
    for (const s of d.sockets) s.close(1000, err.message);
    if (!this.closed) this.bridge.post({ rtc: "settled", id });
    d.reject(err);
  }

  private fromHost(m: BridgeMessage): void {
    if (m.rtc === "signal-out") {
      if (!this.closed) this.onSignal(m.to, m.data);
    } else if (m.rtc === "failed") {
      this.fail(m.id, new ConnectError(m.reason));
    } else if (m.rtc === "channel") {
      const socket = m.channel
        ? dataChannelSocket(m.channel)
        : m.port
          ? portSocket(m.port, this.transport.logger)
          : null;
      if (socket) this.whenOpen(socket, m.peer, m.id);
    }
  }

  /**
   * Once the channel is open: the worker gets it as incoming, or the dial it answers resolves. The
   * accepting end first sends READY, and the dialing end sends nothing before it hears it: a
   * message that reached a tab's channel while the page was handing it to the Web Worker could be
   * lost (seen in Chromium 156: a peer's hello never arrived).
   */
  private whenOpen(inner: OpenableSocket, peer: string, id: number | undefined): void {
    if (this.closed) return inner.close(1000, "closed");
    const make = (socket: SocketLike) => {
      const options = {
        ...socketOptions(this.transport),
        chunkBytes: DATA_CHANNEL_MESSAGE_BYTES,
        highWaterBytes: DATA_CHANNEL_HIGH_WATER_BYTES,
      };
      return new SocketChannel(socket, this.self, peer, "webrtc", options);
    };
    const socket = gated(inner, id !== undefined);
    let opened = false;
    const ready = () => {
      // Once: Chromium may fire a second open event on a channel it announced open (datachannel.ts).
      if (opened) return;
      opened = true;
      if (id === undefined) {
        inner.send(READY);
        return this.onChannel(make(socket));
      }
      socket.onReady = () => {
        const d = this.dials.get(id);
        if (!d) return socket.close(1000, "not wanted any more");
        this.dials.delete(id);
        clearTimeout(d.timer);
        // Channels made for this dial on a connection that was replaced will never open.
        for (const other of d.sockets) if (other !== inner) other.close(1000, "replaced");
        this.bridge.post({ rtc: "settled", id });
        d.resolve(make(socket));
      };
    };
    // A channel that closes before it opens (its connection was replaced after glare) is dropped
    // quietly: the host opens a new one for the same dial, or says it failed.
    if (inner.readyState === 1) return ready();
    inner.addEventListener("open", ready);
    if (id !== undefined) this.dials.get(id)?.sockets.push(inner);
  }
}

type OpenableSocket = SocketLike & { addEventListener(type: "open", l: () => void): void };

/** What the accepting end of a data channel sends first: "listening, go ahead". */
const READY = new Uint8Array([0x6d]);

/**
 * `inner` with its first message taken for READY when `awaitReady` (then `onReady` runs); every
 * later message, and the first when not awaiting, goes to the socket's own message listeners.
 */
function gated(inner: OpenableSocket, awaitReady: boolean): SocketLike & { onReady: () => void } {
  const listeners: ((e: { data: unknown }) => void)[] = [];
  let waiting = awaitReady;
  const socket = {
    onReady: () => {},
    get readyState() {
      return inner.readyState;
    },
    get bufferedAmount() {
      return inner.bufferedAmount;
    },
    closeLingerMs: inner.closeLingerMs,
    get binaryType() {
      return inner.binaryType;
    },
    set binaryType(t: string) {
      inner.binaryType = t;
    },
    send: (data: Uint8Array) => inner.send(data),
    close: (code?: number, reason?: string) => inner.close(code, reason),
    whenDrained: inner.whenDrained?.bind(inner),
    addEventListener(type: string, listener: (e: never) => void) {
      if (type === "message") listeners.push(listener as (e: { data: unknown }) => void);
      else (inner.addEventListener as (t: string, l: unknown) => void).call(inner, type, listener);
    },
  };
  inner.addEventListener("message", (e) => {
    if (waiting) {
      waiting = false;
      const d = e.data;
      const isReady =
        (d instanceof ArrayBuffer || ArrayBuffer.isView(d)) &&
        d.byteLength === 1 &&
        new Uint8Array(d instanceof ArrayBuffer ? d : d.buffer, d instanceof ArrayBuffer ? 0 : d.byteOffset, 1)[0] ===
          READY[0];
      if (isReady) return socket.onReady();
      return inner.close(1002, "protocol error: expected the data channel's ready message");
    }
    for (const l of listeners) l(e);
  });
  return socket as SocketLike & { onReady: () => void };
}

export interface BridgeHostOptions {
  /** Makes RTCPeerConnections; loaded when first needed (node-datachannel is a native module). */
  load(): Promise<(config: RtcConfig) => PeerConnectionLike>;
  /** "channel": hand the RTCDataChannel itself over (a browser's Web Worker); "pipe": a MessagePort pipe. */
  transfer: "channel" | "pipe";
  connectTimeoutMs?: number | undefined;
  /** Where the host's diagnostics go (a failed connection). Default: the realm's logger. */
  logger?: Logger | undefined;
}

/**
 * Serves a worker's bridge: an RtcHost for it, made when the first channel or offer needs one.
 * Channels go to the worker transferred where the platform can, else through a pipe.
 */
export function serveBridge(bridge: BridgeEnd, options: BridgeHostOptions): { close(): void } {
  let self = "";
  let config: RtcConfig = {};
  let host: RtcHost | null = null;
  let loading: Promise<void> | null = null;
  let unavailable = "";
  let closed = false;
  const queue: BridgeMessage[] = [];
  const failed = (id: number, reason: string) => bridge.post({ rtc: "failed", id, reason });
  const deliver = ({ peer, id, channel }: RtcDelivery) => {
    if (options.transfer === "channel") {
      try {
        bridge.post({ rtc: "channel", peer, id, channel }, [channel]);
        return;
      } catch {
        // This browser cannot transfer data channels: pipe it instead.
      }
    }
    const { port1, port2 } = new MessageChannel();
    pipeDataChannel(channel, port1 as unknown as PortLike);
    bridge.post({ rtc: "channel", peer, id, port: port2 as unknown as PortLike }, [port2]);
  };
  const handle = (m: BridgeMessage) => {
    if (m.rtc === "dial") {
      if (host) host.dial(m.id, m.peer);
      else failed(m.id, `WebRTC is not available here: ${unavailable}`);
    } else if (m.rtc === "settled") host?.settled(m.id);
    else if (m.rtc === "signal-in") {
      if (host) host.signal(m.from, m.data);
      else if (m.data.kind === "offer")
        bridge.post({
          rtc: "signal-out",
          to: m.from,
          data: { pc: m.data.pc, kind: "refused", reason: `WebRTC is not available at ${self}: ${unavailable}` },
        });
    }
  };
  const load = () =>
    (loading ??= options
      .load()
      .then(
        (create) => {
          if (closed) return;
          host = new RtcHost({
            self,
            createPeerConnection: () => create(config),
            signal: (to, data) => bridge.post({ rtc: "signal-out", to, data }),
            deliver,
            failed,
            connectTimeoutMs: options.connectTimeoutMs,
            logger: options.logger,
          });
        },
        (err: Error) => {
          unavailable = err.message;
        },
      )
      .then(() => {
        for (const m of queue.splice(0)) handle(m);
      }));
  bridge.receive((m) => {
    if (closed) return;
    if (m.rtc === "init") self = m.self;
    else if (m.rtc === "config") config = m.config;
    else if (m.rtc === "close") {
      closed = true;
      host?.close();
    } else if (host || unavailable) handle(m);
    else {
      queue.push(m);
      void load();
    }
  });
  return {
    close() {
      closed = true;
      host?.close();
    },
  };
}
