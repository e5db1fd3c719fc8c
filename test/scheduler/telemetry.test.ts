// The dashboard's telemetry: nothing kept while no dashboard watches, task events sampled past a
// frame's bound, progress per prefix, and the graph sent whole only when it changed.

import assert from "node:assert/strict";
import { test } from "node:test";
import { GRAPH_MAX_TASKS, MAX_BARS_PER_FRAME, Telemetry } from "../../src/scheduler/telemetry.js";
import { cluster, finish, submit, task } from "../helpers/scheduler.js";

test("with no dashboard watching, the hooks keep only the fixed totals", () => {
  const s = cluster(["w1"]);
  submit(s, [task("inc-1"), task("bad-1")]);
  const t = new Telemetry(s);
  for (let i = 0; i < 1_000; i++) t.taskFinished("w1", `inc-${i}`, 1, 8);
  t.taskErred("w1", "bad-1");
  t.fetched("w1", [{ key: "inc-1", nbytes: 8 }]);
  assert.deepEqual(t.totals, { finished: 1_000, erred: 1 });
  const stop = t.watch();
  const f = t.frame();
  assert.equal(f.bars.length, 0, "events from before the watch are not kept");
  assert.equal(f.barsLeftOut, 0);
  stop();
});

test("a watched burst past a frame's bound is sampled evenly and the rest counted; errors, fetches and kinds are marked", () => {
  const s = cluster(["w1", "w2"]);
  const n = MAX_BARS_PER_FRAME * 3;
  submit(s, [...Array.from({ length: n }, (_, i) => task(`inc-${i}`)), task("bad-1")]);
  const t = new Telemetry(s);
  const stop = t.watch();
  for (let i = 0; i < n; i++) {
    s.now = i;
    t.taskFinished(i % 2 ? "w1" : "w2", `inc-${i}`, 0.5, 8);
  }
  const f = t.frame();
  assert.equal(f.bars.length, MAX_BARS_PER_FRAME);
  assert.equal(f.barsLeftOut, n - MAX_BARS_PER_FRAME);
  assert.deepEqual(f.bars[0], ["w2", -0.5, 0, "task", "inc-0", "inc", 8]);
  // Evenly: the last bar is from the last third of the burst.
  assert.ok(f.bars.at(-1)![2] >= n - 3, String(f.bars.at(-1)));
  s.now = 10;
  t.taskErred("w1", "bad-1");
  t.fetched("w2", [{ key: "inc-1", nbytes: 800 }]);
  const g = t.frame();
  assert.deepEqual(
    g.bars.map((b) => [b[0], b[3], b[4], b[6]]),
    [
      ["w1", "error", "bad-1", 0],
      ["w2", "transfer", "inc-1", 800],
    ],
  );
  assert.equal(t.frame().bars.length, 0, "a frame takes the events it sends");
  // Reports of keys the scheduler does not know (it ignores them) are not shown either.
  t.taskFinished("w1", "never-submitted", 1, 8);
  t.fetched("w1", [{ key: "made-up", nbytes: 1e9 }]);
  assert.deepEqual(t.frame().bars, []);
  stop();
  assert.equal(t.watched, false);
});

test("progress per prefix: done (finished, then released), in memory, processing, waiting", () => {
  const s = cluster(["w1"]);
  const t = new Telemetry(s);
  const stop = t.watch();
  submit(s, [task("inc-1"), task("inc-2"), task("inc-3"), task("sum-1", ["inc-1", "inc-2", "inc-3"])], ["sum-1"]);
  for (const k of ["inc-1", "inc-2"]) {
    t.taskFinished("w1", k, 1, 8);
    finish(s, "w1", k, 8);
  }
  const rows = Object.fromEntries(t.frame().progress.map((r) => [r.prefix, r]));
  assert.deepEqual(rows.inc, { prefix: "inc", done: 0, memory: 2, processing: 1, waiting: 0, erred: 0 });
  assert.deepEqual(rows.sum, { prefix: "sum", done: 0, memory: 0, processing: 0, waiting: 1, erred: 0 });
  stop();
});

test("the graph: keys and edges when the task set changes, states every frame; counts only past GRAPH_MAX_TASKS", () => {
  const s = cluster(["w1"]);
  const t = new Telemetry(s);
  const stop = t.watch();
  submit(s, [task("a-1"), task("b-1", ["a-1"])], ["b-1"]);
  const first = t.frame().graph;
  assert.equal(first.kind, "graph");
  assert.ok(first.kind === "graph" && first.keys);
  assert.deepEqual(first.kind === "graph" && [first.keys, first.edges, first.states], [["a-1", "b-1"], [[0, 1]], "pw"]);
  const second = t.frame().graph;
  assert.ok(second.kind === "graph" && second.keys === undefined && second.states === "pw");
  t.resendGraph();
  const third = t.frame().graph;
  assert.ok(third.kind === "graph" && third.keys?.length === 2);
  submit(
    s,
    Array.from({ length: GRAPH_MAX_TASKS }, (_, i) => task(`m-${i}`)),
    [],
  );
  const big = t.frame().graph;
  assert.equal(big.kind, "summary");
  assert.equal(big.total, GRAPH_MAX_TASKS + 2);
  stop();
});
