// A scheduler on the network that also serves the worker page: one HTTP server for the WebSocket
// connections of clients and workers, the relay (node/servers/relay-hub.ts) and the page's static files
// (built into dist/page by scripts/build.mjs). Opening the page's link lends that tab to the cluster.
// It also serves the browser-client bundle, /meshwork.js, for pages that use meshwork as a client.

import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import "../../src/index.js"; // the in-process transport, for the scheduler's own address
import "../platform/platform.js"; // ws:// and relay://
import type { Listener } from "../../src/comm/registry.js";
import { linkInfo, workerInfo } from "../../src/scheduler/queries.js";
import { Scheduler, type SchedulerOptions } from "../../src/scheduler/server.js";
import { dataHandler, isDataRequest, type DataServeOptions } from "./data-server.js";
import { RelayHub } from "./relay-hub.js";
import { dashboardHandler, dashboardLink, isDashboardPath } from "./dashboard-server.js";
import { timingSafeSecretEquals } from "../platform/secrets.js";
import { ArgumentError } from "../../src/errors.js";
import { randomId } from "../../src/util/ids.js";
import { matches } from "../../src/util/secret.js";

/** The page and its scripts may load from this origin only; the page connects to it only. */
const PAGE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; worker-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/** The compute Web Worker compiles the task functions it is sent (eval), and imports task modules from data: URLs. */
const WORKER_CSP = "default-src 'self'; script-src 'self' 'unsafe-eval' data:; connect-src 'self'";

const FILES: Record<string, { file: string; type: string; csp: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8", csp: PAGE_CSP },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8", csp: PAGE_CSP },
  "/page.css": { file: "page.css", type: "text/css; charset=utf-8", csp: PAGE_CSP },
  "/page.js": { file: "page.js", type: "text/javascript; charset=utf-8", csp: PAGE_CSP },
  "/worker.js": { file: "worker.js", type: "text/javascript; charset=utf-8", csp: WORKER_CSP },
  // The browser-client bundle (browser/bundle.ts): public code, as the page's is; pages of any
  // origin may import it (CORS), and it needs no eval (the client compiles nothing).
  "/meshwork.js": { file: "meshwork.js", type: "text/javascript; charset=utf-8", csp: PAGE_CSP },
};

/**
 * Module scripts load in CORS mode: the bundle and the chunks it imports answer any origin, so a
 * page elsewhere can `import … from "http://scheduler/meshwork.js"`. They are the same public code
 * for everyone, fetched without credentials; nothing behind a token is answered this way.
 */
const PUBLIC_CODE_HEADERS = { "access-control-allow-origin": "*", "cross-origin-resource-policy": "cross-origin" };

/**
 * The code the page's bundles share or load when first needed (scripts/build.mjs splits them:
 * the io readers and their codecs load on a tab's first io task). Names carry a content hash.
 */
const CHUNKS = "chunks/";
const CHUNK_NAME = /^[\w-]+\.js$/;

/** Where the built page is: dist/page, also when running from TypeScript source. */
function pageDirectory(): URL {
  const here = import.meta.url;
  const dir = here.endsWith(".ts") ? new URL("../../dist/page/", here) : new URL("../../page/", here);
  if (!existsSync(fileURLToPath(new URL("index.html", dir))))
    throw new Error(`the worker page is not built (${fileURLToPath(dir)}); run \`npm run build\` first`);
  return dir;
}

/**
 * Serves the worker page's files, the browser-client bundle /meshwork.js, and `GET /api/status` (workers and the links between them, for
 * whoever presents `statusToken` as `Authorization: Bearer …` or `?token=`), and /data/… through
 * `data` when given (node/servers/data-server.ts); anything else is 404.
 */
