// Arrays as a newcomer meets them: creation functions take { dtype } (arange's options last, as
// NumPy's keyword), arrays print as NumPy prints them (corners past 1,000 elements,
// setPrintOptions), and computing a 0-d result is typed number (or boolean) where TypeScript can tell.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as mw from "../../node/array.js";
import { ArgumentError } from "../../node/index.js";

describe("creation functions take { dtype }", () => {
  test("arange(stop, { dtype }), arange(start, stop, { … }), arange(start, stop, step, { … })", async () => {
    const a = mw.arange(6, { dtype: "int8" });
    assert.equal(a.dtype, "int8");
    assert.deepEqual(((await a.compute()) as mw.NDArray).toArray(), [0, 1, 2, 3, 4, 5]);
    const b = mw.arange(1, 4, { dtype: "float32", chunks: 2 });
    assert.equal(b.dtype, "float32");
    assert.deepEqual(((await b.compute()) as mw.NDArray).toArray(), [1, 2, 3]);
    const c = mw.arange(0, 10, 3, { dtype: "uint8" });
    assert.deepEqual([c.dtype, ((await c.compute()) as mw.NDArray).toArray()], ["uint8", [0, 3, 6, 9]]);
    assert.deepEqual(((await mw.arange(3).compute()) as mw.NDArray).toArray(), [0, 1, 2]);
  });

  test("linspace, full, zeros, ones and random take dtype too; a misspelt option is refused", async () => {
    assert.equal(mw.linspace(0, 1, 5, { dtype: "float32" }).dtype, "float32");
    assert.equal(mw.zeros([2, 2], { dtype: "int16" }).dtype, "int16");
    assert.equal(mw.ones(3, { dtype: "uint8" }).dtype, "uint8");
    assert.equal(mw.full(3, 7, { dtype: "int32" }).dtype, "int32");
    assert.equal(mw.random(3, { dtype: "float32", seed: 1 }).dtype, "float32");
    assert.throws(
      () => mw.arange(6, { dtpye: "int8" } as never),
      (e: unknown) =>
        e instanceof ArgumentError && /unknown arange option "dtpye" \(did you mean "dtype"\?\)/.test(e.message),
    );
    assert.throws(() => mw.zeros(3, { chunk: 2 } as never), /unknown full option "chunk" \(did you mean "chunks"\?\)/);
    assert.throws(() => mw.random(3, { sed: 1 } as never), /unknown random option "sed" \(did you mean "seed"\?\)/);
  });
});

describe("arrays print as NumPy prints them", () => {
  test("past 1,000 elements: the corners, with ... between, rows on lines of their own", () => {
    const a = mw.NDArray.from(
      Array.from({ length: 10_000 }, (_, i) => i),
      { dtype: "int32" },
    ).reshape([100, 100]);
    assert.equal(
      String(a),
      [
        "NDArray<int32>[100, 100]",
        "[[0, 1, 2, ..., 97, 98, 99],",
        " [100, 101, 102, ..., 197, 198, 199],",
        " [200, 201, 202, ..., 297, 298, 299],",
        " ...,",
        " [9700, 9701, 9702, ..., 9797, 9798, 9799],",
        " [9800, 9801, 9802, ..., 9897, 9898, 9899],",
        " [9900, 9901, 9902, ..., 9997, 9998, 9999]]",
      ].join("\n"),
    );
    assert.equal(String(mw.NDArray.zeros([2000])), "NDArray<float64>[2000] [0, 0, 0, ..., 0, 0, 0]");
    // Small arrays as before: every value, on one line when it fits.
    assert.equal(
      String(
        mw.NDArray.from(
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
          { dtype: "int8" },
        ),
      ),
      "NDArray<int8>[2, 3] [[1, 2, 3], [4, 5, 6]]",
    );
  });

  test("3-d arrays too wide for a line: a blank line between blocks", () => {
    const a = mw.NDArray.from(
      Array.from({ length: 24 }, (_, i) => i * 1000),
      { dtype: "int32" },
    ).reshape([2, 3, 4]);
    assert.equal(
      String(a),
      "NDArray<int32>[2, 3, 4]\n[[[0, 1000, 2000, 3000],\n  [4000, 5000, 6000, 7000],\n  [8000, 9000, 10000, 11000]],\n\n [[12000, 13000, 14000, 15000],\n  [16000, 17000, 18000, 19000],\n  [20000, 21000, 22000, 23000]]]",
    );
  });

  test("setPrintOptions changes threshold, edgeitems and precision, and gives back the old ones", () => {
    const before = mw.setPrintOptions({ threshold: 4, edgeitems: 1, precision: 3 });
    try {
      assert.equal(String(mw.NDArray.from([1 / 3, 2, 3, 4, 5])), "NDArray<float64>[5] [0.333, ..., 5]");
      assert.equal(mw.getPrintOptions().threshold, 4);
    } finally {
      mw.setPrintOptions(before);
    }
    assert.equal(mw.getPrintOptions().threshold, 1000);
    assert.throws(() => mw.setPrintOptions({ treshold: 5 } as never), /did you mean "threshold"/);
    assert.throws(() => mw.setPrintOptions({ edgeitems: -1 }), /edgeitems must be a whole number ≥ 0/);
  });
});

describe("a 0-d result computes to a number, and is typed so", () => {
  test("full reductions are typed number (any/all boolean); with an axis, ArrayValue", async () => {
    const x = mw.arange(10, { chunks: 3 });
    const total: number = await x.sum().compute();
    const mean: number = await x.mean().compute();
    const spread: number = await x.std({ ddof: 1 }).compute();
    const where: number = await x.argmax().compute();
    const anyBig: boolean = await x.gt(5).any().compute();
    const [s, m] = await mw.compute(x.sum(), x.mean());
    const both: [number, number] = [s, m];
    assert.deepEqual([total, mean, where, anyBig, both], [45, 4.5, 9, true, [45, 4.5]]);
    assert.ok(Math.abs(spread - 3.0276503540974917) < 1e-12);
    // A sum of booleans is a number too.
    assert.equal(typeof (await x.gt(5).sum().compute()), "number");
    // @ts-expect-error: reduced along one axis of a 1-d array it is 0-d, but TypeScript cannot know the dimensions
    const alongAxis: number = await x.sum({ axis: 0 }).compute();
    assert.equal(alongAxis, 45);
    // @ts-expect-error: keepdims keeps a dimension, so the value is an NDArray
    const kept: number = await x.sum({ keepdims: true }).compute();
    assert.ok((kept as unknown) instanceof mw.NDArray);
  });
});
