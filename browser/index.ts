// meshwork's browser entry: the shared API (Client, futures, asCompleted, errors, and the
// in-page Scheduler and Worker), with the browser's WebSocket for ws:// and wss:// addresses. Browser tabs as workers, the worker page and the WebRTC transport
// come with the browser work; this entry is the same web-standard core that Node runs.

import { inprocTransport } from "../src/comm/inproc.js";
import { registerTransport } from "../src/comm/registry.js";
import { relayQuery, relayTransport } from "../src/comm/relay.js";
import type { SocketLike } from "../src/comm/socket.js";
import type { Transport } from "../src/comm/types.js";
import { openSocketChannel, wsTransport } from "../src/comm/ws.js";
import { setPathResolver } from "../src/io/store.js";
import { setReceiveAhead } from "../src/util/receive-buffers.js";
import { setPlatformWorkerKind } from "../src/worker/kind.js";

// The browser's own WebSocket: clients in a page connect to ws:// and wss:// schedulers.
const open = (url: string) => new WebSocket(url) as unknown as SocketLike;
registerTransport(relayTransport({ open }, "relay"));
registerTransport(relayTransport({ open }, "relays"));
// A client in a page reaches workers' data servers (a Node worker's ws://, the scheduler's own
// threads at inproc://) through its network scheduler's relay-to route, as tabs do: the page may
// connect to the scheduler's origin only (its CSP), and threads are not on the network at all. The
// client says which scheduler (`relayVia`, with the data token as `relayToken`); in-page clusters
// and addresses on the scheduler's origin are reached directly.
for (const direct of [wsTransport({ open }, "ws"), wsTransport({ open }, "wss"), inprocTransport]) {
  registerTransport({
    scheme: direct.scheme,
    listen: (address, onChannel, options) => direct.listen(address, onChannel, options),
    connect: (address, options) => {
      const via = options["relayVia"];
      if (typeof via !== "string" || address === via || address.startsWith(`${via}/`))
        return direct.connect(address, options);
      return openSocketChannel(
        { open },
        `${via}/relay-to/${encodeURIComponent(address)}${relayQuery(options)}`,
        address,
        "relay",
        options,
      );
    },
  } satisfies Transport);
}
// A page's links run at tens of MB/s (WebSocket, relay, WebRTC): a large frame takes seconds, the
// milliseconds a buffer made ready ahead saves do not show, and the tab's memory does.
setReceiveAhead(false);
// A relative store path means what a link in the page means: `fromZarr("data/air.zarr")` on
// https://host/app/ reads https://host/app/data/air.zarr (a Web Worker: its script's address).
if (typeof location !== "undefined") setPathResolver((path) => new URL(path, location.href).href);
// A Worker started in a page (or a Web Worker) runs on the browser: it says so, so the scheduler
// sends it the browser build of task modules, not the Node one.
setPlatformWorkerKind("browser");

export * from "../src/index.js";
