// SchedulerState as a pure state machine: task lifecycle, placement, release, story and stray messages.

import assert from "node:assert/strict";
import { test } from "node:test";
import { serialize } from "../../src/internal.js";
import { groupOf } from "../../src/scheduler/model.js";
import { cluster, feed, finish, FN, lines, submit, take, task } from "../helpers/scheduler.js";

test("a submitted root task goes released→waiting→processing and its compute-task goes to a worker", () => {
  const s = cluster(["w1"]);
  const a = task("A");
  const out = submit(s, [a]);
  assert.deepEqual(out, [
    {
      to: "worker",
      id: "w1",
      msg: { op: "compute-task", key: "A", fn: a.fn, fnDef: FN, args: a.args, deps: [], priority: a.priority },
    },
  ]);
  assert.equal(s.tasks.get("A")!.state, "processing");
  assert.deepEqual(
    s.storyOf("A").map((e) => `${e.start}>${e.finish}`),
    ["released>waiting", "waiting>processing"],
  );
});

test("the function source travels only the first time a worker sees that function id", () => {
  const s = cluster(["w1", "w2"]);
  // Three equal root tasks: A to w1, B to w2 (less occupied), C back to w1 (tie goes to the first).
  const out = submit(s, [task("A"), task("B"), task("C")]);
  assert.deepEqual(
    out.map((i) => [
      i.id,
      i.msg.op === "compute-task" ? i.msg.key : "",
      i.msg.op === "compute-task" ? i.msg.fnDef : "?",
    ]),
    [
      ["w1", "A", FN],
      ["w2", "B", FN],
      ["w1", "C", undefined],
    ],
  );
  const later = submit(s, [task("D", [], { workers: ["w2"] })]);
  assert.equal(later[0]!.msg.op === "compute-task" && later[0]!.msg.fnDef, undefined);
});

test("task-finished puts the task in memory and tells the wanting client who holds it, with the inline value", () => {
  const s = cluster(["w1"]);
  submit(s, [task("A"), task("B")]);
  const value = serialize(42).payload;
  feed(s, { op: "task-finished", worker: "w1", key: "A", nbytes: 16, duration: 3, value });
  assert.deepEqual(take(s), [
    { to: "client", id: "c", msg: { op: "key-in-memory", key: "A", who: ["addr-w1"], nbytes: 16, value } },
  ]);
  assert.equal(s.tasks.get("A")!.state, "memory");
  assert.deepEqual(s.whoHas(["A"]), { A: ["addr-w1"] });
  // Without an inline value the client is told where to fetch it.
  assert.deepEqual(finish(s, "w1", "B", 5), [
    { to: "client", id: "c", msg: { op: "key-in-memory", key: "B", who: ["addr-w1"], nbytes: 5, value: undefined } },
  ]);
  assert.equal(s.durations.get("A"), 3);
});

test("a dependent is sent only once its dependency is in memory, with the holder's address in who", () => {
  const s = cluster(["w1", "w2"]);
  const out = submit(s, [task("A", [], { workers: ["w2"] }), task("B", ["A"])], ["B"]);
  assert.deepEqual(lines(out), ["w2 compute-task A"]);
  assert.equal(s.tasks.get("B")!.state, "waiting");
  const next = finish(s, "w2", "A", 100);
  assert.deepEqual(lines(next), ["w2 compute-task B"]); // A is not wanted: no client message
  const msg = next[0]!.msg;
  assert.ok(msg.op === "compute-task");
  assert.deepEqual(msg.deps, [{ key: "A", who: ["addr-w2"], nbytes: 100 }]);
});

/** A (nbytes `aBytes`) held by w2, w2 busy with one more task than w1; returns where B (needs A) goes. */
function placeDependent(aBytes: number): string {
  const s = cluster(["w1", "w2"]);
  submit(s, [task("A", [], { workers: ["w2"] })]);
  finish(s, "w2", "A", aBytes);
  submit(s, [task("busy", [], { workers: ["w2"] })]);
  assert.ok(s.workers.get("w2")!.occupancy > s.workers.get("w1")!.occupancy);
  return submit(s, [task("B", ["A"])])[0]!.id;
}

test("placement prefers the worker holding a large input over a slightly less busy one", () => {
  // 10 MB at 100 MB/s is 100 ms of transfer, far more than w2's extra queued work.
  assert.equal(placeDependent(10_000_000), "w2");
  // A tiny input costs nothing to move, so occupancy decides.
  assert.equal(placeDependent(10), "w1");
});

