// WorkerState as a pure state machine: readiness and priority, batched fetches from peers, freeing, results.

import assert from "node:assert/strict";
import { test } from "node:test";
import { WorkerState, serialize, type ComputeTask, type DepLocation } from "../../src/internal.js";
import { FETCH_BATCH_BYTES } from "../../src/worker/state.js";

const SELF = "addr-self";
const BOOM = { name: "TypeError", message: "boom" };

function compute(key: string, deps: DepLocation[] = [], priority: number[] = [0]): ComputeTask {
  return {
    op: "compute-task",
    key,
    fn: { kind: "source", id: "fn-inc" },
    args: serialize([key]).payload,
    deps,
    priority,
  };
}

function dep(key: string, ...who: string[]): DepLocation {
  return { key, who, nbytes: 8 };
}

function arrived(values: Record<string, number>): Map<string, { value: unknown; nbytes: number }> {
  return new Map(Object.entries(values).map(([k, v]) => [k, { value: v, nbytes: 8 }]));
}

/** Runs every ready task to completion, returning keys in the order they ran. */
function drain(w: WorkerState): string[] {
  const ran: string[] = [];
  for (let t = w.nextReady(); t; t = w.nextReady()) ran.push(t.key);
  return ran;
}

test("a compute-task with no dependencies is ready at once", () => {
  const w = new WorkerState(SELF);
  w.computeTask(compute("A"));
  assert.equal(w.tasks.get("A")!.state, "ready");
  assert.deepEqual(w.takeInstructions(), []);
  const t = w.nextReady()!;
  assert.equal(t.key, "A");
  assert.equal(t.state, "executing");
  assert.equal(w.nextReady(), undefined);
});

test("nextReady returns tasks in priority order, lower priority array first", () => {
  const w = new WorkerState(SELF);
  w.computeTask(compute("late", [], [1, 0]));
  w.computeTask(compute("second", [], [0, 2]));
  w.computeTask(compute("first", [], [0, 1]));
  w.computeTask(compute("short", [], [0])); // a prefix sorts before longer arrays
  assert.deepEqual(drain(w), ["short", "first", "second", "late"]);
});

test("missing dependencies are fetched with one request per peer, never from itself", () => {
  const w = new WorkerState(SELF);
  w.computeTask(compute("T1", [dep("a", "p1"), dep("b", "p1", "p2"), dep("c", "p2")]));
  w.computeTask(compute("T2", [dep("d", SELF, "p1"), dep("a", "p1")])); // a is already being fetched
  assert.deepEqual(w.takeInstructions(), [
    { kind: "fetch", from: "p1", keys: ["a", "b", "d"] },
    { kind: "fetch", from: "p2", keys: ["c"] },
  ]);
  assert.deepEqual([w.tasks.get("T1")!.state, w.tasks.get("T2")!.state], ["waiting", "waiting"]);
  assert.equal(w.nextReady(), undefined);
  assert.deepEqual(w.takeInstructions(), []); // fetches go out once
});

test("a dependency already held is not fetched", () => {
  const w = new WorkerState(SELF);
  w.putData("a", 1, 8);
  w.computeTask(compute("T", [dep("a", "p1")]));
  assert.deepEqual(w.takeInstructions(), []);
  assert.equal(w.tasks.get("T")!.state, "ready");
});

test("dataArrived stores the value, sends add-keys and makes the waiting task ready", () => {
  const w = new WorkerState(SELF);
  w.computeTask(compute("T", [dep("a", "p1"), dep("b", "p2")]));
  w.takeInstructions();
  w.dataArrived("p1", arrived({ a: 10 }), []);
  assert.deepEqual(w.takeInstructions(), [{ kind: "send", msg: { op: "add-keys", keys: [{ key: "a", nbytes: 8 }] } }]);
  assert.equal(w.tasks.get("T")!.state, "waiting"); // b still missing
  w.dataArrived("p2", arrived({ b: 20 }), []);
  w.takeInstructions();
  assert.deepEqual([w.data.get("a"), w.data.get("b"), w.memory], [10, 20, 16]);
  assert.deepEqual(drain(w), ["T"]);
});

test("data from a peer that was not asked for it is ignored", () => {
  const w = new WorkerState(SELF);
  w.computeTask(compute("T", [dep("a", "p1")]));
  w.takeInstructions();
  w.dataArrived("p9", arrived({ a: 10, z: 1 }), []);
  assert.deepEqual(w.takeInstructions(), []);
  assert.equal(w.data.size, 0);
  assert.equal(w.tasks.get("T")!.state, "waiting");
});

