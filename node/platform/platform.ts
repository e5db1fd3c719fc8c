// Node's pieces for the isomorphic core: yielding to the event loop, the bundler that
// client.upload uses, where progress() draws (stderr, quiet under CI), and the WebSocket transport (the `ws` package). Imported by every Node entry point.
//
// The WebSocket transport, its compressor (Node's zlib, see deflate.ts) and `ws` itself load on
// first use of a ws:// or wss:// address: a LocalCluster uses in-process links only and should not
// pay for them at start.

import { setClientPlatform } from "../../src/client/platform.js";
import { registerTransport } from "../../src/comm/registry.js";
import { setReceiveAhead } from "../../src/util/receive-buffers.js";
import { setValidateByDefault } from "../../src/scheduler/validate.js";
import type { Transport, TransportOptions } from "../../src/comm/types.js";
import { bundleModule } from "./bundle.js";
import "../hosts/threads-scheduler.js"; // registers the "threads" scheduler
import "./io.js"; // file:// stores, and paths resolved against the working directory

/** Lets pending I/O run: setImmediate runs after I/O callbacks, without a timer's minimum delay. */
export function nodeYield(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The ws:// or wss:// transport (or relay:// over them, src/comm/relay.ts), loaded on first use. */
function lazyWs(scheme: "ws" | "wss" | "relay" | "relays"): Transport {
  let real: Promise<Transport> | null = null;
  const load = () =>
    (real ??= Promise.all([
      import("../../src/comm/ws.js"),
      import("./ws-listen.js"),
      import("../../src/protocol/compression.js"),
      import("./deflate.js"),
      import("../../src/comm/relay.js"),
    ]).then(([ws, node, compression, deflate, relay]) => {
      compression.setDeflate(deflate.zlibDeflate); // links of this thread compress with native zlib
      const t =
        scheme === "relay" || scheme === "relays"
          ? relay.relayTransport({ open: node.openWs }, scheme)
          : ws.wsTransport({ open: node.openWs, listen: node.listenWs }, scheme);
      // Node to Node: bigger messages than the browser default (see NODE_CHUNK_BYTES).
      const withChunks = (o: TransportOptions): TransportOptions => ({ chunkBytes: node.NODE_CHUNK_BYTES, ...o });
      return {
        scheme,
        listen: (a, on, o) => t.listen(a, on, withChunks(o)),
        connect: (a, o) => t.connect(a, withChunks(o)),
      } satisfies Transport;
    }));
  return {
    scheme,
    listen: async (address, onChannel, options) => (await load()).listen(address, onChannel, options),
    connect: async (address, options) => (await load()).connect(address, options),
  };
}

/** CI services set CI (to "true", "1", a name …); "false" and "0" say it is not one. */
function inCi(): boolean {
  const ci = process.env["CI"];
  return ci !== undefined && ci !== "" && ci !== "false" && ci !== "0";
}

setClientPlatform({ bundle: bundleModule, progressOutput: () => ({ stream: process.stderr, quiet: inCi() }) });
// Buffers for large incoming frames are prepared ahead (src/util/receive-buffers.ts); this turns it off.
if (process.env["MESHWORK_RECEIVE_AHEAD"] === "0") setReceiveAhead(false);
// Every scheduler checks its state after events (scheduler/validate.ts); scripts/test.mjs sets it.
if (process.env["MESHWORK_VALIDATE"] === "1") setValidateByDefault("sampled");
registerTransport(lazyWs("ws"));
registerTransport(lazyWs("wss"));
registerTransport(lazyWs("relay"));
registerTransport(lazyWs("relays"));
