// The chunked array as an object: what it tells about itself (shape, chunks, blocks, bytes,
// toString with its task count), what compute gives (an NDArray, or a number for 0-d), compute
// of several arrays at once, and persist on this machine.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ArgumentError } from "../../node/index.js";
import * as mw from "../../node/array.js";
import { assertArrayEqual, binaryRef, chunkedOf, makeRef, reduceRef, sample } from "./reference.js";

const sync = { scheduler: "sync" } as const;

describe("what an array tells about itself", () => {
  test("shape, ndim, size, chunks, numblocks, chunksize, nbytes, offsets and keys", () => {
    const x = mw.zeros([7, 5], { chunks: [3, 2], dtype: "int16" });
    assert.deepEqual(x.shape, [7, 5]);
    assert.equal(x.ndim, 2);
    assert.equal(x.size, 35);
    assert.deepEqual(x.chunks, [
      [3, 3, 1],
      [2, 2, 1],
    ]);
    assert.deepEqual(x.numblocks, [3, 3]);
    assert.deepEqual(x.chunksize, [3, 2]);
    assert.equal(x.nbytes, 70);
    assert.deepEqual(x.offsets, [
      [0, 3, 6, 7],
      [0, 2, 4, 5],
    ]);
    assert.equal(x.keys().length, 9);
    assert.equal(x.keys()[0], x.key([0, 0]));
    assert.equal(mw.Array, mw.ChunkedArray, "Array is the class's other name, as dask.array.Array");
    const e = mw.zeros([0, 4]);
    assert.equal(e.size, 0);
    assert.deepEqual(e.chunksize, [0, 4]);
  });

  test("toString shows the operation, shape, dtype, block size, blocks and tasks", () => {
    const x = mw.random([100, 60], { chunks: [30, 25], seed: 1 });
    assert.equal(
      String(x),
      "mw.Array<random, shape=[100, 60], dtype=float64, chunksize=[30, 25], blocks=12, tasks=12>",
    );
    const y = x.add(1).sum({ axis: 0 });
    assert.match(String(y), /^mw\.Array<sum, shape=\[60\], dtype=float64, chunksize=\[25\], blocks=3, tasks=\d+>$/);
    assert.equal(
      y.taskCount,
      12 + 12 + 12 + 3,
      "random, add and the first step of the sum per block, then one aggregation per output block",
    );
    assert.equal(
      String(mw.full([], 1, { dtype: "int8" })),
      "mw.Array<full, shape=[], dtype=int8, chunksize=[], blocks=1, tasks=1>",
    );
  });

  test("a slice or reshape that changes nothing is the same array (no new tasks)", () => {
    const x = mw.ones([4, 4], { chunks: 2 });
    assert.equal(x.slice(null, "..."), x);
    assert.equal(x.reshape([4, 4]), x);
    assert.equal(x.rechunk(2), x);
    assert.equal(x.astype("float64"), x);
  });
});

describe("compute", () => {
  test("an array computes to an NDArray; a 0-d one to a number or boolean", async () => {
    const xr = sample("int8", [3, 4], 1);
    const x = chunkedOf(xr, [2, 3]);
    assertArrayEqual(await x.compute(sync), xr);
    assert.equal(typeof (await x.sum().compute(sync)), "number");
    assert.equal(typeof (await x.gt(0).any().compute(sync)), "boolean");
    assert.equal(await x.slice(0, 0).compute(sync), xr.data[0]);
  });

  test("without a client, compute runs on this thread", async () => {
    const x = mw.arange(6, undefined, undefined, { chunks: 4 });
    assertArrayEqual(await x.mul(2).compute(), makeRef("int32", [6], [0, 2, 4, 6, 8, 10]));
    const [a, b] = await mw.compute(x.sum(), x.max());
    assert.equal(a, 15);
    assert.equal(b, 5);
  });

  test("compute of several arrays shares their common work and passes other values through", async () => {
    const xr = sample("float64", [6, 6], 2, { finite: true });
    const x = chunkedOf(xr, [4, 4]);
    const shared = x.mul(2);
    const [s, m, plain] = await mw.computeWith(sync, [
      shared.sum({ axis: 0 }),
      shared.max({ axis: 1 }),
      "not an array",
    ] as const);
    const doubled = binaryRef("mul", xr, makeRef("float64", [], [2]));
    assertArrayEqual(m as mw.NDArray, reduceRef("max", doubled, { axis: 1 }));
    assert.ok(s instanceof mw.NDArray);
    assert.equal(plain, "not an array");
  });

  test("persist computes the blocks once; the persisted array computes to the same values and keeps its shape and chunks", async () => {
    let calls = 0;
    // mapBlocks in this thread can count its calls: persist runs them once, later computes never.
    const x = mw.arange(10, undefined, undefined, { chunks: 3 }).mapBlocks((b) => {
      calls++;
      return b.copy();
    });
    const p = await x.persist(sync);
    assert.equal(calls, 4);
    assert.deepEqual(p.chunks, x.chunks);
    assert.equal(p.dtype, "int32");
    assertArrayEqual(await p.add(1).compute(sync), makeRef("int32", [10], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    assert.equal(await p.sum().compute(sync), 45);
    assert.equal(calls, 4);
    const [q] = await mw.persistWith(sync, [p.mul(2)] as const);
    assertArrayEqual(await q.compute(sync), makeRef("int32", [10], [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]));
  });

  test("a task that fails rejects compute with its error", async () => {
    const x = mw.ones([4], { chunks: 2 }).mapBlocks(function broken() {
      throw new RangeError("this block is broken");
    });
    await assert.rejects(x.compute(sync), /this block is broken/);
    await assert.rejects(
      x.compute({ scheduler: "nope" as never }),
      (e: unknown) => e instanceof ArgumentError && /unknown scheduler "nope"/.test(e.message),
    );
  });
});
