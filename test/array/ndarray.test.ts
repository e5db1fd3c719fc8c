// NDArray, one block: made from nested arrays and typed arrays in every dtype, read by index,
// viewed (transpose, slices with negative steps, reshape) without copying, and sent over the wire.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ArgumentError } from "../../node/index.js";
import { NDArray } from "../../node/array.js";
import { deserialize, serialize } from "../../src/internal.js";
import {
  assertArrayEqual,
  astypeRef,
  DTYPES,
  makeRef,
  refOf,
  sample,
  sliceRef,
  transposeRef,
  type RefIndex,
} from "./reference.js";

describe("making an NDArray", () => {
  test("nested arrays give their shape; numbers are float64, booleans bool", () => {
    const a = NDArray.from([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assertArrayEqual(a, makeRef("float64", [2, 3], [1, 2, 3, 4, 5, 6]));
    assertArrayEqual(NDArray.from([[true], [false]]), makeRef("bool", [2, 1], [1, 0]));
    assert.deepEqual(NDArray.from([[true], [false]]).toArray(), [[true], [false]]);
    assert.equal(NDArray.from(7).ndim, 0);
    assert.equal(NDArray.from(7).item(), 7);
    assert.deepEqual(NDArray.from([]).shape, [0]);
    assert.deepEqual(NDArray.from([[], []]).shape, [2, 0]);
  });

  test("a typed array gives its dtype; `shape` gives it more dimensions; the data is copied", () => {
    for (const [data, dtype] of [
      [new Float64Array([1.5, 2]), "float64"],
      [new Float32Array([1.5, 2]), "float32"],
      [new Int32Array([-1, 2]), "int32"],
      [new Uint32Array([1, 2]), "uint32"],
      [new Int16Array([-1, 2]), "int16"],
      [new Uint16Array([1, 2]), "uint16"],
      [new Int8Array([-1, 2]), "int8"],
      [new Uint8Array([1, 2]), "uint8"],
    ] as const) {
      const a = NDArray.from(data);
      assert.equal(a.dtype, dtype);
      assert.deepEqual(a.toArray(), [...data]);
      data[0] = 99;
      assert.notEqual(a.get(0), 99, `${dtype}: from() copies`);
    }
    const m = NDArray.from(new Int16Array([1, 2, 3, 4, 5, 6]), { shape: [3, 2] });
    assertArrayEqual(m, makeRef("int16", [3, 2], [1, 2, 3, 4, 5, 6]));
  });

  test("every dtype converts to every dtype: floats truncate, integers wrap, NaN is 0 as an integer and true as a bool", () => {
    for (const from of DTYPES) {
      const src = sample(from, [24], 1);
      const a = NDArray.from(src.data, { dtype: from });
      assertArrayEqual(a, src, `${from} from numbers`);
      for (const to of DTYPES) {
        assertArrayEqual(NDArray.from(a, { dtype: to }), astypeRef(src, to), `${from} → ${to}`);
        if (from !== "bool")
          assertArrayEqual(
            NDArray.from(a.toTypedArray(), { dtype: to }),
            astypeRef(src, to),
            `${from} typed array → ${to}`,
          );
      }
    }
    assertArrayEqual(NDArray.from([NaN, 0, -0, 0.5, -3], { dtype: "bool" }), makeRef("bool", [5], [1, 0, 0, 1, 1]));
    assertArrayEqual(
      NDArray.from([300, -129, 1.9, -1.9, NaN, Infinity], { dtype: "int8" }),
      makeRef("int8", [6], [44, 127, 1, -1, 0, 0]),
    );
  });

  test("zeros in every dtype", () => {
    for (const dtype of DTYPES)
      assertArrayEqual(NDArray.zeros([2, 3], dtype), makeRef(dtype, [2, 3], [0, 0, 0, 0, 0, 0]));
    assert.deepEqual(NDArray.zeros(4).shape, [4]);
    assert.deepEqual(NDArray.zeros([0, 3]).shape, [0, 3]);
  });

  test("bad input is an ArgumentError saying what is wrong", () => {
    assert.throws(() => NDArray.from([[1, 2], [3]]), /rectangular/);
    assert.throws(() => NDArray.from([[1, 2], 3, 4]), ArgumentError);
    assert.throws(() => NDArray.from(["a"]), /arrays hold numbers and booleans; found string/);
    assert.throws(() => NDArray.from(new Float64Array(6), { shape: [4, 2] }), /needs 8 elements, the data has 6/);
    assert.throws(() => NDArray.from([1, 2, 3], { shape: [2, 2] }), /needs 4 elements, the data has 3/);
    assert.throws(() => NDArray.from(new Uint8ClampedArray(2)), /cannot make an array from a Uint8ClampedArray/);
    assert.throws(() => NDArray.from(new BigInt64Array(2)), ArgumentError);
    for (const bad of [
      () => NDArray.from([1], { dtype: "int64" as never }),
      () => NDArray.from(new Float64Array(2), { dtype: "int64" as never }),
      () => NDArray.from(NDArray.from([1]), { dtype: "float16" as never }),
    ]) {
      assert.throws(
        bad,
        (e: unknown) =>
          e instanceof ArgumentError &&
          /dtype must be one of float64, float32, int32, uint32, int16, uint16, int8, uint8, bool/.test(e.message),
      );
    }
    assert.throws(() => NDArray.zeros([2, -1]), /shape must be a list of whole numbers ≥ 0/);
    assert.throws(() => NDArray.zeros([1.5]), ArgumentError);
    assert.throws(() => NDArray.zeros([2], "complex" as never), ArgumentError);
  });
});

describe("reading an NDArray", () => {
  const a = NDArray.from(
    [
      [1, 2, 3],
      [4, 5, 6],
    ],
    { dtype: "int8" },
  );

  test("get takes one index per axis, negative from the end; out of range is an ArgumentError", () => {
    assert.equal(a.get(0, 0), 1);
    assert.equal(a.get(1, -1), 6);
    assert.equal(a.get(-2, -3), 1);
    assert.throws(() => a.get(2, 0), /index 2 is out of bounds for axis 0 with size 2/);
    assert.throws(() => a.get(0, -4), /index -4 is out of bounds for axis 1 with size 3/);
    assert.throws(() => a.get(0), /get needs 2 indices, got 1/);
    assert.throws(() => a.get(0, 0.5), /not an integer/);
    assert.equal(NDArray.from([true, false]).get(1), false);
  });

  test("item() reads a one-element array of any shape, else refuses", () => {
    assert.equal(NDArray.from([[3]]).item(), 3);
    assert.equal(NDArray.from(true).item(), true);
    assert.throws(() => a.item(), /item\(\) needs an array of one element; this one has 6/);
  });

  test("toArray nests by shape; toTypedArray is row-major and shares storage when contiguous", () => {
    assert.deepEqual(a.toArray(), [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.equal(NDArray.from(2.5).toArray(), 2.5);
    const t = a.toTypedArray();
    assert.ok(t instanceof Int8Array);
    assert.equal(t.buffer, a.data.buffer, "no copy for a contiguous array");
    const tt = a.T.toTypedArray();
    assert.deepEqual([...tt], [1, 4, 2, 5, 3, 6]);
    assert.notEqual(tt.buffer, a.data.buffer, "a transposed view is copied into row-major order");
  });

  test("toString shows dtype, shape and values", () => {
    assert.equal(String(a), "NDArray<int8>[2, 3] [[1, 2, 3], [4, 5, 6]]");
    assert.equal(String(NDArray.from([0.1, NaN])), "NDArray<float64>[2] [0.1, NaN]");
    assert.equal(String(NDArray.zeros([2000])), "NDArray<float64>[2000] [0, 0, 0, ..., 0, 0, 0]"); // a summary, as NumPy prints
  });
});

describe("views", () => {
  const x = sample("float64", [4, 5, 3], 7);
  const a = NDArray.from(x.data, { shape: x.shape });

  test("transpose permutes axes (reversed by default) as a view sharing storage", () => {
    assertArrayEqual(a.T, transposeRef(x));
    assertArrayEqual(a.transpose([1, 0, 2]), transposeRef(x, [1, 0, 2]));
    assertArrayEqual(a.transpose([-1, 0, 1]), transposeRef(x, [2, 0, 1]));
    assert.equal(a.T.data, a.data);
    assert.equal(a.T.isContiguous, false);
    assert.throws(() => a.transpose([0, 1]), /must name each of the 3 axes once/);
    assert.throws(() => a.transpose([0, 0, 1]), /repeated axis/);
    assert.throws(() => a.transpose([0, 1, 3]), /axis 3 is out of range for an array of 3 dimensions/);
  });

  test("slices with integers, ranges, negative steps, null and ... match Python's; they are views", () => {
    const cases: [Parameters<NDArray["slice"]>, RefIndex[]][] = [
      [[1], [1]],
      [
        [-1, 2],
        [-1, 2],
      ],
      [["1:3"], [{ start: 1, stop: 3 }]],
      [["::-1"], [{ step: -1 }]],
      [
        ["::-2", "4:0:-2", -1],
        [{ step: -2 }, { start: 4, stop: 0, step: -2 }, -1],
      ],
      [
        ["...", "::-1"],
        ["...", { step: -1 }],
      ],
      [
        [null, "-2:"],
        [null, { start: -2 }],
      ],
      [["1:3, ::-3, 1"], [{ start: 1, stop: 3 }, { step: -3 }, 1]],
      [[{ start: -100, stop: 100, step: 3 }], [{ start: -100, stop: 100, step: 3 }]],
      [["3:1"], [{ start: 3, stop: 1 }]],
      [
        ["-1:-6:-1", 0],
        [{ start: -1, stop: -6, step: -1 }, 0],
      ],
      [
        [" 2 : ", " : : -1 "],
        [{ start: 2 }, { step: -1 }],
      ],
      [
        [0, 0, 0],
        [0, 0, 0],
      ],
    ];
    for (const [index, refIndex] of cases) {
      const v = a.slice(...index);
      assertArrayEqual(v, sliceRef(x, refIndex), `slice(${JSON.stringify(index)})`);
      assert.equal(v.data, a.data, "a view");
      assertArrayEqual(v.copy(), sliceRef(x, refIndex), `slice(${JSON.stringify(index)}).copy()`);
    }
    // Slices of slices, and slices of transposes.
    assertArrayEqual(
      a.slice("::-1").slice(null, "::-2").T.slice("1:"),
      sliceRef(transposeRef(sliceRef(sliceRef(x, [{ step: -1 }]), [null, { step: -2 }])), [{ start: 1 }]),
    );
  });

  test("a bad index is an ArgumentError: out of range, too many, a zero step, two ellipses, a non-integer", () => {
    assert.throws(() => a.slice(4), /index 4 is out of bounds for axis 0 with size 4/);
    assert.throws(() => a.slice(0, -6), /index -6 is out of bounds for axis 1 with size 5/);
    assert.throws(() => a.slice(0, 0, 0, 0), /too many indices: 4 for an array of 3 dimensions/);
    assert.throws(() => a.slice("::0"), /slice step must be a non-zero integer/);
    assert.throws(() => a.slice("...", "..."), /only one ellipsis/);
    assert.throws(() => a.slice(1.5), /not an integer/);
    assert.throws(() => a.slice("a:b"), /cannot read slice/);
    assert.throws(() => a.slice("1:2:3:4"), /at most start:stop:step/);
    assert.throws(() => a.slice([1] as never), /cannot index axis 0/);
  });

  test("reshape is a view of contiguous data and a copy otherwise; one -1 is inferred", () => {
    const r = a.reshape([5, -1]);
    assert.deepEqual(r.shape, [5, 12]);
    assert.equal(r.data, a.data);
    assertArrayEqual(r, makeRef("float64", [5, 12], x.data));
    const t = a.T.reshape([-1]);
    assertArrayEqual(t, makeRef("float64", [60], transposeRef(x).data));
    const s = a.slice("::-1", 1).reshape([2, 2, 3]);
    assertArrayEqual(s, makeRef("float64", [2, 2, 3], sliceRef(x, [{ step: -1 }, 1]).data));
    assert.throws(() => a.reshape([7, -1]), /cannot reshape an array of 60 elements into shape \[7, -1\]/);
    assert.throws(() => a.reshape([-1, -1]), /at most one -1/);
    assert.deepEqual(NDArray.zeros([0, 4]).reshape([2, 0, 3]).shape, [2, 0, 3]);
  });

  test("size-0 views: empty slices copy and reshape to nothing", () => {
    const e = a.slice("2:2");
    assert.deepEqual(e.shape, [0, 5, 3]);
    assert.equal(e.size, 0);
    assert.deepEqual(e.copy().shape, [0, 5, 3]);
    assert.deepEqual(e.toArray(), []);
    assert.equal(e.toTypedArray().length, 0);
  });
});

describe("on the wire", () => {
  const roundTrip = (v: NDArray): NDArray => deserialize(serialize(v).payload) as NDArray;

  test("every dtype, contiguous or a view with negative strides, arrives with the same elements", () => {
    for (const dtype of DTYPES) {
      const x = sample(dtype, [6, 4], 3);
      const a = NDArray.from(x.data, { dtype, shape: x.shape });
      assertArrayEqual(roundTrip(a), x, `${dtype} contiguous`);
      assertArrayEqual(roundTrip(a.T), transposeRef(x), `${dtype} transposed`);
      assertArrayEqual(
        roundTrip(a.slice("::-1", "::-2")),
        sliceRef(x, [{ step: -1 }, { step: -2 }]),
        `${dtype} reversed`,
      );
      assertArrayEqual(roundTrip(a.slice(3)), sliceRef(x, [3]), `${dtype} one row`);
      assertArrayEqual(roundTrip(a.slice(null, 1)), sliceRef(x, [null, 1]), `${dtype} one column`);
      assertArrayEqual(roundTrip(a.slice("2:2")), sliceRef(x, [{ start: 2, stop: 2 }]), `${dtype} empty`);
      assertArrayEqual(roundTrip(a.slice(1, 1)), sliceRef(x, [1, 1]), `${dtype} 0-d`);
    }
  });

  test("a small view of a big block travels without the rest of the block", () => {
    const big = NDArray.zeros([1000, 100]);
    const part = big.slice("10:12", "::-50");
    const s = serialize(part);
    assert.ok(s.nbytes < 1000, `sent ${s.nbytes} bytes for 4 elements`);
    assert.deepEqual(roundTrip(part).shape, [2, 2]);
  });

  test("a header pointing outside its data, or data of the wrong type, is refused", () => {
    const good = serialize(NDArray.from([1, 2, 3]));
    assert.ok(good.payload);
    const forged = NDArray.from([1, 2, 3]);
    // A view claiming more elements than its storage has.
    const bad = new NDArray("float64", [5], forged.data);
    assert.throws(() => roundTrip(bad), /points outside its data/);
    const wrongType = new NDArray("int32", [3], new Float64Array(3) as never);
    assert.throws(() => roundTrip(wrongType), /does not match its dtype int32/);
  });

  test("refOf reads through get(), so the reference is independent of storage order", () => {
    const a = NDArray.from([
      [1, 2],
      [3, 4],
    ]);
    assert.deepEqual(refOf(a.T).data, [1, 3, 2, 4]);
  });
});
