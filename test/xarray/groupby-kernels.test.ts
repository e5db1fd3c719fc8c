// groupby's kernels as they are optimised: folds a run of rows and a tile of positions at a time,
// merges and lays out with one loop per op, grouped arithmetic one program per run, and a Zarr
// read fused with the grouped sums (a monthly climatology decoded and summed in one pass). Each is
// checked bit for bit against the plain row-by-row fold or the unfused tasks.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as mw from "../../node/array.js";
import { Coordinate, DataArray, Dataset, openDataset } from "../../node/xarray.js";
import { COLLECTION, optimize, Task } from "../../src/internal.js";
import {
  groupBinary,
  groupChunk,
  groupCombine,
  groupFinalize,
  partialCounts,
  type GroupOp,
  type GroupPartial,
} from "../../src/xarray/kernels.js";
import { zarrSumStats } from "../../src/io/zarr-reduce.js";
import { useCluster } from "../helpers/cluster.js";

let tmp: string;
const c = useCluster({ workers: 2 });
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), "meshwork-groupby-"));
});
after(async () => {
  rmSync(tmp, { recursive: true, force: true });
});

/** Values near 280 with NaN scattered, a position all NaN, one with +inf and -inf, one all -0, and large and tiny magnitudes. */
function values(shape: number[], dtype: "float32" | "float64", seed = 3): mw.NDArray {
  const n = shape.reduce((a, b) => a * b, 1);
  const row = n / shape[0]!;
  const v = new Float64Array(n);
  let h = seed;
  for (let i = 0; i < n; i++) {
    h = (Math.imul(h, 1103515245) + 12345) & 0x7fffffff;
    const r = h / 0x7fffffff;
    const j = i % row;
    v[i] =
      j === 0
        ? NaN
        : j === 1
          ? Math.floor(i / row) === 2
            ? Infinity
            : Math.floor(i / row) === 5
              ? -Infinity
              : 1
          : j === 2
            ? -0
            : r < 0.08
              ? NaN
              : (r - 0.3) * (i % 3 === 0 ? 1e7 : i % 3 === 1 ? 1e-3 : 280);
  }
  return mw.NDArray.from(v, { shape, dtype });
}

/** Months of consecutive days, as groupby("time.month") gives them: runs of ~30 rows. */
function monthCodes(rows: number, from = 0): number[] {
  return Array.from({ length: rows }, (_, r) => new Date(Date.UTC(2000, 0, 1 + from + r)).getUTCMonth());
}

/** The fold as it was written first: row by row, position by position (the reference). */
function rowByRow(op: GroupOp, codes: number[], block: mw.NDArray, skip: boolean): GroupPartial {
  const rows = block.shape[0]!;
  const inner = block.size / rows;
  const data = block.contiguous().toTypedArray() as Float32Array | Float64Array;
  const groups = [...new Set(codes)].sort((a, b) => a - b);
  const slot = new Map(groups.map((g, i) => [g, i]));
  const identity = { sum: 0, mean: 0, count: 0, prod: 1, min: NaN, max: NaN, var: 0, std: 0 }[op];
  const n = new Float64Array(groups.length * inner);
  const v = new Float64Array(groups.length * inner).fill(identity);
  for (let r = 0; r < rows; r++) {
    const base = slot.get(codes[r]!)! * inner;
    for (let j = 0; j < inner; j++) {
      const x = data[r * inner + j]!;
      const k = base + j;
      if (op === "min" || op === "max") {
        if (x !== x) {
          if (!skip) (v[k] = NaN), (n[k] = -Infinity);
          continue;
        }
        if (n[k]! < 0) continue;
        const a = v[k]!;
        if (a !== a || (op === "max" ? x > a : x < a)) v[k] = x;
        n[k] = n[k]! + 1;
      } else if (x === x || !skip) {
        v[k] = op === "prod" ? v[k]! * x : v[k]! + x;
        n[k] = n[k]! + 1;
      }
    }
  }
  const out: GroupPartial = { groups, inner, n, v };
  if (op === "var" || op === "std") {
    for (let k = 0; k < v.length; k++) v[k] = n[k]! > 0 ? v[k]! / n[k]! : 0;
    const m2 = new Float64Array(v.length);
    for (let r = 0; r < rows; r++) {
      const base = slot.get(codes[r]!)! * inner;
      for (let j = 0; j < inner; j++) {
        const x = data[r * inner + j]!;
        if (x === x || !skip) {
          const d = x - v[base + j]!;
          m2[base + j] = m2[base + j]! + d * d;
        }
      }
    }
    out.m2 = m2;
  }
  return out;
}

