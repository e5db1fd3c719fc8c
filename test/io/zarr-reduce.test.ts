// A Zarr read fused with the sum over the first axis that consumes it (x.sum/mean({ axis: 0 })):
// one task per block, and bit for bit what the read and the elementwise sum give unfused, for
// every layout the fast path takes and every one it leaves to the general path.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as mw from "../../node/array.js";
import { COLLECTION, optimize, Task } from "../../src/internal.js";
import { useCluster } from "../helpers/cluster.js";
import { zarrSumStats } from "../../src/io/zarr-reduce.js";
import { fixture } from "./fixtures.js";

let tmp: string;
const c = useCluster({ workers: 2 });
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), "meshwork-zarr-sum-"));
});
after(async () => {
  rmSync(tmp, { recursive: true, force: true });
});

/** Values with NaN, -0, large and tiny magnitudes, so that any change of order or rounding shows. */
function values(shape: number[], dtype: "float32" | "float64", seed = 1): mw.NDArray {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float64Array(n);
  let h = seed;
  for (let i = 0; i < n; i++) {
    h = (Math.imul(h, 1103515245) + 12345) & 0x7fffffff;
    const r = h / 0x7fffffff;
    v[i] = i % 997 === 0 ? NaN : i % 991 === 0 ? -0 : (r - 0.3) * (i % 3 === 0 ? 1e7 : i % 3 === 1 ? 1e-3 : 280);
  }
  return mw.NDArray.from(v, { shape, dtype });
}

/** The tasks a computation runs, after fusing. */
function tasks(x: mw.ChunkedArray): Task[] {
  const parts = x[COLLECTION]();
  return [...optimize(parts.graph.flatten(), parts.keys).values()].filter((t): t is Task => t instanceof Task);
}
const fusedCount = (x: mw.ChunkedArray) => tasks(x).filter((t) => t.fn === "io.zarr-read-sum").length;

async function sameBothWays(
  x: mw.ChunkedArray,
  what: string,
  scheduler: "sync" | "cluster" = "cluster",
): Promise<void> {
  const s = scheduler === "sync" ? "sync" : c.client;
  const fused = (await x.compute({ scheduler: s })) as mw.NDArray;
  const plain = (await x.compute({ scheduler: s, fuse: false })) as mw.NDArray;
  assert.deepEqual(fused.shape, plain.shape, `${what}: shape`);
  assert.equal(fused.dtype, plain.dtype, `${what}: dtype`);
  const a = fused.contiguous().toTypedArray();
  const b = plain.contiguous().toTypedArray();
  for (let i = 0; i < a.length; i++)
    if (!Object.is(a[i], b[i])) assert.fail(`${what}: element ${i} is ${a[i]} fused, ${b[i]} unfused`);
}

