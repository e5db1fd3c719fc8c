// Operations that move elements, against the reference: slicing (negative steps, integers, across
// blocks that do not divide the shape), reshape (and the error that names the rechunk), rechunk,
// concatenate, stack and mapBlocks, with length-0 and length-1 axes and every dtype.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ArgumentError } from "../../node/index.js";
import * as mw from "../../node/array.js";
import {
  assertArrayEqual,
  astypeRef,
  chunkedOf,
  concatenateRef,
  DTYPES,
  makeRef,
  reshapeRef,
  RESULT_TYPE,
  rng,
  sample,
  sliceRef,
  stackRef,
  transposeRef,
  type Ref,
  type RefIndex,
  computeAll,
} from "./reference.js";

const sync = { scheduler: "sync" } as const;

/** Python-style slice text ("a:b:c") as the reference's range. */
function parse(part: mw.Index): RefIndex {
  if (typeof part !== "string") return part as RefIndex;
  const t = part.trim();
  if (t === "...") return "...";
  if (!t.includes(":")) return Number(t);
  const [a, b, c] = t.split(":").map((p) => (p.trim() === "" ? null : Number(p)));
  return { start: a ?? null, stop: b ?? null, step: c ?? null };
}

describe("slicing", () => {
  const INDEXES: mw.Index[][] = [
    [2],
    [-1],
    [0, 0, 0],
    ["1:6"],
    ["::-1"],
    ["::-2", "::3", "::-1"],
    ["5:0:-2", 1],
    ["-2:", null, -3],
    ["...", 0],
    ["...", "::-1"],
    [null, "4:1:-1"],
    [{ start: -100, stop: 100, step: 4 }],
    [{ start: 6, stop: null, step: -3 }, { step: -1 }],
    ["3:3"],
    ["4:1"],
    ["1:2", "1:2", "1:2"],
    ["::-7", "::-5", "::-4"],
    ["-1:-8:-1", "0:5:2", "1:"],
  ];

  test("integers, ranges and negative steps across blocks that do not divide the shape match Python's", async () => {
    const xr = sample("float64", [7, 5, 4], 1);
    const x = chunkedOf(xr, [3, 2, 3]);
    const arrays: mw.ChunkedArray[] = [];
    const expected: [string, Ref][] = [];
    for (const index of INDEXES) {
      arrays.push(x.slice(...index));
      expected.push([JSON.stringify(index), sliceRef(xr, index.map(parse))]);
    }
    // The whole index as one string, and slices of slices.
    arrays.push(x.slice("1:6:2, ::-1, 2"), x.slice("::-1").slice("1:", "::-2").slice(null, null, "::-1"));
    expected.push(["one string", sliceRef(xr, [{ start: 1, stop: 6, step: 2 }, { step: -1 }, 2])]);
    expected.push([
      "slices of slices",
      sliceRef(sliceRef(sliceRef(xr, [{ step: -1 }]), [{ start: 1 }, { step: -2 }]), [null, null, { step: -1 }]),
    ]);
    const values = await computeAll(arrays);
    expected.forEach(([what, r], i) => assertArrayEqual(values[i]!, r, what));
  });

  test("random ranges (negative bounds and steps, bounds past the ends) on random cuttings match Python's", async () => {
    const xr = sample("int16", [9, 7], 8);
    const next = rng(7);
    const bound = (n: number): number | null => (next() < 0.2 ? null : Math.floor(next() * (2 * n + 5)) - n - 2);
    const arrays: mw.ChunkedArray[] = [];
    const expected: [string, Ref][] = [];
    for (let trial = 0; trial < 150; trial++) {
      const chunks = xr.shape.map((d) => 1 + Math.floor(next() * d));
      const index = xr.shape.map((n) => {
        if (next() < 0.15) return Math.floor(next() * 2 * n) - n;
        const step = next() < 0.2 ? null : (1 + Math.floor(next() * 4)) * (next() < 0.5 ? -1 : 1);
        return { start: bound(n), stop: bound(n), step };
      });
      arrays.push(chunkedOf(xr, chunks).slice(...index));
      expected.push([`${JSON.stringify(index)} on ${JSON.stringify(chunks)}`, sliceRef(xr, index)]);
    }
    const values = await computeAll(arrays);
    expected.forEach(([what, r], i) => assertArrayEqual(values[i]!, r, what));
  });

  test("every dtype slices the same way, and the pieces come from the right blocks whatever the cutting", async () => {
    const arrays: mw.ChunkedArray[] = [];
    const expected: [string, Ref][] = [];
    for (const d of DTYPES) {
      const xr = sample(d, [9, 4], 2);
      for (const chunks of [
        [1, 1],
        [4, 3],
        [9, 4],
        [
          [2, 7],
          [1, 3],
        ],
      ] as mw.ChunksSpec[]) {
        const x = chunkedOf(xr, chunks);
        arrays.push(x.slice("7:0:-3", "::-1"), x.slice(-1, "1:3"));
        expected.push(
          [`${d} ${JSON.stringify(chunks)} reversed`, sliceRef(xr, [{ start: 7, stop: 0, step: -3 }, { step: -1 }])],
          [`${d} ${JSON.stringify(chunks)} row`, sliceRef(xr, [-1, { start: 1, stop: 3 }])],
        );
      }
    }
    const values = await computeAll(arrays);
    expected.forEach(([what, r], i) => assertArrayEqual(values[i]!, r, what));
  });

  test("the result's blocks follow the source's: one output block per source block touched", () => {
    const x = mw.zeros([10], { chunks: 4 });
    assert.deepEqual(x.slice("1:9").chunks, [[3, 4, 1]]);
    assert.deepEqual(x.slice("::-1").chunks, [[2, 4, 4]]);
    assert.deepEqual(x.slice("::3").chunks, [[2, 1, 1]]);
    assert.deepEqual(x.slice("5:5").chunks, [[0]]);
    assert.equal(x.slice(":"), x, "the whole array is the array itself");
    assert.equal(x.slice("..."), x);
  });

  test("an integer drops the axis; integers on every axis give a 0-d array that computes to a number", async () => {
    const xr = sample("int8", [3, 4], 5);
    const x = chunkedOf(xr, [2, 3]);
    const e = x.slice(2, -1);
    assert.deepEqual(e.shape, []);
    assert.equal(await e.compute(sync), sliceRef(xr, [2, -1]).data[0]);
    assert.equal(await mw.fromArray([true, false], { chunks: 1 }).slice(1).compute(sync), false);
  });

  test("slicing length-0 and length-1 axes", async () => {
    const xr = sample("uint16", [1, 6], 3);
    const x = chunkedOf(xr, [1, 4]);
    const empty = mw.zeros([0, 3], { chunks: [1, 2] });
    const [a, b, c, d] = await computeAll([
      x.slice(0, "::-1"),
      x.slice("::-1", "2:2"),
      empty.slice("::-1", "1:"),
      empty.slice(null, 1),
    ]);
    assertArrayEqual(a!, sliceRef(xr, [0, { step: -1 }]));
    assertArrayEqual(b!, sliceRef(xr, [{ step: -1 }, { start: 2, stop: 2 }]));
    assertArrayEqual(c!, makeRef("float64", [0, 2], []));
    assertArrayEqual(d!, makeRef("float64", [0], []));
  });

  test("a bad index is an ArgumentError", () => {
    const x = mw.zeros([3, 4], { chunks: 2 });
    assert.throws(
      () => x.slice(3),
      (e: unknown) => e instanceof ArgumentError && /index 3 is out of bounds for axis 0 with size 3/.test(e.message),
    );
    assert.throws(() => x.slice(0, -5), /index -5 is out of bounds for axis 1 with size 4/);
    assert.throws(() => x.slice(0, 0, 0), /too many indices: 3 for an array of 2 dimensions/);
    assert.throws(() => x.slice("::0"), /slice step must be a non-zero integer/);
    assert.throws(() => x.slice("...", 0, "..."), /only one ellipsis/);
    assert.throws(() => x.slice("x"), /cannot read index "x"/);
  });
});

