// The Blosc decoder, in WebAssembly and in JavaScript: chunks C-Blosc wrote (every element size,
// split or not, leftover blocks, stored as they are) and chunks our encoder wrote decode to their
// bytes with both; corrupt and truncated chunks fail with FormatError, and the LZ4 loops never
// write outside their output; without WebAssembly, JavaScript decodes; the committed module is
// what its C source builds to.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { FormatError } from "../../src/errors.js";
import { bloscHeader, decodeBlosc, encodeBlosc, type BloscEngine } from "../../src/io/codecs/blosc.js";
import { bloscWasmModule, compileBloscWasm } from "../../src/io/codecs/blosc-wasm.js";
import { lz4DecodeBlock, lz4EncodeBlock } from "../../src/io/codecs/lz4.js";
import { clearBufferPool, dropBuffers, holdBuffers, POOL_MIN_BYTES, takeBuffer } from "../../src/internal.js";
import { bloscPattern, type BloscCase as Case } from "./blosc-pattern.js";

const FIXTURES = new URL("../fixtures/io/blosc/", import.meta.url);
const ENGINES: BloscEngine[] = ["wasm", "js"];

const manifest = JSON.parse(readFileSync(new URL("manifest.json", FIXTURES), "utf8")) as Case[];
const pattern = bloscPattern;

function chunk(file: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(file, FIXTURES)));
}