test("a key the peer lacks is asked of the next holder, then reported as missing-data and the task dropped", () => {
  const w = new WorkerState(SELF);
  w.computeTask(compute("T", [dep("a", "p1", "p2")]));
  w.takeInstructions();
  w.dataArrived("p1", new Map(), ["a"]);
  assert.deepEqual(w.takeInstructions(), [{ kind: "fetch", from: "p2", keys: ["a"] }]);
  w.dataArrived("p2", new Map(), ["a"]);
  assert.deepEqual(w.takeInstructions(), [
    { kind: "send", msg: { op: "missing-data", key: "T", dep: "a", from: "p2" } },
  ]);
  assert.equal(w.tasks.has("T"), false);
  assert.equal(w.nextReady(), undefined);
});

test("fetchFailed behaves like a peer saying the key is missing", () => {
  const w = new WorkerState(SELF);
  w.computeTask(compute("T", [dep("a", "p1", "p2"), dep("b", "p1")]));
  w.takeInstructions();
  w.fetchFailed("p1", ["a", "b"]); // the connection to p1 broke
  assert.deepEqual(w.takeInstructions(), [
    { kind: "send", msg: { op: "missing-data", key: "T", dep: "b", from: "p1" } },
    { kind: "fetch", from: "p2", keys: ["a"] },
  ]);
  assert.equal(w.tasks.has("T"), false);
  // a arriving later has nobody waiting for it: not stored, not announced.
  w.dataArrived("p2", arrived({ a: 1 }), []);
  assert.deepEqual(w.takeInstructions(), []);
  assert.equal(w.data.has("a"), false);
});

test("freeKeys drops held data and the memory it counted", () => {
  const w = new WorkerState(SELF);
  w.putData("a", 1, 100);
  w.putData("b", 2, 50);
  w.freeKeys(["a", "unknown"]);
  assert.deepEqual([...w.data.keys()], ["b"]);
  assert.equal(w.memory, 50);
  assert.equal(w.sizes.has("a"), false);
});

test("freeKeys drops waiting and ready tasks; nextReady skips them and late data is not kept", () => {
  const w = new WorkerState(SELF);
  w.computeTask(compute("R1", [], [1]));
  w.computeTask(compute("R2", [], [2]));
  w.computeTask(compute("W", [dep("a", "p1")]));
  w.takeInstructions();
  w.freeKeys(["R1", "W"]);
  assert.deepEqual([w.tasks.has("R1"), w.tasks.has("W")], [false, false]);
  assert.deepEqual(drain(w), ["R2"]);
  w.dataArrived("p1", arrived({ a: 1 }), []);
  assert.deepEqual(w.takeInstructions(), []);
  assert.equal(w.data.has("a"), false);
});

test("a task freed while executing has its result discarded", () => {
  const w = new WorkerState(SELF);
  w.computeTask(compute("A"));
  const t = w.nextReady()!;
  w.freeKeys(["A"]);
  assert.equal(t.state, "cancelled");
  w.taskDone(t, 42, 8, 5);
  assert.deepEqual(w.takeInstructions(), []);
  assert.deepEqual([w.data.has("A"), w.memory, w.tasks.has("A")], [false, 0, false]);
});

test("a task freed while executing and asked for again resumes, and its result is reported", () => {
  const w = new WorkerState(SELF);
  w.computeTask(compute("A"));
  const t = w.nextReady()!;
  w.freeKeys(["A"]);
  w.computeTask(compute("A"));
  assert.equal(t.state, "executing");
  assert.equal(w.nextReady(), undefined); // not queued a second time
  w.taskDone(t, 42, 8, 5);
  assert.deepEqual(w.takeInstructions(), [
    { kind: "send", msg: { op: "task-finished", key: "A", nbytes: 8, duration: 5, value: undefined } },
  ]);
  assert.equal(w.data.get("A"), 42);
});

test("taskDone stores the result and sends task-finished with nbytes, duration and inline value", () => {
  const w = new WorkerState(SELF);
  w.computeTask(compute("A"));
  const t = w.nextReady()!;
  const inline = serialize(42).payload;
  w.taskDone(t, 42, 8, 3, inline);
  assert.deepEqual(w.takeInstructions(), [
    { kind: "send", msg: { op: "task-finished", key: "A", nbytes: 8, duration: 3, value: inline } },
  ]);
  assert.deepEqual([w.data.get("A"), w.memory, w.tasks.has("A")], [42, 8, false]);
});

