// Elementwise operations on chunked arrays against the reference: NumPy's type promotion (a table,
// written out), every operation on every pair of dtypes with broadcasting and blocks that do not
// line up, integer wrap-around, NaN and -0, plain numbers as weak scalars, where / clip / astype,
// transpose, and fusion (one task per block, the same bits as step by step).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ArgumentError } from "../../node/index.js";
import * as mw from "../../node/array.js";
import { COLLECTION, prepare } from "../../src/graph/collection.js";
import { Task } from "../../src/graph/task.js";
import {
  assertArrayEqual,
  assertSameBits,
  astypeRef,
  BINARY,
  binaryRef,
  chunkedOf,
  COMPARISON,
  DTYPES,
  intRange,
  makeRef,
  map,
  MATH_TYPE,
  RESULT_TYPE,
  sample,
  transposeRef,
  UNARY,
  unaryRef,
  whereRef,
  type BinaryName,
  type Ref,
  computeAll,
} from "./reference.js";

const sync = { scheduler: "sync" } as const;

function applyBinary(op: BinaryName, x: mw.ChunkedArray, y: mw.ChunkedArray | number | boolean): mw.ChunkedArray {
  return x[op](y);
}

/** A scalar as a 0-d reference of the type a plain value has before promotion. */
const scalarRef = (v: number | boolean): Ref =>
  makeRef(typeof v === "boolean" ? "bool" : Number.isInteger(v) ? "int32" : "float64", [], [Number(v)]);

describe("type promotion", () => {
  test("array with array: NumPy's result types, int64 given as float64", () => {
    for (const a of DTYPES) {
      for (const b of DTYPES) {
        const x = mw.zeros([2], { dtype: a });
        const y = mw.zeros([2], { dtype: b });
        assert.equal(x.add(y).dtype, RESULT_TYPE[a][b], `${a} + ${b}`);
        assert.equal(x.maximum(y).dtype, RESULT_TYPE[a][b], `maximum(${a}, ${b})`);
        assert.equal(x.lt(y).dtype, "bool", `${a} < ${b}`);
        assert.equal(x.div(y).dtype, RESULT_TYPE[a][b] === "float32" ? "float32" : "float64", `${a} / ${b}`);
        assert.equal(RESULT_TYPE[a][b], RESULT_TYPE[b][a], "the table is symmetric");
      }
    }
    assert.equal(
      mw.zeros(2, { dtype: "bool" }).pow(mw.zeros(2, { dtype: "bool" })).dtype,
      "int8",
      "bool ** bool is int8, as NumPy",
    );
  });

  test("sqrt, exp, log, sin, cos give NumPy's float type (float32 where NumPy says float16); neg and abs keep the type", () => {
    for (const d of DTYPES) {
      const x = mw.zeros([2], { dtype: d });
      for (const f of ["exp", "log", "sqrt", "sin", "cos"] as const)
        assert.equal(x[f]().dtype, MATH_TYPE[d], `${f}(${d})`);
      assert.equal(x.abs().dtype, d);
      if (d !== "bool") assert.equal(x.neg().dtype, d);
    }
  });

  test("log1p, expm1 and sigmoid give exp's float type; sign keeps the type; isfinite and isnan give bool", () => {
    for (const d of DTYPES) {
      const x = mw.zeros([2], { dtype: d });
      for (const f of ["log1p", "expm1", "sigmoid"] as const) assert.equal(x[f]().dtype, MATH_TYPE[d], `${f}(${d})`);
      assert.equal(x.isfinite().dtype, "bool");
      assert.equal(x.isnan().dtype, "bool");
      if (d !== "bool") assert.equal(x.sign().dtype, d);
    }
  });

  test("sigmoid neither overflows nor loses tiny values: ±1000, ±720 and -40 give 0, 1, e^-720 as a subnormal and e^-40", async () => {
    const x = mw.fromArray([1000, -1000, 720, -720, -40, 40, 0, NaN, Infinity, -Infinity], { chunks: 4 });
    const s = (await x.sigmoid().compute({ scheduler: "sync" })) as mw.NDArray;
    const v = [...s.toTypedArray()];
    assert.deepEqual(v.slice(0, 3), [1, 0, 1]);
    assert.ok(v[3]! > 0 && v[3]! < 1e-300, `e^-720 is a subnormal, not 0: ${v[3]}`);
    assert.ok(Math.abs(v[4]! / Math.exp(-40) - 1) < 1e-15, `e^-40: ${v[4]}`);
    assert.equal(v[5], 1, "1 / (1 + e^-40) rounds to 1");
    assert.equal(v[6], 0.5);
    assert.ok(Number.isNaN(v[7]));
    assert.deepEqual(v.slice(8), [1, 0]);
    // log1p and expm1 keep what log(1 + x) and exp(x) - 1 round away.
    const tiny = (await mw
      .fromArray([1e-17])
      .log1p()
      .add(mw.fromArray([1e-17]).expm1())
      .compute({ scheduler: "sync" })) as mw.NDArray;
    assert.equal(tiny.get(0), 2e-17);
  });

  test("the new unary operations fuse with the others into one task per block", () => {
    const x = mw.random([6, 6], { chunks: 3, seed: 1 });
    const y = x.sub(0.5).mul(80).sigmoid().log1p().add(x.sign()).mul(x.isfinite()).sum({ axis: 0 });
    // 4 random blocks, 4 fused first steps of the sum, 2 last steps.
    assert.equal(prepare([y[COLLECTION]()]).graph.size, 10);
  });

  test("plain numbers are weak (NumPy 2): an integer keeps the array's type, a fraction makes integers float64, a boolean keeps any", () => {
    const expected: Record<mw.DType, [int: mw.DType, frac: mw.DType, bool: mw.DType]> = {
      float64: ["float64", "float64", "float64"],
      float32: ["float32", "float32", "float32"],
      int32: ["int32", "float64", "int32"],
      uint32: ["uint32", "float64", "uint32"],
      int16: ["int16", "float64", "int16"],
      uint16: ["uint16", "float64", "uint16"],
      int8: ["int8", "float64", "int8"],
      uint8: ["uint8", "float64", "uint8"],
      bool: ["int32", "float64", "bool"], // NumPy: int64 for bool + int
    };
    for (const d of DTYPES) {
      const x = mw.zeros([2], { dtype: d });
      assert.deepEqual([x.add(3).dtype, x.add(0.5).dtype, x.add(true).dtype], expected[d], d);
      assert.equal(x.mul(NaN).dtype, expected[d][1], `${d} * NaN`);
      assert.equal(x.gt(0.5).dtype, "bool");
    }
  });
});