describe("reshape", () => {
  const WORKS: [number[], mw.ChunksSpec, number[], number[][]][] = [
    [[6, 4], [2, 4], [24], [[8, 8, 8]]],
    [[6, 4], [4, -1], [-1], [[16, 8]]],
    [[24], [8], [6, 4], [[2, 2, 2], [4]]],
    [[24], [6], [4, 6], [[1, 1, 1, 1], [6]]],
    [[24], [12], [2, 3, 4], [[1, 1], [3], [4]]],
    [
      [2, 3, 4],
      [1, 3, 4],
      [6, 4],
      [[3, 3], [4]],
    ],
    [
      [2, 3, 4],
      [1, 3, 4],
      [4, 6],
      [[2, 2], [6]],
    ],
    [
      [2, 3, 4],
      [2, 2, 4],
      [2, 12],
      [[2], [8, 4]],
    ],
    [[2, 3, 4], [1, -1, -1], [-1], [[12, 12]]],
    [
      [1, 6, 1],
      [1, 3, 1],
      [2, 3],
      [[1, 1], [3]],
    ],
    [
      [3, 4],
      [2, 3],
      [3, 1, 4, 1],
      [[2, 1], [1], [3, 1], [1]],
    ],
    [
      [5, 1],
      [2, 1],
      [1, 5],
      [[1], [2, 2, 1]],
    ],
    [
      [0, 4],
      [1, 2],
      [2, 0, 3],
      [[2], [0], [3]],
    ],
    [[], [], [1, 1], [[1], [1]]],
    [[1, 1], [1, 1], [], []],
  ];

  test("the same elements in row-major order, in blocks that map one to one", async () => {
    const arrays: mw.ChunkedArray[] = [];
    const expected: Ref[] = [];
    WORKS.forEach(([from, chunks, to, outChunks], i) => {
      const xr = sample(i % 2 ? "int16" : "float32", from, i);
      const y = chunkedOf(xr, chunks).reshape(to);
      assert.deepEqual(y.chunks, outChunks, `[${from}] in ${JSON.stringify(chunks)} → [${to}]: chunks`);
      arrays.push(y);
      expected.push(reshapeRef(xr, to));
    });
    const values = await computeAll(arrays);
    expected.forEach((r, i) => assertArrayEqual(values[i]!, r, `case ${i}`));
  });

  test("between any two shapes of 24 elements, any cutting either reshapes right or asks for a rechunk; whole axes always reshape", async () => {
    const shapes = [
      [24],
      [2, 12],
      [12, 2],
      [4, 6],
      [6, 4],
      [2, 3, 4],
      [4, 3, 2],
      [2, 2, 6],
      [1, 24],
      [24, 1],
      [2, 1, 12],
      [3, 8],
      [2, 2, 2, 3],
    ];
    const next = rng(99);
    const arrays: mw.ChunkedArray[] = [];
    const expected: [string, Ref][] = [];
    let refused = 0;
    for (const from of shapes) {
      const xr = sample("int32", from, 5);
      for (const to of shapes) {
        for (let trial = 0; trial < 3; trial++) {
          // The first trial keeps every axis whole; the others cut at random.
          const chunks = from.map((d) => (trial === 0 ? d : 1 + Math.floor(next() * d)));
          const what = `[${from}] in ${JSON.stringify(chunks)} → [${to}]`;
          let y: mw.ChunkedArray;
          try {
            y = chunkedOf(xr, chunks).reshape(to);
          } catch (e) {
            assert.ok(trial > 0, `${what}: whole axes always reshape, but: ${String(e)}`);
            assert.ok(e instanceof ArgumentError && /rechunk/.test(e.message), `${what}: ${String(e)}`);
            refused++;
            continue;
          }
          y.chunks.forEach((c, k) =>
            assert.equal(
              c.reduce((p, q) => p + q, 0),
              to[k],
              `${what}: chunks cover axis ${k}`,
            ),
          );
          arrays.push(y);
          expected.push([what, reshapeRef(xr, to)]);
        }
      }
    }
    assert.ok(
      refused > 0 && arrays.length > 200,
      `both outcomes happen (${arrays.length} reshaped, ${refused} refused)`,
    );
    const values = await computeAll(arrays);
    expected.forEach(([what, r], i) => assertArrayEqual(values[i]!, r, what));
  });

  test("reshaping to the same shape is the array itself; reshape of a transposed or sliced array reads its row-major order", async () => {
    const xr = sample("float64", [4, 6], 9);
    const x = chunkedOf(xr, [2, 6]);
    assert.equal(x.reshape([4, 6]), x);
    const t = x.T.rechunk([2, -1]);
    assertArrayEqual(await mw.reshape(t, [3, 8]).compute(sync), reshapeRef(transposeRef(xr), [3, 8]));
    assertArrayEqual(await x.slice("::-1").reshape([-1]).compute(sync), reshapeRef(sliceRef(xr, [{ step: -1 }]), [-1]));
  });

  test("blocks that cannot map to blocks of the new shape: an ArgumentError that names the rechunk", () => {
    assert.throws(
      () => mw.zeros([6, 4], { chunks: [2, 2] }).reshape([24]),
      (e: unknown) =>
        e instanceof ArgumentError &&
        /axis 1 of \[6, 4\] is merged with the axis before it, so it must be one block; rechunk it to -1 first/.test(
          e.message,
        ),
    );
    assert.throws(
      () => mw.zeros([24], { chunks: 5 }).reshape([6, 4]),
      /blocks of 5 along axis 0 do not split into whole rows of the new axes \[6, 4\]; rechunk that axis to a multiple of 4 first/,
    );
    assert.throws(
      () => mw.zeros([6, 4], { chunks: [1, 4] }).reshape([4, 6]),
      /rechunk that axis to a multiple of 3 first/,
    );
    // Following the advice works.
    assert.deepEqual(
      mw
        .zeros([6, 4], { chunks: [1, 4] })
        .rechunk([3, 4])
        .reshape([4, 6]).chunks,
      [[2, 2], [6]],
    );
    assert.deepEqual(mw.zeros([24], { chunks: 5 }).rechunk(8).reshape([6, 4]).chunks, [[2, 2, 2], [4]]);
  });

  test("a shape with the wrong number of elements, or two -1s, is an ArgumentError", () => {
    const x = mw.zeros([6, 4]);
    assert.throws(() => x.reshape([5, 5]), /cannot reshape an array of 24 elements into shape \[5, 5\]/);
    assert.throws(() => x.reshape([-1, -1]), /at most one -1/);
    assert.throws(() => x.reshape([7, -1]), ArgumentError);
    assert.throws(() => x.reshape([2.5, 2]), ArgumentError);
  });
});

