// WorkerState as a pure state machine: readiness and priority, batched fetches from peers, freeing, results.

import assert from "node:assert/strict";
import { test } from "node:test";
import { WorkerState, serialize, type DepLocation } from "../../src/internal.js";
import type { ErrorData } from "../../src/errors.js";
import { FETCH_BATCH_BYTES, type WorkerEvent, type WorkerTask } from "../../src/worker/state.js";
import type { Serialized } from "../../src/protocol/refs.js";

const SELF = "addr-self";
const BOOM = { name: "TypeError", message: "boom" };
/** The stimulus id of every event here (the state only records it). */
const STIMULUS = "test";

function compute(key: string, deps: DepLocation[] = [], priority: number[] = [0]): WorkerEvent {
  return {
    op: "compute-task",
    task: {
      op: "compute-task",
      key,
      fn: { kind: "source", id: "fn-inc" },
      args: serialize([key]).payload,
      deps,
      priority,
    },
    stimulus: STIMULUS,
  };
}

function dep(key: string, ...who: string[]): DepLocation {
  return { key, who, nbytes: 8 };
}

function arrived(values: Record<string, number>): Map<string, { value: unknown; nbytes: number }> {
  return new Map(Object.entries(values).map(([k, v]) => [k, { value: v, nbytes: 8 }]));
}

// The other events, as the shell makes them.
const dataArrived = (
  from: string,
  values: Map<string, { value: unknown; nbytes: number }>,
  missing: string[],
): WorkerEvent => ({ op: "data-arrived", from, values, missing, stimulus: STIMULUS });
const fetchFailed = (from: string, keys: string[]): WorkerEvent => ({
  op: "fetch-failed",
  from,
  keys,
  stimulus: STIMULUS,
});
const putData = (key: string, value: unknown, nbytes: number): WorkerEvent => ({
  op: "data-put",
  key,
  value,
  nbytes,
  stimulus: STIMULUS,
});
const freeKeys = (keys: string[]): WorkerEvent => ({ op: "free-keys", keys, stimulus: STIMULUS });
const taskDone = (task: WorkerTask, value: unknown, nbytes: number, duration: number, inline?: Serialized) =>
  ({ op: "task-done", task, value, nbytes, duration, inline, stimulus: STIMULUS }) as WorkerEvent;
const taskErred = (task: WorkerTask, error: ErrorData): WorkerEvent => ({
  op: "task-erred",
  task,
  error,
  stimulus: STIMULUS,
});
const acquireReplicas = (keys: DepLocation[]): WorkerEvent => ({ op: "acquire-replicas", keys, stimulus: STIMULUS });
const stealRequest = (keys: string[]): WorkerEvent => ({ op: "steal-request", keys, stimulus: STIMULUS });

/** Runs every ready task to completion, returning keys in the order they ran. */
function drain(w: WorkerState): string[] {
  const ran: string[] = [];
  for (let t = w.nextReady(); t; t = w.nextReady()) ran.push(t.key);
  return ran;
}

test("a compute-task with no dependencies is ready at once", () => {
  const w = new WorkerState(SELF);
  assert.deepEqual(w.handle(compute("A")), []);
  assert.equal(w.tasks.get("A")!.state, "ready");
  const t = w.nextReady()!;
  assert.equal(t.key, "A");
  assert.equal(t.state, "executing");
  assert.equal(w.nextReady(), undefined);
});

test("nextReady returns tasks in priority order, lower priority array first", () => {
  const w = new WorkerState(SELF);
  w.handle(compute("late", [], [1, 0]));
  w.handle(compute("second", [], [0, 2]));
  w.handle(compute("first", [], [0, 1]));
  w.handle(compute("short", [], [0])); // a prefix sorts before longer arrays
  assert.deepEqual(drain(w), ["short", "first", "second", "late"]);
});

test("missing dependencies are fetched with one request per peer, never from itself", () => {
  const w = new WorkerState(SELF);
  assert.deepEqual(
    w.handle([
      compute("T1", [dep("a", "p1"), dep("b", "p1", "p2"), dep("c", "p2")]),
      compute("T2", [dep("d", SELF, "p1"), dep("a", "p1")]), // a is already being fetched
    ]),
    [
      { kind: "fetch", from: "p1", keys: ["a", "b", "d"] },
      { kind: "fetch", from: "p2", keys: ["c"] },
    ],
  );
  assert.deepEqual([w.tasks.get("T1")!.state, w.tasks.get("T2")!.state], ["waiting", "waiting"]);
  assert.equal(w.nextReady(), undefined);
  assert.deepEqual(w.handle([]), []); // fetches go out once
});

test("a dependency already held is not fetched", () => {
  const w = new WorkerState(SELF);
  w.handle(putData("a", 1, 8));
  assert.deepEqual(w.handle(compute("T", [dep("a", "p1")])), []);
  assert.equal(w.tasks.get("T")!.state, "ready");
});

