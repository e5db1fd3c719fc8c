// WorkerState's own checks and records: the validate mode (an InvariantError naming the event),
// pausing as an instruction, the story of a key, and the bugs the property tests found.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Client, Scheduler, serialize, Worker, WorkerState, type DepLocation } from "../../src/internal.js";
import { createRuntime } from "../../src/runtime.js";
import { InvariantError } from "../../src/util/invariant.js";
import { WorkerTask, type WorkerEvent, type WorkerInstruction } from "../../src/worker/state.js";

const SELF = "addr-self";

function compute(key: string, deps: DepLocation[] = [], stimulus = "compute-task-1"): WorkerEvent {
  const task = {
    op: "compute-task" as const,
    key,
    fn: { kind: "source" as const, id: "f" },
    args: serialize([key]).payload,
    deps,
    priority: [0],
  };
  return { op: "compute-task", task, stimulus };
}
const dep = (key: string, ...who: string[]): DepLocation => ({ key, who, nbytes: 8 });
const put = (key: string, nbytes: number, stimulus = "data-put-1"): WorkerEvent => ({
  op: "data-put",
  key,
  value: new Uint8Array(nbytes),
  nbytes,
  stimulus,
});
const free = (keys: string[], stimulus = "free-keys-1"): WorkerEvent => ({ op: "free-keys", keys, stimulus });
const sends = (out: WorkerInstruction[]) => out.flatMap((i) => (i.kind === "send" ? [i.msg] : []));

test("with validate on, a broken state raises InvariantError naming the event that found it and the key", () => {
  const w = new WorkerState(SELF, { limit: 0, validate: true });
  w.handle(compute("A"));
  w.tasks.get("A")!.state = "waiting"; // a bug's doing: waiting for nothing
  assert.throws(
    () => w.handle(put("x", 8, "data-put-7")),
    (err: unknown) =>
      err instanceof InvariantError &&
      err.event === "data-put-7" &&
      err.problems.includes("A is waiting for nothing") &&
      /^worker addr-self state is inconsistent after data-put-7/.test(err.message),
  );
});

test("validate calls onInvalid instead of throwing when given one; off, nothing is checked", () => {
  const found: InvariantError[] = [];
  const w = new WorkerState(SELF, { limit: 0, validate: true, onInvalid: (e) => found.push(e) });
  w.handle(compute("A"));
  w.nextReady();
  w.tasks.get("A")!.state = "ready"; // ready, but no longer queued
  w.handle(put("x", 8));
  assert.deepEqual(found[0]?.problems, ["A is ready but not queued"]);
  const off = new WorkerState(SELF, { limit: 0, validate: false });
  off.handle(compute("A"));
  off.tasks.get("A")!.state = "waiting";
  assert.doesNotThrow(() => off.handle(put("x", 8)));
});

test("pausing and resuming are instructions of the state, once per change", () => {
  const w = new WorkerState(SELF, { limit: 100, validate: true });
  assert.deepEqual(w.handle(put("a", 50)), []);
  assert.deepEqual(w.handle(put("b", 40)), [{ kind: "paused", paused: true }]); // 90 > 80
  assert.deepEqual(w.handle(put("c", 1)), []); // still paused: nothing new to say
  w.handle(compute("T"));
  assert.equal(w.nextReady(), undefined, "a paused worker starts nothing");
  assert.deepEqual(w.handle(free(["a"])), [{ kind: "paused", paused: false }]);
  assert.equal(w.nextReady()?.key, "T");
});

test("a result read back from the spill store that pauses the worker is told with the next handle", () => {
  const stored = new Map<string, never>();
  const spill = {
    write: (k: string, v: never) => stored.set(k, v),
    read: (k: string) => stored.get(k)!,
    remove: (k: string) => stored.delete(k),
    close: () => stored.clear(),
  };
  const w = new WorkerState(SELF, { limit: 100, spill, validate: true });
  assert.deepEqual(w.handle(put("a", 90)), [{ kind: "paused", paused: true }]); // alone, nothing to spill
  assert.deepEqual(w.handle(put("b", 10)), [{ kind: "paused", paused: false }]); // a spilled
  w.value("a"); // a task or a peer reads a: back in memory (b spilled), 90 bytes
  assert.equal(w.paused, true);
  assert.deepEqual(w.handle([]), [{ kind: "paused", paused: true }]);
  assert.deepEqual(w.handle([]), []);
});

