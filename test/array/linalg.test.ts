// Contractions against the reference: tensordot (any axes), matmul and dot, with blocks that do
// not line up along the contracted axes, many contracted blocks (a tree of sums), promotion and
// integer wrap-around, NaN and infinity next to zeros, and empty axes.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ArgumentError, NotSupportedError } from "../../node/index.js";
import * as mw from "../../node/array.js";
import { COLLECTION, prepare } from "../../src/graph/collection.js";
import { Task } from "../../src/graph/task.js";
import {
  assertArrayClose,
  assertArrayEqual,
  chunkedOf,
  makeRef,
  RESULT_TYPE,
  sample,
  tensordotRef,
  transposeRef,
  type Ref,
  computeAll,
} from "./reference.js";

const sync = { scheduler: "sync" } as const;

/** Small integers (exact sums in any order), held in `dtype`. */
const ints = (dtype: mw.DType, shape: number[], seed: number): Ref =>
  sample(dtype, shape, seed, { range: dtype.startsWith("u") || dtype === "bool" ? [0, 9] : [-9, 9] });

describe("matmul and dot", () => {
  test("2-d by 2-d across dtypes, with blocks that do not line up along the contracted axis", async () => {
    const pairs: [mw.DType, mw.DType][] = [
      ["float64", "float64"],
      ["float32", "float32"],
      ["float32", "int16"],
      ["int8", "int8"],
      ["uint8", "int8"],
      ["int32", "uint32"],
      ["bool", "bool"],
      ["bool", "uint16"],
      ["int16", "float64"],
    ];
    const arrays: mw.ChunkedArray[] = [];
    const expected: [string, Ref][] = [];
    for (const [da, db] of pairs) {
      const ar = ints(da, [5, 7], 1);
      const br = ints(db, [7, 4], 2);
      const a = chunkedOf(ar, [2, 3]);
      const b = chunkedOf(br, [4, 3]);
      const dtype = RESULT_TYPE[da][db];
      const m = a.matmul(b);
      assert.equal(m.dtype, dtype, `${da} @ ${db}`);
      assert.deepEqual(m.chunks, [
        [2, 2, 1],
        [3, 1],
      ]);
      arrays.push(m, a.dot(b), mw.matmul(b.T, a.T));
      expected.push(
        [`${da} @ ${db}`, tensordotRef(ar, br, [1], [0], dtype)],
        [`dot ${da} ${db}`, tensordotRef(ar, br, [1], [0], dtype)],
        [`${db}ᵀ @ ${da}ᵀ`, tensordotRef(br, ar, [0], [1], dtype)],
      );
    }
    const values = await computeAll(arrays);
    expected.forEach(([what, r], i) => assertArrayEqual(values[i]!, r, what));
  });

  test("integer products wrap in their type: int8 sums and int32 products beyond 2^53 keep their low bits", async () => {
    const a = mw.fromArray([[100, 100, 100]], { dtype: "int8" });
    const b = mw.fromArray([[100], [100], [100]], { dtype: "int8" });
    assertArrayEqual(await a.matmul(b).compute(sync), makeRef("int8", [1, 1], [Number(BigInt.asIntN(8, 30000n))]));
    const big = 2147483647;
    const c = mw.fromArray([[big, big]], { dtype: "int32", chunks: [1, 1] });
    const d = mw.fromArray([[big], [-big]], { dtype: "int32" });
    const e = mw.fromArray([[big, 3]], { dtype: "int32" });
    const f = mw.fromArray([[big], [5]], { dtype: "int32" });
    assertArrayEqual(await c.matmul(d).compute(sync), makeRef("int32", [1, 1], [0]));
    // NumPy: int32 arithmetic wraps at every step, so the answer is exact modulo 2^32.
    assertArrayEqual(
      await e.matmul(f).compute(sync),
      makeRef("int32", [1, 1], [Number(BigInt.asIntN(32, BigInt(big) * BigInt(big) + 15n))]),
    );
    const u = mw.fromArray([4294967295, 4294967295], { dtype: "uint32", chunks: 1 });
    assert.equal(await u.dot(u).compute(sync), Number(BigInt.asUintN(32, 2n * 4294967295n ** 2n)));
    assert.equal(
      await e
        .matmul(f)
        .astype("float64")
        .compute(sync)
        .then((v) => (v as mw.NDArray).get(0, 0)),
      Number(BigInt.asIntN(32, BigInt(big) * BigInt(big) + 15n)),
    );
  });

  test("vectors: 1-d @ 2-d and 2-d @ 1-d drop the vector's axis; 1-d @ 1-d is a number", async () => {
    const vr = ints("float64", [6], 3);
    const mr = ints("float64", [6, 3], 4);
    const wr = ints("float64", [3], 5);
    const v = chunkedOf(vr, [4]);
    const m = chunkedOf(mr, [3, 2]);
    const w = chunkedOf(wr, [1]);
    const [a, b, c, d] = await computeAll([v.matmul(m), m.matmul(w), v.matmul(v), mw.dot(v, v)]);
    assertArrayEqual(a!, tensordotRef(vr, mr, [0], [0], "float64"));
    assertArrayEqual(b!, tensordotRef(mr, wr, [1], [0], "float64"));
    assertArrayEqual(c!, tensordotRef(vr, vr, [0], [0], "float64"));
    assert.equal(typeof d, "number");
    assertArrayEqual(d!, tensordotRef(vr, vr, [0], [0], "float64"));
  });

  test("dot of higher dimensions sums a's last axis with b's second-to-last", async () => {
    const ar = ints("int16", [2, 3, 4], 6);
    const br = ints("int16", [3, 4, 5], 7);
    const cr = ints("int16", [4], 8);
    const a = chunkedOf(ar, [1, 2, 3]);
    const b = chunkedOf(br, [2, 2, 4]);
    const c = chunkedOf(cr, [3]);
    const [x, y] = await computeAll([a.dot(b), a.dot(c)]);
    assertArrayEqual(x!, tensordotRef(ar, br, [2], [1], "int16"));
    assertArrayEqual(y!, tensordotRef(ar, cr, [2], [0], "int16"));
  });

  test("NaN and infinity are not lost next to zeros (0 · inf is NaN)", async () => {
    const a = mw.fromArray([
      [0, 1],
      [2, 0],
    ]);
    const b = mw.fromArray([
      [Infinity, 1],
      [NaN, 2],
    ]);
    assertArrayEqual(await a.matmul(b).compute(sync), makeRef("float64", [2, 2], [NaN, 2, NaN, 2]));
    assertArrayEqual(
      await a.rechunk(1).matmul(b.rechunk(1)).compute(sync),
      makeRef("float64", [2, 2], [NaN, 2, NaN, 2]),
    );
    const c = mw.fromArray([[Infinity, 0]]);
    const d = mw.fromArray([[0], [5]]);
    assertArrayEqual(await c.matmul(d).compute(sync), makeRef("float64", [1, 1], [NaN]));
  });

  test("long contractions (many blocks, summed in a tree) match within rounding", async () => {
    const ar = sample("float64", [3, 70], 9, { finite: true });
    const br = sample("float64", [70, 2], 10, { finite: true });
    const a = chunkedOf(ar, [2, 2]);
    const b = chunkedOf(br, [3, 1]);
    const m = a.matmul(b);
    assert.ok(m.taskCount > a.taskCount + b.taskCount + 6 * 35, "a product task per contracted block, and sums");
    assertArrayClose(await m.compute(sync), tensordotRef(ar, br, [1], [0], "float64"), 1e-12, "matmul", 1e-9);
  });

  test("X [n, p] cut by rows times a p-vector: X is not recut, one task per block, the result cut like X's rows", async () => {
    const xr = sample("float64", [11, 4], 31, { finite: true });
    const vr = sample("float64", [4], 32, { finite: true });
    const X = chunkedOf(xr, [3, -1]);
    for (const v of [chunkedOf(vr, [-1]), chunkedOf(vr, [[1, 3]])]) {
      const y = X.matmul(v);
      assert.deepEqual(y.chunks, [[3, 3, 3, 2]]);
      const prepared = prepare([y[COLLECTION]()]);
      const fns = [...prepared.graph.values()].map((n) => (n instanceof Task ? n.fn : "literal"));
      assert.equal(fns.filter((f) => f === "array.tensordot").length, 4, "one product per row block");
      assert.ok(
        !fns.includes("array.add-blocks") && !fns.includes("array.cast"),
        `no sum of one partial, no separate cast: ${fns.join(" ")}`,
      );
      // X's blocks are the literals made by chunkedOf, read as they are.
      for (const k of X.keys()) assert.ok(prepared.graph.has(k), `X's block ${k} is read as it is`);
      assertArrayEqual(await y.compute(sync), tensordotRef(xr, vr, [1], [0], "float64"));
    }
  });

  test("Xᵀ·r over row blocks: per-block partial products, no transposed copies, summed in a tree", async () => {
    const xr = sample("float64", [40, 3], 33, { range: [-9, 9] });
    const rr = sample("float64", [40], 34, { range: [-9, 9] });
    const X = chunkedOf(xr, [2, -1]);
    const r = chunkedOf(rr, [2]);
    const g = X.T.matmul(r);
    assert.deepEqual(g.chunks, [[3]]);
    const prepared = prepare([g[COLLECTION]()]);
    const fns = [...prepared.graph.values()].map((n) => (n instanceof Task ? n.fn : "literal"));
    assert.equal(fns.filter((f) => f === "array.expr").length, 0, "the transposes were merged into the products");
    assert.equal(fns.filter((f) => f === "array.tensordot").length, 20, "one partial product per row block");
    assert.equal(fns.filter((f) => f === "array.add-blocks").length, 2, "20 partials: two sums of ≤ 16, then the last");
    assert.equal(fns.filter((f) => f === "array.add-cast").length, 1);
    // Small integers: exact in any order.
    assertArrayEqual(await g.compute(sync), tensordotRef(xr, rr, [0], [0], "float64"));
    assertArrayEqual(await r.matmul(X).compute(sync), tensordotRef(rr, xr, [0], [0], "float64"));
    // And without fusion, the same bits.
    assertArrayEqual(await g.compute({ scheduler: "sync", fuse: false }), tensordotRef(xr, rr, [0], [0], "float64"));
  });

  test("a transpose that reorders the free axes of a 3-d operand is not merged into the product (its layout would change)", async () => {
    const ar = ints("float64", [2, 3, 4], 35);
    const br = ints("float64", [3], 36);
    const a = chunkedOf(ar, [1, 3, 2]);
    const b = chunkedOf(br, [3]);
    const t = a.transpose([2, 1, 0]); // [4, 3, 2]: free axes 0 and 2 come from a's 2 and 0
    const y = mw.tensordot(t, b, [[1], [0]]);
    const fns = [...prepare([y[COLLECTION]()]).graph.values()].map((n) => (n instanceof Task ? n.fn : "literal"));
    assert.ok(fns.includes("array.expr"), "the transpose stays a task of its own");
    const tr = transposeRef(ar, [2, 1, 0]);
    assertArrayEqual(await y.compute(sync), tensordotRef(tr, br, [1], [0], "float64"));
    // One that keeps them in order is merged.
    const u = a.transpose([1, 0, 2]); // [3, 2, 4]
    const z = mw.tensordot(b, u, [[0], [0]]);
    const fz = [...prepare([z[COLLECTION]()]).graph.values()].map((n) => (n instanceof Task ? n.fn : "literal"));
    assert.ok(!fz.includes("array.expr"), fz.join(" "));
    assertArrayEqual(await z.compute(sync), tensordotRef(br, transposeRef(ar, [1, 0, 2]), [0], [0], "float64"));
  });

  test("empty axes: an empty contraction gives zeros; an empty free axis an empty result", async () => {
    const [a, b, c] = await computeAll([
      mw.zeros([3, 0], { chunks: 2 }).matmul(mw.ones([0, 4], { chunks: 2 })),
      mw.ones([0, 3]).matmul(mw.ones([3, 2], { chunks: 1 })),
      mw.ones([2, 3], { dtype: "int8" }).matmul(mw.ones([3, 0], { dtype: "int8" })),
    ]);
    assertArrayEqual(a!, makeRef("float64", [3, 4], new Array(12).fill(0)));
    assertArrayEqual(b!, makeRef("float64", [0, 2], []));
    assertArrayEqual(c!, makeRef("int8", [2, 0], []));
  });

  test("shapes that do not line up, 0-d and 3-d operands are ArgumentErrors", () => {
    const a = mw.zeros([3, 4]);
    assert.throws(
      () => a.matmul(mw.zeros([3, 4])),
      (e: unknown) =>
        e instanceof ArgumentError && /matmul: shapes \[3, 4\] and \[3, 4\] do not line up \(4 ≠ 3\)/.test(e.message),
    );
    assert.throws(() => a.matmul(mw.full([], 2)), /matmul does not take 0-d arrays; use mul/);
    assert.throws(() => a.matmul(mw.zeros([4, 2, 2])), /stacks of matrices are not supported yet/);
    assert.throws(() => a.dot(mw.full([], 1)), /dot of a 0-d array: use mul/);
    assert.throws(() => a.dot(mw.zeros([3])), /axis 1 of a has length 4, axis 0 of b has 3/);
    assert.throws(() => mw.matmul(a, [[1]] as never), /matmul takes two chunked arrays/);
  });
});

