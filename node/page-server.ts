// A scheduler on the network that also serves the worker page: one HTTP server for the WebSocket
// connections of clients and workers, the relay (node/relay-hub.ts) and the page's static files
// (built into dist/page by scripts/build.mjs). Opening the page's link lends that tab to the cluster.

import { existsSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import "../src/index.js"; // the in-process transport, for the scheduler's own address
import "./platform.js"; // ws:// and relay://
import type { Listener } from "../src/comm/registry.js";
import { linkInfo, workerInfo } from "../src/scheduler/queries.js";
import { Scheduler, type SchedulerOptions } from "../src/scheduler/server.js";
import { RelayHub } from "./relay-hub.js";

/** The page and its scripts may load from this origin only; the page connects to it only. */
const PAGE_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; worker-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/** The compute Web Worker compiles the task functions it is sent (eval), and imports task modules from data: URLs. */
const WORKER_CSP = "default-src 'self'; script-src 'self' 'unsafe-eval' data:; connect-src 'self'";

const FILES: Record<string, { file: string; type: string; csp: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8", csp: PAGE_CSP },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8", csp: PAGE_CSP },
  "/page.css": { file: "page.css", type: "text/css; charset=utf-8", csp: PAGE_CSP },
  "/page.js": { file: "page.js", type: "text/javascript; charset=utf-8", csp: PAGE_CSP },
  "/worker.js": { file: "worker.js", type: "text/javascript; charset=utf-8", csp: WORKER_CSP },
};

/** The Web Worker's bundle's chunks, some loaded lazily (scripts/build.mjs puts them in dist/page/chunks/). */
const CHUNK = /^\/chunks\/[\w.-]+\.js(\.map)?$/;

/** Where the built page is: dist/page, also when running from TypeScript source. */
function pageDirectory(): URL {
  const here = import.meta.url;
  const dir = here.endsWith(".ts") ? new URL("../dist/page/", here) : new URL("../page/", here);
  if (!existsSync(fileURLToPath(new URL("index.html", dir)))) throw new Error(`the worker page is not built (${fileURLToPath(dir)}); run \`npm run build\` first`);
  return dir;
}

/**
 * Serves the worker page's files and `GET /api/status` (workers and the links between them, for
 * whoever presents `statusToken` as `Authorization: Bearer …` or `?token=`); anything else is 404.
 */
export function pageHandler(scheduler?: Scheduler, statusToken?: string): (req: IncomingMessage, res: ServerResponse) => void {
  const dir = pageDirectory();
  const cache = new Map<string, Buffer>();
  return (req, res) => {
    const url = new URL(req.url ?? "/", "http://page");
    const path = url.pathname;
    if (path === "/api/status" && scheduler) {
      const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1] ?? url.searchParams.get("token") ?? undefined;
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" });
        res.end(JSON.stringify(body));
      };
      if (statusToken !== undefined && given !== statusToken) return json(401, { error: given ? "wrong token" : "this needs the client token: Authorization: Bearer <token>" });
      return json(200, { workers: workerInfo(scheduler.state), links: linkInfo(scheduler.state) });
    }
    if (path === "/favicon.ico") {
      res.writeHead(204).end(); // no icon; not an error in the console
      return;
    }
    const chunk = CHUNK.test(path) && existsSync(fileURLToPath(new URL(path.slice(1), dir)));
    const entry = FILES[path] ?? (chunk ? { file: path.slice(1), type: path.endsWith(".map") ? "application/json" : "text/javascript; charset=utf-8", csp: WORKER_CSP } : undefined);
    if (!entry || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(entry ? 405 : 404, { "content-type": "text/plain; charset=utf-8" });
      res.end(entry ? "method not allowed\n" : "not found\n");
      return;
    }
    let body = cache.get(entry.file);
    if (!body) cache.set(entry.file, (body = readFileSync(fileURLToPath(new URL(entry.file, dir)))));
    res.writeHead(200, {
      "content-type": entry.type,
      "content-security-policy": entry.csp,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cache-control": "no-cache",
      "content-length": body.byteLength,
    });
    res.end(req.method === "HEAD" ? undefined : body);
  };
}

export interface ServedPage {
  /** The ws:// address tabs (and anyone with a token) connect to. */
  readonly address: string;
  /** The worker page's link, with the worker token in its fragment (when there is one). */
  readonly pageUrl: string;
  close(): Promise<void>;
}

/**
 * Makes `scheduler` also listen at `ws://host:port`, for clients, workers and browser tabs: the
 * worker page, the relay for tabs' data, and WebSocket connections, on that one port.
 */
export async function servePage(scheduler: Scheduler, options: { host: string; port: number; workerToken: string | undefined; statusToken: string | undefined }): Promise<ServedPage> {
  const hub = await RelayHub.create({
    token: options.workerToken,
    // A browser may reach, through the relay, the data servers of the scheduler's workers only.
    canReach: (address) => [...scheduler.state.workers.values()].some((w) => w.address === address),
  });
  let listener: Listener;
  try {
    listener = await scheduler.listen(`ws://${options.host}:${options.port}`, { httpHandler: pageHandler(scheduler, options.statusToken), onUpgrade: hub.onUpgrade });
  } catch (err) {
    hub.close();
    throw err;
  }
  const fragment = options.workerToken === undefined ? "" : `#token=${encodeURIComponent(options.workerToken)}`;
  return {
    address: listener.address,
    pageUrl: `${listener.address.replace(/^ws/, "http")}/${fragment}`,
    async close() {
      await listener.close();
      hub.close();
    },
  };
}

export interface NetworkScheduler extends AsyncDisposable {
  readonly scheduler: Scheduler;
  /** The ws:// address clients and workers connect to. */
  readonly address: string;
  /** The worker page's link, with the worker token in its fragment. */
  readonly pageUrl: string;
  close(): Promise<void>;
}

/**
 * Starts a scheduler listening at `ws://host:port` that serves the worker page and relays data for
 * browser workers. `workerToken` (required for the page link) is what tabs join with.
 */
export async function startNetworkScheduler(options: SchedulerOptions & { host: string; port: number; workerToken: string }): Promise<NetworkScheduler> {
  // The scheduler's own address is an in-process one; its ws:// port is the page's listener.
  const scheduler = await Scheduler.start(options);
  let page: ServedPage;
  try {
    page = await servePage(scheduler, { host: options.host, port: options.port, workerToken: options.workerToken, statusToken: options.token });
  } catch (err) {
    await scheduler.close();
    throw err;
  }
  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      await scheduler.close();
      await page.close();
    })());
  return { scheduler, address: page.address, pageUrl: page.pageUrl, close, [Symbol.asyncDispose]: close };
}