describe("elementwise values", () => {
  test("every binary operation on every pair of dtypes, all pairs of edge values, matches the reference", async () => {
    // x is a column and y a row, so the result holds every pair of their values (limits, ±0,
    // NaN, infinities and random ones); blocks of 7 rows and 9 columns do not divide 16.
    const cases: { what: string; expected: Ref | "error"; array?: mw.ChunkedArray }[] = [];
    for (const a of DTYPES) {
      const xr = sample(a, [16, 1], 11);
      const x = chunkedOf(xr, [7, 1]);
      for (const b of DTYPES) {
        const yr = sample(b, [16], 12);
        const y = chunkedOf(yr, [9]);
        for (const op of BINARY) {
          const what = `${a} ${op} ${b}`;
          if (op === "sub" && a === "bool" && b === "bool") {
            assert.throws(() => x.sub(y), /subtracting bool arrays is not supported/);
            continue;
          }
          cases.push({ what, expected: binaryRef(op, xr, yr), array: applyBinary(op, x, y) });
        }
      }
    }
    const values = await computeAll(cases.map((c) => c.array!));
    cases.forEach((c, i) => assertArrayEqual(values[i]!, c.expected as Ref, c.what));
  });

  test("every unary operation on every dtype matches the reference", async () => {
    const arrays: mw.ChunkedArray[] = [];
    const expected: [string, Ref][] = [];
    for (const d of DTYPES) {
      const xr = sample(d, [4, 7], 21);
      const x = chunkedOf(xr, [3, 3]);
      for (const f of UNARY) {
        if (f === "neg" && d === "bool") {
          assert.throws(() => x.neg(), /negating a bool array is not supported/);
          continue;
        }
        if (f === "sign" && d === "bool") {
          assert.throws(() => x.sign(), /sign of a bool array is not supported/);
          continue;
        }
        arrays.push(x[f]());
        expected.push([`${f}(${d})`, unaryRef(f, xr)]);
      }
    }
    const values = await computeAll(arrays);
    expected.forEach(([what, r], i) => assertArrayEqual(values[i]!, r, what));
  });

  test("integers wrap around: int8 127 + 1 is -128, uint8 0 - 1 is 255, int32 products keep their low 32 bits", async () => {
    const i8 = mw.fromArray([127, -128, 100], { dtype: "int8" });
    const u8 = mw.fromArray([0, 255, 16], { dtype: "uint8" });
    const i32 = mw.fromArray([2147483647, 65536, -2147483648], { dtype: "int32" });
    const u32 = mw.fromArray([4294967295, 65536, 3], { dtype: "uint32" });
    const [a, b, c, d, e, f, g, h] = await computeAll([
      i8.add(1),
      i8.sub(1),
      u8.sub(1),
      u8.mul(u8),
      i32.mul(i32),
      u32.add(u32),
      i8.abs(),
      i8.neg(),
    ]);
    assertArrayEqual(a!, makeRef("int8", [3], [-128, -127, 101]));
    assertArrayEqual(b!, makeRef("int8", [3], [126, 127, 99]));
    assertArrayEqual(c!, makeRef("uint8", [3], [255, 254, 15]));
    assertArrayEqual(d!, makeRef("uint8", [3], [0, 1, 0]));
    assertArrayEqual(e!, makeRef("int32", [3], [1, 0, 0]));
    assertArrayEqual(f!, makeRef("uint32", [3], [4294967294, 131072, 6]));
    assertArrayEqual(g!, makeRef("int8", [3], [127, -128, 100]), "abs(-128) is -128 in int8, as NumPy");
    assertArrayEqual(h!, makeRef("int8", [3], [-127, -128, -100]));
  });

  test("integer powers wrap like repeated multiplication; negative exponents give 0 except for bases 1 and -1", async () => {
    const base = mw.fromArray([2, 3, -1, 1, 0, -2], { dtype: "int8" });
    const exp = mw.fromArray([7, 5, -3, -2, 3, -1], { dtype: "int8" });
    const big = mw.fromArray([3], { dtype: "int32" });
    const [p, q, r] = await computeAll([
      base.pow(exp),
      big.pow(40),
      mw.fromArray([7], { dtype: "uint32" }).pow(4294967295),
    ]);
    assertArrayEqual(p!, makeRef("int8", [6], [-128, -13, -1, 1, 0, 0]));
    assertArrayEqual(q!, makeRef("int32", [1], [Number(BigInt.asIntN(32, 3n ** 40n))]));
    assertArrayEqual(r!, binaryRef("pow", makeRef("uint32", [1], [7]), makeRef("uint32", [1], [4294967295])));
  });

  test("NaN propagates through arithmetic, maximum and minimum; comparisons with NaN are false except ne", async () => {
    const x = mw.fromArray([NaN, 1, NaN, -0]);
    const y = mw.fromArray([1, NaN, NaN, 0]);
    const [s, mx, mn, eq, ne, lt] = await computeAll([x.add(y), x.maximum(y), y.minimum(x), x.eq(y), x.ne(y), x.lt(y)]);
    assertArrayEqual(s!, makeRef("float64", [4], [NaN, NaN, NaN, 0]));
    assertArrayEqual(mx!, makeRef("float64", [4], [NaN, NaN, NaN, -0]));
    assertArrayEqual(mn!, makeRef("float64", [4], [NaN, NaN, NaN, 0]));
    assertArrayEqual(eq!, makeRef("bool", [4], [0, 0, 0, 1]), "-0 equals 0");
    assertArrayEqual(ne!, makeRef("bool", [4], [1, 1, 1, 0]));
    assertArrayEqual(lt!, makeRef("bool", [4], [0, 0, 0, 0]));
  });

  test("plain numbers and booleans take the array's type, on every dtype", async () => {
    const arrays: mw.ChunkedArray[] = [];
    const expected: [string, Ref][] = [];
    const ops: BinaryName[] = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "gt", "le"];
    for (const d of DTYPES) {
      const xr = sample(d, [12], 31);
      const x = chunkedOf(xr, [5]);
      const scalars: (number | boolean)[] = [3, 2.5, true, false, d === "bool" || d.startsWith("u") ? 0 : -2];
      for (const s of scalars) {
        const t =
          typeof s === "boolean"
            ? d
            : Number.isInteger(s)
              ? d === "bool"
                ? "int32"
                : d
              : d === "float32"
                ? "float32"
                : "float64";
        for (const op of ops) {
          if (op === "sub" && t === "bool") {
            assert.throws(() => x.sub(s), ArgumentError);
            continue;
          }
          arrays.push(applyBinary(op, x, s));
          expected.push([`${d} ${op} ${String(s)}`, binaryRef(op, xr, scalarRef(s), t)]);
        }
      }
    }
    const values = await computeAll(arrays);
    expected.forEach(([what, r], i) => assertArrayEqual(values[i]!, r, what));
  });

  test("comparisons with integers outside an integer array's range are exact (NumPy 2): uint8 > -1 everywhere", async () => {
    const u8 = mw.fromArray([0, 7, 255], { dtype: "uint8" });
    const i8 = mw.fromArray([-128, 0, 127], { dtype: "int8" });
    const [a, b, c, d, e] = await computeAll([u8.gt(-1), u8.eq(256), i8.lt(200), i8.ge(-129), u8.ne(-1)]);
    assertArrayEqual(a!, makeRef("bool", [3], [1, 1, 1]));
    assertArrayEqual(b!, makeRef("bool", [3], [0, 0, 0]));
    assertArrayEqual(c!, makeRef("bool", [3], [1, 1, 1]));
    assertArrayEqual(d!, makeRef("bool", [3], [1, 1, 1]));
    assertArrayEqual(e!, makeRef("bool", [3], [1, 1, 1]));
  });

  test("arithmetic with an integer outside an integer array's range is an ArgumentError (NumPy 2: OverflowError)", () => {
    const u8 = mw.fromArray([1], { dtype: "uint8" });
    assert.throws(
      () => u8.add(-1),
      (e: unknown) => e instanceof ArgumentError && /-1 is out of bounds for uint8/.test(e.message),
    );
    assert.throws(() => mw.fromArray([1], { dtype: "int8" }).mul(128), /128 is out of bounds for int8/);
    assert.throws(() => mw.fromArray([1], { dtype: "int32" }).add(2 ** 31), /out of bounds for int32/);
    assert.throws(() => mw.where(true, u8, 300), /300 is out of bounds for uint8/);
  });

  test("bool arrays with integers beyond int32 compute in float64 (NumPy: int64), not wrapped", async () => {
    const b = mw.fromArray([true, false]);
    const x = b.add(2 ** 32);
    assert.equal(x.dtype, "float64");
    assertArrayEqual(await x.compute(sync), makeRef("float64", [2], [2 ** 32 + 1, 2 ** 32]));
    assert.equal(b.add(5).dtype, "int32");
  });
});

