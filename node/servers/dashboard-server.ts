// The dashboard, served by the scheduler: the page's static files under /dashboard (built into
// dist/dashboard by scripts/build.mjs), a stream of frames (src/scheduler/telemetry.ts) and the story
// of a key. The data needs the client token as `Authorization: Bearer …`; the page reads it from
// its link's fragment, which browsers never send, so it is in no URL a server or proxy logs.

import { existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { AddressWindow, DEFAULT_FAILED_LOGINS_PER_MINUTE, LogThrottle } from "../../src/comm/gate.js";
import type { Scheduler } from "../../src/scheduler/server.js";
import { matches } from "../../src/util/secret.js";
import { timingSafeSecretEquals } from "../platform/secrets.js";

/** Milliseconds between frames: the panels update about once a second. */
export const FRAME_INTERVAL_MS = 1_000;
/** Dashboards streaming at once; more are answered 503 (each costs a frame's JSON per second). */
export const MAX_FEEDS = 32;
/**
 * Bytes a stream may have unsent before frames to it are skipped until it drains: a tab that
 * cannot keep up sees fewer frames instead of the scheduler buffering for it.
 */
export const FEED_HIGH_WATER_BYTES = 4 * 1024 * 1024;
/** Longest key a story request may name (keys are shorter; a longer one is refused, not searched). */
export const MAX_STORY_KEY_LENGTH = 1_000;
/** Story entries sent at most (the newest). */
export const MAX_STORY_ENTRIES = 2_000;

/** Only scripts, styles and data from this origin; nothing inline, no eval, no frames. */
export const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const FILES: Record<string, { file: string; type: string }> = {
  "/dashboard": { file: "index.html", type: "text/html; charset=utf-8" },
  "/dashboard/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/dashboard/dashboard.js": { file: "dashboard.js", type: "text/javascript; charset=utf-8" },
  "/dashboard/dashboard.css": { file: "dashboard.css", type: "text/css; charset=utf-8" },
};

/** Whether `path` is the dashboard's (the page server hands these to dashboardHandler). */
export function isDashboardPath(path: string): boolean {
  return path === "/dashboard" || path.startsWith("/dashboard/");
}

/** Where the built dashboard is: dist/dashboard, also when running from TypeScript source. */
function dashboardDirectory(): URL {
  const here = import.meta.url;
  return here.endsWith(".ts") ? new URL("../../dist/dashboard/", here) : new URL("../../dashboard/", here);
}

/** The dashboard's link for a scheduler whose HTTP origin is `origin` ("http://127.0.0.1:8787"). */
export function dashboardLink(origin: string, token: string): string {
  return `${origin}/dashboard#token=${encodeURIComponent(token)}`;
}

/**
 * Serves /dashboard/… for `scheduler`: the files to anyone (they hold nothing), the feed and the
 * stories to holders of `token` only. `keepAlive: false` leaves the process free to exit with a
 * dashboard open (a LocalCluster's).
 */
export function dashboardHandler(
  scheduler: Scheduler,
  token: string,
  options: { keepAlive?: boolean } = {},
): ((req: IncomingMessage, res: ServerResponse) => void) & { close(): void } {
  const dir = dashboardDirectory();
  const cache = new Map<string, Buffer>();
  const feeds = new Set<ServerResponse>();
  let timer: ReturnType<typeof setInterval> | undefined;

  // As for logins over WebSocket: failures are logged (never the token), and an address past 20 a
  // minute is answered 429 until the minute has passed, whatever it presents.
  const failures = new AddressWindow(DEFAULT_FAILED_LOGINS_PER_MINUTE);
  const failureLog = new LogThrottle(scheduler.logger);
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    });
    res.end(JSON.stringify(body));
  };
  const authorized = (req: IncomingMessage, res: ServerResponse): boolean => {
    const host = req.socket.remoteAddress ?? "?";
    if (failures.full(host)) {
      json(res, 429, { error: `too many failed attempts from ${host}: try again in a minute` });
      return false;
    }
    const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (matches(timingSafeSecretEquals, given, token)) return true;
    const n = failures.hit(host);
    failureLog.warn(
      `dashboard: ${given === undefined ? "no token" : "wrong token"} from ${host} (${n} in the last minute)`,
    );
    json(res, 401, {
      error:
        given === undefined
          ? "the dashboard needs the client token: open the link the scheduler printed (…/dashboard#token=…)"
          : "wrong token: this is not the client token of this scheduler",
    });
    return false;
  };
  const frame = (): string => {
    scheduler.state.now = performance.now();
    return `${JSON.stringify(scheduler.telemetry.frame())}\n`;
  };
  const broadcast = () => {
    if (feeds.size === 0) return;
    const text = frame();
    for (const res of feeds) {
      // A stream that cannot keep up skips frames (each frame is whole; only its task events are lost to it).
      if (res.writableLength < FEED_HIGH_WATER_BYTES) res.write(text);
    }
  };
  const openFeed = (req: IncomingMessage, res: ServerResponse) => {
    if (feeds.size >= MAX_FEEDS)
      return json(res, 503, { error: `${MAX_FEEDS} dashboards are open on this scheduler already` });
    const unwatch = scheduler.telemetry.watch();
    scheduler.telemetry.resendGraph();
    feeds.add(res);
    res.writeHead(200, {
      "content-type": "application/x-ndjson; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    });
    if (options.keepAlive === false) req.socket.unref();
    res.write(frame());
    timer ??= setInterval(broadcast, FRAME_INTERVAL_MS);
    if (options.keepAlive === false) (timer as { unref?: () => void }).unref?.();
    res.on("close", () => {
      feeds.delete(res);
      unwatch();
      if (feeds.size === 0) {
        clearInterval(timer);
        timer = undefined;
      }
    });
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://dashboard");
    const path = url.pathname;
    if (path === "/dashboard/feed" || path === "/dashboard/story") {
      if (req.method !== "GET") return json(res, 405, { error: "method not allowed" });
      if (!authorized(req, res)) return;
      if (path === "/dashboard/feed") return openFeed(req, res);
      const key = url.searchParams.get("key");
      if (key === null || key.length === 0 || key.length > MAX_STORY_KEY_LENGTH)
        return json(res, 400, { error: `story needs ?key= (at most ${MAX_STORY_KEY_LENGTH} characters)` });
      const entries = scheduler.state.storyOf(key);
      return json(res, 200, {
        key,
        entries: entries.slice(-MAX_STORY_ENTRIES),
        leftOut: Math.max(0, entries.length - MAX_STORY_ENTRIES),
        now: performance.now(),
      });
    }
    const entry = FILES[path];
    if (!entry || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(entry ? 405 : 404, { "content-type": "text/plain; charset=utf-8" });
      res.end(entry ? "method not allowed\n" : "not found\n");
      return;
    }
    let body = cache.get(entry.file);
    if (!body) {
      const file = fileURLToPath(new URL(entry.file, dir));
      // Checked here, not at start: a cluster without a built dashboard still runs.
      if (!existsSync(file)) {
        res
          .writeHead(500, { "content-type": "text/plain; charset=utf-8" })
          .end(`the dashboard is not built (${file} is missing): run \`npm run build\`\n`);
        return;
      }
      cache.set(entry.file, (body = readFileSync(file)));
    }
    res.writeHead(200, {
      "content-type": entry.type,
      "content-security-policy": DASHBOARD_CSP,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cache-control": "no-cache",
      "content-length": body.byteLength,
    });
    res.end(req.method === "HEAD" ? undefined : body);
  };
  return Object.assign(handler, {
    close() {
      clearInterval(timer);
      timer = undefined;
      for (const res of feeds) res.destroy();
      feeds.clear();
    },
  });
}

export interface ServedDashboard {
  /** http://host:port/dashboard#token=… */
  readonly link: string;
  close(): Promise<void>;
}

/**
 * The dashboard on a port of its own (a LocalCluster without the worker page: plain HTTP, no
 * WebSocket). Sets `scheduler.dashboardLink`, which clients hear in their welcome.
 */
export async function serveDashboard(
  scheduler: Scheduler,
  options: { host: string; port: number; token: string; keepAlive?: boolean },
): Promise<ServedDashboard> {
  const handler = dashboardHandler(scheduler, options.token, { keepAlive: options.keepAlive });
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://dashboard").pathname;
    if (isDashboardPath(path)) return handler(req, res);
    res
      .writeHead(404, { "content-type": "text/plain; charset=utf-8" })
      .end("not found: the dashboard is at /dashboard\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  if (options.keepAlive === false) server.unref();
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  const link = dashboardLink(`http://${host}:${port}`, options.token);
  scheduler.dashboardLink = link;
  return {
    link,
    async close() {
      if (scheduler.dashboardLink === link) scheduler.dashboardLink = undefined;
      handler.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