/** A seeded generator (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function assertBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++)
    if (actual[i] !== expected[i]) assert.fail(`${what}: byte ${i} is ${actual[i]}, expected ${expected[i]}`);
}

describe("decoding what C-Blosc wrote", () => {
  test("the fixtures hold what the titles below say: split and unsplit, leftover blocks, stored as they are, shuffled or not", () => {
    const has = (p: (c: Case) => boolean) => manifest.some(p);
    assert.ok(
      has((c) => (c.flags & 0x10) !== 0),
      "a chunk not split into streams",
    );
    assert.ok(
      has((c) => (c.flags & 0x10) === 0 && (c.flags & 0x2) === 0 && c.typesize > 1),
      "a chunk split into streams",
    );
    assert.ok(
      has((c) => (c.flags & 0x2) !== 0),
      "a chunk stored as it is",
    );
    assert.ok(
      has((c) => (c.flags & 0x1) === 0 && (c.flags & 0x2) === 0),
      "an unshuffled compressed chunk",
    );
    assert.ok(
      has(
        (c) =>
          (c.flags & 0x12) === 0 && c.n * c.typesize > c.blocksize_used && (c.n * c.typesize) % c.blocksize_used !== 0,
      ),
      "split, several blocks, a leftover",
    );
    for (const t of [1, 2, 3, 4, 8, 16, 24])
      assert.ok(
        has((c) => c.typesize === t && (c.flags & 0x2) === 0),
        `compressed, typesize ${t}`,
      );
  });

  for (const engine of ENGINES) {
    test(`${engine}: every element size (1, 2, 3, 4, 8, 16, 24), shuffled or not, split or not, leftover blocks, LZ4 and LZ4HC, empty and tiny chunks`, () => {
      for (const c of manifest) {
        const got = decodeBlosc(chunk(c.file), undefined, engine);
        assertBytes(got, pattern(c.kind, c.n, c.typesize), `${c.file} (${engine})`);
      }
    });
  }

  test("the float32 chunks xarray writes (Blosc LZ4, byte shuffle, 512 kB blocks) decode the same both ways", () => {
    // From the zarr2 fixtures: several blocks split into four streams and a leftover.
    const src = new Uint8Array(
      readFileSync(new URL("../fixtures/io/zarr2/codecs.zarr/blosc_big/0.0", import.meta.url)),
    );
    assertBytes(decodeBlosc(src, undefined, "wasm"), decodeBlosc(src, undefined, "js"), "blosc_big");
  });
});

describe("decoding what our encoder wrote", () => {
  test("element sizes 1-9, 16, 17, 24 and 32, shuffled or not, several 256 kB blocks and a leftover, both engines", () => {
    const r = rng(7);
    for (const typesize of [1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17, 24, 32]) {
      for (const shuffle of [true, false]) {
        const n = Math.floor((2 * 256 * 1024 + 4099) / typesize);
        const data = new Uint8Array(n * typesize);
        // high bytes of each element slow, low bytes noise; then a run, then a short period
        for (let i = 0; i < data.length; i++) {
          const b = i % typesize;
          data[i] =
            i > data.length * 0.8
              ? i % 5
              : i > data.length * 0.6
                ? 7
                : b < typesize / 2
                  ? (r() * 256) | 0
                  : (i >> 9) & 0xff;
        }
        const enc = encodeBlosc(data, typesize, { shuffle });
        for (const engine of ENGINES)
          assertBytes(decodeBlosc(enc, undefined, engine), data, `typesize ${typesize}, shuffle ${shuffle}, ${engine}`);
      }
    }
  });

  test("recycled storage is written whole: a pooled buffer's old bytes never show through", () => {
    const data = new Uint8Array(POOL_MIN_BYTES * 2).map((_, i) => (i >> 3) & 0xff);
    const enc = encodeBlosc(data, 4);
    for (const engine of ENGINES) {
      clearBufferPool();
      const old = takeBuffer(data.length, false);
      new Uint8Array(old).fill(0xaa);
      holdBuffers(old);
      dropBuffers(old); // back in the pool, full of 0xaa
      const got = decodeBlosc(enc, undefined, engine);
      assert.equal(got.buffer, old, "the pooled buffer is the one decoded into");
      assertBytes(got, data, engine);
    }
    clearBufferPool();
  });
});

describe("corrupt and truncated input", () => {
  const samples = [
    "smooth-t4-s1-forward_compat-n20001-b16384-lz4.blosc",
    "smooth-t8-s1-never-n769-b2048-lz4.blosc",
    "runs-t4-s1-forward_compat-n7500-b0-lz4hc.blosc",
    "smooth-t3-s1-forward_compat-n2050-b2048-lz4.blosc",
  ];

  /** Decodes and says how it went: a result of the right size, or a FormatError; anything else fails the test. */
  function outcome(src: Uint8Array, engine: BloscEngine, what: string): "ok" | "format" {
    try {
      const h = bloscHeader(src);
      const out = decodeBlosc(src, h, engine);
      assert.equal(out.length, h.nbytes, `${what}: size`);
      return "ok";
    } catch (err) {
      if (err instanceof FormatError) return "format";
      throw new Error(`${what} (${engine}) threw ${(err as Error).name}: ${(err as Error).message}`, { cause: err });
    }
  }

  test("a chunk cut short anywhere gives FormatError with both engines", () => {
    for (const file of samples) {
      const src = chunk(file);
      for (let cut = 0; cut < src.length; cut += cut < 96 ? 1 : 37) {
        for (const engine of ENGINES)
          assert.equal(
            outcome(src.subarray(0, cut), engine, `${file} cut at ${cut}`),
            "format",
            `${file} cut at ${cut} (${engine})`,
          );
      }
    }
  });

  test("a corrupt header (element size 0, block size 0 or odd for its streams, sizes past the chunk) gives FormatError", () => {
    const src = chunk(samples[0]!);
    const bad = (patch: (v: DataView, b: Uint8Array) => void): Uint8Array => {
      const b = src.slice();
      patch(new DataView(b.buffer), b);
      return b;
    };
    const cases: [string, Uint8Array][] = [
      ["typesize 0", bad((_, b) => (b[3] = 0))],
      ["blocksize 0", bad((v) => v.setInt32(8, 0, true))],
      ["blocksize not a multiple of the element size", bad((v) => v.setInt32(8, 65537, true))],
      ["nbytes negative", bad((v) => v.setInt32(4, -5, true))],
      ["nbytes larger than the blocks", bad((v) => v.setInt32(4, 3 * 65536 + 5, true))],
      ["a block starting past the end", bad((v) => v.setInt32(16, src.length + 10, true))],
      ["a block starting inside the header", bad((v) => v.setInt32(16, 3, true))],
      ["a stream longer than its bytes", bad((v) => v.setInt32(v.getInt32(16, true), 1 << 20, true))],
      ["a negative stream size", bad((v) => v.setInt32(v.getInt32(16, true), -1, true))],
      ["version 9", bad((_, b) => (b[0] = 9))],
    ];
    for (const [what, b] of cases)
      for (const engine of ENGINES) assert.equal(outcome(b, engine, what), "format", `${what} (${engine})`);
  });

  test("bytes changed at random give a result or FormatError, the same one from both engines", () => {
    for (const file of samples) {
      const src = chunk(file);
      const r = rng(file.length);
      for (let trial = 0; trial < 300; trial++) {
        const b = src.slice();
        const flips = 1 + Math.floor(r() * 3);
        // after the header and block table mostly (else nearly every change fails the same check)
        for (let f = 0; f < flips; f++) b[16 + Math.floor(r() * (b.length - 16))] = Math.floor(r() * 256);
        const results = ENGINES.map((e) => {
          try {
            return decodeBlosc(b, undefined, e);
          } catch (err) {
            if (err instanceof FormatError) return "format";
            throw new Error(`${file}, trial ${trial} (${e}) threw ${(err as Error).name}: ${(err as Error).message}`, {
              cause: err,
            });
          }
        });
        const [w, j] = results;
        if (w === "format" || j === "format")
          assert.equal(w, j, `${file}, trial ${trial}: one engine failed, the other did not`);
        else assertBytes(w!, j!, `${file}, trial ${trial}`);
      }
    }
  });

  test("the LZ4 loops, given corrupt streams, never write outside their output (JavaScript and WebAssembly)", () => {
    const module = bloscWasmModule();
    assert.ok(module, "WebAssembly is available in Node");
    const x = new WebAssembly.Instance(module, {}).exports as unknown as {
      memory: WebAssembly.Memory;
      lz4_decode(s: number, n: number, d: number, e: number): number;
      __heap_base: WebAssembly.Global;
    };
    const base = ((x.__heap_base.value as number) + 63) & ~63;
    const GUARD = 256;
    const r = rng(42);
    // Streams with literals, short and long matches, small and large offsets, and runs.
    const plain = new Uint8Array(20000).map((_, i) =>
      i < 5000 ? (r() * 256) | 0 : i < 9000 ? i % 3 : i < 14000 ? 0x43 : (i * 7) % 251,
    );
    const enc = new Uint8Array(plain.length + 1000);
    const clen = lz4EncodeBlock(plain, 0, plain.length, enc, 0, enc.length);
    assert.ok(clen > 0);
    const expected = plain.length;
    let decodedSame = 0;
    for (let trial = 0; trial < 2000; trial++) {
      const s = enc.slice(0, clen);
      let len = clen;
      if (trial % 4 === 0) len = Math.floor(r() * clen);
      else for (let f = 0; f < 1 + (trial % 3); f++) s[Math.floor(r() * clen)] = Math.floor(r() * 256);
      const want = trial % 5 === 0 ? Math.floor(r() * expected) : expected;
      // JavaScript: the output surrounded by guard bytes
      const dst = new Uint8Array(GUARD + want + GUARD).fill(0x5a);
      let js: number | "format";
      try {
        js = lz4DecodeBlock(s, 0, len, dst, GUARD, want);
      } catch (err) {
        assert.ok(err instanceof FormatError, `JavaScript threw ${(err as Error).name}`);
        js = "format";
      }
      for (let i = 0; i < GUARD; i++)
        assert.ok(
          dst[i] === 0x5a && dst[GUARD + want + i] === 0x5a,
          `trial ${trial}: JavaScript wrote outside its output`,
        );
      // WebAssembly: input, then guard, output, guard in the module's memory
      const need = base + len + 64 + GUARD + want + GUARD;
      if (need > x.memory.buffer.byteLength) x.memory.grow(Math.ceil((need - x.memory.buffer.byteLength) / 65536));
      const mem = new Uint8Array(x.memory.buffer);
      mem.set(s.subarray(0, len), base);
      const out = base + len + 64 + GUARD;
      mem.fill(0x5a, out - GUARD, out + want + GUARD);
      const w = x.lz4_decode(base, len, out, want);
      for (let i = 0; i < GUARD; i++)
        assert.ok(
          mem[out - GUARD + i] === 0x5a && mem[out + want + i] === 0x5a,
          `trial ${trial}: WebAssembly wrote outside its output`,
        );
      // Both accept or both refuse; where both decode the whole output, they agree.
      const jsOk = js === want;
      const wOk = w === want;
      assert.equal(wOk, jsOk, `trial ${trial}: WebAssembly ${w}, JavaScript ${js} of ${want}`);
      if (jsOk) {
        assertBytes(mem.subarray(out, out + want), dst.subarray(GUARD, GUARD + want), `trial ${trial}`);
        decodedSame++;
      }
    }
    assert.ok(decodedSame > 20, `some corrupt streams still decode (${decodedSame}), and the two agree on them`);
  });
});

