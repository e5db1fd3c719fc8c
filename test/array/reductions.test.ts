// Reductions as trees of tasks against the reference: sum, prod, mean, min, max, any, all, var,
// std, argmin and argmax on every dtype, over any axes with or without keepdims, through blocks
// that do not divide the shape, deep trees (small splitEvery), NaN, ties, empty axes and blocks.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ArgumentError } from "../../node/index.js";
import * as mw from "../../node/array.js";
import {
  assertArrayClose,
  assertArrayEqual,
  binaryRef,
  chunkedOf,
  DTYPES,
  isFloatType,
  makeRef,
  MEAN_TYPE,
  reduceRef,
  sample,
  SUM_TYPE,
  transposeRef,
  type ReduceName,
  type Ref,
  type RefReduceOptions,
  computeAll,
} from "./reference.js";

const sync = { scheduler: "sync" } as const;

function reduceArray(
  x: mw.ChunkedArray,
  op: ReduceName,
  o: RefReduceOptions & { splitEvery?: number },
): mw.ChunkedArray {
  if (op === "argmin" || op === "argmax")
    return x[op]({ axis: o.axis as number | null | undefined, keepdims: o.keepdims, splitEvery: o.splitEvery });
  if (op === "var" || op === "std") return x[op](o);
  return x[op](o);
}

/**
 * Checks a reduction's result against the reference: exactly where the result cannot depend on
 * the order of summation (min, max, any, all, the args, and integer sums), else within rounding.
 */
function check(op: ReduceName, actual: mw.ArrayValue, expected: Ref, source: mw.DType, what: string): void {
  // Integer sums are exact in float64 here; so are integer products when the result is below
  // 2^53 (every partial product of integers is no larger than the whole).
  const exactProd = op === "prod" && expected.data.every((v) => Math.abs(v) <= 2 ** 53);
  const orderFree =
    ["min", "max", "any", "all", "argmin", "argmax"].includes(op) ||
    (!isFloatType(source) && (op === "sum" || op === "mean" || exactProd));
  if (orderFree) return assertArrayEqual(actual, expected, what);
  const f32 = expected.dtype === "float32";
  assertArrayClose(actual, expected, f32 ? 1e-6 : 1e-10, what, f32 ? 1e-4 : 1e-9);
}

const OPS: readonly ReduceName[] = [
  "sum",
  "prod",
  "mean",
  "min",
  "max",
  "any",
  "all",
  "var",
  "std",
  "argmin",
  "argmax",
];

describe("result types", () => {
  test("sum and prod are float64 (NumPy: int64 for integers) except float32; mean, var, std likewise; min and max keep the type; any and all are bool; the args int32", () => {
    for (const d of DTYPES) {
      const x = mw.zeros([3, 2], { dtype: d });
      assert.equal(x.sum().dtype, SUM_TYPE(d), `sum ${d}`);
      assert.equal(x.prod({ axis: 0 }).dtype, SUM_TYPE(d), `prod ${d}`);
      assert.equal(x.mean().dtype, MEAN_TYPE(d), `mean ${d}`);
      assert.equal(x.var().dtype, MEAN_TYPE(d), `var ${d}`);
      assert.equal(x.std().dtype, MEAN_TYPE(d), `std ${d}`);
      assert.equal(x.min().dtype, d);
      assert.equal(x.max({ axis: 1 }).dtype, d);
      assert.equal(x.any().dtype, "bool");
      assert.equal(x.all().dtype, "bool");
      assert.equal(x.argmin().dtype, "int32");
      assert.equal(x.argmax({ axis: 0 }).dtype, "int32");
    }
  });

  test("the result's shape and chunks: reduced axes dropped, or kept as one block of 1", () => {
    const x = mw.zeros([5, 6, 4], { chunks: [2, 4, 3] });
    assert.deepEqual(x.sum().shape, []);
    assert.deepEqual(x.sum({ axis: 1 }).chunks, [
      [2, 2, 1],
      [3, 1],
    ]);
    assert.deepEqual(x.sum({ axis: [0, -1], keepdims: true }).chunks, [[1], [4, 2], [1]]);
    assert.deepEqual(x.argmax({ axis: 2 }).chunks, [
      [2, 2, 1],
      [4, 2],
    ]);
    assert.deepEqual(x.argmax({ keepdims: true }).shape, [1, 1, 1]);
  });
});