test("taskErred sends task-erred and keeps no data", () => {
  const w = new WorkerState(SELF);
  w.computeTask(compute("A"));
  w.taskErred(w.nextReady()!, BOOM);
  assert.deepEqual(w.takeInstructions(), [{ kind: "send", msg: { op: "task-erred", key: "A", error: BOOM } }]);
  assert.deepEqual([w.data.has("A"), w.tasks.has("A")], [false, false]);
});

test("a compute-task for a key already held answers task-finished at once, saying it ran nothing (neither side counts it as done)", () => {
  const w = new WorkerState(SELF);
  w.putData("A", 7, 24);
  w.computeTask(compute("A"));
  assert.deepEqual(w.takeInstructions(), [
    { kind: "send", msg: { op: "task-finished", key: "A", nbytes: 24, duration: 0, held: true } },
  ]);
  assert.equal(w.tasksDone, 0);
  assert.equal(w.tasks.has("A"), false);
  assert.equal(w.nextReady(), undefined);
});

test("a dependency the scheduler places on this worker but which is not here is reported as missing from this worker", () => {
  // With `from` naming this worker, the scheduler can drop its wrong record instead of resending
  // the task here again with the same `who`.
  const w = new WorkerState(SELF);
  w.computeTask(compute("T", [dep("a", SELF)]));
  assert.deepEqual(w.takeInstructions(), [
    { kind: "send", msg: { op: "missing-data", key: "T", dep: "a", from: SELF } },
  ]);
  assert.equal(w.tasks.has("T"), false);
});

test("a task dropped for a missing dependency fetches nothing more for itself", () => {
  const w = new WorkerState(SELF);
  w.computeTask(compute("T", [dep("a"), dep("b", "p1")])); // a: the scheduler knows no holder
  const out = w.takeInstructions();
  assert.deepEqual(
    out.filter((i) => i.kind === "fetch"),
    [],
    `got ${JSON.stringify(out)}`,
  );
  w.dataArrived("p1", arrived({ b: 1 }), []);
  assert.equal(w.data.has("b"), false);
});

test("fetches from one peer are split into requests of at most FETCH_BATCH_BYTES (a bigger key goes alone)", () => {
  const w = new WorkerState(SELF);
  const MiB = 1 << 20;
  const big = (key: string, mib: number): DepLocation => ({ key, who: ["p"], nbytes: mib * MiB });
  w.computeTask(compute("T", [big("a", 40), big("b", 20), big("c", 10), big("d", 100), big("e", 1)]));
  assert.equal(FETCH_BATCH_BYTES, 64 * MiB);
  assert.deepEqual(w.takeInstructions(), [
    { kind: "fetch", from: "p", keys: ["a", "b"] },
    { kind: "fetch", from: "p", keys: ["c"] },
    { kind: "fetch", from: "p", keys: ["d"] },
    { kind: "fetch", from: "p", keys: ["e"] },
  ]);
});

test("acquire-replicas fetches copies and reports them with add-keys; one no holder has is reported as acquire-failed", () => {
  const w = new WorkerState(SELF);
  w.acquireReplicas([dep("a", "p"), dep("b", "p")]);
  assert.deepEqual(w.takeInstructions(), [{ kind: "fetch", from: "p", keys: ["a", "b"] }]);
  w.dataArrived("p", arrived({ a: 1 }), ["b"]);
  assert.deepEqual(w.takeInstructions(), [
    { kind: "send", msg: { op: "add-keys", keys: [{ key: "a", nbytes: 8 }] } },
    { kind: "send", msg: { op: "acquire-failed", keys: ["b"] } },
  ]);
  assert.equal(w.data.get("a"), 1);
  assert.equal(w.data.has("b"), false);
});

test("a steal-request gives back tasks not started and keeps the running one", () => {
  const w = new WorkerState(SELF);
  w.computeTask(compute("A", [], [0]));
  w.computeTask(compute("B", [], [1]));
  w.computeTask(compute("C", [dep("x", "p")], [2]));
  w.takeInstructions();
  assert.equal(w.nextReady()!.key, "A");
  w.stealRequest(["A", "B", "C", "gone"]);
  assert.deepEqual(w.takeInstructions(), [
    { kind: "send", msg: { op: "steal-response", stolen: ["B", "C"], kept: ["A", "gone"] } },
  ]);
  assert.equal(w.nextReady(), undefined, "B is not run here any more");
  w.dataArrived("p", arrived({ x: 1 }), []);
  assert.equal(w.data.has("x"), false, "nobody here needs C's input now");
});
