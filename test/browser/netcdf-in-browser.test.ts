// NetCDF in a browser's Web Worker: Chromium runs the reader's client side and its task function
// in a dedicated Web Worker, over HTTP, NetCDF-3 by byte ranges and NetCDF-4 with h5wasm's
// browser build reading ranges by synchronous requests, values bit for bit.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { bundleForBrowser, chromiumMissing, launchChromium } from "../helpers/chromium.js";
import { serveRanges } from "../helpers/range-server.js";
import { expectedArray, fixture, pythonWith } from "../io/fixtures.js";
import * as mw from "../../node/array.js";

test("NetCDF-3 and NetCDF-4 read over HTTP in a Chromium Web Worker, bit for bit", {
  skip: chromiumMissing(),
  timeout: 60_000,
}, async (t) => {
  const bundle = await bundleForBrowser(new URL("./netcdf-worker.ts", import.meta.url));
  // A NetCDF-4 file of 2.6 MB in 8 uncompressed chunks of 320 kB: v[i, j, k] = its flat index.
  const tmp = mkdtempSync(join(tmpdir(), "meshwork-netcdf-web-"));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const big = join(tmp, "big.nc");
  const py = pythonWith("netCDF4", "numpy");
  if (py) {
    const made = spawnSync(py, [
      "-c",
      `import netCDF4, numpy as np
d = netCDF4.Dataset(${JSON.stringify(big)}, "w", format="NETCDF4")
for n, s in (("t", 64), ("y", 100), ("x", 100)): d.createDimension(n, s)
d.createVariable("v", "f4", ("t", "y", "x"), chunksizes=(8, 100, 100))[:] = np.arange(640000, dtype="f4").reshape(64, 100, 100)
d.close()`,
    ]);
    assert.equal(made.status, 0, String(made.stderr));
  }
  const page = `<!doctype html><meta charset="utf-8"><script type="module">
    const w = new Worker("/worker.js${py ? "?big" : ""}", { type: "module" });
    w.onmessage = (e) => { window.__done = e.data; };
    w.onerror = (e) => { window.__done = { error: "worker error: " + e.message }; };
  </script>`;
  await using server = await serveRanges(
    (path) => (path === "/nc/big.nc" ? big : path.startsWith("/nc/") ? fixture(`nc/${path.slice(4)}`) : undefined),
    {
      "/": ["text/html", page],
      "/worker.js": ["text/javascript", bundle.outputFiles[0]!.text],
    },
  );
  await using chrome = await launchChromium();
  const tab = await chrome.browser.newPage();
  const problems: string[] = [];
  tab.on("pageerror", (e) => problems.push(String(e)));
  await tab.goto(server.url);
  await tab.waitForFunction("window.__done", { timeout: 45_000 });
  const done = (await tab.evaluate("window.__done")) as {
    result?: Record<string, { dtype: string; shape: number[]; blocks: number[][]; bytes: string; ms?: number }> & {
      hasProcess: string;
      inWorker: string;
      missing: string;
    };
    error?: string;
  };
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
    const want = mw.NDArray.from(expectedArray(`nc/${key}`), { dtype })
      .contiguous()
      .toTypedArray();
    assert.ok(
      Buffer.from(got.bytes, "base64").equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength)),
      `${key}: bit for bit`,
    );
  }
  assert.match(r.missing, /^StoreError: no file at http:\/\/127\.0\.0\.1:\d+\/nc\/nothing-here\.nc/);
  // Every read is a range: NetCDF-4 too (its small fixture fits in one 256 kB page)
  assert.deepEqual(
    server.requests.filter((q) => q.range === undefined),
    [],
  );
  if (py) {
    const got = r["big.nc/v[8:16]"]!;
    assert.deepEqual(got.blocks, [[8, 8, 8, 8, 8, 8, 8, 8], [100], [100]]);
    const want = Float32Array.from({ length: 80000 }, (_, i) => 80000 + i);
    assert.ok(Buffer.from(got.bytes, "base64").equals(Buffer.from(want.buffer)), "big.nc v[8:16] bit for bit");
    // The header's pages and the one chunk, not the file
    const read = server.requests.filter((q) => q.path === "/nc/big.nc").reduce((n, q) => n + q.bytes, 0);
    const size = statSync(big).size;
    assert.ok(
      read < size / 3,
      `read ${read} of ${size} bytes: ${JSON.stringify(server.requests.filter((q) => q.path === "/nc/big.nc"))}`,
    );
    assert.ok(
      server.requests.some((q) => q.path === "/nc/big.nc" && q.bytes === 320000),
      "the chunk in one request",
    );
    if (process.env["MESHWORK_SHOW_REQUESTS"])
      console.log(
        got.ms,
        server.requests.filter((q) => q.path === "/nc/big.nc"),
      );
  }
});