describe("broadcasting and blocks", () => {
  test("arrays of different ndim and chunking broadcast, and are recut to common blocks", async () => {
    const cases: [number[], mw.ChunksSpec, number[], mw.ChunksSpec][] = [
      [
        [3, 4, 5],
        [2, 3, 4],
        [4, 1],
        [3, 1],
      ],
      [
        [3, 1, 5],
        [2, 1, 2],
        [4, 1],
        [1, 1],
      ],
      [[7], [3], [7], [2]],
      [
        [6, 5],
        [4, 2],
        [6, 5],
        [
          [1, 5],
          [3, 2],
        ],
      ],
      [[1], [1], [4, 3], [3, 2]],
      [[], [], [2, 3], [1, 2]],
      [[2, 0], [1, 1], [1], [1]],
      [
        [0, 3],
        [1, 2],
        [1, 3],
        [1, 1],
      ],
      [
        [5, 1, 1],
        [2, 1, 1],
        [1, 6, 1],
        [1, 4, 1],
      ],
    ];
    const arrays: mw.ChunkedArray[] = [];
    const expected: Ref[] = [];
    cases.forEach(([sa, ca, sb, cb], i) => {
      const xr = sample("float64", sa, 40 + i);
      const yr = sample("int16", sb, 60 + i);
      const x = chunkedOf(xr, ca);
      const y = chunkedOf(yr, cb);
      arrays.push(x.mul(y), y.sub(x));
      expected.push(binaryRef("mul", xr, yr), binaryRef("sub", yr, xr));
    });
    const values = await computeAll(arrays);
    expected.forEach((r, i) =>
      assertArrayEqual(values[i]!, r, `case ${Math.floor(i / 2)} ${i % 2 ? "y - x" : "x * y"}`),
    );
  });

  test("the result is cut wherever either input is cut", () => {
    const x = mw.zeros([10, 6], {
      chunks: [
        [4, 6],
        [3, 3],
      ],
    });
    const y = mw.zeros([10, 6], { chunks: [[5, 5], [6]] });
    assert.deepEqual(x.add(y).chunks, [
      [4, 1, 5],
      [3, 3],
    ]);
    assert.deepEqual(x.add(mw.zeros([6], { chunks: [[2, 4]] })).chunks, [
      [4, 6],
      [2, 1, 3],
    ]);
    assert.deepEqual(x.add(mw.zeros([1, 6], { chunks: 1 })).chunks, [
      [4, 6],
      [1, 1, 1, 1, 1, 1],
    ]);
  });

  test("shapes that do not broadcast are an ArgumentError naming them", () => {
    const x = mw.zeros([3, 4]);
    assert.throws(
      () => x.add(mw.zeros([3])),
      (e: unknown) =>
        e instanceof ArgumentError && /shapes \[3, 4\] and \[3\] cannot be broadcast together/.test(e.message),
    );
    assert.throws(() => mw.where(mw.zeros([2], { dtype: "bool" }), x, 1), /cannot be broadcast/);
    assert.throws(
      () => x.add("1" as never),
      /argument 2 of add must be a chunked array, a number or a boolean, got string/,
    );
    assert.throws(() => x.add(null as never), /got null/);
  });
});

