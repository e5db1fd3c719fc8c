// Making chunked arrays, against the reference: fromArray, full / zeros / ones in every dtype,
// arange and linspace with NumPy's values, and random numbers that are the same for a seed
// however the array is cut, with roughly the right statistics.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ArgumentError } from "../../node/index.js";
import * as mw from "../../node/array.js";
import {
  assertArrayEqual,
  assertSameBits,
  astypeRef,
  DTYPES,
  makeRef,
  sample,
  sliceRef,
  type Ref,
  computeAll,
} from "./reference.js";

const sync = { scheduler: "sync" } as const;

describe("fromArray", () => {
  test("nested arrays, typed arrays (with a shape) and NDArrays, in every dtype and any cutting", async () => {
    const arrays: mw.ChunkedArray[] = [];
    const expected: Ref[] = [];
    for (const d of DTYPES) {
      const r = sample(d, [5, 3], 4);
      const nd = mw.NDArray.from(r.data, { dtype: d, shape: r.shape });
      arrays.push(
        mw.fromArray(nd, { chunks: [2, 2] }),
        mw.fromArray(nd.T, { chunks: 2 }).T,
        mw.fromArray(r.data, { dtype: d, shape: [5, 3], chunks: [[1, 4], [3]] }),
      );
      expected.push(r, r, r);
      if (d !== "bool") {
        arrays.push(mw.fromArray(nd.toTypedArray(), { shape: [5, 3], chunks: 4 }));
        expected.push(r);
      }
    }
    const values = await computeAll(arrays);
    expected.forEach((r, i) => assertArrayEqual(values[i]!, r, `case ${i}`));
    assert.deepEqual(mw.fromArray([[1, 2, 3]], { chunks: [1, 2] }).chunks, [[1], [2, 1]]);
    assert.equal(mw.fromArray([true]).dtype, "bool");
    assert.equal(mw.fromArray(new Uint16Array(3)).dtype, "uint16");
    assert.equal(mw.fromArray([1, 2], { dtype: "int8" }).dtype, "int8");
  });

  test("the data is copied: changing the source afterwards changes nothing", async () => {
    const src = new Float64Array([1, 2, 3]);
    const nd = mw.NDArray.from([
      [1, 2],
      [3, 4],
    ]);
    const scalar = mw.NDArray.from(5);
    const a = mw.fromArray(src, { chunks: 2 });
    const b = mw.fromArray(nd);
    const c = mw.fromArray(scalar);
    src[0] = 100;
    nd.data[0] = 100;
    scalar.data[0] = 100;
    const [x, y, z] = await computeAll([a, b, c]);
    assertArrayEqual(x!, makeRef("float64", [3], [1, 2, 3]));
    assertArrayEqual(y!, makeRef("float64", [2, 2], [1, 2, 3, 4]));
    assert.equal(z, 5);
  });

  test("0-d data computes to its element; empty data to an empty array", async () => {
    const [a, b, c] = await computeAll([mw.fromArray(2.5), mw.fromArray(true), mw.fromArray([[], []], { chunks: 1 })]);
    assert.equal(a, 2.5);
    assert.equal(b, true);
    assertArrayEqual(c!, makeRef("float64", [2, 0], []));
  });

  test("bad data, shapes, chunks and dtypes are ArgumentErrors", () => {
    assert.throws(
      () => mw.fromArray([[1], [2, 3]]),
      (e: unknown) => e instanceof ArgumentError && /rectangular/.test(e.message),
    );
    assert.throws(() => mw.fromArray(new Float64Array(5), { shape: [2, 2] }), /needs 4 elements, the data has 5/);
    assert.throws(
      () => mw.fromArray([1, 2, 3], { chunks: 0 }),
      /chunk size on axis 0 must be a whole number > 0 or -1/,
    );
    assert.throws(
      () => mw.fromArray([1, 2, 3], { chunks: [[1, 1]] }),
      /chunks on axis 0 add up to 2, but the axis has length 3/,
    );
    assert.throws(() => mw.fromArray([1, 2], { dtype: "int64" as never }), /dtype must be one of/);
    assert.throws(() => mw.fromArray(new Float32Array(2), { dtype: "float16" as never }), /dtype must be one of/);
  });
});