describe("sums over the first axis, fused into the read", () => {
  test("float32 and float64, 3-D with edge chunks on every axis, sum and mean: one task per chunk, bit for bit the unfused result", async () => {
    for (const dtype of ["float32", "float64"] as const) {
      const store = join(tmp, `edges-${dtype}.zarr`);
      await mw.fromArray(values([37, 21, 30], dtype), { chunks: [8, 10, 16] }).toZarr(store, { scheduler: c.client });
      const x = await mw.fromZarr(store);
      assert.deepEqual(x.numblocks, [5, 3, 2]);
      for (const [name, y] of [
        ["sum", x.sum({ axis: 0 })],
        ["mean", x.mean({ axis: 0 })],
      ] as const) {
        assert.equal(fusedCount(y), 30, `${dtype} ${name}: a fused task per block`);
        await sameBothWays(y, `${dtype} ${name}`);
        const before = zarrSumStats();
        await sameBothWays(y, `${dtype} ${name}, sync`, "sync");
        const after = zarrSumStats();
        // blocks whole across axes 1 and 2 (2 of 3 along axis 1, 1 of 2 along 2, all 5 along 0) take the fast path
        assert.deepEqual(
          [after.fast - before.fast, after.general - before.general],
          [10, 20],
          `${dtype} ${name}: the paths taken`,
        );
      }
    }
  });

  test("blocks of several chunks along the first axis; a block across chunks of another axis takes the general path", async () => {
    const store = join(tmp, "grouped.zarr");
    await mw.fromArray(values([50, 12, 9], "float32"), { chunks: [7, 6, 9] }).toZarr(store, { scheduler: c.client });
    const rows = await mw.fromZarr(store, { chunks: [21, 6, 9] }); // three storage chunks a block
    assert.equal(fusedCount(rows.mean({ axis: 0 })), 6);
    await sameBothWays(rows.mean({ axis: 0 }), "three chunks a block");
    const before = zarrSumStats().fast;
    await sameBothWays(rows.mean({ axis: 0 }), "three chunks a block, sync", "sync");
    assert.equal(zarrSumStats().fast - before, 6, "all on the fast path");
    const across = await mw.fromZarr(store, { chunks: [7, 12, 9] });
    await sameBothWays(across.sum({ axis: 0 }), "a block across two chunks of axis 1");
  });

  test("other codecs, a chunk stored as it is, missing chunks (the fill value) and v3 stores give what the unfused tasks give", async () => {
    const data = values([20, 8, 6], "float64");
    for (const compressor of [null, "zstd", "gzip", "lz4"] as const) {
      const store = join(tmp, `codec-${compressor}.zarr`);
      await mw.fromArray(data, { chunks: [6, 4, 6] }).toZarr(store, { compressor, scheduler: c.client });
      await sameBothWays((await mw.fromZarr(store)).mean({ axis: 0 }), `compressor ${compressor}`);
    }
    // random bits do not compress: Blosc stores them as they are
    const noise = mw.NDArray.from(
      Float64Array.from({ length: 4 * 300 }, (_, i) => (Math.sin(i * 12.9898) * 43758.5453) % 1),
      { shape: [4, 300] },
    );
    const memcpy = join(tmp, "memcpy.zarr");
    await mw.fromArray(noise, { chunks: [4, 300] }).toZarr(memcpy, { scheduler: c.client });
    const fastBefore = zarrSumStats().fast;
    await sameBothWays((await mw.fromZarr(memcpy)).sum({ axis: 0 }), "stored as it is", "sync");
    assert.equal(zarrSumStats().fast - fastBefore, 1, "stored as it is: the fast path");
    const holes = join(tmp, "holes.zarr");
    await mw.fromArray(data, { chunks: [6, 4, 6] }).toZarr(holes, { scheduler: c.client });
    unlinkSync(join(holes, "1.1.0"));
    await sameBothWays((await mw.fromZarr(holes)).mean({ axis: 0 }), "a missing chunk");
    const v3 = join(tmp, "v3.zarr");
    await mw.fromArray(data, { chunks: [6, 4, 6] }).toZarr(v3, { format: 3, scheduler: c.client });
    const y = (await mw.fromZarr(v3)).mean({ axis: 0 });
    assert.equal(fusedCount(y), 8);
    await sameBothWays(y, "v3");
    const v3Before = zarrSumStats().fast;
    await sameBothWays(y, "v3, sync", "sync");
    assert.equal(zarrSumStats().fast - v3Before, 8, "v3: the fast path");
  });

  test("what xarray and tensorstore wrote: C-Blosc's chunks, v2 and v3", async () => {
    await sameBothWays(
      (await mw.fromZarr(fixture("zarr2/codecs.zarr"), { path: "blosc_big" })).mean({ axis: 0 }),
      "zarr-python blosc_big",
    );
    await sameBothWays(
      (await mw.fromZarr(fixture("zarr2/codecs.zarr"), { path: "blosc_big_f8" })).sum({ axis: 0 }),
      "zarr-python blosc_big_f8",
    );
    await sameBothWays((await mw.fromZarr(fixture("zarr3/blosc"))).mean({ axis: 0 }), "tensorstore blosc");
    const before = zarrSumStats().fast;
    await sameBothWays(
      (await mw.fromZarr(fixture("zarr2/codecs.zarr"), { path: "blosc_big" })).mean({ axis: 0 }),
      "zarr-python blosc_big, sync",
      "sync",
    );
    assert.equal(
      zarrSumStats().fast - before,
      2,
      "C-Blosc's chunks (the second cut at the array's edge): the fast path",
    );
  });

  test("only plain sums over the first axis of float values are fused", async () => {
    const store = join(tmp, "only.zarr");
    await mw.fromArray(values([12, 10], "float32"), { chunks: [4, 5] }).toZarr(store, { scheduler: c.client });
    const x = await mw.fromZarr(store);
    assert.equal(fusedCount(x.sum({ axis: 0 })), 6);
    assert.equal(fusedCount(x.sum({ axis: 1 })), 0, "another axis");
    assert.equal(fusedCount(x.sum()), 0, "every axis");
    assert.equal(fusedCount(x.max({ axis: 0 })), 0, "another reduction");
    assert.equal(fusedCount(x.mul(2).sum({ axis: 0 })), 0, "an expression first");
    const asF8 = await mw.fromZarr(store, { dtype: "float64" });
    assert.equal(fusedCount(asF8.sum({ axis: 0 })), 0, "converted while read");
    const ints = join(tmp, "ints.zarr");
    await mw
      .fromArray(
        mw.NDArray.from(
          Int32Array.from({ length: 24 }, (_, i) => i),
          { shape: [4, 6] },
        ),
        { chunks: [2, 3] },
      )
      .toZarr(ints, { scheduler: c.client });
    assert.equal(fusedCount((await mw.fromZarr(ints)).sum({ axis: 0 })), 0, "integers");
    await sameBothWays(x.max({ axis: 0 }), "max");
  });
});