test("dataArrived stores the value, sends add-keys and makes the waiting task ready", () => {
  const w = new WorkerState(SELF);
  w.handle(compute("T", [dep("a", "p1"), dep("b", "p2")]));
  assert.deepEqual(w.handle(dataArrived("p1", arrived({ a: 10 }), [])), [
    { kind: "send", msg: { op: "add-keys", keys: [{ key: "a", nbytes: 8 }] } },
  ]);
  assert.equal(w.tasks.get("T")!.state, "waiting"); // b still missing
  w.handle(dataArrived("p2", arrived({ b: 20 }), []));
  assert.deepEqual([w.data.get("a"), w.data.get("b"), w.memory], [10, 20, 16]);
  assert.deepEqual(drain(w), ["T"]);
});

test("data from a peer that was not asked for it is ignored", () => {
  const w = new WorkerState(SELF);
  w.handle(compute("T", [dep("a", "p1")]));
  assert.deepEqual(w.handle(dataArrived("p9", arrived({ a: 10, z: 1 }), [])), []);
  assert.equal(w.data.size, 0);
  assert.equal(w.tasks.get("T")!.state, "waiting");
});

test("a key the peer lacks is asked of the next holder, then reported as missing-data and the task dropped", () => {
  const w = new WorkerState(SELF);
  w.handle(compute("T", [dep("a", "p1", "p2")]));
  assert.deepEqual(w.handle(dataArrived("p1", new Map(), ["a"])), [{ kind: "fetch", from: "p2", keys: ["a"] }]);
  assert.deepEqual(w.handle(dataArrived("p2", new Map(), ["a"])), [
    { kind: "send", msg: { op: "missing-data", key: "T", dep: "a", from: "p2" } },
  ]);
  assert.equal(w.tasks.has("T"), false);
  assert.equal(w.nextReady(), undefined);
});

test("fetchFailed behaves like a peer saying the key is missing", () => {
  const w = new WorkerState(SELF);
  w.handle(compute("T", [dep("a", "p1", "p2"), dep("b", "p1")]));
  assert.deepEqual(
    w.handle(fetchFailed("p1", ["a", "b"])), // the connection to p1 broke
    [
      { kind: "send", msg: { op: "missing-data", key: "T", dep: "b", from: "p1" } },
      { kind: "fetch", from: "p2", keys: ["a"] },
    ],
  );
  assert.equal(w.tasks.has("T"), false);
  // a arriving later has nobody waiting for it: not stored, not announced.
  assert.deepEqual(w.handle(dataArrived("p2", arrived({ a: 1 }), [])), []);
  assert.equal(w.data.has("a"), false);
});

test("freeKeys drops held data and the memory it counted", () => {
  const w = new WorkerState(SELF);
  w.handle([putData("a", 1, 100), putData("b", 2, 50)]);
  w.handle(freeKeys(["a", "unknown"]));
  assert.deepEqual([...w.data.keys()], ["b"]);
  assert.equal(w.memory, 50);
  assert.equal(w.sizes.has("a"), false);
});

test("freeKeys drops waiting and ready tasks; nextReady skips them and late data is not kept", () => {
  const w = new WorkerState(SELF);
  w.handle([compute("R1", [], [1]), compute("R2", [], [2]), compute("W", [dep("a", "p1")])]);
  w.handle(freeKeys(["R1", "W"]));
  assert.deepEqual([w.tasks.has("R1"), w.tasks.has("W")], [false, false]);
  assert.deepEqual(drain(w), ["R2"]);
  assert.deepEqual(w.handle(dataArrived("p1", arrived({ a: 1 }), [])), []);
  assert.equal(w.data.has("a"), false);
});

test("a task freed while executing has its result discarded", () => {
  const w = new WorkerState(SELF);
  w.handle(compute("A"));
  const t = w.nextReady()!;
  w.handle(freeKeys(["A"]));
  assert.equal(t.state, "cancelled");
  assert.deepEqual(w.handle(taskDone(t, 42, 8, 5)), []);
  assert.deepEqual([w.data.has("A"), w.memory, w.tasks.has("A")], [false, 0, false]);
});

test("a task freed while executing and asked for again resumes, and its result is reported", () => {
  const w = new WorkerState(SELF);
  w.handle(compute("A"));
  const t = w.nextReady()!;
  w.handle(freeKeys(["A"]));
  w.handle(compute("A"));
  assert.equal(t.state, "executing");
  assert.equal(w.nextReady(), undefined); // not queued a second time
  assert.deepEqual(w.handle(taskDone(t, 42, 8, 5)), [
    { kind: "send", msg: { op: "task-finished", key: "A", nbytes: 8, duration: 5, value: undefined } },
  ]);
  assert.equal(w.data.get("A"), 42);
});