export function pageHandler(
  scheduler?: Scheduler,
  statusToken?: string,
  data?: (req: IncomingMessage, res: ServerResponse) => void,
  dashboard?: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  const dir = pageDirectory();
  const cache = new Map<string, { body: Buffer; etag: string }>();
  // Only the chunk files the build made are served (never a name taken from the request).
  const chunkDir = new URL(CHUNKS, dir);
  const chunks = new Set(
    existsSync(fileURLToPath(chunkDir)) ? readdirSync(fileURLToPath(chunkDir)).filter((f) => CHUNK_NAME.test(f)) : [],
  );
  return (req, res) => {
    // Before the URL is parsed: parsing drops "..", and the data server refuses such paths itself.
    if (isDataRequest(req.url)) {
      if (data) return data(req, res);
      res
        .writeHead(404, { "content-type": "text/plain; charset=utf-8" })
        .end("not found: this scheduler serves no data (meshwork scheduler --serve-data DIR)\n");
      return;
    }
    const url = new URL(req.url ?? "/", "http://page");
    const path = url.pathname;
    if (dashboard && isDashboardPath(path)) return dashboard(req, res);
    if (path === "/api/status" && scheduler) {
      const given =
        /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1] ?? url.searchParams.get("token") ?? undefined;
      const json = (status: number, body: unknown) => {
        res.writeHead(status, {
          "content-type": "application/json; charset=utf-8",
          "cache-control": "no-store",
          "x-content-type-options": "nosniff",
        });
        res.end(JSON.stringify(body));
      };
      if (statusToken !== undefined && !matches(timingSafeSecretEquals, given, statusToken))
        return json(401, {
          error: given ? "wrong token" : "this needs the client token: Authorization: Bearer <token>",
        });
      return json(200, { workers: workerInfo(scheduler.state), links: linkInfo(scheduler.state) });
    }
    if (path === "/favicon.ico") {
      res.writeHead(204).end(); // no icon; not an error in the console
      return;
    }
    const chunk =
      path.startsWith(`/${CHUNKS}`) && chunks.has(path.slice(CHUNKS.length + 1)) ? path.slice(1) : undefined;
    const entry = chunk ? { file: chunk, type: "text/javascript; charset=utf-8", csp: WORKER_CSP } : FILES[path];
    if (!entry || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(entry ? 405 : 404, { "content-type": "text/plain; charset=utf-8" });
      res.end(entry ? "method not allowed\n" : "not found\n");
      return;
    }
    let file = cache.get(entry.file);
    if (!file) {
      const body = readFileSync(fileURLToPath(new URL(entry.file, dir)));
      cache.set(
        entry.file,
        (file = { body, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"` }),
      );
    }
    // The entry points' names do not change with their content: a reload revalidates (304 when unchanged).
    const unchanged = !chunk && req.headers["if-none-match"] === file.etag;
    res.writeHead(unchanged ? 304 : 200, {
      "content-type": entry.type,
      "content-security-policy": entry.csp,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      // A chunk's name changes with its content.
      "cache-control": chunk ? "public, max-age=31536000, immutable" : "no-cache",
      etag: file.etag,
      ...(unchanged ? {} : { "content-length": file.body.byteLength }),
      ...(chunk || path === "/meshwork.js" ? PUBLIC_CODE_HEADERS : {}),
    });
    res.end(req.method === "HEAD" || unchanged ? undefined : file.body);
  };
}

export interface ServedPage {
  /** The ws:// address tabs (and anyone with a token) connect to. */
  readonly address: string;
  /** The worker page's link, with the tab token in its fragment (when there is one). */
  readonly pageUrl: string;
  /** The dashboard's link, with its token (the client token) in the fragment, when one is served. */
  readonly dashboardLink: string | undefined;
  close(): Promise<void>;
}

/**
 * Makes `scheduler` also listen at `ws://host:port`, for clients, workers and browser tabs: the
 * worker page, the relay for tabs' data, and WebSocket connections, on that one port.
 */
export async function servePage(
  scheduler: Scheduler,
  options: {
    host: string;
    port: number;
    workerToken: string | undefined;
    /** What the page's link carries: tabs join with it as untrusted workers. Never the worker token. */
    tabToken: string | undefined;
    statusToken: string | undefined;
    serveData?: DataServeOptions | undefined;
    /** What the dashboard (/dashboard) asks for: the client token. Default `statusToken`; none: no dashboard. */
    dashboardToken?: string | undefined;
    /** Whether an open dashboard keeps the process alive. Default true. */
    keepAlive?: boolean;
  },
): Promise<ServedPage> {
  if (
    options.tabToken !== undefined &&
    (options.tabToken === options.workerToken || options.tabToken === options.statusToken)
  ) {
    throw new ArgumentError(
      "the tab token must differ from the worker and client tokens: whoever opens the page's link holds it",
    );
  }
  // /data/ answers the client, worker and tab tokens (tabs and Node workers read chunks with them).
  const client = options.statusToken === options.workerToken ? undefined : options.statusToken;
  const data = options.serveData
    ? dataHandler(options.serveData, { client, worker: options.workerToken, tab: options.tabToken }, scheduler.logger)
    : undefined;
  const hub = await RelayHub.create({
    token: options.workerToken,
    tabToken: options.tabToken,
    callerOk: (given) => scheduler.isCredential(given),
    // A browser may reach, through the relay, the data servers of the scheduler's workers only, each
    // once it has answered the scheduler's challenge at its address.
    canReach: (address) => scheduler.reachable(address),
    // A tab's relay slot likewise: once its data server answered the challenge through that slot.
    canReachSlot: (slot, token) => scheduler.reachableSlot(slot, token),
    onSlotClosed: (slot) => scheduler.relaySlotClosed(slot),
    log: scheduler.logger,
  });
  const dashboardToken = options.dashboardToken ?? options.statusToken;
  if (dashboardToken !== undefined && dashboardToken === options.tabToken) {
    throw new ArgumentError(
      "the dashboard's token must differ from the tab token: the dashboard shows what clients submit, and whoever opens the page's link holds the tab token",
    );
  }
  const dashboard =
    dashboardToken === undefined
      ? undefined
      : dashboardHandler(scheduler, dashboardToken, { keepAlive: options.keepAlive });
  let listener: Listener;
  try {
    listener = await scheduler.listen(`ws://${options.host}:${options.port}`, {
      httpHandler: pageHandler(scheduler, options.statusToken, data, dashboard),
      onUpgrade: hub.onUpgrade,
    });
  } catch (err) {
    hub.close();
    throw err;
  }
  const origin = listener.address.replace(/^ws/, "http");
  const fragment = options.tabToken === undefined ? "" : `#token=${encodeURIComponent(options.tabToken)}`;
  const link = dashboardToken === undefined ? undefined : dashboardLink(origin, dashboardToken);
  if (link !== undefined) scheduler.dashboardLink = link;
  return {
    address: listener.address,
    pageUrl: `${origin}/${fragment}`,
    dashboardLink: link,
    async close() {
      dashboard?.close();
      if (link !== undefined && scheduler.dashboardLink === link) scheduler.dashboardLink = undefined;
      await listener.close();
      hub.close();
    },
  };
}

export interface NetworkScheduler extends AsyncDisposable {
  readonly scheduler: Scheduler;
  /** The ws:// address clients and workers connect to. */
  readonly address: string;
  /** The worker page's link, with the tab token in its fragment. */
  readonly pageUrl: string;
  /** The dashboard's link, with the client token in its fragment (none without a client token). */
  readonly dashboardLink: string | undefined;
  close(): Promise<void>;
}

/**
 * Starts a scheduler listening at `ws://host:port` that serves the worker page and relays data for
 * browser workers. `workerToken` is what trusted workers join with, `tabToken` (the page link's)
 * what tabs join with, as untrusted workers. With `serveData`, a directory is served read-only at
 * /data/ to holders of any of the tokens.
 */
export async function startNetworkScheduler(
  options: SchedulerOptions & {
    host: string;
    port: number;
    workerToken: string;
    serveData?: DataServeOptions | undefined;
  },
): Promise<NetworkScheduler> {
  const tabToken = options.tabToken ?? randomId(16);
  // The scheduler's own address is an in-process one; its ws:// port is the page's listener.
  const scheduler = await Scheduler.start({ compareSecret: timingSafeSecretEquals, ...options, tabToken });
  let page: ServedPage;
  try {
    page = await servePage(scheduler, {
      host: options.host,
      port: options.port,
      workerToken: options.workerToken,
      tabToken,
      statusToken: options.token,
      serveData: options.serveData,
    });
  } catch (err) {
    await scheduler.close();
    throw err;
  }
  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      try {
        await scheduler.close();
      } finally {
        await page.close();
      }
    })());
  return {
    scheduler,
    address: page.address,
    pageUrl: page.pageUrl,
    dashboardLink: page.dashboardLink,
    close,
    [Symbol.asyncDispose]: close,
  };
}
