// Headless Chromium for tests: Debian's /usr/bin/chromium driven by puppeteer-core (no browser
// download), with the flags this machine needs, a fresh profile, and pages served on 127.0.0.1.

import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build, type BuildResult } from "esbuild";
import type { Browser, Page } from "puppeteer-core";
import { Client, type SchedulerOptions, type WorkerInfo } from "../../node/index.js";
import type { DataServeOptions } from "../../node/servers/data-server.js";
import { startNetworkScheduler } from "../../node/servers/page-server.js";
import { WorkerGroup } from "../../node/hosts/worker-group.js";

import { CHROMIUM, CHROMIUM_FLAGS, chromiumMissing } from "../../scripts/chromium.mjs";
import { waitFor, type WaitForOptions } from "./wait-for.js";

export { chromiumMissing };

export interface ChromiumSession extends AsyncDisposable {
  browser: Browser;
}

/** Headless Chromium; `extraArgs` add flags (e.g. a WebRTC policy). */
export async function launchChromium(extraArgs: string[] = []): Promise<ChromiumSession> {
  const { default: puppeteer } = await import("puppeteer-core");
  const profile = mkdtempSync(join(tmpdir(), "meshwork-chromium-"));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, ...extraArgs],
  });
  return {
    browser,
    async [Symbol.asyncDispose]() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface StaticServer extends AsyncDisposable {
  url: string;
}

/** Serves the given files (path → [content type, body]) on 127.0.0.1 at a free port. */
export async function serveFiles(files: Record<string, [string, string]>): Promise<StaticServer> {
  const server: Server = createServer((req, res) => {
    const file = files[new URL(req.url ?? "/", "http://x").pathname];
    if (!file) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": file[0] }).end(file[1]);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** `entry` bundled for a browser page as one ES module in memory (`metafile`: with the inputs it took). */
export async function bundleForBrowser(
  entry: URL,
  options: { metafile?: boolean } = {},
): Promise<BuildResult & { outputFiles: { text: string }[] }> {
  return build({
    entryPoints: [entry.pathname],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    metafile: options.metafile ?? false,
    logLevel: "silent",
  });
}

/**
 * Runs a page module (`js`, e.g. a bundle's text) in headless Chromium, served as /page.js from a
 * page at `url`, until it sets `window.__result` or `window.__error`; gives those and every uncaught
 * page error. The page, browser and server are gone when it resolves.
 */
export async function runModulePage(
  js: string,
  timeoutMs: number,
): Promise<{ url: string; result: unknown; error: unknown; pageErrors: string[] }> {
  await using server = await serveFiles({
    "/": ["text/html", `<!doctype html><meta charset="utf-8"><script type="module" src="/page.js"></script>`],
    "/page.js": ["text/javascript", js],
  });
  await using chrome = await launchChromium();
  const page = await chrome.browser.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  await page.goto(server.url);
  await page.waitForFunction("window.__result || window.__error", { timeout: timeoutMs });
  return {
    url: server.url,
    error: await page.evaluate("window.__error"),
    result: await page.evaluate("window.__result"),
    pageErrors,
  };
}

/** Resolves with the browser workers once `n` tabs have joined `client`'s cluster (fails after `ms`). */
export async function tabsJoined(
  client: { workers(): Promise<WorkerInfo[]> },
  n = 1,
  ms = 20_000,
): Promise<WorkerInfo[]> {
  let tabs: WorkerInfo[] = [];
  await waitFor(
    async () => {
      tabs = (await client.workers()).filter((w) => w.kind === "browser");
      return tabs.length >= n;
    },
    { timeout: ms, interval: 50, message: () => `${n} tabs to join (${tabs.length} joined)` },
  );
  return tabs;
}

/**
 * Polls `expression` in `page` (e.g. "window.meshwork") every 100 ms until `ok` holds of its value,
 * which it returns; fails after `timeout` (default 20 s) naming `message` and the last value. The
 * page-side waitFor: for what a page publishes on its own schedule (status reports, frames).
 */
export async function waitForPage<T>(
  page: Page,
  expression: string,
  ok: (value: T) => boolean,
  options: WaitForOptions = {},
): Promise<T> {
  const { message = `${expression} to change`, ...rest } = options;
  let last: T | undefined;
  await waitFor(
    async () => {
      last = (await page.evaluate(expression)) as T;
      return ok(last);
    },
    {
      timeout: 20_000,
      interval: 100,
      ...rest,
      message: () =>
        `${typeof message === "function" ? message() : message}; last ${expression}: ${JSON.stringify(last)?.slice(0, 2_000)}`,
    },
  );
  return last as T;
}

/**
 * The page among `pages` whose tab joined as `tab` (tabs need not join in the order their pages
 * were opened, so pages[i] is not the i-th tab of tabsJoined).
 */
export function pageOf<P extends Page>(pages: P[], tab: WorkerInfo): Promise<P> {
  return waitFor(
    async () => {
      for (const page of pages)
        if ((await page.evaluate("window.meshwork && window.meshwork.name")) === tab.name) return page;
      return undefined;
    },
    { message: `the page of ${tab.name}` },
  );
}

/** What the worker page publishes as window.meshwork. */
export interface TabStatus {
  state: string;
  name: string;
  tasksDone: number;
  /** One entry per peer: its name, the link kinds with it, its data server's address (where the tab fetched from it). */
  peers: {
    name: string;
    role: "peer" | "client";
    kinds: string[];
    address: string | undefined;
    bytesIn: number;
    bytesOut: number;
  }[];
}

/**
 * A network scheduler serving the worker page (client token "client-t", worker token "worker-t"),
 * `nodeWorkers` Node workers on ws://, a client, and Chromium. `options` adds scheduler options
 * (and `serveData`: a directory at /data/). These tests are about tabs computing and moving data,
 * so the tabs' results are taken on their word (`verifyUntrusted: false`) unless options say
 * otherwise: verified, a tab's result is kept only on the trusted witness (tab-liar.test.ts).
 */
export async function tabCluster(
  nodeWorkers: number,
  options: SchedulerOptions & { serveData?: DataServeOptions } = {},
) {
  const net = await startNetworkScheduler({
    verifyUntrusted: false,
    ...options,
    host: "127.0.0.1",
    port: 0,
    token: "client-t",
    workerToken: "worker-t",
  });
  const group = new WorkerGroup({
    scheduler: net.address,
    listen: "ws://127.0.0.1:0",
    kind: "node",
    namePrefix: "node",
    token: "worker-t",
    logLevel: "error",
  });
  await group.grow(nodeWorkers);
  const client = await Client.connect(net.address, { token: "client-t" });
  const chrome = await launchChromium();
  return {
    net,
    client,
    chrome,
    async [Symbol.asyncDispose]() {
      await chrome[Symbol.asyncDispose]();
      await client.close();
      await group.close();
      await net.close();
    },
  };
}