test("taskDone stores the result and sends task-finished with nbytes, duration and inline value", () => {
  const w = new WorkerState(SELF);
  w.handle(compute("A"));
  const t = w.nextReady()!;
  const inline = serialize(42).payload;
  assert.deepEqual(w.handle(taskDone(t, 42, 8, 3, inline)), [
    { kind: "send", msg: { op: "task-finished", key: "A", nbytes: 8, duration: 3, value: inline } },
  ]);
  assert.deepEqual([w.data.get("A"), w.memory, w.tasks.has("A")], [42, 8, false]);
});

test("taskErred sends task-erred and keeps no data", () => {
  const w = new WorkerState(SELF);
  w.handle(compute("A"));
  assert.deepEqual(w.handle(taskErred(w.nextReady()!, BOOM)), [
    { kind: "send", msg: { op: "task-erred", key: "A", error: BOOM } },
  ]);
  assert.deepEqual([w.data.has("A"), w.tasks.has("A")], [false, false]);
});

test("a compute-task for a key already held answers task-finished at once, saying it ran nothing (neither side counts it as done)", () => {
  const w = new WorkerState(SELF);
  w.handle(putData("A", 7, 24));
  assert.deepEqual(w.handle(compute("A")), [
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
  assert.deepEqual(w.handle(compute("T", [dep("a", SELF)])), [
    { kind: "send", msg: { op: "missing-data", key: "T", dep: "a", from: SELF } },
  ]);
  assert.equal(w.tasks.has("T"), false);
});

test("a task dropped for a missing dependency fetches nothing more for itself", () => {
  const w = new WorkerState(SELF);
  const out = w.handle(compute("T", [dep("a"), dep("b", "p1")])); // a: the scheduler knows no holder
  assert.deepEqual(
    out.filter((i) => i.kind === "fetch"),
    [],
    `got ${JSON.stringify(out)}`,
  );
  w.handle(dataArrived("p1", arrived({ b: 1 }), []));
  assert.equal(w.data.has("b"), false);
});

test("fetches from one peer are split into requests of at most FETCH_BATCH_BYTES (a bigger key goes alone)", () => {
  const w = new WorkerState(SELF);
  const MiB = 1 << 20;
  const big = (key: string, mib: number): DepLocation => ({ key, who: ["p"], nbytes: mib * MiB });
  const out = w.handle(compute("T", [big("a", 40), big("b", 20), big("c", 10), big("d", 100), big("e", 1)]));
  assert.equal(FETCH_BATCH_BYTES, 64 * MiB);
  assert.deepEqual(out, [
    { kind: "fetch", from: "p", keys: ["a", "b"] },
    { kind: "fetch", from: "p", keys: ["c"] },
    { kind: "fetch", from: "p", keys: ["d"] },
    { kind: "fetch", from: "p", keys: ["e"] },
  ]);
});

test("acquire-replicas fetches copies and reports them with add-keys; one no holder has is reported as acquire-failed", () => {
  const w = new WorkerState(SELF);
  assert.deepEqual(w.handle(acquireReplicas([dep("a", "p"), dep("b", "p")])), [
    { kind: "fetch", from: "p", keys: ["a", "b"] },
  ]);
  assert.deepEqual(w.handle(dataArrived("p", arrived({ a: 1 }), ["b"])), [
    { kind: "send", msg: { op: "add-keys", keys: [{ key: "a", nbytes: 8 }] } },
    { kind: "send", msg: { op: "acquire-failed", keys: ["b"] } },
  ]);
  assert.equal(w.data.get("a"), 1);
  assert.equal(w.data.has("b"), false);
});

test("a steal-request gives back tasks not started and keeps the running one", () => {
  const w = new WorkerState(SELF);
  w.handle([compute("A", [], [0]), compute("B", [], [1]), compute("C", [dep("x", "p")], [2])]);
  assert.equal(w.nextReady()!.key, "A");
  assert.deepEqual(w.handle(stealRequest(["A", "B", "C", "gone"])), [
    { kind: "send", msg: { op: "steal-response", stolen: ["B", "C"], kept: ["A", "gone"] } },
  ]);
  assert.equal(w.nextReady(), undefined, "B is not run here any more");
  w.handle(dataArrived("p", arrived({ x: 1 }), []));
  assert.equal(w.data.has("x"), false, "nobody here needs C's input now");
});

test("a task keeps the stimulus id of the event that made it, for tracing", () => {
  const w = new WorkerState(SELF);
  w.handle([compute("A"), { ...compute("B"), stimulus: "compute-task-7" }]);
  assert.deepEqual([w.tasks.get("A")!.stimulus, w.tasks.get("B")!.stimulus], [STIMULUS, "compute-task-7"]);
});