function sameBits(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++)
    if (!Object.is(a[i], b[i])) assert.fail(`${what}: element ${i} is ${a[i]}, expected ${b[i]}`);
}

function samePartial(a: GroupPartial, b: GroupPartial, what: string): void {
  assert.deepEqual(a.groups, b.groups, `${what}: groups`);
  sameBits(partialCounts(a), partialCounts(b), `${what}: n`);
  sameBits(a.v, b.v, `${what}: v`);
  if (b.m2) sameBits(a.m2!, b.m2, `${what}: m2`);
}

const OPS: GroupOp[] = ["sum", "mean", "count", "prod", "min", "max", "var", "std"];

describe("grouped folds, a run of rows at a time", () => {
  test("every op, skipping NaN or not, float32 and float64, runs of every length and groups that come back: the row-by-row fold's bits", () => {
    const codeSets = {
      months: monthCodes(67, 20), // runs of 11, 29 (February 2000) and 27 days
      "short runs": [3, 3, 3, 1, 1, 0, 3, 3, 1, 1, 1, 1, 1, 0, 0, 2],
      "one row each": [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4],
    };
    for (const dtype of ["float32", "float64"] as const) {
      for (const [name, codes] of Object.entries(codeSets)) {
        // 2500 positions: past one tile (2048), so a tile's edge falls inside a row
        const block = values([codes.length, 50, 50], dtype);
        for (const op of OPS) {
          for (const skipna of [true, false]) {
            samePartial(
              groupChunk({ op, axis: 0, codes, skipna }, block),
              rowByRow(op, codes, block, skipna),
              `${dtype} ${name} ${op} skipna ${skipna}`,
            );
          }
        }
      }
    }
  });

  test("a grouped axis other than the first: the block is transposed first, and folds the same", () => {
    const codes = monthCodes(40);
    const block = values([40, 7, 9], "float32");
    const moved = mw.NDArray.from(block.transpose([1, 0, 2]).contiguous().toTypedArray(), {
      shape: [7, 40, 9],
      dtype: "float32",
    });
    for (const op of OPS)
      samePartial(
        groupChunk({ op, axis: 1, codes, skipna: true }, moved),
        rowByRow(op, codes, block, true),
        `axis 1 ${op}`,
      );
  });

  test("merges and the last step with one loop per op: a plain merge's bits", () => {
    const parts = [0, 1, 2].map((b) => ({
      codes: monthCodes(40, 40 * b),
      block: values([40, 6, 5], "float64", 10 + b),
    }));
    for (const op of OPS) {
      for (const skipna of [true, false]) {
        const partials = parts.map((p) => groupChunk({ op, axis: 0, codes: p.codes, skipna }, p.block));
        const merged = groupCombine(op, ...partials);
        samePartial(merged, mergeRef(op, partials), `${op} skipna ${skipna}`);
        const out = groupFinalize({ op, ngroups: 12, innerShape: [6, 5], axis: 1, dtype: "float32", ddof: 1 }, merged);
        assert.deepEqual(out.shape, [6, 12, 5]);
        assert.equal(out.dtype, "float32");
        // position (2, g, 3) is group g's result at inner index 2 × 5 + 3
        for (const [i, g] of merged.groups.entries()) {
          const k = i * 30 + 13;
          const n = partialCounts(merged)[k]!;
          const moments = n > 0 && n - 1 > 0 ? (merged.m2?.[k] ?? NaN) / (n - 1) : NaN;
          const want =
            op === "count"
              ? n
              : op === "mean"
                ? n > 0
                  ? merged.v[k]! / n
                  : NaN
                : op === "var"
                  ? moments
                  : op === "std"
                    ? Math.sqrt(moments)
                    : merged.v[k]!;
          assert.ok(
            Object.is(out.get(2, g, 3), Math.fround(want)),
            `${op} group ${g}: ${out.get(2, g, 3)} vs ${Math.fround(want)}`,
          );
        }
      }
    }
  });
});