test("a task with large inputs runs where they are, however busy that worker is (Dask's rule; small inputs move)", () => {
  const s = cluster(["w1", "w2"]);
  submit(s, [task("A", [], { workers: ["w2"] })]);
  finish(s, "w2", "A", 2_000_000);
  for (let i = 0; i < 50; i++) submit(s, [task(`busy${i}`, [], { workers: ["w2"] })]);
  s.durations.set("busy0", 1000);
  assert.equal(submit(s, [task("B", ["A"])])[0]!.id, "w2");
  const t = cluster(["w1", "w2"]);
  submit(t, [task("A", [], { workers: ["w2"] })]);
  finish(t, "w2", "A", 2_000);
  for (let i = 0; i < 50; i++) submit(t, [task(`busy${i}`, [], { workers: ["w2"] })]);
  assert.equal(submit(t, [task("B", ["A"])])[0]!.id, "w1");
});

test("never-timed tasks reading a piece of every input (a sort's outputs) spread over both workers, not all to the one holding 4 % more", () => {
  // 25 inputs of 2 MB, 13 on w1 and 12 on w2; 25 outputs each read all of them (a range shuffle's
  // outputs). Counted at 1 ms each, every output went to w1 (24 MB to fetch there, 26 MB on w2:
  // 20 ms apart at 100 MB/s); counted at the time to read 50 MB, they alternate.
  const s = cluster(["w1", "w2"]);
  const inputs = Array.from({ length: 25 }, (_, i) => `in-${i}`);
  submit(
    s,
    inputs.map((k, i) => task(k, [], { workers: [i < 13 ? "w1" : "w2"] })),
  );
  inputs.forEach((k, i) => finish(s, i < 13 ? "w1" : "w2", k, 2_000_000));
  const placed = submit(
    s,
    Array.from({ length: 25 }, (_, j) => task(`out-${j}`, inputs)),
  ).map((i) => i.id);
  const onW1 = placed.filter((w) => w === "w1").length;
  assert.equal(placed.length, 25);
  assert.ok(Math.abs(onW1 - (25 - onW1)) <= 1, `w1 got ${onW1} of 25`);
  assert.equal(s.tasks.get("out-0")!.cost, 50);
});

test("placement spreads independent root tasks over the less occupied workers", () => {
  const s = cluster(["w1", "w2"]);
  assert.deepEqual(lines(submit(s, [task("A"), task("B")])), ["w1 compute-task A", "w2 compute-task B"]);
  assert.deepEqual(
    [...s.workers.values()].map((w) => w.processing.size),
    [1, 1],
  );
});

test("the blocks of one array are one group (durations learned, roots co-assigned): trailing block indices are dropped", () => {
  assert.equal(groupOf("inc-00ab12ff"), "inc");
  assert.equal(groupOf("x"), "x");
  assert.equal(groupOf("mean-9f3c2a-4-0-1"), "mean-9f3c2a");
  assert.equal(groupOf("mean-9f3c2a-12"), "mean-9f3c2a");
  assert.equal(groupOf("sum-9f3c2a-l1[0,2]"), "sum-9f3c2a");
  assert.equal(groupOf("groupby-mean-9f3c-p0-3[0,0,0]"), "groupby-mean-9f3c-p0");
  assert.equal(groupOf("-1"), "-1");
});

test("many tasks of a kind whose only inputs are a few shared keys are spread as roots are, not all where the inputs are (root-ish)", () => {
  const s = cluster(["w1", "w2"]);
  submit(s, [task("clim", [], { workers: ["w2"] })]);
  finish(s, "w2", "clim", 12_000_000);
  // 8 blocks each needing the 12 MB climatology: runs of priority order, 4 on each worker
  const anomaly = Array.from({ length: 8 }, (_, i) => task(`anomaly-ab12-${i}-0-0`, ["clim"]));
  assert.deepEqual(
    lines(submit(s, anomaly)).filter((l) => l.includes("compute-task")),
    anomaly.map((t, i) => `${i < 4 ? "w1" : "w2"} compute-task ${t.key}`),
  );
  // each with an input of its own as well: placed by where the inputs are
  const t = cluster(["w1", "w2"]);
  submit(t, [task("clim", [], { workers: ["w2"] })]);
  finish(t, "w2", "clim", 12_000_000);
  const own = Array.from({ length: 8 }, (_, i) => task(`block-cd34-${i}`, [], { workers: ["w2"] }));
  submit(t, own);
  for (const o of own) finish(t, "w2", o.key, 32_000_000);
  const pinned = Array.from({ length: 8 }, (_, i) => task(`anomaly-ab12-${i}-0-0`, ["clim", `block-cd34-${i}`]));
  assert.ok(lines(submit(t, pinned)).every((l) => !l.includes("compute-task") || l.startsWith("w2")));
});