describe("where WebAssembly cannot run, JavaScript decodes", () => {
  test("no WebAssembly, an engine that refuses the module (no SIMD), compiling refused (a CSP without 'wasm-unsafe-eval'): no module", () => {
    assert.equal(compileBloscWasm(undefined), null);
    const refusing = { validate: () => false, Module: WebAssembly.Module } as unknown as typeof WebAssembly;
    assert.equal(compileBloscWasm(refusing), null);
    const csp = {
      validate: () => true,
      Module: function () {
        throw new WebAssembly.CompileError(
          "WebAssembly.Module(): Refused to compile or instantiate WebAssembly module because 'unsafe-eval' is not an allowed source of script",
        );
      },
    } as unknown as typeof WebAssembly;
    assert.equal(compileBloscWasm(csp), null);
    assert.ok(compileBloscWasm(WebAssembly) && bloscWasmModule(), "and the real one here compiles");
  });

  test("in a process without WebAssembly (node --jitless), chunks decode with JavaScript", () => {
    const script = `
      import { readFileSync } from "node:fs";
      const { decodeBlosc } = await import(${JSON.stringify(new URL("../../src/io/codecs/blosc.ts", import.meta.url).href)});
      const src = new Uint8Array(readFileSync(${JSON.stringify(new URL("smooth-t4-s1-forward_compat-n20001-b16384-lz4.blosc", FIXTURES).pathname)}));
      let s = 0; for (const b of decodeBlosc(src)) s = (s * 31 + b) >>> 0;
      let wasmFailed = false; try { decodeBlosc(src, undefined, "wasm"); } catch { wasmFailed = true; }
      console.log(JSON.stringify({ wasm: typeof WebAssembly, s, wasmFailed }));`;
    const r = spawnSync(process.execPath, ["--jitless", "--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout.trim().split("\n").pop()!) as { wasm: string; s: number; wasmFailed: boolean };
    let s = 0;
    for (const b of pattern("smooth", 20001, 4)) s = (s * 31 + b) >>> 0;
    assert.deepEqual(got, { wasm: "undefined", s, wasmFailed: true });
  });
});

test("the committed WebAssembly is what blosc-wasm.c builds to (where clang with the wasm32 target is installed)", (t) => {
  const r = spawnSync(
    process.execPath,
    [new URL("../../scripts/build-wasm.mjs", import.meta.url).pathname, "--check"],
    { encoding: "utf8" },
  );
  if (r.status === 3) return t.skip(r.stdout.trim());
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