describe("values", () => {
  test("every reduction on every dtype, over every kind of axis selection, matches the reference", async () => {
    const axisOptions: RefReduceOptions[] = [
      {},
      { axis: 0 },
      { axis: -1, keepdims: true },
      { axis: [0, 2] },
      { axis: 1, keepdims: true },
      { axis: [2, 0, 1], keepdims: true },
    ];
    const argOptions: RefReduceOptions[] = [
      {},
      { axis: 0 },
      { axis: -1, keepdims: true },
      { axis: 1 },
      { keepdims: true },
    ];
    const arrays: mw.ChunkedArray[] = [];
    const expected: [ReduceName, mw.DType, string, Ref][] = [];
    for (const d of DTYPES) {
      // Products of -1, 0, 1 and 2 are exact powers of two, whatever the order.
      const wide = sample(d, [5, 6, 4], 3, { finite: true });
      const small = sample(d, [5, 6, 4], 4, { range: d.startsWith("u") || d === "bool" ? [0, 2] : [-1, 2] });
      const xw = chunkedOf(wide, [3, 4, 3]);
      const xs = chunkedOf(small, [3, 4, 3]);
      for (const op of OPS) {
        const [xr, x] = op === "prod" ? [small, xs] : [wide, xw];
        for (const o of op === "argmin" || op === "argmax" ? argOptions : axisOptions) {
          arrays.push(reduceArray(x, op, o));
          expected.push([op, d, `${op}(${d}, ${JSON.stringify(o)})`, reduceRef(op, xr, o)]);
        }
      }
    }
    const values = await computeAll(arrays);
    expected.forEach(([op, d, what, r], i) => check(op, values[i]!, r, d, what));
  });

  test("deep trees (splitEvery 2 and 3) over many blocks give the same answers", async () => {
    const xr = sample("float64", [20, 12], 5, { finite: true });
    const x = chunkedOf(xr, [2, 2]);
    const ir = sample("int32", [20, 12], 6);
    const xi = chunkedOf(ir, [3, 5]);
    const arrays: mw.ChunkedArray[] = [];
    const expected: [ReduceName, mw.DType, Ref][] = [];
    for (const splitEvery of [2, 3]) {
      for (const op of OPS) {
        for (const [xx, rr, d] of [
          [x, xr, "float64"],
          [xi, ir, "int32"],
        ] as const) {
          for (const axis of [undefined, 0, 1]) {
            arrays.push(reduceArray(xx, op, { axis, splitEvery }));
            expected.push([op, d, reduceRef(op, rr, { axis })]);
          }
        }
      }
    }
    const deep = x.sum({ splitEvery: 2 });
    assert.ok(deep.taskCount > x.sum().taskCount + 10, "a small splitEvery makes more levels");
    const values = await computeAll(arrays);
    expected.forEach(([op, d, r], i) => check(op, values[i]!, r, d, `${op} ${d} case ${i}`));
  });

  test("var and std with ddof divide by n - ddof: inf or NaN once that reaches 0, as NumPy", async () => {
    const xr = sample("float64", [4, 3], 8, { finite: true });
    const x = chunkedOf(xr, [3, 2]);
    const arrays: mw.ChunkedArray[] = [];
    const expected: [string, Ref][] = [];
    for (const ddof of [0, 1, 2, 4, 5]) {
      for (const axis of [undefined, 0, 1]) {
        arrays.push(x.var({ axis, ddof }), x.std({ axis, ddof, keepdims: true }));
        expected.push(
          [`var ddof ${ddof} axis ${axis}`, reduceRef("var", xr, { axis, ddof })],
          [`std ddof ${ddof} axis ${axis}`, reduceRef("std", xr, { axis, ddof, keepdims: true })],
        );
      }
    }
    const constant = mw.full([3], 2, { chunks: 2 });
    arrays.push(constant.var({ ddof: 3 }));
    expected.push(["var of a constant, ddof = n", makeRef("float64", [], [NaN])]);
    const values = await computeAll(arrays);
    expected.forEach(([what, r], i) => assertArrayClose(values[i]!, r, 1e-10, what, 1e-12));
    assert.equal(
      await x.var({ axis: 0, ddof: 4 }).slice(0).compute(sync),
      Infinity,
      "non-constant data over n - ddof = 0 is inf",
    );
    assert.throws(() => x.var({ ddof: -1 }), /ddof must be a whole number ≥ 0, got -1/);
    assert.throws(() => x.std({ ddof: 0.5 }), ArgumentError);
  });

  test("reductions of fused elementwise work match the reference", async () => {
    const xr = sample("float32", [9, 9], 2, { finite: true });
    const x = chunkedOf(xr, [4, 5]);
    const y = x.add(x.T).mul(0.5);
    const yr = binaryRef("mul", binaryRef("add", xr, transposeRef(xr)), makeRef("float64", [], [0.5]), "float32");
    const [m, s, a] = await computeAll([y.mean({ axis: 0 }), y.std(), y.argmax({ axis: 1 })]);
    assertArrayClose(m!, reduceRef("mean", yr, { axis: 0 }), 1e-6, "mean", 1e-4);
    assertArrayClose(s!, reduceRef("std", yr), 1e-5, "std");
    assertArrayEqual(a!, reduceRef("argmax", yr, { axis: 1 }));
  });
});