describe("full, zeros, ones", () => {
  test("every dtype, the value cast as astype would (NaN is true as a bool, 2.7 is 2 as an integer)", async () => {
    const arrays: mw.ChunkedArray[] = [];
    const expected: Ref[] = [];
    for (const d of DTYPES) {
      for (const v of [0, 1, 2.7, -3, 300, NaN, -0]) {
        arrays.push(mw.full([3, 2], v, { dtype: d, chunks: [2, 1] }));
        expected.push(astypeRef(makeRef("float64", [3, 2], new Array(6).fill(v)), d));
      }
      arrays.push(mw.zeros(4, { dtype: d }), mw.ones([2, 2], { dtype: d, chunks: 1 }));
      expected.push(makeRef(d, [4], [0, 0, 0, 0]), makeRef(d, [2, 2], [1, 1, 1, 1]));
    }
    const values = await computeAll(arrays);
    expected.forEach((r, i) => assertArrayEqual(values[i]!, r, `case ${i}`));
  });

  test("a boolean fill makes a bool array; a number float64; shape may be a number or empty", async () => {
    assert.equal(mw.full(3, true).dtype, "bool");
    assert.equal(mw.full(3, 1).dtype, "float64");
    assert.deepEqual(mw.zeros(3).shape, [3]);
    assert.equal(await mw.full([], 7).compute(sync), 7);
    assert.deepEqual(mw.zeros([0, 5]).chunks, [[0], [5]]);
  });

  test("bad shapes, values and dtypes are ArgumentErrors", () => {
    assert.throws(
      () => mw.zeros([2, -1]),
      (e: unknown) =>
        e instanceof ArgumentError && /shape must be a list of whole numbers ≥ 0, got \[2,-1\]/.test(e.message),
    );
    assert.throws(() => mw.ones([1.5]), /shape must be a list of whole numbers/);
    assert.throws(() => mw.zeros("3" as never), /shape must be a list/);
    assert.throws(() => mw.full([2], "x" as never), /full needs a number or boolean fill value, got string/);
    assert.throws(
      () => mw.zeros([2], { dtype: "int64" as never }),
      /dtype must be one of float64, float32, int32, uint32, int16, uint16, int8, uint8, bool; got "int64"/,
    );
  });
});

