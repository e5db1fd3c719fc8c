// Functions of blocks that give small values: mapBlockValues (one per block, in order),
// reduceBlocks (a tree of combines whose last level runs here), toDelayed; on this thread, on
// local threads and on a cluster, over persisted arrays.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ArgumentError } from "../../node/index.js";
import * as mw from "../../node/array.js";
import { COLLECTION } from "../../src/graph/collection.js";
import { Task } from "../../src/graph/task.js";
import { useCluster } from "../helpers/cluster.js";
import { chunkedOf, sample } from "./reference.js";

const xr = sample("float64", [23, 3], 51, { range: [-9, 9] });
const yr = sample("float64", [23], 52, { range: [-9, 9] });
const rowSums = (lo: number, hi: number) => {
  let s = 0;
  for (let i = lo * 3; i < hi * 3; i++) s += xr.data[i]!;
  return s;
};

/** Per row block: [rows, Σx, Σy · scale + offset]. Uses nothing from outside (it travels as source). */
function blockStats(x: mw.NDArray, y: mw.NDArray, scale: number, offset: number): Float64Array {
  const xs = x.toTypedArray();
  const ys = y.toTypedArray();
  let sx = 0;
  for (let i = 0; i < xs.length; i++) sx += xs[i]!;
  let sy = 0;
  for (let i = 0; i < ys.length; i++) sy += ys[i]!;
  return Float64Array.of(x.shape[0]!, sx, sy * scale + offset);
}

describe("block values", () => {
  const c = useCluster({ workers: 2 });
  const schedulers = (): [string, mw.SchedulerChoice][] => [
    ["sync", "sync"],
    ["threads", "threads"],
    ["cluster", c.client],
  ];

  test("mapBlockValues gives one value per row block, in order, with shared and per-block arguments, on every scheduler", async () => {
    for (const [label, scheduler] of schedulers()) {
      const [X, y] = await mw.persistWith({ scheduler }, [chunkedOf(xr, [5, -1]), chunkedOf(yr, [5])]);
      const v = mw.mapBlockValues<Float64Array>(blockStats, [X, y], {
        args: [2],
        blockArgs: (idx, pos) => [idx[0]! * 100 + pos],
      });
      const values = await v.compute({ scheduler });
      assert.equal(values.length, 5, label);
      values.forEach((b, i) => {
        const rows = i < 4 ? 5 : 3;
        let sy = 0;
        for (let r = i * 5; r < i * 5 + rows; r++) sy += yr.data[r]!;
        assert.deepEqual([...b], [rows, rowSums(i * 5, i * 5 + rows), sy * 2 + i * 101], `${label} block ${i}`);
      });
    }
  });

  test("reduceBlocks adds the values in a tree; the last level is combined here", async () => {
    const X = chunkedOf(xr, [2, -1]); // 12 blocks
    const y = chunkedOf(yr, [2]);
    const total = mw.reduceBlocks<Float64Array>(blockStats, [X, y], { args: [1, 0], splitEvery: 3 });
    const tasks = [...total[COLLECTION]().graph.layers.values()]
      .flatMap((l) => [...l.values()])
      .filter((n) => n instanceof Task && n.fn === "array.sum-values");
    assert.equal(tasks.length, 4 + 2, "12 partials → 4 combines → 2 combines → 2 values combined here");
    assert.equal(total[COLLECTION]().keys.length, 2);
    const sy = yr.data.reduce((a, b) => a + b, 0);
    for (const [label, scheduler] of schedulers()) {
      const v = await total.compute({ scheduler });
      assert.deepEqual([...v], [23, rowSums(0, 23), sy], label);
    }
    // client.compute assembles on a worker instead.
    assert.deepEqual([...(await c.client.compute(total))], [23, rowSums(0, 23), sy]);
  });

  test("a combine function of the user's, and the default sum over plain objects and numbers", async () => {
    const X = chunkedOf(xr, [4, -1]);
    const biggest = mw.reduceBlocks((x: mw.NDArray) => Math.max(...x.toTypedArray()), [X], {
      combine: (...v: number[]) => Math.max(...v),
      splitEvery: 2,
    });
    for (const [label, scheduler] of schedulers())
      assert.equal(await biggest.compute({ scheduler }), Math.max(...xr.data), label);
    const summary = mw.reduceBlocks((x: mw.NDArray) => ({ n: x.shape[0]!, sums: [x.get(0, 0) as number, 1] }), [X]);
    assert.deepEqual(await summary.compute({ scheduler: "sync" }), {
      n: 23,
      sums: [[0, 4, 8, 12, 16, 20].reduce((s, r) => s + xr.data[r * 3]!, 0), 6],
    });
  });

  test("arrays must be cut alike along the axes they share; a named error says which", () => {
    const X = chunkedOf(xr, [5, -1]);
    assert.throws(
      () => mw.mapBlockValues(blockStats, [X, chunkedOf(yr, [4])]),
      (e: unknown) =>
        e instanceof ArgumentError &&
        /not cut as the first along axis 0: blocks \[4, 4, 4, 4, 4, 3\] and \[5, 5, 5, 5, 3\]; rechunk/.test(e.message),
    );
    assert.throws(
      () => mw.mapBlockValues(blockStats, [X, chunkedOf(sample("float64", [22], 1), [5])]),
      /lengths 22 and 23 differ/,
    );
    assert.throws(
      () => mw.mapBlockValues(blockStats, [chunkedOf(yr, [5]), X]),
      /put the array with the most dimensions first/,
    );
    assert.throws(() => mw.reduceBlocks(blockStats, [X], { splitEvery: 1 }), /splitEvery/);
  });

  test("toDelayed gives each block as a Delayed, usable in delayed calls", async () => {
    const X = chunkedOf(xr, [10, 2]);
    const blocks = X.toDelayed();
    assert.equal(blocks.length, 6);
    const b = (await blocks[3]!.compute({ scheduler: "sync" })) as mw.NDArray;
    assert.deepEqual(b.shape, [10, 1]);
    assert.equal(b.get(0, 0), xr.data[10 * 3 + 2]);
    const rows = mw.delayed((...bs: mw.NDArray[]) => bs.reduce((s, x) => s + x.shape[0]!, 0));
    assert.equal(await rows(...blocks.filter((_, i) => i % 2 === 0)).compute({ scheduler: c.client }), 23);
  });
});
