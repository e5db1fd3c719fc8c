// Runs in a Chromium Web Worker (bundled by netcdf-in-browser.test.ts): NetCDF-3 and NetCDF-4
// files read over HTTP through meshwork's browser entry, the blocks' task function running here
// (the sync scheduler), with h5wasm's browser build. Posts what it read, as raw bytes.

import * as mw from "../../browser/array.js";

const base = new URL("/nc/", self.location.href).href;

function bytesOf(a: mw.NDArray): string {
  const t = a.contiguous().toTypedArray();
  const u = new Uint8Array(t.buffer, t.byteOffset, t.byteLength);
  let s = "";
  for (let i = 0; i < u.length; i++) s += String.fromCharCode(u[i]!);
  return btoa(s);
}

async function run(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {
    hasProcess: typeof (globalThis as { process?: unknown }).process,
    inWorker: typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope,
  };
  for (const [file, variable, chunks] of [
    ["climate4.nc", "air", undefined],
    ["climate4.nc", "precip", undefined],
    ["climate3_classic.nc", "air", [40, -1, -1]],
    ["climate3_64bit.nc", "precip", [100, -1, -1]],
  ] as const) {
    const x = await mw.fromNetcdf(base + file, { variable, ...(chunks ? { chunks: [...chunks] } : {}) });
    const v = (await x.compute({ scheduler: "sync" })) as mw.NDArray;
    out[`${file}/${variable}`] = { dtype: v.dtype, shape: v.shape, blocks: x.chunks, bytes: bytesOf(v) };
  }
  // A file of several pages, where only the chunks read should be fetched (made by the test when Python is here).
  if (new URL(self.location.href).searchParams.has("big")) {
    const x = await mw.fromNetcdf(base + "big.nc", { variable: "v" });
    const t = performance.now();
    const v = (await x.slice({ start: 8, stop: 16 }).compute({ scheduler: "sync" })) as mw.NDArray;
    out["big.nc/v[8:16]"] = {
      dtype: v.dtype,
      shape: v.shape,
      blocks: x.chunks,
      bytes: bytesOf(v),
      ms: performance.now() - t,
    };
  }
  try {
    await mw.inspectNetcdf(base + "nothing-here.nc");
  } catch (err) {
    out["missing"] = `${(err as Error).name}: ${(err as Error).message}`;
  }
  return out;
}

run().then(
  (r) => postMessage({ result: r }),
  (err: Error) => postMessage({ error: `${err.name}: ${err.message}\n${err.stack}` }),
);
