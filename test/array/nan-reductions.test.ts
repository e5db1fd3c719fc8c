// The NaN-skipping reductions (nansum, nanprod, nanmin, nanmax, nanmean, nanvar, nanstd, count)
// against a reference written here from NumPy's definitions: NaN at scattered places, lines and
// planes of NaN, inf and -inf that meet, every dtype, every kind of axis selection, blocks that do
// not divide the axes, deep trees, every path of the generated loops, the same bits without NaN as
// the plain reductions, fusion, and the same bits on a cluster of worker threads as on this thread.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ArgumentError } from "../../node/index.js";
import * as mw from "../../node/array.js";
import { COLLECTION, prepare } from "../../src/graph/collection.js";
import { Task } from "../../src/graph/task.js";
import { startCluster } from "../helpers/cluster.js";
import {
  assertArrayClose,
  assertArrayEqual,
  assertSameBits,
  at,
  axesOf,
  cast,
  chunkedOf,
  computeAll,
  DTYPES,
  indices,
  isFloatType,
  makeRef,
  MEAN_TYPE,
  rng,
  sample,
  SUM_TYPE,
  transposeRef,
  type Ref,
  type RefReduceOptions,
} from "./reference.js";

const sync = { scheduler: "sync" } as const;

/** (x + x.T) / 2 for a square float32 reference (NaN where either is). */
function binaryHalfSum(x: Ref): Ref {
  const t = transposeRef(x);
  return makeRef(
    x.dtype,
    x.shape,
    x.data.map((v, i) => cast(cast(v + t.data[i]!, x.dtype) * 0.5, x.dtype)),
  );
}

type NanName = "nansum" | "nanprod" | "nanmin" | "nanmax" | "nanmean" | "nanvar" | "nanstd" | "count";
const NAN_OPS: readonly NanName[] = ["nansum", "nanprod", "nanmin", "nanmax", "nanmean", "nanvar", "nanstd", "count"];
type Options = RefReduceOptions & { splitEvery?: number };

// ---------------------------------------------------------------- the reference

/** The result dtype NumPy gives (int64 written as float64, meshwork's stand-in, as for sums). */
function nanType(op: NanName, d: mw.DType): mw.DType {
  if (op === "nansum" || op === "nanprod") return SUM_TYPE(d);
  if (op === "nanmin" || op === "nanmax") return d;
  if (op === "count") return "float64";
  return MEAN_TYPE(d);
}

/**
 * NumPy's nan* functions from their definitions, in float64 over plain numbers: the values that
 * are not NaN are kept (np.nansum replaces NaN by 0 and sums, np.nanprod by 1); nanmin and nanmax
 * of nothing are NaN; nanmean is total / count (NaN for none); nanvar divides the squared deviations
 * from that mean by count - ddof, NaN where that is ≤ 0; count is np.count_nonzero(~np.isnan(x)).
 */
function nanRef(op: NanName, x: Ref, o: Options = {}): Ref {
  const axes = axesOf(o.axis, x.shape.length);
  const keptShape = x.shape.map((d, k) => (axes.includes(k) ? 1 : d));
  const redShape = axes.map((k) => x.shape[k]!);
  const dtype = nanType(op, x.dtype);
  const data = indices(keptShape).map((outIdx) => {
    const values = indices(redShape).map((r) => {
      const idx = [...outIdx];
      axes.forEach((k, i) => (idx[k] = r[i]!));
      return at(x, idx);
    });
    const kept = values.filter((v) => !Number.isNaN(v));
    const total = kept.reduce((a, b) => a + b, 0);
    switch (op) {
      case "nansum":
        return cast(total, dtype);
      case "nanprod":
        return cast(
          kept.reduce((a, b) => a * b, 1),
          dtype,
        );
      // Not Math.min/max: on ties (0 and -0) NumPy keeps the first, as these do.
      case "nanmin":
        // biome-ignore lint/complexity/useMathMinMax: NumPy's tie rule for signed zeros
        return cast(kept.length === 0 ? NaN : kept.reduce((a, b) => (b < a ? b : a)), dtype);
      case "nanmax":
        // biome-ignore lint/complexity/useMathMinMax: NumPy's tie rule for signed zeros
        return cast(kept.length === 0 ? NaN : kept.reduce((a, b) => (b > a ? b : a)), dtype);
      case "count":
        return kept.length;
      case "nanmean":
        return cast(total / kept.length, dtype);
      case "nanvar":
      case "nanstd": {
        const mean = total / kept.length;
        const m2 = kept.reduce((a, v) => a + (v - mean) * (v - mean), 0);
        const dof = kept.length - (o.ddof ?? 0);
        const v = dof > 0 ? m2 / dof : NaN;
        return cast(op === "nanstd" ? Math.sqrt(v) : v, dtype);
      }
    }
  });
  return { dtype, shape: o.keepdims ? keptShape : x.shape.filter((_, k) => !axes.includes(k)), data };
}

