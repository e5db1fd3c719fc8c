// Uploaded functions in the collections' kernels: a module's export goes wherever a collection takes
// a user's function (dataframe mapPartitions, array mapBlocks, mapBlockValues, reduceBlocks' combine)
// and runs on the workers, which load it as any task's function (Task.calling, FnRef.via).

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { tableFromArrays } from "@uwdata/flechette";
import * as dd from "../../node/dataframe.js";
import * as mw from "../../node/array.js";
import { ArgumentError, ClosureError, RemoteError, type TaskModule } from "../../node/index.js";
import { useCluster } from "../helpers/cluster.js";

type Ops = typeof import("../fixtures/ops.js");
const OPS = new URL("../fixtures/ops.ts", import.meta.url);

const frame = () => dd.fromArrow(tableFromArrays({ fare: new Float64Array([1, 2, 3, 4, 5]) }), { npartitions: 2 });

// One describe around them all: Node 20 starts a file's top-level before hooks together, and the
// upload needs the cluster.
describe("uploaded functions in collection kernels", () => {
  const c = useCluster();
  let ops: TaskModule<Ops>;
  before(async () => {
    ops = await c.client.upload<Ops>(OPS);
  });

  describe("dataframe mapPartitions", () => {
    test("takes an uploaded function with { meta }: each partition's table goes through it on the workers", async () => {
      const scaled = frame().mapPartitions(ops.scaleColumn, { args: ["fare", 10], meta: { fare: "float64" } });
      assert.equal(scaled.npartitions, 2);
      const t = await scaled.compute({ scheduler: c.client });
      assert.deepEqual([...(t.getChild("fare")!.toArray() as Float64Array)], [10, 20, 30, 40, 50]);
      // Later verbs build on it as on any frame.
      assert.deepEqual(await scaled.sum().compute({ scheduler: c.client }), { fare: 150 });
    });

    test("two uploaded functions, or other args, are two computations, not one key", () => {
      const a = frame().mapPartitions(ops.scaleColumn, { args: ["fare", 10], meta: { fare: "float64" } });
      const b = frame().mapPartitions(ops.scaleColumn, { args: ["fare", 2], meta: { fare: "float64" } });
      const d = frame().mapPartitions(ops.identityTable, { meta: { fare: "float64" } });
      assert.equal(new Set([a.name, b.name, d.name]).size, 3);
    });

    test("without meta, an uploaded function is an ArgumentError that says to give it (it cannot run here to learn the columns)", () => {
      assert.throws(
        () => frame().mapPartitions(ops.scaleColumn as never),
        (e: unknown) =>
          e instanceof ArgumentError &&
          /scaleColumn is an uploaded module's function.*give them with \{ meta/.test(e.message),
      );
    });

    test("a plain function still travels as source, and a closure is still a ClosureError when the graph is built", async () => {
      const t = await frame()
        .mapPartitions((tb, k: number) => ({ n: Int32Array.of(tb.numRows * k) }), { args: [3] })
        .compute({ scheduler: c.client });
      assert.deepEqual([...(t.getChild("n")!.toArray() as Int32Array)], [9, 6]);
      const k = 3;
      assert.throws(() => frame().mapPartitions((tb) => ({ n: Int32Array.of(tb.numRows * k) })), ClosureError);
    });

    test("a failing uploaded function fails the compute with its error; the cluster goes on", async () => {
      const bad = frame().mapPartitions(ops.scaleColumn, { args: ["nope", 1], meta: { nope: "float64" } });
      await assert.rejects(
        bad.compute({ scheduler: c.client }),
        (e: unknown) => e instanceof RemoteError && e.remoteName === "TypeError",
      );
      assert.equal(await c.client.submit(ops.scale, 6, 7), 42);
    });

    test("on the sync scheduler an uploaded function says it runs on workers", async () => {
      await assert.rejects(
        frame()
          .mapPartitions(ops.scaleColumn, { args: ["fare", 1], meta: { fare: "float64" } })
          .compute({ scheduler: "sync" }),
        (e: unknown) => e instanceof ArgumentError && /runs on workers/.test(e.message),
      );
    });

    test("a row expression cannot be an uploaded function: the error points to mapPartitions", () => {
      assert.throws(
        () => frame().filter(ops.scale as never),
        (e: unknown) =>
          e instanceof ArgumentError &&
          /uploaded module's function.*mapPartitions\(scale, \{ meta \}\)/.test(e.message),
      );
    });
  });

  describe("arrays: block values", () => {
    const data = Float64Array.from({ length: 12 }, (_, i) => (i * 7) % 12);
    const x = () => mw.fromArray(data, { chunks: 3 });

    test("mapBlockValues and reduceBlocks take an uploaded block function", async () => {
      assert.deepEqual(await mw.mapBlockValues(ops.blockMax, [x()]).compute({ scheduler: c.client }), [7, 11, 8, 10]);
      assert.equal(
        await mw
          .reduceBlocks(ops.blockMax, [x()], { combine: (...v: number[]) => Math.max(...v) })
          .compute({ scheduler: c.client }),
        11,
      );
    });

    test("reduceBlocks takes an uploaded combine: every level runs on the workers, down to one value", async () => {
      for (const splitEvery of [2, 16]) {
        const r = mw.reduceBlocks(ops.blockMax, [x()], { combine: ops.largest, splitEvery });
        assert.equal(await r.compute({ scheduler: c.client }), 11, `splitEvery ${splitEvery}`);
        assert.equal(await c.client.compute(r), 11);
      }
    });
  });
});
