// WebRTC ends for tests in one Node process: a worker's RtcLink and its host (node-datachannel),
// joined by an in-memory bridge, and signalling between ends by name: the part the scheduler plays
// in a cluster. The data channels are real (libdatachannel over loopback).

import { nodePeerConnections } from "../../node/rtc.js";
import { RtcLink, serveBridge, type BridgeEnd, type BridgeHostOptions, type BridgeMessage } from "../../src/comm/rtc-link.js";
import type { PeerConnectionLike, RtcSignal } from "../../src/comm/rtc-host.js";

const ends = new Map<string, RtcLink>();

/** Peer connections made and not closed yet, by state: each test should leave none. */
export const openPeerConnections = new Set<PeerConnectionLike>();
async function countedPeerConnections(): Promise<() => PeerConnectionLike> {
  const make = await nodePeerConnections();
  return () => {
    const pc = make();
    openPeerConnections.add(pc);
    const close = pc.close.bind(pc);
    pc.close = () => {
      openPeerConnections.delete(pc);
      close();
    };
    return pc;
  };
}

export interface RtcEnd {
  link: RtcLink;
  /** Bridge messages seen, both ways, for assertions. */
  seen: BridgeMessage[];
  close(): void;
}

/** Passes one signalling message on (a test may hold some back). */
export type Relay = (to: string, data: RtcSignal, pass: () => void) => void;

export function rtcEnd(self: string, options: Partial<BridgeHostOptions> = {}, relay: Relay = (_to, _data, pass) => pass()): RtcEnd {
  let toHost: (m: BridgeMessage) => void = () => {};
  let toWorker: (m: BridgeMessage) => void = () => {};
  const seen: BridgeMessage[] = [];
  const workerEnd: BridgeEnd = { post: (m) => (seen.push(m), queueMicrotask(() => toHost(m))), receive: (h) => (toWorker = h) };
  const hostEnd: BridgeEnd = { post: (m) => (seen.push(m), queueMicrotask(() => toWorker(m))), receive: (h) => (toHost = h) };
  const served = serveBridge(hostEnd, { load: countedPeerConnections, transfer: "pipe", ...options });
  const link = new RtcLink(workerEnd, self);
  link.onSignal = (to, data) => {
    const peer = ends.get(to);
    if (peer) relay(to, data, () => peer.signal(self, data));
    else if (data.kind !== "refused" && data.kind !== "bye") queueMicrotask(() => link.signal(to, { pc: data.pc, kind: "refused", reason: `nobody at ${to}` }));
  };
  ends.set(self, link);
  return {
    link,
    seen,
    close() {
      if (ends.get(self) === link) ends.delete(self);
      link.close();
      served.close();
    },
  };
}

/** Signalling that loses every ICE candidate (in SDP too), so no connection can be made: for timeouts and fallbacks. */
export const muteRelay: Relay = (_to, data, pass) => {
  if (data.kind === "candidate") return;
  if (data.kind === "offer" || data.kind === "answer") data.sdp = data.sdp.replace(/^a=candidate:.*\r?\n/gm, "").replace(/^a=end-of-candidates\r?\n/gm, "");
  pass();
};