describe("NaN and ties", () => {
  const data = [
    [3, NaN, 1, 7],
    [2, 2, NaN, NaN],
    [5, 0, 4, 0],
    [-1, 9, 9, -1],
  ];
  const xr = makeRef("float64", [4, 4], data.flat());
  const x = chunkedOf(xr, [3, 2]);

  test("NaN propagates through sum, prod, mean, min, max, var and std; any and all count it as true", async () => {
    const arrays: mw.ChunkedArray[] = [];
    const expected: Ref[] = [];
    for (const op of ["sum", "prod", "mean", "min", "max", "var", "std", "any", "all"] as const) {
      for (const axis of [undefined, 0, 1]) {
        arrays.push(reduceArray(x, op, { axis }));
        expected.push(reduceRef(op, xr, { axis }));
      }
    }
    const values = await computeAll(arrays);
    expected.forEach((r, i) => assertArrayClose(values[i]!, r, 1e-12, `case ${i}`));
    assert.ok(Number.isNaN(await x.min().compute(sync)));
    assert.equal(await mw.fromArray([0, NaN, 0]).all().compute(sync), false);
    assert.equal(await mw.fromArray([0, NaN, 0]).any().compute(sync), true);
  });

  test("argmin and argmax give the first NaN, else the first of equal extremes, across block boundaries", async () => {
    const arrays: mw.ChunkedArray[] = [];
    const expected: Ref[] = [];
    for (const chunks of [
      [1, 1],
      [3, 2],
      [2, 3],
      [4, 4],
    ] as const) {
      const xc = chunkedOf(xr, chunks);
      for (const op of ["argmin", "argmax"] as const) {
        for (const axis of [undefined, 0, 1, -1]) {
          arrays.push(xc[op]({ axis }));
          expected.push(reduceRef(op, xr, { axis }));
        }
      }
    }
    const values = await computeAll(arrays);
    expected.forEach((r, i) => assertArrayEqual(values[i]!, r, `case ${i}`));
    assert.equal(await mw.fromArray([1, NaN, 0, NaN], { chunks: 1 }).argmin().compute(sync), 1);
    assert.equal(await mw.fromArray([5, 1, 9, 1, 9], { chunks: 2 }).argmin().compute(sync), 1);
    assert.equal(await mw.fromArray([5, 1, 9, 1, 9], { chunks: 2 }).argmax().compute(sync), 2);
    assert.equal(await mw.fromArray([false, true, true], { chunks: 1 }).argmax().compute(sync), 1);
  });
});