/** Partials merged as the first version did: position by position, one switch per value. */
function mergeRef(op: GroupOp, parts: GroupPartial[]): GroupPartial {
  const inner = parts[0]!.inner;
  const groups = [...new Set(parts.flatMap((p) => p.groups))].sort((a, b) => a - b);
  const slot = new Map(groups.map((g, i) => [g, i]));
  const identity = { sum: 0, mean: 0, count: 0, prod: 1, min: NaN, max: NaN, var: 0, std: 0 }[op];
  const n = new Float64Array(groups.length * inner);
  const v = new Float64Array(groups.length * inner).fill(identity);
  const m2 = new Float64Array(groups.length * inner);
  for (const p of parts) {
    const pn = partialCounts(p);
    p.groups.forEach((g, i) => {
      for (let j = 0; j < inner; j++) {
        const a = slot.get(g)! * inner + j;
        const b = i * inner + j;
        const nb = pn[b]!;
        if (op === "min" || op === "max") {
          if (n[a]! < 0) continue;
          if (nb < 0) {
            v[a] = NaN;
            n[a] = -Infinity;
            continue;
          }
          const x = p.v[b]!;
          const cur = v[a]!;
          if (x === x && (cur !== cur || (op === "max" ? x > cur : x < cur))) v[a] = x;
          n[a] = n[a]! + nb;
        } else if (op === "var" || op === "std") {
          const na = n[a]!;
          if (nb === 0) continue;
          if (na === 0) {
            n[a] = nb;
            v[a] = p.v[b]!;
            m2[a] = p.m2![b]!;
            continue;
          }
          const total = na + nb;
          const delta = p.v[b]! - v[a]!;
          v[a] = v[a]! + (delta * nb) / total;
          m2[a] = m2[a]! + p.m2![b]! + (delta * delta * na * nb) / total;
          n[a] = total;
        } else {
          v[a] = op === "prod" ? v[a]! * p.v[b]! : v[a]! + p.v[b]!;
          n[a] = n[a]! + nb;
        }
      }
    });
  }
  return op === "var" || op === "std" ? { groups, inner, n, v, m2 } : { groups, inner, n, v };
}

describe("counts per group where every position has the same", () => {
  test("sums of data without NaN carry a count per group; merged with partials that have counts per position, and laid out, the same values", () => {
    const clean = mw.NDArray.from(
      Float64Array.from({ length: 40 * 30 }, (_, i) => 280 + Math.sin(i)),
      { shape: [40, 5, 6] },
    );
    const holes = values([40, 5, 6], "float64");
    for (const op of ["sum", "mean", "count"] as const) {
      const a = groupChunk({ op, axis: 0, codes: monthCodes(40), skipna: true }, clean);
      assert.equal(a.n, null, `${op}: no NaN left out`);
      assert.deepEqual(a.rows, [31, 9], `${op}: January's 31 days and February's first 9`);
      samePartial(a, rowByRow(op, monthCodes(40), clean, true), op);
      const b = groupChunk({ op, axis: 0, codes: monthCodes(40, 40), skipna: true }, holes);
      assert.ok(b.n !== null, `${op}: NaN left out`);
      const notSkipped = groupChunk({ op, axis: 0, codes: monthCodes(40, 40), skipna: false }, holes);
      assert.equal(notSkipped.n, null, `${op}: NaN kept, every row counted`);
      const c = groupChunk({ op, axis: 0, codes: monthCodes(40, 80), skipna: true }, clean);
      const uniform = groupCombine(op, a, c);
      assert.equal(uniform.n, null, `${op}: merged, still one count per group`);
      samePartial(uniform, mergeRef(op, [a, c]), `${op}: merged uniform`);
      const mixed = groupCombine(op, a, b, c);
      assert.ok(mixed.n !== null);
      samePartial(mixed, mergeRef(op, [a, b, c]), `${op}: merged mixed`);
      const spec = { op, ngroups: 12, innerShape: [5, 6], axis: 0, dtype: "float64" as const, ddof: 0 };
      const materialized = { ...uniform, n: partialCounts(uniform) };
      sameBits(
        groupFinalize(spec, uniform).toTypedArray(),
        groupFinalize(spec, materialized).toTypedArray(),
        `${op}: laid out`,
      );
    }
  });
});

