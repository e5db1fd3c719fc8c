// Headless Chromium for tests: Debian's /usr/bin/chromium driven by puppeteer-core (no browser
// download), with the flags this machine needs, a fresh profile, and pages served on 127.0.0.1.

import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "puppeteer-core";
import { Client, type SchedulerOptions, type WorkerInfo } from "../../node/index.js";
import type { DataServeOptions } from "../../node/data-server.js";
import { startNetworkScheduler } from "../../node/page-server.js";
import { WorkerGroup } from "../../node/worker-group.js";

import { CHROMIUM, CHROMIUM_FLAGS, chromiumMissing } from "../../scripts/chromium.mjs";

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

/** Resolves with the browser workers once `n` tabs have joined `client`'s cluster (fails after `ms`). */
export async function tabsJoined(client: { workers(): Promise<WorkerInfo[]> }, n = 1, ms = 20_000): Promise<WorkerInfo[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const tabs = (await client.workers()).filter((w) => w.kind === "browser");
    if (tabs.length >= n) return tabs;
    if (Date.now() > deadline) throw new Error(`${tabs.length} of ${n} tabs joined within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What the worker page publishes as window.meshwork. */
export interface TabStatus {
  state: string;
  tasksDone: number;
  links: { peer: string; kind: string; bytesIn: number; bytesOut: number }[];
}

/**
 * A network scheduler serving the worker page (client token "client-t", worker token "worker-t"),
 * `nodeWorkers` Node workers on ws://, a client, and Chromium. `options` adds scheduler options
 * (and `serveData`: a directory at /data/).
 */
export async function tabCluster(nodeWorkers: number, options: SchedulerOptions & { serveData?: DataServeOptions } = {}) {
  const net = await startNetworkScheduler({ ...options, host: "127.0.0.1", port: 0, token: "client-t", workerToken: "worker-t" });
  const group = new WorkerGroup({ scheduler: net.address, listen: "ws://127.0.0.1:0", kind: "node", namePrefix: "node", token: "worker-t", logLevel: "error" });
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