describe("where, clip, astype", () => {
  test("where picks elementwise, broadcasting all three, in the common type of the two choices", async () => {
    const cr = sample("bool", [5, 1], 1);
    const fr = sample("float64", [5, 1], 5);
    const xr = sample("int8", [4], 2);
    const yr = sample("uint8", [5, 4], 3);
    const c = chunkedOf(cr, [2, 1]);
    const x = chunkedOf(xr, [3]);
    const y = chunkedOf(yr, [4, 2]);
    const f = chunkedOf(fr, [3, 1]);
    const [a, b, d, e, g] = await computeAll([
      mw.where(c, x, y),
      mw.where(c, x, 2.5),
      mw.where(f, 1, y),
      mw.where(true, x, y),
      mw.where(c, true, false).astype("int8"),
    ]);
    assertArrayEqual(a!, whereRef(cr, xr, yr, "int16"));
    assertArrayEqual(b!, whereRef(cr, xr, makeRef("float64", [], [2.5]), "float64"));
    assertArrayEqual(
      d!,
      whereRef(fr, makeRef("uint8", [], [1]), yr, "uint8"),
      "a float condition is true where non-zero, NaN included",
    );
    assertArrayEqual(e!, whereRef(makeRef("bool", [], [1]), xr, yr, "int16"));
    assertArrayEqual(g!, astypeRef(whereRef(cr, makeRef("bool", [], [1]), makeRef("bool", [], [0]), "bool"), "int8"));
  });

  test("clip limits to [min, max] with numbers, arrays or null; NaN stays NaN", async () => {
    const xr = sample("float64", [6, 5], 8);
    const x = chunkedOf(xr, [4, 2]);
    const lo = sample("float64", [5], 9, { finite: true });
    const clipRef = (r: Ref, min: Ref | null, max: Ref | null): Ref => {
      let out = r;
      if (min) out = binaryRef("maximum", out, min);
      if (max) out = binaryRef("minimum", out, max);
      return out;
    };
    const ir = sample("int16", [9], 10);
    const i = chunkedOf(ir, [4]);
    const [a, b, c, d, e] = await computeAll([
      x.clip(-1, 2),
      x.clip(null, 0.5),
      x.clip(chunkedOf(lo, [3]), 10),
      i.clip(-100, 100),
      mw.clip(i, 0, null),
    ]);
    assertArrayEqual(a!, clipRef(xr, makeRef("float64", [], [-1]), makeRef("float64", [], [2])));
    assertArrayEqual(b!, clipRef(xr, null, makeRef("float64", [], [0.5])));
    assertArrayEqual(c!, clipRef(xr, lo, makeRef("float64", [], [10])));
    assertArrayEqual(d!, clipRef(ir, makeRef("int16", [], [-100]), makeRef("int16", [], [100])));
    assertArrayEqual(e!, clipRef(ir, makeRef("int16", [], [0]), null));
    assert.throws(() => x.clip(null, null), /clip needs a lower or an upper bound/);
  });

  test("clip with integer bounds beyond an integer array's range clips to the range, keeping the type", async () => {
    const u8 = mw.fromArray([0, 7, 255], { dtype: "uint8" });
    const r = u8.clip(-5, 300);
    assert.equal(r.dtype, "uint8");
    assertArrayEqual(await r.compute(sync), makeRef("uint8", [3], [0, 7, 255]));
    assertArrayEqual(
      await mw.fromArray([-128, 0, 127], { dtype: "int8" }).clip(-1000, 5).compute(sync),
      makeRef("int8", [3], [-128, 0, 5]),
    );
  });

  test("astype between every pair of dtypes: truncation, wrap-around, NaN to 0 and to true", async () => {
    const arrays: mw.ChunkedArray[] = [];
    const expected: [string, Ref][] = [];
    for (const from of DTYPES) {
      const xr = sample(from, [3, 8], 77);
      const x = chunkedOf(xr, [2, 5]);
      for (const to of DTYPES) {
        arrays.push(x.astype(to));
        expected.push([`${from} → ${to}`, astypeRef(xr, to)]);
      }
      assert.equal(x.astype(from), x, "astype to the same dtype is the array itself");
    }
    const values = await computeAll(arrays);
    expected.forEach(([what, r], i) => assertArrayEqual(values[i]!, r, what));
    assert.throws(
      () => mw.zeros(2).astype("int64" as never),
      (e: unknown) => e instanceof ArgumentError && /dtype must be one of/.test(e.message),
    );
  });
});

