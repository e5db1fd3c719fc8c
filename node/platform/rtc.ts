// WebRTC in Node: node-datachannel (libdatachannel, through its standard-API polyfill) on the
// process's main thread, which is the only thread it can run on. Worker threads reach it over a
// bridge on their thread port, and get their data channels as MessagePort pipes (chunks cross by
// transfer). Loaded when the first WebRTC link is wanted: a cluster without browser tabs never
// loads the native module.

import type { MessagePort, Worker as Thread } from "node:worker_threads";
import type { PeerConnectionLike } from "../../src/comm/rtc-host.js";
import type { Logger } from "../../src/log.js";
import type { RtcConfig } from "../../src/protocol/messages.js";
import { bridgeEnd, serveBridge, type BridgeEnd } from "../../src/comm/rtc-link.js";

/**
 * Makes RTCPeerConnections with node-datachannel, with the cluster's ICE settings (by default none:
 * host candidates only, no STUN server contacted).
 * When the last connection has closed, the library's threads are stopped (they would keep the
 * process from exiting now and then); it starts them again for the next connection.
 */
export async function nodePeerConnections(): Promise<(config?: RtcConfig) => PeerConnectionLike> {
  let lib: { polyfill: typeof import("node-datachannel/polyfill"); cleanup(): void };
  try {
    const [polyfill, core] = await Promise.all([import("node-datachannel/polyfill"), import("node-datachannel")]);
    lib = { polyfill, cleanup: core.default.cleanup };
  } catch (err) {
    throw new Error(`node-datachannel could not be loaded (${(err as Error).message})`);
  }
  return (config = {}) => {
    const pc = new lib.polyfill.RTCPeerConnection({
      iceServers: config.iceServers ?? [],
      iceTransportPolicy: config.iceTransportPolicy ?? "all",
    }) as unknown as PeerConnectionLike;
    live++;
    const close = pc.close.bind(pc);
    let closed = false;
    pc.close = () => {
      close();
      if (closed) return;
      closed = true;
      if (--live === 0) setTimeout(() => live === 0 && lib.cleanup(), IDLE_CLEANUP_MS).unref();
    };
    return pc;
  };
}

let live = 0;
/** How long after its last connection closed node-datachannel is stopped (channels finish closing first). */
const IDLE_CLEANUP_MS = 200;

/** Serves the bridge of the worker in `thread` from this (main) thread. Returns a stop function. */
export function serveThreadBridge(thread: Thread, logger?: Logger): () => void {
  const bridge = bridgeEnd((m, transfer) => thread.postMessage(m, transfer as never));
  const onMessage = (m: unknown) => bridge.take(m);
  thread.on("message", onMessage);
  const served = serveBridge(bridge, { load: nodePeerConnections, transfer: "pipe", logger });
  return () => {
    thread.off("message", onMessage);
    served.close();
  };
}

/** The worker thread's end of its bridge, over its port to the main thread. */
export function threadBridge(port: MessagePort): BridgeEnd {
  const bridge = bridgeEnd((m, transfer) => port.postMessage(m, transfer as never));
  port.on("message", (m: unknown) => bridge.take(m));
  return bridge;
}

/** Node workers use WebRTC for browser tabs (which listen through the relay); other Node workers by WebSocket. */
export const nodeUsesWebRtcFor = (address: string): boolean =>
  address.startsWith("relay://") || address.startsWith("relays://");
