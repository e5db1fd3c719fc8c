// meshwork's browser entry: the shared API (Client, futures, asCompleted, errors, and the
// in-page Scheduler and Worker), with the browser's WebSocket for ws:// and wss:// addresses. Browser tabs as workers, the worker page and the WebRTC transport
// come with the browser work; this entry is the same web-standard core that Node runs.

import { registerTransport } from "../src/comm/registry.js";
import type { SocketLike } from "../src/comm/socket.js";
import { wsTransport } from "../src/comm/ws.js";
import { setPathResolver } from "../src/io/store.js";
import { setReceiveAhead } from "../src/util/receive-buffers.js";

// The browser's own WebSocket: clients in a page connect to ws:// and wss:// schedulers.
const open = (url: string) => new WebSocket(url) as unknown as SocketLike;
registerTransport(wsTransport({ open }, "ws"));
registerTransport(wsTransport({ open }, "wss"));
// A page's links run at tens of MB/s (WebSocket, relay, WebRTC): a large frame takes seconds, the
// milliseconds a buffer made ready ahead saves do not show, and the tab's memory does.
setReceiveAhead(false);
// A relative store path means what a link in the page means: `fromZarr("data/air.zarr")` on
// https://host/app/ reads https://host/app/data/air.zarr (a Web Worker: its script's address).
if (typeof location !== "undefined") setPathResolver((path) => new URL(path, location.href).href);

export * from "../src/index.js";