describe("grouped arithmetic, one program per run", () => {
  test("block minus its group's row of another array, broadcast over a missing dimension, with casts: the elementwise values", () => {
    const rows = monthCodes(45, 10);
    const block = values([45, 4, 6], "float32");
    const other = values([12, 1, 6], "float64", 9);
    for (const op of ["sub", "add", "mul", "div"] as const) {
      const out = groupBinary({ op, axis: 0, rows, dtype: "float64" }, block, other);
      assert.deepEqual(out.shape, [45, 4, 6]);
      for (let r = 0; r < 45; r++)
        for (let i = 0; i < 4; i++)
          for (let j = 0; j < 6; j++) {
            const x = block.get(r, i, j) as number;
            const y = other.get(rows[r]!, 0, j) as number;
            const want = op === "sub" ? x - y : op === "add" ? x + y : op === "mul" ? x * y : x / y;
            assert.ok(Object.is(out.get(r, i, j), want), `${op} [${r}, ${i}, ${j}]`);
          }
    }
    const f32 = groupBinary(
      { op: "sub", axis: 1, rows: monthCodes(6), dtype: "float32" },
      values([3, 6, 2], "float32"),
      values([3, 12, 2], "float32", 4),
    );
    assert.equal(f32.dtype, "float32");
    assert.ok(
      Object.is(
        f32.get(1, 4, 1),
        Math.fround(
          (values([3, 6, 2], "float32").get(1, 4, 1) as number) -
            (values([3, 12, 2], "float32", 4).get(1, 0, 1) as number),
        ),
      ),
    );
  });
});