describe("empty and length-1 axes", () => {
  test("over an empty axis: sum 0, prod 1, mean and var NaN, any false, all true", async () => {
    const x = mw.zeros([3, 0], { chunks: [2, 1], dtype: "int16" });
    const [s, p, m, v, a, l, s0, mn0] = await computeAll([
      x.sum(),
      x.prod({ axis: 1 }),
      x.mean({ axis: 1 }),
      x.var(),
      x.any(),
      x.all({ axis: 1 }),
      x.sum({ axis: 0 }),
      x.min({ axis: 0 }),
    ]);
    assert.equal(s, 0);
    assertArrayEqual(p!, makeRef("float64", [3], [1, 1, 1]));
    assertArrayEqual(m!, makeRef("float64", [3], [NaN, NaN, NaN]));
    assert.ok(Number.isNaN(v as number));
    assert.equal(a, false);
    assertArrayEqual(l!, makeRef("bool", [3], [1, 1, 1]));
    assertArrayEqual(s0!, makeRef("float64", [0], []));
    assertArrayEqual(
      mn0!,
      makeRef("int16", [0], []),
      "min over a non-empty axis of an empty array is empty, not an error",
    );
  });

  test("min, max, argmin and argmax of an empty selection are ArgumentErrors naming the reduction", () => {
    const x = mw.zeros([3, 0]);
    assert.throws(
      () => x.min(),
      (e: unknown) =>
        e instanceof ArgumentError &&
        /min of an empty selection has no value \(NumPy: zero-size array to reduction operation minimum which has no identity\)/.test(
          e.message,
        ),
    );
    assert.throws(() => x.max({ axis: 1 }), /reduction operation maximum/);
    assert.throws(() => x.argmin(), /argmin of an empty selection has no index/);
    assert.throws(() => x.argmax({ axis: 1 }), /argmax of an empty selection/);
    assert.deepEqual(x.argmax({ axis: 0 }).shape, [0]);
  });

  test("blocks of length 0 among others (from concatenate) do not disturb any reduction", async () => {
    const er = makeRef("float64", [0, 3], []);
    const fr = sample("float64", [4, 3], 5, { finite: true });
    const joined = mw.concatenate([chunkedOf(er, [1, 2]), chunkedOf(fr, [3, 2]), chunkedOf(er, 1)], 0);
    assert.deepEqual(joined.chunks[0], [0, 3, 1, 0]);
    const arrays: mw.ChunkedArray[] = [];
    const expected: [ReduceName, Ref][] = [];
    for (const op of OPS) {
      for (const axis of [undefined, 0, 1]) {
        arrays.push(reduceArray(joined, op, { axis }));
        expected.push([op, reduceRef(op, fr, { axis })]);
      }
    }
    const values = await computeAll(arrays);
    expected.forEach(([op, r], i) => check(op, values[i]!, r, "float64", `${op} case ${i}`));
  });

  test("length-1 axes reduce like any other", async () => {
    const xr = sample("uint16", [1, 5, 1], 12);
    const x = chunkedOf(xr, [1, 2, 1]);
    const arrays: mw.ChunkedArray[] = [];
    const expected: [ReduceName, Ref][] = [];
    for (const op of OPS) {
      for (const axis of [undefined, 0, 2, -2]) {
        arrays.push(reduceArray(x, op, { axis, keepdims: axis === 2 }));
        expected.push([op, reduceRef(op, xr, { axis, keepdims: axis === 2 })]);
      }
    }
    const values = await computeAll(arrays);
    expected.forEach(([op, r], i) => check(op, values[i]!, r, "uint16", `${op} case ${i}`));
  });

  test("a 0-d array reduces to itself", async () => {
    const x = mw.full([], 4, { dtype: "int8" });
    assert.equal(await x.sum().compute(sync), 4);
    assert.equal(await x.max().compute(sync), 4);
    assert.equal(await x.argmax().compute(sync), 0);
    assert.equal(await x.var().compute(sync), 0);
  });
});

describe("bad options", () => {
  const x = mw.zeros([3, 4]);
  test("axes out of range or repeated, a bad splitEvery, options that are not an object: ArgumentErrors", () => {
    assert.throws(() => x.sum({ axis: 2 }), /axis 2 is out of range for an array of 2 dimensions/);
    assert.throws(() => x.mean({ axis: -3 }), /axis -3 is out of range/);
    assert.throws(() => x.max({ axis: [0, -2] }), /repeated axis/);
    assert.throws(() => x.sum({ splitEvery: 1 }), /splitEvery must be a whole number ≥ 2, got 1/);
    assert.throws(() => x.sum(0 as never), /reduction options must be an object like \{ axis: 0 \}/);
    assert.throws(() => x.argmin({ axis: [0] as never }), /argmin takes one axis \(a number\) or none/);
    assert.throws(() => x.argmax({ axis: 5 }), ArgumentError);
  });
});