describe("tensordot", () => {
  test("any axes: a count (default 2), pairs in any order, negative axes, 0 for the outer product", async () => {
    const ar = ints("float64", [3, 4, 5], 11);
    const br = ints("float64", [4, 5, 2], 12);
    const cr = ints("float64", [5, 3], 13);
    const a = chunkedOf(ar, [2, 3, 2]);
    const b = chunkedOf(br, [1, 4, 2]);
    const c = chunkedOf(cr, [3, 2]);
    const cases: [mw.ChunkedArray, Ref][] = [
      [a.tensordot(b), tensordotRef(ar, br, [1, 2], [0, 1], "float64")],
      [
        mw.tensordot(a, c, [
          [2, 0],
          [0, 1],
        ]),
        tensordotRef(ar, cr, [2, 0], [0, 1], "float64"),
      ],
      [mw.tensordot(a, c, [[-1], [-2]]), tensordotRef(ar, cr, [2], [0], "float64")],
      [
        mw.tensordot(c, a, [
          [1, 0],
          [0, 2],
        ]),
        tensordotRef(cr, ar, [1, 0], [0, 2], "float64"),
      ],
      [mw.tensordot(c, c, 0), tensordotRef(cr, cr, [], [], "float64")],
      [
        mw.tensordot(a, b, [
          [1, 2],
          [0, 1],
        ]),
        tensordotRef(ar, br, [1, 2], [0, 1], "float64"),
      ],
    ];
    const values = await computeAll(cases.map((c) => c[0]));
    cases.forEach(([, r], i) => assertArrayEqual(values[i]!, r, `case ${i}`));
    assert.deepEqual(mw.tensordot(c, c, 0).shape, [5, 3, 5, 3]);
  });

  test("bad axes are ArgumentErrors", () => {
    const a = mw.zeros([3, 4, 5]);
    const b = mw.zeros([4, 5, 2]);
    assert.throws(() => a.tensordot(b, 1), /tensordot: axis 2 of a has length 5, axis 0 of b has 4/);
    assert.throws(() => a.tensordot(b, 4), /cannot contract 4 axes of arrays with 3 and 3 dimensions/);
    assert.throws(() => a.tensordot(b, [[1], [0, 1]]), /both arrays must contract the same number of axes/);
    assert.throws(
      () =>
        a.tensordot(b, [
          [1, 1],
          [0, 0],
        ]),
      /repeated axis/,
    );
    assert.throws(() => a.tensordot(b, [[5], [0]]), /axis 5 is out of range/);
    assert.throws(() => a.tensordot(b, "x" as never), /tensordot axes must be a number or a pair of axis lists/);
  });
});