describe("rechunk", () => {
  test("any new cutting keeps every element in place, on every dtype", async () => {
    const specs: [mw.ChunksSpec, number[][]][] = [
      [
        4,
        [
          [4, 3],
          [4, 1],
        ],
      ],
      [
        [1, -1],
        [[1, 1, 1, 1, 1, 1, 1], [5]],
      ],
      [
        [
          [3, 4],
          [2, 2, 1],
        ],
        [
          [3, 4],
          [2, 2, 1],
        ],
      ],
      [
        [[0, 7, 0], [5]],
        [[0, 7, 0], [5]],
      ],
      [
        [7, 5],
        [[7], [5]],
      ],
      ["auto", [[7], [5]]],
      [
        [-1, "auto"],
        [[7], [5]],
      ],
    ];
    const arrays: mw.ChunkedArray[] = [];
    const expected: [string, Ref][] = [];
    for (const d of DTYPES) {
      const xr = sample(d, [7, 5], 4);
      const x = chunkedOf(xr, [2, 3]);
      for (const [spec, chunks] of specs) {
        const y = x.rechunk(spec);
        assert.deepEqual(y.chunks, chunks, `${d} ${JSON.stringify(spec)}`);
        arrays.push(
          y,
          mw.rechunk(y, [
            [1, 6],
            [4, 1],
          ]),
        );
        expected.push([`${d} ${JSON.stringify(spec)}`, xr], [`${d} ${JSON.stringify(spec)} and again`, xr]);
      }
    }
    const values = await computeAll(arrays);
    expected.forEach(([what, r], i) => assertArrayEqual(values[i]!, r, what));
  });

  test("unchanged blocks keep their tasks; the same cutting is the array itself", () => {
    const x = mw.zeros([8], { chunks: 4 });
    assert.equal(x.rechunk(4), x);
    assert.equal(x.rechunk([[4, 4]]), x);
    const y = x.rechunk([[4, 2, 2]]);
    assert.equal(y.taskCount, x.taskCount + 3);
  });

  test("length-0 axes rechunk to blocks of the right shape", async () => {
    const x = mw.zeros([0, 6], { chunks: [1, 4], dtype: "int8" });
    const y = x.rechunk([1, 3]);
    assert.deepEqual(y.chunks, [[0], [3, 3]]);
    assertArrayEqual(await y.compute(sync), makeRef("int8", [0, 6], []));
    assertArrayEqual(
      await y.add(mw.zeros([1, 6], { chunks: 2, dtype: "int8" })).compute(sync),
      makeRef("int8", [0, 6], []),
    );
  });

  test("chunks that do not cover the axis, or are not whole numbers, are ArgumentErrors", () => {
    const x = mw.zeros([7, 5]);
    assert.throws(() => x.rechunk([[3, 3], 5]), /chunks on axis 0 add up to 6, but the axis has length 7/);
    assert.throws(() => x.rechunk([0, 5]), /chunk size on axis 0 must be a whole number > 0 or -1/);
    assert.throws(() => x.rechunk([2]), /chunks must give one entry per axis \(2\)/);
    assert.throws(() => x.rechunk([[3.5, 3.5], 5]), ArgumentError);
  });
});