describe("a Zarr read fused with the grouped sums", () => {
  /** A daily dataset like the benchmark's, small: time × lat × lon with NaN, chunks of 32 days (most straddle two months). */
  async function daily(path: string, dtype: "float32" | "float64", rows = 100): Promise<void> {
    const coords = {
      time: new Coordinate({
        dims: ["time"],
        kind: "datetime",
        values: mw.NDArray.from(Float64Array.from({ length: rows }, (_, r) => Date.UTC(2000, 0, 1 + r))),
      }),
      lat: new Coordinate({ dims: ["lat"], values: mw.NDArray.from(Float64Array.from([60, 50, 40, 50, 20, 10])) }),
      lon: new Coordinate({
        dims: ["lon"],
        values: mw.NDArray.from(Float64Array.from({ length: 7 }, (_, i) => i * 10)),
      }),
    };
    const air = new DataArray({
      data: mw.fromArray(values([rows, 6, 7], dtype), { chunks: [32, 6, 7] }),
      dims: ["time", "lat", "lon"],
      coords,
    });
    await new Dataset({ dataVars: { air }, coords }).toZarr(path, { scheduler: c.client });
  }

  const fusedTasks = (x: DataArray) => {
    const parts = x[COLLECTION]();
    return [...optimize(parts.graph.flatten(), parts.keys).values()].filter(
      (t): t is Task => t instanceof Task && t.fn === "xarray.zarr-group-chunk",
    ).length;
  };

  async function sameBothWays(x: DataArray, what: string, scheduler: "sync" | "cluster" = "cluster"): Promise<void> {
    const s = scheduler === "sync" ? "sync" : c.client;
    const a = (await x.compute({ scheduler: s })).values;
    const b = (await x.compute({ scheduler: s, fuse: false })).values;
    assert.deepEqual(a.shape, b.shape, `${what}: shape`);
    assert.equal(a.dtype, b.dtype, `${what}: dtype`);
    sameBits(a.contiguous().toTypedArray() as Float64Array, b.contiguous().toTypedArray() as Float64Array, what);
  }

  test("monthly mean, sum and count of float32 and float64, skipping NaN or not: a fused task per chunk, bit for bit the unfused result", async () => {
    for (const dtype of ["float32", "float64"] as const) {
      const store = join(tmp, `daily-${dtype}.zarr`);
      await daily(store, dtype);
      const air = (await openDataset(store)).get("air");
      for (const op of ["mean", "sum", "count"] as const) {
        for (const skipna of [true, false]) {
          const clim = air.groupby("time.month")[op]({ skipna });
          assert.equal(fusedTasks(clim), 4, `${dtype} ${op}: a fused task per chunk`);
          await sameBothWays(clim, `${dtype} ${op} skipna ${skipna}`);
          const before = zarrSumStats();
          await sameBothWays(clim, `${dtype} ${op} skipna ${skipna}, sync`, "sync");
          assert.deepEqual(
            [zarrSumStats().fast - before.fast, zarrSumStats().general - before.general],
            [4, 0],
            `${dtype} ${op}: the fast path`,
          );
        }
      }
      const clim = await air.groupby("time.month").mean().compute({ scheduler: "sync" });
      assert.ok(Number.isNaN(clim.values.get(0, 0, 0)), "an all-NaN position");
      assert.ok(Number.isNaN(clim.values.get(0, 0, 1)), "+inf and -inf in January");
      assert.ok(Object.is(clim.values.get(0, 0, 2), 0), "-0 values");
    }
  });

  test("a missing chunk is left out when NaN is skipped, read the general way when not; other folds and axes are not fused", async () => {
    const store = join(tmp, "daily-holes.zarr");
    await daily(store, "float32");
    unlinkSync(join(store, "air", "1.0.0"));
    const air = (await openDataset(store)).get("air");
    let before = zarrSumStats();
    await sameBothWays(air.groupby("time.month").mean(), "a missing chunk, skipna", "sync");
    assert.deepEqual([zarrSumStats().fast - before.fast, zarrSumStats().general - before.general], [4, 0]);
    await sameBothWays(air.groupby("time.month").mean(), "a missing chunk, skipna");
    before = zarrSumStats();
    await sameBothWays(air.groupby("time.month").sum({ skipna: false }), "a missing chunk, skipna false", "sync");
    assert.deepEqual([zarrSumStats().fast - before.fast, zarrSumStats().general - before.general], [3, 1]);
    for (const op of ["var", "std", "min", "max", "prod"] as const) {
      assert.equal(fusedTasks(air.groupby("time.month")[op]()), 0, op);
      await sameBothWays(air.groupby("time.month")[op](), op);
    }
    assert.equal(fusedTasks(air.groupby("lat").mean()), 0, "grouped along another axis");
    await sameBothWays(air.groupby("lat").mean(), "grouped along lat");
    assert.equal(fusedTasks(air.astype("float64").groupby("time.month").mean()), 0, "an elementwise step first");
  });

  const tasksOf = (x: DataArray, fn: string) => {
    const parts = x[COLLECTION]();
    return [...optimize(parts.graph.flatten(), parts.keys).values()].filter(
      (t): t is Task => t instanceof Task && t.fn === fn,
    ).length;
  };

  test("the monthly anomaly: each chunk read twice, fused with the climatology's sums and with the subtraction, none held; the unfused values", async () => {
    const store = join(tmp, "daily-anomaly.zarr");
    await daily(store, "float32", 130);
    const air = (await openDataset(store)).get("air");
    const clim = air.groupby("time.month").mean();
    const anomaly = air.groupby("time.month").sub(clim);
    assert.equal(tasksOf(anomaly, "io.zarr-read"), 0, "no read left to hold");
    assert.equal(tasksOf(anomaly, "xarray.zarr-group-chunk"), 5);
    assert.equal(tasksOf(anomaly, "xarray.zarr-group-binary"), 5);
    await sameBothWays(anomaly, "anomaly");
    const before = zarrSumStats();
    await sameBothWays(anomaly, "anomaly, sync", "sync");
    assert.deepEqual(
      [zarrSumStats().fast - before.fast, zarrSumStats().general - before.general],
      [10, 0],
      "every read on the fast path",
    );
    const series = anomaly.mean({ dim: ["lat", "lon"] });
    await sameBothWays(series, "the global-mean anomaly");
    await sameBothWays(series, "the global-mean anomaly, sync", "sync");
  });

  test("grouped add, sub, mul and div of float32 and float64 with a computed array, and a missing chunk: bit for bit unfused", async () => {
    for (const dtype of ["float32", "float64"] as const) {
      const store = join(tmp, `daily-arith-${dtype}.zarr`);
      await daily(store, dtype, 100);
      unlinkSync(join(store, "air", "2.0.0"));
      const air = (await openDataset(store)).get("air");
      const clim = await air.groupby("time.month").max().compute({ scheduler: "sync" }); // computed: one block
      for (const op of ["add", "sub", "mul", "div"] as const) {
        const y = air.groupby("time.month")[op](clim);
        assert.equal(tasksOf(y, "xarray.zarr-group-binary"), 4, `${dtype} ${op}`);
        await sameBothWays(y, `${dtype} ${op}`);
        const before = zarrSumStats();
        await sameBothWays(y, `${dtype} ${op}, sync`, "sync");
        assert.deepEqual(
          [zarrSumStats().fast - before.fast, zarrSumStats().general - before.general],
          [4, 0],
          `${dtype} ${op}: the fast path, the missing chunk included`,
        );
      }
    }
  });

  test("grouped arithmetic the fast path does not cover: another type, broadcasting; the unfused values", async () => {
    const store = join(tmp, "daily-arith-edges.zarr");
    await daily(store, "float32", 70);
    const air = (await openDataset(store)).get("air");
    const clim = air.groupby("time.month").mean();
    const wide = air.groupby("time.month").sub(clim.astype("float64"));
    assert.equal(tasksOf(wide, "xarray.zarr-group-binary"), 0, "float32 - float64 is float64: not fused");
    await sameBothWays(wide, "float32 - float64");
    const zonal = air.groupby("time.month").sub(clim.mean({ dim: "lon" }));
    assert.equal(tasksOf(zonal, "xarray.zarr-group-binary"), 3, "fused, then found to broadcast on the worker");
    const before = zarrSumStats();
    await sameBothWays(zonal, "less the zonal mean (broadcast over lon)", "sync");
    assert.equal(zarrSumStats().general - before.general, 3, "the grouped arithmetic takes the general path");
    await sameBothWays(zonal, "less the zonal mean");
  });

  test("what follows the grouped arithmetic row by row (a reduction over the other axes, counting or not, or an elementwise step) runs on each row as it is made; a reduction along time does not; the unfused values", async () => {
    const store = join(tmp, "daily-rows.zarr");
    await daily(store, "float32", 100);
    unlinkSync(join(store, "air", "1.0.0"));
    const air = (await openDataset(store)).get("air");
    const clim = await air.groupby("time.month").mean().compute({ scheduler: "sync" });
    const anomaly = air.groupby("time.month").sub(clim);
    const cases: [string, DataArray, number][] = [
      ["mean over lat and lon (counting)", anomaly.mean({ dim: ["lat", "lon"] }), 4],
      ["sum over lon, NaN kept", anomaly.sum({ dim: "lon", skipna: false }), 4],
      ["an elementwise step", anomaly.mul(2).add(1), 4],
      ["mean over time", anomaly.mean({ dim: "time" }), 0],
    ];
    for (const [what, y, fused] of cases) {
      assert.equal(tasksOf(y, "xarray.zarr-group-binary-program"), fused, what);
      await sameBothWays(y, what);
      const before = zarrSumStats();
      await sameBothWays(y, `${what}, sync`, "sync");
      if (fused)
        assert.deepEqual(
          [zarrSumStats().fast - before.fast, zarrSumStats().general - before.general],
          [4, 0],
          `${what}: the fast path, the missing chunk included`,
        );
    }
    const zonal = air
      .groupby("time.month")
      .sub(clim.mean({ dim: "lon" }))
      .mean({ dim: ["lat", "lon"] });
    assert.equal(tasksOf(zonal, "xarray.zarr-group-binary-program"), 4);
    const before = zarrSumStats();
    await sameBothWays(zonal, "broadcasting: the general path", "sync");
    assert.equal(zarrSumStats().general - before.general, 4);
  });
});
