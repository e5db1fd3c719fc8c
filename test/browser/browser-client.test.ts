// meshwork as a client in a web page, with no bundler: the scheduler serves the ready-made bundle
// at /meshwork.js (public code, importable from any origin), the package ships it, and
// examples/08-browser-client (a page on another origin, under a strict CSP, given the scheduler and
// the client token in its link's fragment) connects, submits tasks and an array computation, and
// shows the results, in Chromium.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { LocalCluster } from "../../node/index.js";
import { chromiumMissing, launchChromium } from "../helpers/chromium.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

test("the scheduler serves /meshwork.js to anyone (CORS, no token), and the package exports the same file as meshwork/browser-bundle", async () => {
  const cluster = await LocalCluster.start({ workers: 0, token: "client-t", page: true, logLevel: "error" });
  try {
    const http = cluster.networkAddress!.replace(/^ws/, "http");
    const res = await fetch(`${http}/meshwork.js`, { headers: { origin: "http://elsewhere.example" } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/javascript/);
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    const body = await res.text();
    // Reloads revalidate: unchanged, it is not sent again.
    const etag = res.headers.get("etag");
    assert.match(etag ?? "", /^"[\w-]{22}"$/);
    const again = await fetch(`${http}/meshwork.js`, { headers: { "if-none-match": etag! } });
    assert.equal(again.status, 304);
    assert.equal((await again.arrayBuffer()).byteLength, 0);
    assert.match(body, /export\{/); // an ES module, minified
    assert.ok(!body.includes("node:"), "no Node imports in the browser bundle");
    // Its chunks are public code too; what needs the token still does.
    const chunk = /from"\.\/(chunks\/[\w-]+\.js)"/.exec(body)?.[1];
    assert.ok(chunk, "the bundle imports its chunks");
    assert.equal((await fetch(`${http}/${chunk}`)).headers.get("access-control-allow-origin"), "*");
    const status = await fetch(`${http}/api/status`);
    assert.equal(status.status, 401);
    assert.equal(status.headers.get("access-control-allow-origin"), null);
    const shipped = fileURLToPath(import.meta.resolve("meshwork/browser-bundle"));
    assert.equal(shipped, `${root}dist/page/meshwork.js`);
    assert.ok(existsSync(shipped));
  } finally {
    await cluster.close();
  }
});

test("examples/08-browser-client: a page on another origin imports /meshwork.js, connects with the token from its link's fragment, and shows tasks' and an array's results", {
  skip: chromiumMissing(),
  timeout: 90_000,
}, async () => {
  const child = spawn(process.execPath, ["--import", "tsx", "examples/08-browser-client/main.ts"], {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d));
  child.stderr.on("data", (d: Buffer) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  try {
    const link = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no link within 30 s\n${stdout}\n${stderr}`)), 30_000);
      child.stdout.on("data", () => {
        const m = /open (http:\/\/\S+)/.exec(stdout);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    assert.match(link, /^http:\/\/127\.0\.0\.1:\d+\/#scheduler=ws%3A%2F%2F127\.0\.0\.1%3A\d+&token=[0-9a-f]{32}$/);
    await using chrome = await launchChromium();
    const page = await chrome.browser.newPage();
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(String(e)));
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    await page.goto(link);
    await page.waitForFunction("document.body.dataset.state", { timeout: 60_000 });
    const text = await page.$eval("#out", (e) => e.textContent ?? "");
    assert.equal(await page.evaluate("document.body.dataset.state"), "done", text);
    assert.deepEqual(text.trim().split("\n").slice(1), [
      "squares: 1, 4, 9, 16, 25",
      "sum of squares: 55",
      "mean of 2·arange(1e6): 999999",
      "fetched 100000 samples from a worker, mean 0.500",
      "done",
    ]);
    assert.match(text, /^connected to ws:\/\/127\.0\.0\.1:\d+: 2 workers/);
    // The token left the address bar once read; the page ran under its CSP without a violation.
    assert.doesNotMatch(page.url(), /token/);
    assert.deepEqual(problems, []);
  } finally {
    child.kill("SIGTERM");
  }
  assert.equal(await exited, 0, stderr);
});