test("story: a task's and an input's transitions with the events that caused them", () => {
  const w = new WorkerState(SELF, { limit: 0, validate: true });
  w.now = 1_000;
  w.handle(compute("T", [dep("a", "p1", "p2")], "compute-task-1"));
  w.handle({ op: "fetch-failed", from: "p1", keys: ["a"], stimulus: "fetch-failed-2" });
  w.handle({
    op: "data-arrived",
    from: "p2",
    values: new Map([["a", { value: 1, nbytes: 8 }]]),
    missing: [],
    stimulus: "data-arrived-3",
  });
  const t = w.nextReady()!;
  w.handle({ op: "task-done", task: t, value: 2, nbytes: 8, duration: 1, stimulus: "task-done-4" });
  w.handle(free(["T"], "free-keys-5"));
  const brief = (key: string) =>
    w.storyOf(key).map((e) => `${e.start}>${e.finish} ${e.stimulus}${e.note ? ` (${e.note})` : ""}`);
  assert.deepEqual(brief("T"), [
    "released>waiting compute-task-1",
    "waiting>ready data-arrived-3",
    "ready>executing task-loop",
    "executing>memory task-done-4",
    "memory>released free-keys-5 (freed)",
  ]);
  assert.deepEqual(brief("a"), [
    "released>flight compute-task-1 (from p1)",
    "flight>fetch fetch-failed-2 (p1 could not provide it)",
    "fetch>flight fetch-failed-2 (from p2)",
    "flight>memory data-arrived-3 (from p2)",
  ]);
  assert.equal(w.storyOf("T")[0]!.time, 1_000);
});

test("the story is bounded: only the last storyCapacity transitions are kept", () => {
  const w = new WorkerState(SELF, { limit: 0, storyCapacity: 4 });
  for (let i = 0; i < 5; i++) w.handle(put(`k${i}`, 8));
  assert.deepEqual(w.storyOf("k0"), []);
  assert.equal(w.storyOf("k4").length, 1);
  const none = new WorkerState(SELF, { limit: 0, storyCapacity: 0 });
  none.handle(put("k", 8));
  assert.deepEqual(none.storyOf("k"), [], "storyCapacity 0 keeps none");
});

// Found by test/worker/state-properties.test.ts:

test("a task freed twice while it runs stays cancelled: its result is neither kept nor reported", () => {
  const w = new WorkerState(SELF, { limit: 0, validate: true });
  w.handle(compute("A"));
  const t = w.nextReady()!;
  w.handle(free(["A"]));
  w.handle(free(["A"])); // had forgotten the task, so its result counted as wanted
  assert.deepEqual(
    w.handle({ op: "task-done", task: t, value: 1, nbytes: 8, duration: 1, stimulus: "task-done-1" }),
    [],
  );
  assert.equal(w.holds("A"), false);
  assert.equal(w.tasksDone, 0);
});

test("a fetch whose tasks were freed asks for no fresh tickets and no other holder", () => {
  const w = new WorkerState(SELF, { limit: 0, validate: true });
  w.handle(compute("T", [dep("a", "p1", "p2"), dep("b", "p1", "p2")]));
  w.handle(free(["T"]));
  const expired = w.handle({ op: "tickets-expired", from: "p1", keys: ["a"], stimulus: "tickets-expired-1" });
  const failed = w.handle({ op: "fetch-failed", from: "p1", keys: ["b"], stimulus: "fetch-failed-1" });
  assert.deepEqual([expired, failed], [[], []]); // (renew-tickets and a fetch from p2 before)
  assert.deepEqual(
    w.storyOf("a").map((e) => e.finish),
    ["flight", "fetch", "released"],
  );
});

test("a key being fetched that is scattered here meanwhile satisfies its tasks; the late answer is dropped", () => {
  const w = new WorkerState(SELF, { limit: 0, validate: true });
  w.handle(compute("T", [dep("a", "p1")]));
  w.handle(put("a", 8));
  assert.equal(w.tasks.get("T")!.state, "ready");
  const late = w.handle({
    op: "data-arrived",
    from: "p1",
    values: new Map([["a", { value: 1, nbytes: 8 }]]),
    missing: [],
    stimulus: "data-arrived-1",
  });
  assert.deepEqual(sends(late), []); // no add-keys for a key not fetched any more
});

test("a Worker whose state breaks an invariant logs it, goes on working, and its close() rejects with it", async () => {
  const scheduler = await Scheduler.start({ address: `inproc://invariants-${Math.random()}` });
  const errors: string[] = [];
  const quiet = () => {};
  const runtime = createRuntime({
    logger: { debug: quiet, info: quiet, warn: quiet, error: (m: string) => errors.push(m) },
  });
  const worker = await Worker.start({ scheduler: scheduler.address, name: "w", validate: true, runtime });
  const client = await Client.connect(scheduler.address);
  try {
    assert.equal(await client.submit((x: number) => x + 1, 1), 2);
    // A bug's doing: a task left among the tasks after it was done.
    const ghost = new WorkerTask("ghost", { kind: "source", id: "f" }, serialize([]).payload, [], [0], "test");
    ghost.state = "done";
    (worker.state.tasks as Map<string, WorkerTask>).set("ghost", ghost);
    assert.equal(await client.submit((x: number) => x * 2, 2), 4, "the worker goes on");
  } finally {
    await client.close();
    await assert.rejects(
      worker.close(),
      (err: unknown) =>
        err instanceof InvariantError && err.problems.includes("ghost is done but still among the tasks"),
    );
    await scheduler.close();
  }
  assert.equal(errors.length, 1, "logged once");
  assert.match(errors[0]!, /^w: worker inproc:\/\/\S+ state is inconsistent after compute-task-\d+/);
});
