// Work stealing in SchedulerState: idle workers get queued tasks from loaded ones, only tasks the
// victim confirms it had not started move, and nothing is lost when a party leaves mid-steal.

import assert from "node:assert/strict";
import { test } from "node:test";
import { addWorker, cluster, finish, lines, submit, task } from "../helpers/scheduler.js";

const keys = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);

/** w1 with ten queued tasks, then an idle w2 joins. */
function loaded() {
  const s = cluster(["w1"]);
  submit(
    s,
    keys(10).map((k) => task(k)),
  );
  addWorker(s, "w2");
  s.takeInstructions();
  return s;
}

test("an idle worker is given the back of a loaded worker's queue, once the victim confirms", () => {
  const s = loaded();
  assert.equal(s.balance(), 5); // until both would be through at about the same time
  assert.deepEqual(lines(s.takeInstructions()), ["w1 steal-request t9,t8,t7,t6,t5"]);
  assert.equal(s.balance(), 0, "no second request while one is out");
  s.stealResponse("w1", ["t9", "t8", "t7"], ["t6", "t5"]); // t6 and t5 had started meanwhile
  assert.deepEqual(lines(s.takeInstructions()), ["w2 compute-task t9", "w2 compute-task t8", "w2 compute-task t7"]);
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
  for (const k of keys(4)) s.taskStarted("w1", k);
  addWorker(s, "w2");
  s.takeInstructions();
  assert.equal(s.balance(), 0);
});

test("a task finished by the victim before its answer stays where it ran", () => {
  const s = loaded();
  s.balance();
  s.takeInstructions();
  finish(s, "w1", "t9");
  s.stealResponse("w1", [], ["t9", "t8", "t7", "t6", "t5"]);
  assert.deepEqual(lines(s.takeInstructions()), []);
  assert.equal(s.tasks.get("t9")!.state, "memory");
  assert.deepEqual([s.workers.get("w1")!.stealsPending, s.workers.get("w2")!.stealsPending], [0, 0]);
});

test("when the thief leaves before the answer, the dropped tasks are placed anew", () => {
  const s = loaded();
  addWorker(s, "w3");
  s.takeInstructions();
  s.balance();
  const out = lines(s.takeInstructions());
  assert.equal(out.length, 1);
  const thief = [...s.tasks.values()].find((t) => t.stealTo)!.stealTo!.id;
  s.removeWorker(thief, "crashed");
  s.takeInstructions();
  const asked = out[0]!.split(" ")[2]!.split(",");
  s.stealResponse("w1", asked, []);
  for (const k of asked) {
    const ts = s.tasks.get(k)!;
    assert.equal(ts.state, "processing");
    assert.notEqual(ts.processingOn!.id, thief);
  }
});

test("when the victim dies mid-steal its tasks are recomputed and the thief is free to steal again", () => {
  const s = loaded();
  s.balance();
  s.takeInstructions();
  s.removeWorker("w1", "crashed");
  assert.equal(s.workers.get("w2")!.stealsPending, 0);
  assert.equal(s.workers.get("w2")!.processing.size, 10);
  s.stealResponse("w1", ["t9"], []); // a late answer from the dead worker is ignored
  assert.equal(s.tasks.get("t9")!.processingOn!.id, "w2");
});