test("releasing a key nobody else needs frees it on its holder and forgets the task", () => {
  const s = cluster(["w1"]);
  submit(s, [task("A")]);
  finish(s, "w1", "A");
  feed(s, { op: "release-keys", client: "c", keys: ["A"] });
  assert.deepEqual(take(s), [{ to: "worker", id: "w1", msg: { op: "free-keys", keys: ["A"] } }]);
  assert.equal(s.tasks.has("A"), false);
  assert.equal(s.workers.get("w1")!.hasWhat.size, 0);
  assert.equal(s.workers.get("w1")!.nbytes, 0);
});

test("a dependency stays in memory while a dependent waits on it, and is freed once that is done", () => {
  const s = cluster(["w1"]);
  submit(s, [task("A"), task("B", ["A"])]);
  finish(s, "w1", "A");
  feed(s, { op: "release-keys", client: "c", keys: ["A"] }); // B is processing and still needs A
  assert.deepEqual(take(s), []);
  assert.equal(s.tasks.get("A")!.state, "memory");
  // B done, nobody wants A: it is freed (kept as a released record while B refers to it).
  assert.deepEqual(lines(finish(s, "w1", "B")), ["c key-in-memory B", "w1 free-keys A"]);
  assert.equal(s.tasks.get("A")!.state, "released");
  feed(s, { op: "release-keys", client: "c", keys: ["B"] });
  assert.deepEqual(lines(take(s)), ["w1 free-keys B"]);
  assert.deepEqual([...s.tasks.keys()], []);
});

test("the same key submitted by two clients is one task; both are told, and one release keeps it for the other", () => {
  const s = cluster(["w1"]);
  feed(s, { op: "client-added", client: "d" });
  assert.deepEqual(lines(submit(s, [task("A")], ["A"], "c")), ["w1 compute-task A"]);
  assert.deepEqual(submit(s, [task("A")], ["A"], "d"), []); // already processing: not sent again
  assert.equal(s.tasks.size, 1);
  assert.deepEqual(lines(finish(s, "w1", "A")), ["c key-in-memory A", "d key-in-memory A"]);
  feed(s, { op: "release-keys", client: "c", keys: ["A"] });
  assert.deepEqual(take(s), []);
  assert.equal(s.tasks.get("A")!.state, "memory");
  feed(s, { op: "release-keys", client: "d", keys: ["A"] });
  assert.deepEqual(lines(take(s)), ["w1 free-keys A"]);
  assert.equal(s.tasks.has("A"), false);
});

test("a client that submits a key already in memory is told at once", () => {
  const s = cluster(["w1"]);
  feed(s, { op: "client-added", client: "d" });
  submit(s, [task("A")], ["A"], "c");
  finish(s, "w1", "A", 12);
  assert.deepEqual(submit(s, [task("A")], ["A"], "d"), [
    { to: "client", id: "d", msg: { op: "key-in-memory", key: "A", who: ["addr-w1"], nbytes: 12 } },
  ]);
});

test("removeClient releases everything the client wanted", () => {
  const s = cluster(["w1"]);
  submit(s, [task("A"), task("B")]);
  finish(s, "w1", "A");
  feed(s, { op: "client-removed", client: "c" });
  // A is freed from memory, B is taken off the worker that is running it.
  assert.deepEqual(take(s), [{ to: "worker", id: "w1", msg: { op: "free-keys", keys: ["A", "B"] } }]);
  assert.equal(s.tasks.size, 0);
  assert.equal(s.workers.get("w1")!.processing.size, 0);
  assert.equal(s.workers.get("w1")!.occupancy, 0);
});

test("story(key) lists each transition with start, finish, stimulus and time", () => {
  const s = cluster(["w1"]); // adding w1 was stimulus 1
  s.now = 1000;
  submit(s, [task("A")]);
  s.now = 1500;
  finish(s, "w1", "A");
  feed(s, { op: "release-keys", client: "c", keys: ["A"] });
  assert.deepEqual(s.storyOf("A"), [
    { key: "A", start: "released", finish: "waiting", stimulus: "update-graph-2", time: 1000 },
    { key: "A", start: "waiting", finish: "processing", stimulus: "update-graph-2", time: 1000 },
    { key: "A", start: "processing", finish: "memory", stimulus: "task-finished-3", time: 1500 },
    { key: "A", start: "memory", finish: "released", stimulus: "release-keys-4", time: 1500 },
    { key: "A", start: "released", finish: "forgotten", stimulus: "release-keys-4", time: 1500 },
  ]);
  assert.deepEqual(s.storyOf("never"), []);
});

test("the story keeps only the last storyCapacity transitions", () => {
  const s = cluster(["w1"], { storyCapacity: 10 });
  // 12 transitions: t0..t5 released>waiting, then t0..t5 waiting>processing; the first two drop out.
  submit(
    s,
    ["t0", "t1", "t2", "t3", "t4", "t5"].map((k) => task(k)),
  );
  assert.equal(s.story.size, 10);
  assert.deepEqual(
    s.storyOf("t0").map((e) => e.finish),
    ["processing"],
  );
  assert.deepEqual(
    s.storyOf("t1").map((e) => e.finish),
    ["processing"],
  );
  assert.deepEqual(
    s.storyOf("t2").map((e) => e.finish),
    ["waiting", "processing"],
  );
});

