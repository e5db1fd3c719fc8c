// NetCDF in a browser's Web Worker: Chromium runs the reader's client side and its task function
// in a dedicated Web Worker, over HTTP, NetCDF-3 by byte ranges and NetCDF-4 with h5wasm's
// browser build (the file fetched whole into its memory), values bit for bit.

import assert from "node:assert/strict";
import { test } from "node:test";
import { build } from "esbuild";
import { chromiumMissing, launchChromium } from "../helpers/chromium.js";
import { serveRanges } from "../helpers/range-server.js";
import { expectedArray, fixture } from "../io/fixtures.js";
import * as mw from "../../node/array.js";

test("NetCDF-3 and NetCDF-4 read over HTTP in a Chromium Web Worker, bit for bit", { skip: chromiumMissing(), timeout: 60_000 }, async () => {
  const bundle = await build({
    entryPoints: [new URL("./netcdf-worker.ts", import.meta.url).pathname],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  const page = `<!doctype html><meta charset="utf-8"><script type="module">
    const w = new Worker("/worker.js", { type: "module" });
    w.onmessage = (e) => { window.__done = e.data; };
    w.onerror = (e) => { window.__done = { error: "worker error: " + e.message }; };
  </script>`;
  await using server = await serveRanges((path) => (path.startsWith("/nc/") ? fixture(`nc/${path.slice(4)}`) : undefined), {
    "/": ["text/html", page],
    "/worker.js": ["text/javascript", bundle.outputFiles[0]!.text],
  });
  await using chrome = await launchChromium();
  const tab = await chrome.browser.newPage();
  const problems: string[] = [];
  tab.on("pageerror", (e) => problems.push(String(e)));
  await tab.goto(server.url);
  await tab.waitForFunction("window.__done", { timeout: 45_000 });
  const done = (await tab.evaluate("window.__done")) as { result?: Record<string, { dtype: string; shape: number[]; blocks: number[][]; bytes: string }> & { hasProcess: string; inWorker: string; missing: string }; error?: string };
  assert.equal(done.error, undefined, done.error);
  assert.deepEqual(problems, []);
  const r = done.result!;
  assert.equal(r.hasProcess, "undefined", "a real Web Worker: no Node process");
  assert.equal(r.inWorker, "function");
  for (const [key, dtype, blocks] of [
    ["climate4.nc/air", "float32", [[40, 40, 40, 27], [5], [3, 3]]],
    ["climate4.nc/precip", "int16", [[40, 40, 40, 27], [5], [6]]],
    ["climate3_classic.nc/air", "float32", [[40, 40, 40, 27], [5], [6]]],
    ["climate3_64bit.nc/precip", "int16", [[100, 47], [5], [6]]],
  ] as const) {
    const got = r[key]!;
    assert.equal(got.dtype, dtype, key);
    assert.deepEqual(got.shape, [147, 5, 6], key);
    assert.deepEqual(got.blocks, blocks, key);
    const want = mw.NDArray.from(expectedArray(`nc/${key}`), { dtype }).contiguous().toTypedArray();
    assert.ok(Buffer.from(got.bytes, "base64").equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength)), `${key}: bit for bit`);
  }
  assert.match(r.missing, /^StoreError: no file at http:\/\/127\.0\.0\.1:\d+\/nc\/nothing-here\.nc/);
  // NetCDF-3 read by ranges; NetCDF-4 fetched whole by each fromNetcdf's inspect (read afresh),
  // and its blocks read from that copy: 8 + 4 tasks, no more fetches
  const whole = server.requests.filter((q) => q.range === undefined).map((q) => q.path);
  assert.deepEqual(whole, ["/nc/climate4.nc", "/nc/climate4.nc"]);
});
