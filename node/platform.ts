// Node's pieces for the isomorphic core: yielding to the event loop, the bundler that
// client.upload uses, and the WebSocket transport (the `ws` package). Imported by every Node entry point.

import { registerTransport, setClientPlatform, wsTransport } from "../src/internal.js";
import { bundleModule } from "./bundle.js";
import { listenWs, openWs } from "./ws-listen.js";

/** Lets pending I/O run: setImmediate runs after I/O callbacks, without a timer's minimum delay. */
export function nodeYield(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

setClientPlatform({ bundle: bundleModule });
registerTransport(wsTransport({ open: openWs, listen: listenWs }, "ws"));
registerTransport(wsTransport({ open: openWs, listen: listenWs }, "wss"));