describe("arange and linspace", () => {
  /** NumPy's arange values: start, then start + i·delta with delta = (start + step) - start. */
  const arangeRef = (start: number, stop: number, step: number, dtype: mw.DType): Ref => {
    const n = Math.max(0, Math.ceil((stop - start) / step));
    const delta = start + step - start;
    return astypeRef(
      makeRef(
        "float64",
        [n],
        Array.from({ length: n }, (_, i) => (i === 0 ? start : start + i * delta)),
      ),
      dtype,
    );
  };
  /** NumPy's linspace: i·step + start with step = (stop - start) / div, the end point exactly stop. */
  const linspaceRef = (
    start: number,
    stop: number,
    num: number,
    endpoint: boolean,
    dtype: mw.DType = "float64",
  ): Ref => {
    const div = endpoint ? num - 1 : num;
    const delta = stop - start;
    const step = delta / div;
    const values = Array.from({ length: num }, (_, i) => {
      if (div <= 0) return i * delta + start;
      const v = step === 0 ? (i / div) * delta + start : i * step + start;
      return endpoint && i === num - 1 ? stop : v;
    });
    return astypeRef(makeRef("float64", [num], values), dtype);
  };

  test("arange: int32 for integers (NumPy: int64), float64 otherwise; NumPy's length and values, whatever the cutting", async () => {
    const cases: [number, number | undefined, number | undefined, mw.DType][] = [
      [10, undefined, undefined, "int32"],
      [3, 11, undefined, "int32"],
      [10, 1, -3, "int32"],
      [5, 5, undefined, "int32"],
      [5, 1, undefined, "int32"],
      [0.1, 1, 0.3, "float64"],
      [1, 2, 0.1, "float64"],
      [-1.5, 2, 0.25, "float64"],
      [2, -1, -0.7, "float64"],
      [0, 1e-3, 1e-4, "float64"],
      [2147483640, 2147483648, undefined, "int32"],
      [2147483640, 2147483650, undefined, "float64"],
      [-2147483640, -2147483660, -1, "float64"],
      [-2147483640, -2147483648, -1, "int32"],
    ];
    const arrays: mw.ChunkedArray[] = [];
    const expected: [string, Ref][] = [];
    for (const [a, b, c, dtype] of cases) {
      const [start, stop, step] = b === undefined ? [0, a, 1] : [a, b, c ?? 1];
      for (const chunks of [1, 3, 1000]) {
        const x = mw.arange(a, b, c, { chunks });
        assert.equal(x.dtype, dtype, `arange(${a}, ${b}, ${c}) dtype`);
        arrays.push(x);
        expected.push([`arange(${a}, ${b}, ${c}) in ${chunks}`, arangeRef(start, stop, step, dtype)]);
      }
    }
    arrays.push(mw.arange(0, 300, 37, { dtype: "uint8", chunks: 2 }), mw.arange(0, 3, 0.5, { dtype: "int16" }));
    expected.push(
      ["arange as uint8 wraps", arangeRef(0, 300, 37, "uint8")],
      ["fractions as int16 truncate", arangeRef(0, 3, 0.5, "int16")],
    );
    const values = await computeAll(arrays);
    expected.forEach(([what, r], i) => assertArrayEqual(values[i]!, r, what));
  });

  test("linspace: NumPy's values, the end point exactly, or left out; num 0 and 1; any cutting", async () => {
    const cases: [number, number, number, boolean][] = [
      [0, 1, 11, true],
      [0, 1, 10, false],
      [-3.3, 7.1, 17, true],
      [1, 0, 4, true],
      [2, 2, 5, true],
      [0, 1e-310, 5, true],
      [5, 9, 1, true],
      [5, 9, 1, false],
      [5, 9, 0, true],
      [0.1, 0.7, 7, true],
    ];
    const arrays: mw.ChunkedArray[] = [];
    const expected: [string, Ref][] = [];
    for (const [a, b, n, endpoint] of cases) {
      for (const chunks of [1, 4, 100]) {
        arrays.push(mw.linspace(a, b, n, { endpoint, chunks }));
        expected.push([`linspace(${a}, ${b}, ${n}, ${endpoint}) in ${chunks}`, linspaceRef(a, b, n, endpoint)]);
      }
    }
    arrays.push(mw.linspace(0, 10, 7, { dtype: "int8", chunks: 3 }), mw.linspace(0, 1, 5, { dtype: "float32" }));
    expected.push(
      ["as int8", linspaceRef(0, 10, 7, true, "int8")],
      ["as float32", linspaceRef(0, 1, 5, true, "float32")],
    );
    assert.equal(mw.linspace(0, 1).shape[0], 50, "50 samples by default");
    const values = await computeAll(arrays);
    expected.forEach(([what, r], i) => assertArrayEqual(values[i]!, r, what));
  });

  test("bad ranges are ArgumentErrors", () => {
    assert.throws(
      () => mw.arange(0, 10, 0),
      (e: unknown) => e instanceof ArgumentError && /arange step must not be 0/.test(e.message),
    );
    assert.throws(() => mw.arange(0, Infinity), /arange takes finite numbers, got Infinity/);
    assert.throws(() => mw.arange(NaN), /finite numbers/);
    assert.throws(() => mw.arange(3, undefined, undefined, { dtype: "int64" as never }), /dtype must be one of/);
    assert.throws(() => mw.linspace(0, 1, -1), /linspace needs a whole number of samples ≥ 0, got -1/);
    assert.throws(() => mw.linspace(0, 1, 2.5), /whole number of samples/);
    assert.throws(() => mw.linspace(0, NaN, 3), /finite numbers/);
  });
});