function nanReduce(x: mw.ChunkedArray, op: NanName, o: Options): mw.ChunkedArray {
  return op === "nanvar" || op === "nanstd"
    ? x[op](o)
    : x[op]({ axis: o.axis, keepdims: o.keepdims, splitEvery: o.splitEvery });
}

/**
 * Exactly where the result cannot depend on the order of the arithmetic: the test data are
 * multiples of 1/16 small enough that every sum is exact (so nansum and nanmean too), products of
 * values in [-1, 2] are powers of two; variances round, and are compared within rounding.
 */
function check(op: NanName, actual: mw.ArrayValue, expected: Ref, what: string): void {
  if (op !== "nanvar" && op !== "nanstd") return assertArrayEqual(actual, expected, what);
  const f32 = expected.dtype === "float32";
  assertArrayClose(actual, expected, f32 ? 1e-5 : 1e-10, what, f32 ? 1e-4 : 1e-9);
}

// ---------------------------------------------------------------- test data

/**
 * `r` with NaN: at about `fraction` of the places, along one whole line per axis (through
 * [1, 2, 3, …]) and over the whole last plane of axis 0, so that every single-axis reduction has
 * positions where every value is NaN. -0 becomes 0 (which of two equal zeros a minimum picks
 * depends on the order of comparison, here and in NumPy).
 */
function withNaN(r: Ref, seed: number, fraction = 0.2): Ref {
  const next = rng(seed);
  const nd = r.shape.length;
  const data = indices(r.shape).map((idx, i) => {
    const onLine = [...Array(nd).keys()].some((k) => idx.every((v, j) => j === k || v === (j + 1) % r.shape[j]!));
    const onPlane = idx[0] === r.shape[0]! - 1;
    return onLine || onPlane || next() < fraction ? NaN : r.data[i]! + 0;
  });
  return makeRef(r.dtype, r.shape, data);
}

/** Float data with NaN; integer and bool data as they come (they cannot hold NaN). */
function testData(d: mw.DType, shape: number[], seed: number, small = false): Ref {
  const range: [number, number] | undefined = small
    ? d.startsWith("u") || d === "bool"
      ? [0, 2]
      : [-1, 2]
    : undefined;
  const r = sample(d, shape, seed, { finite: true, range });
  return isFloatType(d) ? withNaN(r, seed + 1000) : r;
}

const AXES: readonly Options[] = [
  {},
  { axis: null },
  { axis: 0 },
  { axis: -1, keepdims: true },
  { axis: [0, 2] },
  { axis: 1, keepdims: true },
  { axis: [2, 0, 1], keepdims: true },
];

// ---------------------------------------------------------------- tests