describe("concatenate and stack", () => {
  test("concatenate joins along an axis, in the common dtype, recutting the other axes", async () => {
    const ar = sample("int8", [3, 4], 1);
    const br = sample("uint8", [2, 4], 2);
    const cr = sample("float32", [3, 2], 3);
    const a = chunkedOf(ar, [2, 3]);
    const b = chunkedOf(br, [1, 2]);
    const c = chunkedOf(cr, [3, 1]);
    const e = mw.zeros([0, 4], { dtype: "int8" });
    const r1 = mw.concatenate([a, b], 0);
    assert.equal(r1.dtype, RESULT_TYPE.int8.uint8);
    assert.deepEqual(r1.chunks, [
      [2, 1, 1, 1],
      [2, 1, 1],
    ]);
    const [v1, v2, v3, v4] = await computeAll([
      r1,
      mw.concatenate([a, c, a], -1),
      mw.concatenate([e, a, e], 0),
      mw.concatenate([a], 1),
    ]);
    assertArrayEqual(v1!, concatenateRef([ar, br], 0, "int16"));
    assertArrayEqual(v2!, concatenateRef([ar, cr, ar], 1, "float32"));
    assertArrayEqual(v3!, concatenateRef([makeRef("int8", [0, 4], []), ar, makeRef("int8", [0, 4], [])], 0, "int8"));
    assertArrayEqual(v4!, ar);
  });

  test("stack joins same-shaped arrays along a new axis, in the common dtype", async () => {
    const xs = (["bool", "int16", "uint16"] as const).map((d, i) => sample(d, [3, 5], 10 + i));
    const arrays = xs.map((r, i) => chunkedOf(r, [i + 1, 2]));
    const results = [mw.stack(arrays, 0), mw.stack(arrays, 1), mw.stack(arrays, -1)];
    assert.equal(results[0]!.dtype, "int32");
    assert.deepEqual(results[1]!.chunks, [
      [1, 1, 1],
      [1, 1, 1],
      [2, 2, 1],
    ]);
    const values = await computeAll(results);
    [0, 1, -1].forEach((axis, i) => assertArrayEqual(values[i]!, stackRef(xs, axis, "int32"), `axis ${axis}`));
    assertArrayEqual(
      await mw.stack([mw.full([], 1), mw.full([], 2)]).compute(sync),
      makeRef("float64", [2], [1, 2]),
      "0-d arrays stack into a vector",
    );
  });

  test("arrays that do not fit together are ArgumentErrors", () => {
    const a = mw.zeros([3, 4]);
    assert.throws(
      () => mw.concatenate([a, mw.zeros([3, 5])], 0),
      /concatenate: shapes \[3, 4\], \[3, 5\] differ on axis 1/,
    );
    assert.throws(() => mw.concatenate([a, mw.zeros([4])]), /all arrays need the same number of dimensions \(2, 1\)/);
    assert.throws(() => mw.concatenate([]), /concatenate needs arrays with at least one dimension/);
    assert.throws(() => mw.concatenate([mw.full([], 1)]), /at least one dimension/);
    assert.throws(() => mw.concatenate([a, a], 2), /axis 2 is out of range/);
    assert.throws(() => mw.stack([a, mw.zeros([4, 3])]), /stack: shapes \[3, 4\], \[4, 3\] differ on axis 0/);
    assert.throws(() => mw.stack([]), /stack needs a non-empty list of arrays/);
    assert.throws(() => mw.stack([a, 1 as never]), /stack takes chunked arrays/);
  });
});