describe("transpose", () => {
  test("permutes axes block by block, on every dtype, with blocks that do not divide the shape", async () => {
    const arrays: mw.ChunkedArray[] = [];
    const expected: Ref[] = [];
    for (const d of DTYPES) {
      const xr = sample(d, [5, 3, 4], 3);
      const x = chunkedOf(xr, [2, 2, 3]);
      arrays.push(x.T, x.transpose([1, 0, 2]), x.transpose([-1, 0, 1]), mw.transpose(x, [2, 1, 0]).T);
      expected.push(transposeRef(xr), transposeRef(xr, [1, 0, 2]), transposeRef(xr, [2, 0, 1]), xr);
    }
    const values = await computeAll(arrays);
    expected.forEach((r, i) => assertArrayEqual(values[i]!, r, `case ${i}`));
    const x = mw.zeros([5, 3], { chunks: [2, 3] });
    assert.deepEqual(x.T.chunks, [[3], [2, 2, 1]]);
    assert.equal(x.transpose([0, 1]), x, "the identity permutation is the array itself");
    assert.throws(() => x.transpose([0, 0]), /must name each of the 2 axes once/);
    assert.throws(() => x.transpose([0]), ArgumentError);
    assert.throws(() => x.transpose([0, 2]), ArgumentError);
  });
});