describe("result types", () => {
  test("nansum and nanprod as sum's, nanmin and nanmax keep the dtype, nanmean, nanvar and nanstd as mean's, count float64", async () => {
    for (const d of DTYPES) {
      const x = mw.zeros([3, 2], { dtype: d, chunks: 2 });
      for (const op of NAN_OPS) {
        const y = nanReduce(x, op, { axis: 0 });
        assert.equal(y.dtype, nanType(op, d), `${op} ${d}`);
        const v = await y.compute(sync);
        assert.ok(v instanceof mw.NDArray);
        assert.equal(v.dtype, nanType(op, d), `${op} ${d} computed`);
      }
    }
    assert.equal(mw.zeros([2], { dtype: "float32" }).nanmean().dtype, "float32", "np.nanmean(float32) is float32");
    assert.equal(
      mw.zeros([2], { dtype: "int8" }).nansum().dtype,
      "float64",
      "np.nansum(int8) is int64: float64 here, as sum's",
    );
  });
});

describe("values", () => {
  test("every nan reduction on every dtype, over every kind of axis selection, through blocks that do not divide the axes", async () => {
    const arrays: mw.ChunkedArray[] = [];
    const expected: [NanName, string, Ref][] = [];
    for (const d of DTYPES) {
      const wide = testData(d, [5, 6, 4], 3);
      const small = testData(d, [5, 6, 4], 4, true);
      for (const chunks of [
        [3, 4, 3],
        [2, 5, 4],
      ] as const) {
        const xw = chunkedOf(wide, chunks);
        const xs = chunkedOf(small, chunks);
        for (const op of NAN_OPS) {
          const [xr, x] = op === "nanprod" ? [small, xs] : [wide, xw];
          for (const o of AXES) {
            arrays.push(nanReduce(x, op, o));
            expected.push([
              op,
              `${op}(${d}, chunks ${JSON.stringify(chunks)}, ${JSON.stringify(o)})`,
              nanRef(op, xr, o),
            ]);
          }
        }
      }
    }
    const values = await computeAll(arrays);
    expected.forEach(([op, what, r], i) => check(op, values[i]!, r, what));
    // The data are not vacuous: along axis 0 (whose last plane is NaN), positions with no value,
    // with some NaN, and with none but that plane's.
    const counts = (await chunkedOf(testData("float64", [5, 6, 4], 3), [3, 4, 3])
      .count({ axis: 0 })
      .compute(sync)) as mw.NDArray;
    const c = [...counts.toTypedArray()];
    assert.ok(c.includes(0) && c.some((n) => n > 0 && n < 4) && c.includes(4), `counts along axis 0: ${c}`);
  });

  test("every path of the generated loops skips NaN, counts what it keeps, and keeps inf - inf as NaN", async () => {
    // [40, 37] in one block: reduced over axis 0 it runs tiles of 16 rows down the columns, then
    // 8 rows left over; over axis 1, tiles of running totals along the rows and 8 unrolled totals
    // with a rest; over both, the whole block as one flat loop; transposed over both, tiles with one
    // total; [6, 5, 37] over axes 0 and 2, a three-deep nest. In groups of 16 or 8 values, inf
    // meets -inf (NumPy: NaN), once inside one running total and once across two.
    const next = rng(77);
    const base = sample("float64", [40, 37], 7, { finite: true }).data.map((v) => (next() < 0.1 ? NaN : v + 0));
    const put = (row: number, col: number, v: number) => (base[row * 37 + col] = v);
    // Down the columns: inf and -inf in one tile of rows, in two tiles, and in the rows left over.
    put(0, 0, Infinity);
    put(5, 0, -Infinity);
    put(0, 1, Infinity);
    put(20, 1, -Infinity);
    put(38, 4, Infinity);
    put(39, 4, -Infinity);
    put(3, 3, Infinity); // alone
    for (let r = 0; r < 40; r++) put(r, 2, NaN);
    // Along the rows: inf and -inf in one of the 8 running totals, in a tiled row and a row left over.
    put(1, 9, Infinity);
    put(1, 17, -Infinity);
    put(35, 5, Infinity);
    put(35, 13, -Infinity);
    for (let c = 0; c < 37; c++) put(2, c, NaN);
    const cubes: [Ref, Options[], number[][]][] = [];
    for (const d of ["float64", "float32"] as const) {
      const flat = makeRef(
        d,
        [40, 37],
        base.map((v) => cast(v, d)),
      );
      cubes.push([
        flat,
        [{ axis: 0 }, { axis: 1 }, { axis: null }, { axis: [0, 1], keepdims: true }],
        [
          [13, 14, 13],
          [20, 17],
        ],
      ]);
      cubes.push([
        withNaN(sample(d, [6, 5, 37], 8, { finite: true }), 9, 0.1),
        [{ axis: [0, 2] }, { axis: 2 }, { axis: 0 }],
        [
          [4, 2],
          [3, 2],
          [13, 14, 10],
        ],
      ]);
    }
    const arrays: mw.ChunkedArray[] = [];
    const expected: [NanName, string, Ref][] = [];
    for (const [xr, options, cut] of cubes) {
      for (const chunks of [-1, cut]) {
        const x = chunkedOf(xr, chunks);
        for (const op of NAN_OPS.filter((o) => o !== "nanprod")) {
          for (const o of options) {
            arrays.push(nanReduce(x, op, o));
            expected.push([
              op,
              `${op} ${xr.dtype} [${xr.shape}] chunks ${JSON.stringify(chunks)} ${JSON.stringify(o)}`,
              nanRef(op, xr, o),
            ]);
          }
          if (xr.shape.length === 2) {
            // Transposed inside the reduction's program (fused): both axes reduced, not flat.
            arrays.push(nanReduce(x.T, op, {}));
            expected.push([
              op,
              `${op} ${xr.dtype} transposed, chunks ${JSON.stringify(chunks)}`,
              nanRef(op, transposeRef(xr), {}),
            ]);
          }
        }
      }
    }
    const values = await computeAll(arrays);
    expected.forEach(([op, what, r], i) => check(op, values[i]!, r, what));
    const sums = (await chunkedOf(makeRef("float64", [40, 37], base), -1)
      .nansum({ axis: 0 })
      .compute(sync)) as mw.NDArray;
    assert.deepEqual(
      [...sums.toTypedArray()].slice(0, 5).map(String),
      ["NaN", "NaN", "0", "Infinity", "NaN"],
      "inf meets -inf: NaN; all NaN: 0; inf alone: inf",
    );
  });

  test("all NaN: nansum 0, nanprod 1, nanmin, nanmax, nanmean, nanvar and nanstd NaN, count 0", async () => {
    for (const d of ["float64", "float32"] as const) {
      const x = mw.full([4, 3], NaN, { dtype: d, chunks: [3, 2] });
      const got = await computeAll(NAN_OPS.map((op) => nanReduce(x, op, {})));
      assert.deepEqual(got, [0, 1, NaN, NaN, NaN, NaN, NaN, 0], d);
      const rows = await computeAll(NAN_OPS.map((op) => nanReduce(x, op, { axis: 1, keepdims: true })));
      rows.forEach((v, i) =>
        assertArrayEqual(
          v!,
          makeRef(
            nanType(NAN_OPS[i]!, d),
            [4, 1],
            new Array(4).fill(([0, 1, NaN, NaN, NaN, NaN, NaN, 0] as const)[i]!),
          ),
          `${NAN_OPS[i]} ${d}`,
        ),
      );
    }
  });

  test("empty selections: nansum 0, nanprod 1, nanmean, nanvar NaN, count 0; nanmin and nanmax refuse, as NumPy", async () => {
    const x = mw.zeros([3, 0], { chunks: [2, 1] });
    const [s, p, m, v, c, s0] = await computeAll([
      x.nansum(),
      x.nanprod({ axis: 1 }),
      x.nanmean({ axis: 1 }),
      x.nanvar(),
      x.count({ axis: 1 }),
      x.nanmin({ axis: 0 }),
    ]);
    assert.equal(s, 0);
    assertArrayEqual(p!, makeRef("float64", [3], [1, 1, 1]));
    assertArrayEqual(m!, makeRef("float64", [3], [NaN, NaN, NaN]));
    assert.ok(Number.isNaN(v as number));
    assertArrayEqual(c!, makeRef("float64", [3], [0, 0, 0]));
    assertArrayEqual(s0!, makeRef("float64", [0], []), "over a non-empty axis of an empty array: empty, not an error");
    assert.throws(
      () => x.nanmin(),
      (e: unknown) =>
        e instanceof ArgumentError &&
        /nanmin of an empty selection has no value \(NumPy: zero-size array to reduction operation fmin which has no identity\)/.test(
          e.message,
        ),
    );
    assert.throws(() => x.nanmax({ axis: 1 }), /nanmax of an empty selection.*fmax/);
    assert.throws(
      () => mw.zeros([0], { dtype: "int8" }).nanmax(),
      /nanmax of an empty selection/,
      "integers too, by the name the caller used",
    );
  });

  test("nanvar and nanstd divide by count - ddof per position: NaN where that is ≤ 0 (var gives inf there)", async () => {
    // Rows with 4, 3, 2 and 0 values that are not NaN.
    const data = [1, 2, 4, 8, 3, NaN, 7, 7, NaN, 5, NaN, 2, NaN, NaN, NaN, NaN];
    const xr = makeRef("float64", [4, 4], data);
    const x = chunkedOf(xr, [3, 3]);
    const arrays: mw.ChunkedArray[] = [];
    const expected: [string, Ref][] = [];
    for (const ddof of [0, 1, 2, 3, 4, 5]) {
      for (const op of ["nanvar", "nanstd"] as const) {
        arrays.push(x[op]({ axis: 1, ddof }), x[op]({ ddof, splitEvery: 2 }));
        expected.push(
          [`${op} ddof ${ddof} rows`, nanRef(op, xr, { axis: 1, ddof })],
          [`${op} ddof ${ddof}`, nanRef(op, xr, { ddof })],
        );
      }
    }
    const values = await computeAll(arrays);
    expected.forEach(([what, r], i) => assertArrayClose(values[i]!, r, 1e-12, what));
    const ddof2 = (await x.nanvar({ axis: 1, ddof: 2 }).compute(sync)) as mw.NDArray;
    assert.deepEqual(
      [...ddof2.toTypedArray()].map(Number.isNaN),
      [false, false, true, true],
      "counts 4, 3, 2, 0 less 2",
    );
    assert.equal(
      await chunkedOf(makeRef("float64", [2], [1, 3]), 1)
        .var({ ddof: 2 })
        .compute(sync),
      Infinity,
      "var: inf",
    );
    assert.ok(
      Number.isNaN(
        (await chunkedOf(makeRef("float64", [2], [1, 3]), 1)
          .nanvar({ ddof: 2 })
          .compute(sync)) as number,
      ),
      "nanvar: NaN",
    );
    assert.throws(() => x.nanvar({ ddof: -1 }), /ddof must be a whole number ≥ 0, got -1/);
    assert.throws(() => x.nanstd({ ddof: 1.5 }), ArgumentError);
  });

  test("deep trees (splitEvery 2 and 3) and blocks of length 0 among others", async () => {
    const xr = testData("float32", [20, 12], 5);
    const x = chunkedOf(xr, [2, 3]);
    const er = makeRef("float32", [0, 12], []);
    const joined = mw.concatenate([chunkedOf(er, [1, 5]), x, chunkedOf(er, 1)], 0);
    assert.deepEqual(joined.chunks[0]!.slice(0, 2), [0, 2]);
    const arrays: mw.ChunkedArray[] = [];
    const expected: [NanName, string, Ref][] = [];
    for (const op of NAN_OPS.filter((o) => o !== "nanprod")) {
      for (const axis of [undefined, 0, 1]) {
        for (const splitEvery of [2, 3]) {
          arrays.push(nanReduce(x, op, { axis, splitEvery }));
          expected.push([op, `${op} axis ${axis} splitEvery ${splitEvery}`, nanRef(op, xr, { axis })]);
        }
        arrays.push(nanReduce(joined, op, { axis }));
        expected.push([op, `${op} axis ${axis} with empty blocks`, nanRef(op, xr, { axis })]);
      }
    }
    assert.ok(
      x.nanmean({ splitEvery: 2 }).taskCount > x.nanmean().taskCount + 10,
      "a small splitEvery makes more levels",
    );
    const values = await computeAll(arrays);
    expected.forEach(([op, what, r], i) => check(op, values[i]!, r, what));
  });
});