test("events about unknown keys or from unknown workers change nothing and throw nothing", () => {
  const s = cluster(["w1"]);
  submit(s, [task("A"), task("B")]);
  finish(s, "w1", "A");
  const before = [...s.tasks.values()].map((t) => `${t.key}:${t.state}`);
  feed(s, { op: "task-finished", worker: "nobody", key: "B", nbytes: 8, duration: 1 });
  feed(s, { op: "task-erred", worker: "nobody", key: "B", error: { name: "Error", message: "x" } });
  feed(s, { op: "task-erred", worker: "w1", key: "A", error: { name: "Error", message: "late" } }); // A is in memory: a stale error
  feed(s, { op: "task-erred", worker: "w1", key: "ghost", error: { name: "Error", message: "x" } });
  feed(s, { op: "missing-data", worker: "nobody", key: "B", dep: "A", from: "addr-w1" });
  feed(s, { op: "add-keys", worker: "nobody", keys: [{ key: "A", nbytes: 8 }] });
  feed(s, { op: "heartbeat", worker: "nobody", memory: 1, executing: 1, ready: 0, spilled: 0, paused: false });
  feed(s, { op: "release-keys", client: "stranger", keys: ["A"] });
  feed(s, { op: "cancel", client: "stranger", keys: ["B"] });
  feed(s, { op: "update-graph", client: "stranger", tasks: [task("X")], fns: [FN], wants: ["X"] });
  feed(s, { op: "worker-removed", worker: "nobody", reason: "test" });
  feed(s, { op: "client-removed", client: "stranger" });
  assert.deepEqual(take(s), []);
  // A worker reporting a key never submitted holds a result nobody needs: it may drop it.
  feed(s, { op: "task-finished", worker: "w1", key: "ghost", nbytes: 8, duration: 1 });
  assert.deepEqual(lines(take(s)), ["w1 free-keys ghost"]);
  assert.deepEqual(
    [...s.tasks.values()].map((t) => `${t.key}:${t.state}`),
    before,
  );
  assert.equal(s.tasks.get("A")!.error, null);
});

test("task-finished for a forgotten key tells the worker to free it", () => {
  const s = cluster(["w1"]);
  submit(s, [task("A")]);
  feed(s, { op: "release-keys", client: "c", keys: ["A"] }); // released while running: freed on w1 and forgotten
  assert.deepEqual(lines(take(s)), ["w1 free-keys A"]);
  assert.equal(s.tasks.has("A"), false);
  assert.deepEqual(finish(s, "w1", "A"), [{ to: "worker", id: "w1", msg: { op: "free-keys", keys: ["A"] } }]);
  assert.equal(s.tasks.has("A"), false);
  assert.equal(s.workers.get("w1")!.hasWhat.size, 0);
});

test("a worker's tasks done counts what it was given, ran and reported; not a replica it already held, nor a key it was never given", () => {
  const s = cluster(["w1", "w2"]);
  submit(s, [task("A", [], { workers: ["w1"] }), task("B", [], { workers: ["w1"] })]);
  finish(s, "w1", "A");
  assert.equal(s.workers.get("w1")!.tasksDone, 1);
  feed(s, { op: "task-finished", worker: "w1", key: "B", nbytes: 8, duration: 0, value: undefined, held: true }); // held: it ran nothing
  assert.equal(s.tasks.get("B")!.state, "memory");
  assert.equal(s.workers.get("w1")!.tasksDone, 1);
  feed(s, { op: "task-finished", worker: "w2", key: "B", nbytes: 8, duration: 1 }); // never given B: a claim, not a run
  assert.equal(s.workers.get("w2")!.tasksDone, 0);
  take(s);
});

test("a replica reported with another size updates every holder's byte count, which returns to 0 when the result is released", () => {
  const s = cluster(["w1", "w2"]);
  feed(s, { op: "update-data", client: "c", entries: [{ key: "x", worker: "addr-w1", nbytes: 1 }] });
  submit(s, [task("y", ["x"], { workers: ["w2"] })], []);
  // w2 fetched x and measured 50 bytes: the size of x is 50 wherever it is held.
  feed(s, { op: "add-keys", worker: "w2", keys: [{ key: "x", nbytes: 50 }] });
  assert.deepEqual(
    [...s.workers.values()].map((w) => w.nbytes),
    [50, 50],
  );
  finish(s, "w2", "y", 0);
  feed(s, { op: "release-keys", client: "c", keys: ["x"] });
  assert.deepEqual(
    [...s.workers.values()].map((w) => w.nbytes),
    [0, 0],
  );
});
