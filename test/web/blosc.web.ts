// The Blosc decoder in Chromium: our WebAssembly compiles and decodes C-Blosc's chunks in the page
// and in a Web Worker (where tab workers decode), to the same bytes as the JavaScript decoder.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeBlosc, type BloscEngine } from "../../src/io/codecs/blosc.js";
import { bloscWasmModule } from "../../src/io/codecs/blosc-wasm.js";
import { bloscPattern, type BloscCase } from "../io/blosc-pattern.js";

const FIXTURES = "/test/fixtures/io/blosc/";

async function fetchBytes(path: string): Promise<Uint8Array> {
  const res = await fetch(path);
  assert.ok(res.ok, `${path}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function cases(): Promise<{ c: BloscCase; bytes: Uint8Array }[]> {
  const manifest = (await (await fetch(`${FIXTURES}manifest.json`)).json()) as BloscCase[];
  return Promise.all(manifest.map(async (c) => ({ c, bytes: await fetchBytes(FIXTURES + c.file) })));
}

function sameBytes(a: Uint8Array, b: Uint8Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) assert.fail(`${what}: byte ${i} is ${a[i]}, expected ${b[i]}`);
}

describe("Blosc in Chromium", () => {
  test("in the page, both engines decode C-Blosc's chunks (element sizes 1-24, split or not, leftover blocks)", async () => {
    assert.ok(bloscWasmModule(), "WebAssembly with SIMD compiles in Chromium");
    for (const { c, bytes } of await cases()) {
      for (const engine of ["wasm", "js"] as const)
        sameBytes(
          decodeBlosc(bytes, undefined, engine),
          bloscPattern(c.kind, c.n, c.typesize),
          `${c.file} (${engine})`,
        );
    }
  });

  test("in a Web Worker, the default engine is WebAssembly and decodes what the page's JavaScript does", async () => {
    const worker = new Worker(new URL("./workers/blosc-worker.js", import.meta.url), { type: "module" });
    try {
      const decode = (bytes: Uint8Array, engine: BloscEngine) =>
        new Promise<{ out?: Uint8Array; wasm?: boolean; error?: string }>((resolve, reject) => {
          worker.onmessage = (e) => resolve(e.data);
          worker.onerror = (e) => reject(new Error(e.message));
          const copy = bytes.slice();
          worker.postMessage({ bytes: copy.buffer, engine }, [copy.buffer]);
        });
      const xarray = await fetchBytes("/test/fixtures/io/zarr2/codecs.zarr/blosc_big/0.0");
      for (const [name, bytes] of [
        ["xarray's float32 chunk", xarray],
        ...(await cases()).slice(-8).map(({ c, bytes }) => [c.file, bytes] as const),
      ] as const) {
        const got = await decode(bytes, "auto");
        assert.equal(got.error, undefined, `${name}: ${got.error}`);
        assert.equal(got.wasm, true, "WebAssembly compiled in the worker");
        sameBytes(got.out!, decodeBlosc(bytes, undefined, "js"), name);
      }
    } finally {
      worker.terminate();
    }
  });
});