describe("integers and bools (no NaN)", () => {
  test("nansum, nanprod, nanmin, nanmax and nanmean are the plain reductions, tasks and all", async () => {
    for (const d of DTYPES.filter((t) => !isFloatType(t))) {
      const x = chunkedOf(sample(d, [5, 4], 11), [2, 3]);
      for (const [nan, plain] of [
        ["nansum", "sum"],
        ["nanprod", "prod"],
        ["nanmin", "min"],
        ["nanmax", "max"],
        ["nanmean", "mean"],
      ] as const) {
        assert.equal(x[nan]({ axis: 0 }).name, x[plain]({ axis: 0 }).name, `${nan} of ${d} shares ${plain}'s keys`);
      }
    }
    const f = chunkedOf(sample("float64", [5, 4], 11), [2, 3]);
    assert.notEqual(f.nansum().name, f.sum().name, "floats take their own way");
  });

  test("count is the number of elements, nanvar and nanstd agree with var and std where ddof < n", async () => {
    const arrays: mw.ChunkedArray[] = [];
    const expected: [string, mw.ChunkedArray][] = [];
    for (const d of DTYPES.filter((t) => !isFloatType(t))) {
      const x = chunkedOf(sample(d, [5, 6, 4], 12), [3, 4, 3]);
      for (const o of AXES) {
        arrays.push(x.count(o), x.nanvar({ ...o, ddof: 1 }), x.nanstd(o));
        expected.push(
          [`count ${d} ${JSON.stringify(o)}`, mw.ones(x.shape, { chunks: x.chunks as number[][] }).sum(o)],
          [`nanvar ${d}`, x.var({ ...o, ddof: 1 })],
          [`nanstd ${d}`, x.std(o)],
        );
      }
    }
    const values = await computeAll(arrays);
    const wanted = await computeAll(expected.map(([, e]) => e));
    expected.forEach(([what], i) => assertSameBits(values[i]!, wanted[i]!, what));
  });
});