describe("fusion", () => {
  /** Tasks in the optimized graph, as compute would run them (data blocks are literals, not tasks). */
  const optimizedSize = (x: mw.ChunkedArray, fuse = true): number =>
    [...prepare([x[COLLECTION]()], { fuse }).graph.values()].filter((n) => n instanceof Task).length;

  test("a long elementwise chain becomes one task per block, with the same bits as unfused and as step by step", async () => {
    const xr = sample("float32", [7, 9], 5, { finite: true });
    const yr = sample("int16", [9], 6);
    const x = chunkedOf(xr, [3, 4]);
    const y = chunkedOf(yr, [4]);
    const steps: ((a: mw.ChunkedArray) => mw.ChunkedArray)[] = [
      (a) => a.mul(1.1),
      (a) => a.add(y),
      (a) => a.sqrt(),
      (a) => a.maximum(0.5),
      (a) => a.astype("float64"),
      (a) => a.sin(),
      (a) => a.mul(a),
      (a) => a.astype("int8"),
      (a) => a.sub(3),
      (a) => a.mul(100),
      (a) => a.astype("float32"),
      (a) => a.div(7),
      (a) => a.exp(),
      (a) => a.gt(1),
      (a) => mw.where(a, y, x),
      (a) => a.astype("uint8"),
      (a) => a.neg(),
      (a) => a.pow(2),
    ];
    let chained = x;
    for (const s of steps) chained = s(chained);
    const blocks = x.numblocks.reduce((p, q) => p * q, 1);
    assert.equal(optimizedSize(chained), blocks, "one task per block after fusion");
    assert.equal(optimizedSize(chained, false), blocks * steps.length, "one per block and step without");
    const fused = await chained.compute(sync);
    const unfused = await chained.compute({ ...sync, fuse: false });
    assertSameBits(fused, unfused, "fused and unfused");
    // Step by step: each intermediate computed and turned back into an array.
    let step: mw.ChunkedArray = x;
    for (const s of steps) step = mw.fromArray((await s(step).compute(sync)) as mw.NDArray, { chunks: [3, 4] });
    assertSameBits(fused, await step.compute(sync), "fused and step by step");
  });

  test("a transpose, a broadcast and a reduction's first step fuse too, with the reference's values", async () => {
    const xr = sample("float64", [6, 6], 9, { finite: true });
    const rr = sample("float64", [6], 10, { finite: true });
    const x = chunkedOf(xr, [4, 4]);
    const r = chunkedOf(rr, [4]);
    const y = x.add(x.T).mul(r).sub(1);
    assert.equal(optimizedSize(y), 4);
    const expected = binaryRef(
      "sub",
      binaryRef("mul", binaryRef("add", xr, transposeRef(xr)), rr),
      makeRef("float64", [], [1]),
    );
    assertArrayEqual(await y.compute(sync), expected);
    // sum's first step runs in the fused loop: 4 fused blocks + the aggregation.
    const s = y.sum({ axis: 0 });
    assert.equal(optimizedSize(s), 4 + 2);
    assertSameBits(await s.compute(sync), await s.compute({ ...sync, fuse: false }));
  });

  test("a result two outputs need stays a task of its own; inside one loop it is inlined", async () => {
    const x = mw.ones([4], { chunks: 2 });
    const shared = x.mul(2);
    const a = shared.add(1);
    const b = shared.sub(1);
    // Computed together, shared feeds two tasks per block: it is computed once, not fused into both.
    const both = prepare([a[COLLECTION](), b[COLLECTION]()]).graph;
    assert.equal(
      [...both.values()].filter((n) => n instanceof Task).length,
      2 * 4,
      "ones, shared, a and b for each of 2 blocks",
    );
    // Used twice by one fused loop, it is inlined there (elementwise work is cheaper than a task).
    const z = a.add(b);
    assert.equal(optimizedSize(z), 2 * 2, "ones and one fused loop per block");
    assertArrayEqual(await z.compute(sync), makeRef("float64", [4], [4, 4, 4, 4]));
  });

  test("the same operation on the same inputs gives the same keys; different ones do not", () => {
    const x = mw.arange(10, undefined, undefined, { chunks: 3 });
    assert.equal(x.add(1).name, x.add(1).name);
    assert.notEqual(x.add(1).name, x.add(2).name);
    assert.notEqual(x.add(1).name, x.sub(1).name);
    assert.equal(mw.fromArray([1, 2, 3]).name, mw.fromArray([1, 2, 3]).name);
    assert.equal(x.mul(0).name, x.mul(-0).name, "as int32 constants, -0 is 0");
    const f = mw.fromArray([1.5]);
    assert.notEqual(f.mul(0).name, f.mul(-0).name, "as float64 constants, -0 is not 0");
    assert.notEqual(mw.full([2], 0).name, mw.full([2], -0).name);
    assert.notEqual(x.add(NaN).name, x.add(Infinity).name);
    assert.notEqual(mw.fromArray([1, 2, 3]).name, mw.fromArray([1, 2, 4]).name);
  });

  test("x * 0 and x * -0 computed together keep their signs of zero", async () => {
    const x = mw.fromArray([1, -1]);
    const [a, b, c, d] = await computeAll([x.mul(0), x.mul(-0), mw.full([1], 0), mw.full([1], -0)]);
    assertArrayEqual(a!, makeRef("float64", [2], [0, -0]));
    assertArrayEqual(b!, makeRef("float64", [2], [-0, 0]));
    assertArrayEqual(c!, makeRef("float64", [1], [0]));
    assertArrayEqual(d!, makeRef("float64", [1], [-0]));
  });

  test("map() of the reference agrees with itself on a tiny case (guards the reference's broadcasting)", () => {
    const r = map(
      "float64",
      [makeRef("float64", [2, 1], [1, 2]), makeRef("float64", [3], [10, 20, 30])],
      (a, b) => a * b,
    );
    assert.deepEqual(r, makeRef("float64", [2, 3], [10, 20, 30, 20, 40, 60]));
    assert.deepEqual(intRange("int8"), [-128, 127]);
    assert.ok(!COMPARISON.has("add"));
  });
});