describe("linalg.norm", () => {
  const xr = sample("float64", [7, 5], 41, { finite: true });
  const x = chunkedOf(xr, [3, 2]);
  const rows = (r: Ref): number[][] =>
    Array.from({ length: r.shape[0]! }, (_, i) => r.data.slice(i * r.shape[1]!, (i + 1) * r.shape[1]!));
  const cols = (r: Ref): number[][] => Array.from({ length: r.shape[1]! }, (_, j) => rows(r).map((row) => row[j]!));
  const vec = (v: number[], ord: number): number => {
    const a = v.map(Math.abs);
    if (ord === Infinity) return Math.max(...a);
    if (ord === -Infinity) return Math.min(...a);
    if (ord === 0) return a.filter((e) => e !== 0).length;
    return a.reduce((s, e) => s + e ** ord, 0) ** (1 / ord);
  };

  test("the default is √Σx² over every element, for any number of dimensions", async () => {
    const expected = Math.sqrt(xr.data.reduce((s, v) => s + v * v, 0));
    assert.ok(Math.abs(((await mw.linalg.norm(x).compute(sync)) as number) / expected - 1) < 1e-14);
    const three = chunkedOf(sample("float64", [2, 3, 4], 42, { finite: true }), 2);
    assert.equal(mw.linalg.norm(three).ndim, 0);
  });

  test("vector norms along an axis: 2, 1, ±inf, 0 and p = 3 and -1.5, with keepdims", async () => {
    for (const ord of [2, 1, Infinity, -Infinity, 0, 3, -1.5]) {
      for (const axis of [0, 1]) {
        const got = (await mw.linalg.norm(x, { ord, axis }).compute(sync)) as mw.NDArray;
        const lines = axis === 0 ? cols(xr) : rows(xr);
        assertArrayClose(
          got,
          makeRef(
            "float64",
            [lines.length],
            lines.map((l) => vec(l, ord)),
          ),
          1e-13,
          `ord ${ord} axis ${axis}`,
        );
      }
    }
    assert.deepEqual(mw.linalg.norm(x, { axis: 1, keepdims: true }).shape, [7, 1]);
    // A 1-d array with an ord is a vector.
    const v = chunkedOf(makeRef("float64", [4], [3, -4, 0, 0]), 3);
    assert.equal(await mw.linalg.norm(v, { ord: 1 }).compute(sync), 7);
    assert.equal(await mw.linalg.norm(v, { ord: 0 }).compute(sync), 2);
  });

  test("matrix norms: Frobenius, ±1 (column sums of |x|), ±inf (row sums), on the whole array or two axes", async () => {
    const colSums = cols(xr).map((c) => c.reduce((s, v) => s + Math.abs(v), 0));
    const rowSums = rows(xr).map((r) => r.reduce((s, v) => s + Math.abs(v), 0));
    const cases: [number | "fro", number][] = [
      ["fro", Math.sqrt(xr.data.reduce((s, v) => s + v * v, 0))],
      [1, Math.max(...colSums)],
      [-1, Math.min(...colSums)],
      [Infinity, Math.max(...rowSums)],
      [-Infinity, Math.min(...rowSums)],
    ];
    for (const [ord, expected] of cases) {
      const got = (await mw.linalg.norm(x, { ord }).compute(sync)) as number;
      assert.ok(Math.abs(got / expected - 1) < 1e-13, `ord ${ord}: ${got} vs ${expected}`);
      const kept = mw.linalg.norm(x, { ord, axis: [0, 1], keepdims: true });
      assert.deepEqual(kept.shape, [1, 1]);
    }
    // The transposed axes swap the 1- and inf-norms.
    assert.ok(
      Math.abs(
        ((await mw.linalg.norm(x, { ord: 1, axis: [1, 0] }).compute(sync)) as number) / Math.max(...rowSums) - 1,
      ) < 1e-13,
    );
  });

  test("integers become float64 first; float32 stays float32; unsupported norms are named errors", async () => {
    const i = mw.fromArray([3, 4], { dtype: "int8" });
    assert.equal(mw.linalg.norm(i).dtype, "float64");
    assert.equal(await mw.linalg.norm(i).compute(sync), 5);
    assert.equal(mw.linalg.norm(mw.ones([3], { dtype: "float32" })).dtype, "float32");
    assert.throws(
      () => mw.linalg.norm(x, { ord: 2, axis: [0, 1] }),
      (e: unknown) => e instanceof NotSupportedError && /singular values/.test(e.message),
    );
    assert.throws(() => mw.linalg.norm(x, { ord: "fro", axis: 0 }), ArgumentError);
    assert.throws(() => mw.linalg.norm(mw.ones([2, 2, 2]), { ord: 1 }), /1-d or 2-d array/);
    assert.throws(() => mw.linalg.norm(x, { axis: [0, 0] }), ArgumentError);
  });
});