describe("without NaN, the plain reductions' bits", () => {
  test("nansum, nanprod, nanmin, nanmax, nanmean, nanvar and nanstd of NaN-free floats are sum, prod, min, max, mean, var and std to the bit", async () => {
    // Values with many significant bits, so that any change of summation order would show.
    const arrays: mw.ChunkedArray[] = [];
    const plain: mw.ChunkedArray[] = [];
    const names: string[] = [];
    for (const d of ["float64", "float32"] as const) {
      const x = mw.normal([40, 37], { seed: 21, dtype: d, chunks: [17, 37] });
      const y = mw.uniform([6, 5, 37], { seed: 22, dtype: d, low: 0.5, high: 1.5, chunks: [4, 5, 20] });
      const cases: [mw.ChunkedArray, Options[]][] = [
        [x, [{}, { axis: 0 }, { axis: 1 }]],
        [x.T, [{}]],
        [y, [{ axis: [0, 2] }, { axis: 2 }, { axis: 1, keepdims: true }]],
      ];
      for (const [a, options] of cases) {
        for (const o of options) {
          for (const [nan, p] of [
            ["nansum", "sum"],
            ["nanprod", "prod"],
            ["nanmin", "min"],
            ["nanmax", "max"],
            ["nanmean", "mean"],
            ["nanvar", "var"],
            ["nanstd", "std"],
          ] as const) {
            if (nan === "nanprod" && a !== y) continue;
            arrays.push(nanReduce(a, nan, { ...o, ddof: 1 }));
            plain.push(p === "var" || p === "std" ? a[p]({ ...o, ddof: 1 }) : a[p](o));
            names.push(`${nan} ${d} [${a.shape}] ${JSON.stringify(o)}`);
          }
        }
      }
    }
    const got = await computeAll(arrays);
    const want = await computeAll(plain);
    names.forEach((what, i) => assertSameBits(got[i]!, want[i]!, what));
  });
});

