// WebRTC ends for tests in one process or one page: a worker's RtcLink and its host, joined by a
// bridge, and signalling between ends by name: the part the scheduler plays in a cluster. The data
// channels are real: node-datachannel in Node, the browser's own RTCPeerConnection in Chromium.

import { registerTransport } from "../../src/comm/registry.js";
import type { Channel } from "../../src/comm/types.js";
import {
  RtcLink,
  bridgeEnd,
  serveBridge,
  type BridgeEnd,
  type BridgeHostOptions,
  type BridgeMessage,
} from "../../src/comm/rtc-link.js";
import type { PeerConnectionLike, RtcSignal } from "../../src/comm/rtc-host.js";
import type { RtcConfig } from "../../src/protocol/messages.js";
import { countResources } from "./leaks.js";

export interface RtcPlatform {
  /** Makes peer connections (node-datachannel's polyfill, or the browser's RTCPeerConnection). */
  load(): Promise<(config: RtcConfig) => PeerConnectionLike>;
  /**
   * "channel": the bridge is a real MessageChannel and each data channel crosses it transferred,
   * as a page hands channels to its Web Worker. "pipe": the bridge is in memory and each data
   * channel reaches the link through a MessagePort pipe, as a Node main thread serves its threads.
   */
  transfer: "channel" | "pipe";
}

export interface RtcEnd {
  link: RtcLink;
  /** Bridge messages seen, both ways, for assertions. */
  seen: BridgeMessage[];
  close(): void;
}

/** Passes one signalling message on (a test may hold some back). */
export type Relay = (to: string, data: RtcSignal, pass: () => void) => void;

export interface RtcEnds {
  platform: RtcPlatform;
  /** An end named `self`; signalling reaches other ends of this family by name. */
  end(self: string, options?: Partial<BridgeHostOptions>, relay?: Relay): RtcEnd;
  /** Peer connections made and not closed yet (also counted by the leak checks). */
  open: Set<PeerConnectionLike>;
}

/** A family of ends that can reach each other. */
export function rtcEnds(platform: RtcPlatform): RtcEnds {
  const links = new Map<string, RtcLink>();
  const open = new Set<PeerConnectionLike>();
  countResources("RTCPeerConnection", () => open.size);
  const load = async () => {
    const make = await platform.load();
    return (config: RtcConfig) => {
      const pc = make(config);
      open.add(pc);
      const close = pc.close.bind(pc);
      pc.close = () => {
        open.delete(pc);
        close();
      };
      return pc;
    };
  };
  const end = (
    self: string,
    options: Partial<BridgeHostOptions> = {},
    relay: Relay = (_to, _data, pass) => pass(),
  ): RtcEnd => {
    const seen: BridgeMessage[] = [];
    const [hostEnd, workerEnd, closeBridge] = platform.transfer === "channel" ? portBridge(seen) : memoryBridge(seen);
    const served = serveBridge(hostEnd, { load, transfer: platform.transfer, ...options });
    const link = new RtcLink(workerEnd, self);
    link.onSignal = (to, data) => {
      const peer = links.get(to);
      if (peer) relay(to, data, () => peer.signal(self, data));
      else if (data.kind !== "refused" && data.kind !== "bye")
        queueMicrotask(() => link.signal(to, { pc: data.pc, kind: "refused", reason: `nobody at ${to}` }));
    };
    links.set(self, link);
    return {
      link,
      seen,
      close() {
        if (links.get(self) === link) links.delete(self);
        link.close();
        served.close();
        closeBridge();
      },
    };
  };
  return { platform, end, open };
}

/** Host and worker ends in memory, each message delivered in a later microtask. */
function memoryBridge(seen: BridgeMessage[]): [BridgeEnd, BridgeEnd, () => void] {
  let toHost: (m: BridgeMessage) => void = () => {};
  let toWorker: (m: BridgeMessage) => void = () => {};
  const workerEnd: BridgeEnd = {
    post: (m) => (seen.push(m), queueMicrotask(() => toHost(m))),
    receive: (h) => (toWorker = h),
  };
  const hostEnd: BridgeEnd = {
    post: (m) => (seen.push(m), queueMicrotask(() => toWorker(m))),
    receive: (h) => (toHost = h),
  };
  return [hostEnd, workerEnd, () => {}];
}

/** Host and worker ends on the two ports of a MessageChannel: what is transferred really moves. */
function portBridge(seen: BridgeMessage[]): [BridgeEnd, BridgeEnd, () => void] {
  const { port1, port2 } = new MessageChannel();
  const hostEnd = bridgeEnd((m, transfer) => (seen.push(m), port1.postMessage(m, transfer)));
  const workerEnd = bridgeEnd((m, transfer) => (seen.push(m), port2.postMessage(m, transfer)));
  port1.onmessage = (e) => hostEnd.take(e.data);
  port2.onmessage = (e) => workerEnd.take(e.data);
  return [hostEnd, workerEnd, () => (port1.close(), port2.close())];
}

/**
 * Registers `scheme` as a transport over WebRTC ends, for the conformance suite: listen() makes an
 * end that accepts channels; connect() dials from one shared end, so connections reuse its peer
 * connections. Returns a function that closes the shared end.
 */
export function registerRtcTransport(scheme: string, ends: RtcEnds): () => void {
  let dialer: RtcEnd | null = null;
  registerTransport({
    scheme,
    async listen(address, onChannel) {
      const end = ends.end(address);
      end.link.onChannel = onChannel;
      return { address, close: async () => end.close() };
    },
    connect(address, options): Promise<Channel> {
      dialer ??= ends.end(`${scheme}://dialer`);
      return dialer.link.dial(address, options.timeoutMs ?? 5_000);
    },
  });
  return () => dialer?.close();
}

/** Signalling that loses every ICE candidate (in SDP too), so no connection can be made: for timeouts and fallbacks. */
export const muteRelay: Relay = (_to, data, pass) => {
  if (data.kind === "candidate") return;
  if (data.kind === "offer" || data.kind === "answer")
    data.sdp = data.sdp.replace(/^a=candidate:.*\r?\n/gm, "").replace(/^a=end-of-candidates\r?\n/gm, "");
  pass();
};
