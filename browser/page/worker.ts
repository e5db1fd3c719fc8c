// The compute Web Worker of the worker page: the same meshwork worker runtime as a Node thread,
// joined to the scheduler that served the page. Its data server listens through the scheduler's
// relay (a tab cannot accept connections); data servers of Node workers, on other ports, are
// reached through the scheduler's relay-to route, since the page may connect to its own origin
// only (its Content-Security-Policy). Links to other workers are WebRTC data channels, which the
// page makes (RTCPeerConnection exists only there) and hands over; where one cannot be made in
// time, the worker uses the relay, and says so.

import type { Transport } from "../../src/comm/types.js";
import { relayQuery, relayTransport } from "../../src/comm/relay.js";
import { bridgeEnd, type BridgeMessage } from "../../src/comm/rtc-link.js";
import type { SocketLike } from "../../src/comm/socket.js";
import { openSocketChannel } from "../../src/comm/ws.js";
import { ConnectError } from "../../src/errors.js";
import { consoleLogger, setLogger } from "../../src/log.js";
import { randomId } from "../../src/util/ids.js";
import { realmStores } from "../../src/io/store.js";
import { createRuntime } from "../../src/runtime.js";
import { Worker } from "../../src/worker/server.js";
import type { TabPeer, TabStatus, ToTabWorker } from "./protocol.js";

const secure = location.protocol === "https:";
const origin = `${secure ? "wss" : "ws"}://${location.host}`;
const ownOrigin = (url: string) => url === origin || url.startsWith(`${origin}/`);
const open = (url: string) => new WebSocket(url) as unknown as SocketLike;
const transports: Transport[] = [relayTransport({ open }, "relay"), relayTransport({ open }, "relays")];
// The scheduler is reached directly; every other data server (Node workers' ws://, worker threads
// of the scheduler's own process at inproc://) through the scheduler's relay-to route.
for (const scheme of ["ws", "wss", "inproc"]) {
  transports.push({
    scheme,
    connect: (address, options) =>
      ownOrigin(address)
        ? openSocketChannel({ open }, address, address, "ws", options)
        : openSocketChannel(
            { open },
            `${origin}/relay-to/${encodeURIComponent(address)}${relayQuery(options)}`,
            address,
            "relay",
            options,
          ),
    listen: (address) => Promise.reject(new ConnectError(`a browser worker cannot listen at ${address}`)),
  });
}

const name = `tab-${randomId(3)}`;
// The tab's worker's runtime (src/runtime.ts): its transports, its logger, and no receiving ahead
// (as in the browser entry, browser/index.ts: a page's links are too slow for it to show).
const runtime = createRuntime({
  transports,
  logger: consoleLogger("warn", name),
  receiveAhead: false,
  workerKind: "browser",
  client: null,
  stores: realmStores, // this realm runs one worker: readers handed no context find its credentials too
});
setLogger(runtime.logger); // for the realm's own code (Blosc's one-time line, what tasks log): this realm runs one worker
let worker: Worker | null = null;
const status: TabStatus = {
  state: "starting",
  name,
  workerId: "",
  tasksDone: 0,
  memory: 0,
  bytesIn: 0,
  bytesOut: 0,
  peers: [],
};

/**
 * One entry per peer: a worker fetched from (out) and fetching here (in) are two connections,
 * joined by the name each end gave in its handshake; one without a name stays by its address.
 */
function peersOf(links: ReturnType<Worker["links"]>): TabPeer[] {
  const byName = new Map<string, TabPeer>();
  for (const l of links) {
    if (l.role === "scheduler") continue;
    const name = l.name || l.peer;
    let p = byName.get(`${l.role} ${name}`);
    if (!p)
      byName.set(
        `${l.role} ${name}`,
        (p = { name, role: l.role, kinds: [], address: undefined, bytesIn: 0, bytesOut: 0 }),
      );
    if (!p.kinds.includes(l.kind)) p.kinds.push(l.kind);
    if (l.direction === "out") p.address = l.peer;
    p.bytesIn += l.bytesIn;
    p.bytesOut += l.bytesOut;
  }
  return [...byName.values()].sort((a, b) =>
    a.role === b.role ? a.name.localeCompare(b.name) : a.role === "peer" ? -1 : 1,
  );
}

function report(): void {
  if (worker) {
    const links = worker.links();
    status.tasksDone = worker.tasksDone;
    status.memory = worker.state.memory;
    status.peers = peersOf(links);
    status.bytesIn = links.reduce((s, l) => s + l.bytesIn, 0);
    status.bytesOut = links.reduce((s, l) => s + l.bytesOut, 0);
  }
  postMessage(status);
}

const bridge = bridgeEnd((m, transfer) => postMessage(m, { transfer }));

async function start(token: string | undefined, webrtc: boolean, lieForTests: boolean): Promise<void> {
  try {
    worker = await Worker.start({
      scheduler: origin,
      listen: `${secure ? "relays" : "relay"}://${location.host}`,
      name,
      kind: "browser",
      token,
      transport: { relayToken: token },
      // Every other worker's data server is reached by WebRTC first; the scheduler's origin directly.
      webrtc: webrtc ? { bridge, useFor: (address) => !ownOrigin(address) } : undefined,
      lieForTests,
      runtime,
    });
    status.state = "connected";
    status.workerId = worker.workerId;
    void worker.closed.then((reason) => {
      status.state = "closed";
      status.error = reason;
      report();
    });
  } catch (err) {
    status.state = "failed";
    status.error = (err as Error).message;
  }
  report();
  setInterval(report, 500);
}

// biome-ignore lint/suspicious/noGlobalAssign: a dedicated worker receives through its global onmessage
onmessage = (e: MessageEvent<ToTabWorker | BridgeMessage>) => {
  const m = e.data;
  if (bridge.take(m)) return;
  if (m.kind === "start" && !worker) void start(m.token, m.webrtc, m.lieForTests === true);
  else if (m.kind === "retire") void worker?.retire(m.reason);
};