describe("mapBlocks", () => {
  test("a function of each block (and of several arrays' matching blocks, recut to match)", async () => {
    const xr = sample("int16", [5, 6], 1);
    const yr = sample("int16", [5, 6], 2);
    const x = chunkedOf(xr, [2, 4]);
    const y = chunkedOf(yr, [3, 3]);
    const twice = x.mapBlocks(function twice(b) {
      const c = b.copy();
      for (let i = 0; i < c.data.length; i++) c.data[i] = c.data[i]! * 2 + 1;
      return c;
    });
    assert.ok(twice.name.startsWith("twice-"), "the key prefix is the function's name");
    const summed = mw.mapBlocks(
      (a: mw.NDArray, b: mw.NDArray) => {
        const c = a.copy();
        const bb = b.copy();
        for (let i = 0; i < c.data.length; i++) c.data[i] = c.data[i]! - bb.data[i]!;
        return c;
      },
      [x, y],
      { name: "minus" },
    );
    assert.deepEqual(summed.chunks, [
      [2, 1, 1, 1],
      [3, 1, 2],
    ]);
    const asFloat = x.mapBlocks((b) => b.T.copy().T, { dtype: "float64" });
    assert.equal(asFloat.dtype, "float64", "the dtype option is what the array claims");
    const [a, b] = await computeAll([twice, summed]);
    assertArrayEqual(
      a!,
      makeRef(
        "int16",
        [5, 6],
        xr.data.map((v) => astypeRef(makeRef("float64", [], [v * 2 + 1]), "int16").data[0]!),
      ),
    );
    assertArrayEqual(
      b!,
      makeRef(
        "int16",
        [5, 6],
        xr.data.map((v, i) => astypeRef(makeRef("float64", [], [v - yr.data[i]!]), "int16").data[0]!),
      ),
    );
  });

  test("a function that changes block shapes says so with chunks", async () => {
    const xr = sample("float64", [6, 4], 3);
    const x = chunkedOf(xr, [3, 2]);
    const firstRows = x.mapBlocks((b) => b.slice("0:1").copy(), {
      chunks: [
        [1, 1],
        [2, 2],
      ],
    });
    assert.deepEqual(firstRows.shape, [2, 4]);
    assertArrayEqual(await firstRows.compute(sync), sliceRef(xr, [{ start: 0, stop: 6, step: 3 }]));
    assert.throws(
      () =>
        x.mapBlocks((b) => b, {
          chunks: [
            [1, 1, 1],
            [2, 2],
          ],
        }),
      /same number of blocks as the input on every axis/,
    );
    assert.throws(() => mw.mapBlocks((b: mw.NDArray) => b, [x, mw.zeros([4])]), /same number of dimensions/);
    assert.throws(() => mw.mapBlocks(42 as never, [x]), /mapBlocks needs a function/);
    assert.throws(() => x.mapBlocks((b) => b, { dtype: "int64" as never }), ArgumentError);
  });
});