describe("fusion", () => {
  const optimizedSize = (x: mw.ChunkedArray, fuse = true): number =>
    [...prepare([x[COLLECTION]()], { fuse }).graph.values()].filter((n) => n instanceof Task).length;

  test("the first step of nanmean (a sum and a count in one pass), nansum and count fuses with the elementwise work before it", async () => {
    const xr = testData("float32", [9, 9], 13);
    const x = chunkedOf(xr, [4, 4]);
    const blocks = 9;
    const y = x.add(x.T).mul(0.5);
    for (const [r, outBlocks] of [
      [y.nanmean({ axis: 0 }), 3],
      [y.nansum({ axis: 1 }), 3],
      [y.count({ axis: 0 }), 3],
      [y.nanmean(), 1],
    ] as const) {
      assert.equal(
        optimizedSize(r),
        blocks + outBlocks,
        "one fused task per block, then the last step per result block",
      );
      assert.equal(
        optimizedSize(r, false),
        4 * blocks + outBlocks,
        "unfused: the transpose, add, mul and first step per block",
      );
      assertSameBits(await r.compute(sync), await r.compute({ ...sync, fuse: false }), "fused and unfused");
    }
    assertArrayEqual(await y.count({ axis: 0 }).compute(sync), nanRef("count", binaryHalfSum(xr), { axis: 0 }));
  });
});