/**
 * values() with more NaN: a tenth of the values scattered, and along the first axis one position
 * all NaN, one half NaN, one with +inf and -inf (its sum is NaN without any NaN), one all -0.
 */
function withNaN(shape: number[], dtype: "float32" | "float64"): mw.NDArray {
  const a = values(shape, dtype, 7);
  const d = a.data as Float32Array | Float64Array;
  const row = d.length / shape[0]!;
  for (let i = 0; i < d.length; i++) if ((i * 2654435761) % 10 === 3) d[i] = NaN;
  for (let r = 0; r < shape[0]!; r++) {
    d[r * row] = NaN;
    if (r % 2 === 0) d[r * row + 1] = NaN;
    d[r * row + 2] = r === 1 ? Infinity : r === 3 ? -Infinity : 5;
    d[r * row + 3] = -0;
  }
  return a;
}

describe("NaN-skipping sums over the first axis, fused into the read", () => {
  const reductions = (x: mw.ChunkedArray): [string, mw.ChunkedArray][] => [
    ["nanmean", x.nanmean({ axis: 0 })],
    ["nansum", x.nansum({ axis: 0 })],
    ["count", x.count({ axis: 0 })],
  ];

  test("nanmean, nansum and count of float32 and float64 with NaN, all-NaN positions and infinities: a fused task per block, bit for bit the unfused result", async () => {
    for (const dtype of ["float32", "float64"] as const) {
      const store = join(tmp, `nan-${dtype}.zarr`);
      await mw.fromArray(withNaN([37, 21, 30], dtype), { chunks: [8, 21, 16] }).toZarr(store, { scheduler: c.client });
      const x = await mw.fromZarr(store);
      for (const [name, y] of reductions(x)) {
        assert.equal(fusedCount(y), 10, `${dtype} ${name}: a fused task per block`);
        await sameBothWays(y, `${dtype} ${name}`);
        const before = zarrSumStats();
        await sameBothWays(y, `${dtype} ${name}, sync`, "sync");
        const after = zarrSumStats();
        // blocks whole across axes 1 and 2 (the first of 2 along axis 2, all 5 along 0) take the fast path
        assert.deepEqual(
          [after.fast - before.fast, after.general - before.general],
          [5, 5],
          `${dtype} ${name}: the paths taken`,
        );
      }
      const mean = (await x.nanmean({ axis: 0 }).compute({ scheduler: "sync" })) as mw.NDArray;
      assert.ok(Number.isNaN(mean.get(0, 0)), "an all-NaN position's mean is NaN");
      assert.ok(Number.isNaN(mean.get(0, 2)), "+inf and -inf make NaN");
      assert.ok(Object.is(mean.get(0, 3), 0), "-0 values: a sum from +0 stays +0");
    }
  });

  test("missing chunks (fill value NaN) are left out on the fast path; with another fill value, or for a plain sum, the general path reads them", async () => {
    const data = withNaN([20, 8, 6], "float32");
    const holes = join(tmp, "nan-holes.zarr");
    await mw.fromArray(data, { chunks: [6, 4, 6] }).toZarr(holes, { scheduler: c.client });
    unlinkSync(join(holes, "1.1.0"));
    unlinkSync(join(holes, "2.1.0"));
    const x = await mw.fromZarr(holes, { chunks: [12, 4, 6] }); // the second block of axis 1: a chunk missing of two, then of one
    for (const [name, y] of reductions(x)) {
      await sameBothWays(y, `missing chunks, ${name}`);
      const before = zarrSumStats();
      await sameBothWays(y, `missing chunks, ${name}, sync`, "sync");
      assert.deepEqual(
        [zarrSumStats().fast - before.fast, zarrSumStats().general - before.general],
        [4, 0],
        `${name}: the fast path`,
      );
    }
    const sumBefore = zarrSumStats();
    await sameBothWays(x.sum({ axis: 0 }), "missing chunks, sum", "sync");
    assert.deepEqual(
      [zarrSumStats().fast - sumBefore.fast, zarrSumStats().general - sumBefore.general],
      [2, 2],
      "sum: the blocks with a missing chunk take the general path",
    );
    const zero = join(tmp, "zero-holes.zarr");
    await mw.fromArray(data, { chunks: [6, 4, 6] }).toZarr(zero, { fillValue: -9999, scheduler: c.client });
    unlinkSync(join(zero, "1.1.0"));
    const z = await mw.fromZarr(zero);
    const before = zarrSumStats();
    await sameBothWays(z.nanmean({ axis: 0 }), "fill value -9999, nanmean", "sync");
    assert.equal(zarrSumStats().general - before.general, 1, "the block with the missing chunk takes the general path");
    await sameBothWays(z.nanmean({ axis: 0 }), "fill value -9999, nanmean");
  });

  test("without NaN the counts are one number per block (a view with strides 0) through every level of the tree, and give the unfused values; mixed with blocks that have NaN too", async () => {
    const clean = mw.NDArray.from(
      Float32Array.from({ length: 40 * 6 * 5 }, (_, i) => 280 + Math.sin(i) * 3),
      { shape: [40, 6, 5] },
    );
    const store = join(tmp, "nan-clean.zarr");
    await mw.fromArray(clean, { chunks: [4, 6, 5] }).toZarr(store, { scheduler: c.client });
    const x = await mw.fromZarr(store);
    const { readZarrSum } = await import("../../src/io/zarr-reduce.js");
    const [task] = tasks(x.nanmean({ axis: 0 })).filter((t) => t.fn === "io.zarr-read-sum");
    const partial = (await readZarrSum(...(task!.args as Parameters<typeof readZarrSum>))) as {
      s: mw.NDArray;
      n: mw.NDArray;
    };
    assert.deepEqual(
      [partial.n.shape, partial.n.strides, partial.n.data.length, partial.n.data[0]],
      [[1, 6, 5], [0, 0, 0], 1, 4],
    );
    for (const splitEvery of [2, 16]) {
      await sameBothWays(x.nanmean({ axis: 0, splitEvery }), `clean, splitEvery ${splitEvery}`);
      await sameBothWays(x.nanmean({ axis: 0, splitEvery }), `clean, splitEvery ${splitEvery}, sync`, "sync");
    }
    const d = clean.data as Float32Array;
    d[7 * 30 + 3] = NaN; // one block with a NaN: its counts are an array
    const mixed = join(tmp, "nan-mixed.zarr");
    await mw.fromArray(clean, { chunks: [4, 6, 5] }).toZarr(mixed, { scheduler: c.client });
    const y = await mw.fromZarr(mixed);
    for (const splitEvery of [2, 16])
      await sameBothWays(y.nanmean({ axis: 0, splitEvery }), `mixed, splitEvery ${splitEvery}`);
  });

  test("xarray's mean over time (a nanmean) of a store xarray wrote: a fused task per chunk and no decoding step, the unfused values", async () => {
    const { openDataset } = await import("../../node/xarray.js");
    const ds = await openDataset(fixture("xr/climate.zarr"));
    const y = ds.get("air").mean({ dim: "time" });
    const parts = y[COLLECTION]();
    const run = [...optimize(parts.graph.flatten(), parts.keys).values()].filter((t): t is Task => t instanceof Task);
    assert.deepEqual(
      run.map((t) => String(t.fn)).filter((f) => f.startsWith("io.") || f.startsWith("array.expr")),
      Array(4).fill("io.zarr-read-sum"),
      "every read fused, no elementwise pass",
    );
    for (const scheduler of ["sync", c.client] as const) {
      const a = (await y.compute({ scheduler })).values.contiguous().toTypedArray();
      const b = (await y.compute({ scheduler, fuse: false })).values.contiguous().toTypedArray();
      assert.equal(a.length, 30);
      for (let i = 0; i < a.length; i++)
        if (!Object.is(a[i], b[i])) assert.fail(`element ${i} is ${a[i]} fused, ${b[i]} unfused`);
    }
    // packed values are decoded by an elementwise step first: not fused, and computed as before
    const precip = ds.get("precip").mean({ dim: "time" });
    const pparts = precip[COLLECTION]();
    assert.equal(
      [...optimize(pparts.graph.flatten(), pparts.keys).values()].filter(
        (t) => t instanceof Task && t.fn === "io.zarr-read-sum",
      ).length,
      0,
      "precip: a decoding step first",
    );
  });

  test("what is not a NaN-skipping sum or count over the first axis is not fused, and computes as before", async () => {
    const store = join(tmp, "nan-only.zarr");
    await mw.fromArray(withNaN([12, 10], "float32"), { chunks: [4, 5] }).toZarr(store, { scheduler: c.client });
    const x = await mw.fromZarr(store);
    assert.equal(fusedCount(x.nanmean({ axis: 1 })), 0, "another axis");
    assert.equal(fusedCount(x.nanmean()), 0, "every axis");
    assert.equal(fusedCount(x.nanmax({ axis: 0 })), 0, "nanmax");
    assert.equal(fusedCount(x.nanprod({ axis: 0 })), 0, "nanprod");
    assert.equal(fusedCount(x.nanvar({ axis: 0 })), 0, "nanvar");
    assert.equal(fusedCount(x.mul(2).nanmean({ axis: 0 })), 0, "an expression first");
    assert.equal(
      fusedCount((await mw.fromZarr(store, { dtype: "float64" })).nanmean({ axis: 0 })),
      0,
      "converted while read",
    );
    for (const [name, y] of [
      ["nanmean axis 1", x.nanmean({ axis: 1 })],
      ["nanmax", x.nanmax({ axis: 0 })],
      ["nanvar", x.nanvar({ axis: 0 })],
    ] as const)
      await sameBothWays(y, name);
  });
});

describe("fused reads of every kind, without WebAssembly", () => {
  test("without WebAssembly (node --jitless) the fused task takes the general path, with the same values", () => {
    const script = `
      const mw = await import(${JSON.stringify(new URL("../../node/array.ts", import.meta.url).href)});
      const x = await mw.fromZarr(${JSON.stringify(fixture("zarr2/codecs.zarr"))}, { path: "blosc_big" });
      const same = async (y) => {
        const a = (await y.compute({ scheduler: "sync" })).contiguous().toTypedArray();
        const b = (await y.compute({ scheduler: "sync", fuse: false })).contiguous().toTypedArray();
        return a.every((v, i) => Object.is(v, b[i]));
      };
      console.log(JSON.stringify({ wasm: typeof WebAssembly, same: [await same(x.mean({ axis: 0 })), await same(x.nanmean({ axis: 0 })), await same(x.count({ axis: 0 }))] }));`;
    const r = spawnSync(process.execPath, ["--jitless", "--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").pop()!), { wasm: "undefined", same: [true, true, true] });
  });
});
