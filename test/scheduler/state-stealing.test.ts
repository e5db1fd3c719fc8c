// Work stealing in SchedulerState: idle workers get queued tasks from loaded ones, only tasks the
// victim confirms it had not started move, and nothing is lost when a party leaves mid-steal.

import assert from "node:assert/strict";
import { test } from "node:test";
import { addWorker, balance, cluster, feed, finish, lines, submit, take, task } from "../helpers/scheduler.js";

const keys = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);

/** w1 with ten queued tasks, then an idle w2 joins. */
function loaded() {
  const s = cluster(["w1"]);
  submit(
    s,
    keys(10).map((k) => task(k)),
  );
  addWorker(s, "w2");
  take(s);
  return s;
}

test("an idle worker is given the back of a loaded worker's queue, once the victim confirms", () => {
  const s = loaded();
  assert.equal(balance(s), 5); // until both would be through at about the same time
  assert.deepEqual(lines(take(s)), ["w1 steal-request t9,t8,t7,t6,t5"]);
  assert.equal(balance(s), 0, "no second request while one is out");
  feed(s, { op: "steal-response", worker: "w1", stolen: ["t9", "t8", "t7"], kept: ["t6", "t5"] }); // t6 and t5 had started meanwhile
  assert.deepEqual(lines(take(s)), ["w2 compute-task t9", "w2 compute-task t8", "w2 compute-task t7"]);
  assert.deepEqual(
    [...s.workers.get("w2")!.processing].map((t) => t.key),
    ["t9", "t8", "t7"],
  );
  assert.equal(s.workers.get("w1")!.processing.size, 7);
  assert.deepEqual([s.workers.get("w1")!.stealsPending, s.workers.get("w2")!.stealsPending], [0, 0]);
  assert.equal(s.tasks.get("t9")!.stealTo, null);
  finish(s, "w2", "t9");
  assert.equal(s.tasks.get("t9")!.state, "memory");
});

test("tasks a worker said it is running are never asked for", () => {
  const s = cluster(["w1"]);
  submit(
    s,
    keys(4).map((k) => task(k)),
  );
  for (const k of keys(4)) feed(s, { op: "task-started", worker: "w1", key: k });
  addWorker(s, "w2");
  take(s);
  assert.equal(balance(s), 0);
});

test("a task finished by the victim before its answer stays where it ran", () => {
  const s = loaded();
  balance(s);
  take(s);
  finish(s, "w1", "t9");
  feed(s, { op: "steal-response", worker: "w1", stolen: [], kept: ["t9", "t8", "t7", "t6", "t5"] });
  assert.deepEqual(lines(take(s)), []);
  assert.equal(s.tasks.get("t9")!.state, "memory");
  assert.deepEqual([s.workers.get("w1")!.stealsPending, s.workers.get("w2")!.stealsPending], [0, 0]);
});

test("when the thief leaves before the answer, the dropped tasks are placed anew", () => {
  const s = loaded();
  addWorker(s, "w3");
  take(s);
  balance(s);
  const out = lines(take(s));
  assert.equal(out.length, 1);
  const thief = [...s.tasks.values()].find((t) => t.stealTo)!.stealTo!.id;
  feed(s, { op: "worker-removed", worker: thief, reason: "crashed" });
  take(s);
  const asked = out[0]!.split(" ")[2]!.split(",");
  feed(s, { op: "steal-response", worker: "w1", stolen: asked, kept: [] });
  for (const k of asked) {
    const ts = s.tasks.get(k)!;
    assert.equal(ts.state, "processing");
    assert.notEqual(ts.processingOn!.id, thief);
  }
});

test("when the victim dies mid-steal its tasks are recomputed and the thief is free to steal again", () => {
  const s = loaded();
  balance(s);
  take(s);
  feed(s, { op: "worker-removed", worker: "w1", reason: "crashed" });
  assert.equal(s.workers.get("w2")!.stealsPending, 0);
  assert.equal(s.workers.get("w2")!.processing.size, 10);
  feed(s, { op: "steal-response", worker: "w1", stolen: ["t9"], kept: [] }); // a late answer from the dead worker is ignored
  assert.equal(s.tasks.get("t9")!.processingOn!.id, "w2");
});