describe("bad options", () => {
  test("axes, splitEvery and options objects are checked as for the plain reductions", () => {
    const x = mw.zeros([3, 4]);
    for (const op of NAN_OPS) {
      assert.throws(() => nanReduce(x, op, { axis: 2 }), /axis 2 is out of range for an array of 2 dimensions/, op);
      assert.throws(() => nanReduce(x, op, { axis: [0, -2] }), /repeated axis/, op);
      assert.throws(() => nanReduce(x, op, { splitEvery: 1 }), /splitEvery must be a whole number ≥ 2, got 1/, op);
      assert.throws(
        () => (x[op] as (o: unknown) => unknown)(0),
        /reduction options must be an object like \{ axis: 0 \}/,
        op,
      );
    }
  });
});

test("a cluster of worker threads gives the bits this thread gives", async () => {
  await using c = await startCluster({ workers: 2 });
  const arrays: mw.ChunkedArray[] = [];
  const names: string[] = [];
  for (const d of DTYPES) {
    const x = chunkedOf(testData(d, [9, 7, 5], 30), [4, 3, 5]);
    for (const op of NAN_OPS) {
      for (const o of [{}, { axis: 0 }, { axis: [1, 2], keepdims: true }, { axis: -1, ddof: 1 }] as Options[]) {
        arrays.push(nanReduce(x, op, o));
        names.push(`${op} ${d} ${JSON.stringify(o)}`);
      }
    }
  }
  const big = chunkedOf(testData("float32", [40, 37], 31), [17, 20]);
  for (const op of NAN_OPS) {
    arrays.push(nanReduce(big.mul(3).add(big.T.rechunk([20, 17]).T), op, { axis: 0 }));
    names.push(`${op} fused, [40, 37]`);
  }
  const local = (await mw.computeWith(sync, arrays)) as mw.ArrayValue[];
  const remote = (await mw.computeWith({ scheduler: c.client }, arrays)) as mw.ArrayValue[];
  names.forEach((name, k) => assertSameBits(remote[k]!, local[k]!, name));
  const withNaNInside = local.filter((v) => v instanceof mw.NDArray && [...v.toTypedArray()].some(Number.isNaN));
  assert.ok(withNaNInside.length > 20, `not vacuous: ${withNaNInside.length} results hold NaN`);
});