describe("random numbers", () => {
  test("the same seed gives the same values however the array is cut", async () => {
    for (const [make, shape] of [
      [(o: mw.RandomOptions) => mw.random([13, 11], o), [13, 11]],
      [(o: mw.RandomOptions) => mw.normal([7, 3, 9], { ...o, loc: 2, scale: 3 }), [7, 3, 9]],
      [(o: mw.RandomOptions) => mw.uniform([600], { ...o, low: -5, high: 5 }), [600]],
    ] as const) {
      const cuttings: mw.ChunksSpec[] = [
        shape.map(() => 1),
        shape.map(() => 4),
        shape.map(() => -1),
        shape.map((d, i) => (i === 0 ? [1, d - 1] : -1)) as mw.ChunksSpec,
      ];
      const values = await computeAll(cuttings.map((chunks) => make({ seed: 42, chunks })));
      for (let i = 1; i < values.length; i++)
        assertSameBits(values[0]!, values[i]!, `${JSON.stringify(shape)} cut ${JSON.stringify(cuttings[i])}`);
      // And a slice of a big array equals the same slice computed from any cutting.
      const other = (await make({ seed: 43, chunks: 4 }).compute(sync)) as mw.NDArray;
      assert.ok(
        !other.toTypedArray().every((v, i) => v === (values[0] as mw.NDArray).toTypedArray()[i]),
        "another seed gives other values",
      );
    }
  });

  test("float32 random numbers are the float64 ones rounded; a 0-d random array is one number", async () => {
    const [a, b, c] = await computeAll([
      mw.normal([50], { seed: 5, chunks: 7 }),
      mw.normal([50], { seed: 5, dtype: "float32", chunks: 13 }),
      mw.random([], { seed: 5 }),
    ]);
    assertArrayEqual(b!, astypeRef(makeRef("float64", [50], [...(a as mw.NDArray).toTypedArray()]), "float32"));
    assert.equal(typeof c, "number");
  });

  test("uniform values lie in [low, high) with mean and variance near (low+high)/2 and (high-low)²/12", async () => {
    const [u, m, v, lo, hi] = (await computeAll(
      (() => {
        const x = mw.uniform([200, 300], { seed: 7, low: -2, high: 4, chunks: [64, 128] });
        return [x, x.mean(), x.var(), x.min(), x.max()];
      })(),
    )) as [mw.NDArray, number, number, number, number];
    assert.ok(lo >= -2 && hi < 4, `range [${lo}, ${hi}]`);
    assert.ok(Math.abs(m - 1) < 0.03, `mean ${m}`);
    assert.ok(Math.abs(v - 3) < 0.05, `variance ${v}`);
    // The values fill the range: each sixth of it holds about a sixth of them.
    const counts = new Array<number>(6).fill(0);
    for (const x of u.toTypedArray()) counts[Math.floor(x + 2)]!++;
    for (const c of counts) assert.ok(Math.abs(c / 60000 - 1 / 6) < 0.01, `bins ${counts}`);
  });

  test("normal values have mean near loc and standard deviation near scale; scale 0 gives loc", async () => {
    const x = mw.normal([300, 200], { seed: 11, loc: -1, scale: 2, chunks: [100, 64] });
    const [m, s, inside, flat] = (await computeAll([
      x.mean(),
      x.std(),
      x.add(1).abs().lt(2).astype("float64").mean(),
      mw.normal([5], { seed: 1, loc: 3, scale: 0 }),
    ])) as [number, number, number, mw.NDArray];
    assert.ok(Math.abs(m + 1) < 0.03, `mean ${m}`);
    assert.ok(Math.abs(s - 2) < 0.03, `std ${s}`);
    assert.ok(Math.abs(inside - 0.6827) < 0.01, `within one standard deviation: ${inside}`);
    assertArrayEqual(flat, makeRef("float64", [5], [3, 3, 3, 3, 3]));
  });

  test("without a seed, every array is new; random() is uniform on [0, 1)", async () => {
    const [a, b] = (await computeAll([mw.random([20]), mw.random([20])])) as mw.NDArray[];
    assert.notDeepEqual([...a!.toTypedArray()], [...b!.toTypedArray()]);
    assert.ok(a!.toTypedArray().every((v) => v >= 0 && v < 1));
  });

  test("bad seeds, dtypes and scales are ArgumentErrors", () => {
    assert.throws(
      () => mw.random([2], { seed: -1 }),
      (e: unknown) => e instanceof ArgumentError && /seed must be a whole number ≥ 0, got -1/.test(e.message),
    );
    assert.throws(() => mw.random([2], { seed: 1.5 }), /seed must be a whole number/);
    assert.throws(
      () => mw.random([2], { dtype: "int32" as never }),
      /random numbers are float64 or float32, not int32/,
    );
    assert.throws(() => mw.normal([2], { scale: -1 }), /scale must be ≥ 0, got -1/);
    assert.throws(() => mw.normal([2], { scale: NaN }), /scale must be ≥ 0/);
    assert.throws(() => mw.random([-2]), /shape must be a list of whole numbers/);
  });

  test("slices of a random array are slices of its values", async () => {
    const x = mw.random([9, 8], { seed: 3, chunks: [4, 3] });
    const whole = (await x.compute(sync)) as mw.NDArray;
    const xr = makeRef("float64", [9, 8], [...whole.toTypedArray()]);
    assertArrayEqual(await x.slice("::-2", "1:7").compute(sync), sliceRef(xr, [{ step: -2 }, { start: 1, stop: 7 }]));
  });
});
