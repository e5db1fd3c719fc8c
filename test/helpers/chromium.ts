// Headless Chromium for tests: Debian's /usr/bin/chromium driven by puppeteer-core (no browser
// download), with the flags this machine needs, a fresh profile, and pages served on 127.0.0.1.

import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "puppeteer-core";
import type { WorkerInfo } from "../../node/index.js";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Why browser tests cannot run here, or null if they can. In CI a missing browser is a failure, not a skip. */
export function chromiumMissing(): string | false {
  if (existsSync(CHROMIUM)) return false;
  if (process.env.CI) throw new Error(`${CHROMIUM} is missing in CI (.ci/run installs Debian's chromium)`);
  return `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
}

export interface ChromiumSession extends AsyncDisposable {
  browser: Browser;
}

export async function launchChromium(): Promise<ChromiumSession> {
  const { default: puppeteer } = await import("puppeteer-core");
  const profile = mkdtempSync(join(tmpdir(), "meshwork-chromium-"));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
    ],
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
