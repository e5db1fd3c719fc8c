// SchedulerState when workers leave: which tasks a dead worker is blamed for, and graceful
// retirement (queued tasks move, unique results are copied, then the worker is told to close).

import assert from "node:assert/strict";
import { test } from "node:test";
import type { Instruction } from "../../src/internal.js";
import { addWorker, cluster, feed, finish, lines, submit, take, task } from "../helpers/scheduler.js";

function retired(out: Instruction[]) {
  const i = out.find((x) => x.msg.op === "retirement-done");
  assert.ok(i && i.msg.op === "retirement-done", `no retirement-done in ${lines(out).join("; ")}`);
  return i.msg.result;
}

test("a dead worker is blamed only for the tasks it said it was running, not for its whole queue", () => {
  const s = cluster(["w1"]);
  submit(s, [task("A"), task("B")]);
  for (const w of ["w1", "w2", "w3"]) {
    if (w !== "w1") addWorker(s, w);
    assert.deepEqual([s.tasks.get("A")!.processingOn?.id, s.tasks.get("B")!.processingOn?.id], [w, w]);
    feed(s, { op: "task-started", worker: w, key: "A" });
    feed(s, { op: "worker-removed", worker: w, reason: "crashed" });
    take(s);
  }
  assert.equal(s.tasks.get("A")!.state, "erred");
  assert.equal(s.tasks.get("A")!.error!.name, "KilledWorkerError");
  assert.equal(s.tasks.get("B")!.suspicious, 0);
  assert.equal(s.tasks.get("B")!.state, "no-worker"); // waits for a worker, unharmed
});

test("a worker that died in a run of quick tasks is blamed for the first of its queue in priority order", () => {
  const s = cluster(["w1", "w2"]);
  submit(s, [task("A", [], { workers: ["w1"] }), task("B", [], { workers: ["w1"] })]);
  feed(s, { op: "worker-removed", worker: "w1", reason: "crashed" });
  assert.deepEqual([s.tasks.get("A")!.suspicious, s.tasks.get("B")!.suspicious], [1, 0]);
});

test("a task a worker finished is no longer a suspect when that worker dies later", () => {
  const s = cluster(["w1", "w2"]);
  submit(s, [task("A", [], { workers: ["w1"] }), task("B", [], { workers: ["w1"] })]);
  feed(s, { op: "task-started", worker: "w1", key: "A" });
  finish(s, "w1", "A");
  feed(s, { op: "task-started", worker: "w1", key: "B" });
  feed(s, { op: "worker-removed", worker: "w1", reason: "crashed" });
  assert.deepEqual([s.tasks.get("A")!.suspicious, s.tasks.get("B")!.suspicious], [0, 1]);
});

test("retiring a worker copies the results only it holds to another worker, then closes it; nothing is recomputed", () => {
  const s = cluster(["w1", "w2", "w3"]);
  submit(s, [task("A", [], { workers: ["w1"] }), task("B", [], { workers: ["w1"] })]);
  finish(s, "w1", "A", 100);
  finish(s, "w1", "B", 50);
  feed(s, { op: "update-data", client: "c", entries: [{ key: "B", worker: "addr-w3", nbytes: 50 }] }); // B has a copy already
  s.now = 1000;
  feed(s, { op: "retire-workers", workers: ["w1"], ticket: 7 });
  assert.deepEqual(lines(take(s)), ["w2 acquire-replicas A"]);
  assert.equal(s.workers.get("w1")!.status, "closing");
  s.now = 1040;
  feed(s, { op: "add-keys", worker: "w2", keys: [{ key: "A", nbytes: 100 }] });
  assert.deepEqual(lines(take(s)), ["w1 close-worker "]);
  feed(s, { op: "worker-removed", worker: "w1", reason: "retired", graceful: true });
  const out = take(s);
  assert.deepEqual(lines(out), ["scheduler retired w1 kept "]);
  assert.deepEqual(retired(out), { retired: ["w1"], kept: [], moved: { keys: 1, bytes: 100 }, ms: 40 });
  assert.equal(s.tasks.get("A")!.state, "memory");
  assert.deepEqual(
    [...s.tasks.get("A")!.whoHas].map((w) => w.id),
    ["w2"],
  );
  assert.equal(s.story.of("A").filter((e) => e.finish === "processing").length, 1); // computed once
});

test("a retiring worker gives back its queued tasks, finishes the one it runs, and that result moves too", () => {
  const s = cluster(["w1", "w2"]);
  submit(s, [
    task("A", [], { workers: ["w1", "w2"] }),
    task("B", [], { workers: ["w1", "w2"] }),
    task("C", [], { workers: ["w1", "w2"] }),
  ]);
  // A and C went to w1 and B to w2 (occupancy); w1 says it is running A.
  const onW1 = [...s.workers.get("w1")!.processing].map((t) => t.key).sort();
  assert.deepEqual(onW1, ["A", "C"]);
  feed(s, { op: "task-started", worker: "w1", key: "A" });
  feed(s, { op: "retire-workers", workers: ["w1"], ticket: 1 });
  assert.deepEqual(lines(take(s)), ["w2 compute-task C", "w1 free-keys C"]);
  // A's result lives only on w1, which is leaving: it is copied before w1 closes.
  assert.deepEqual(lines(finish(s, "w1", "A")), ["c key-in-memory A", "w2 acquire-replicas A"]);
  assert.equal(s.pendingReplicas.get(s.tasks.get("A")!)?.id, "w2");
});

test("a worker whose results have nowhere else to go is kept, and says why", () => {
  const s = cluster(["w1"]);
  submit(s, [task("A")]);
  finish(s, "w1", "A");
  feed(s, { op: "retire-workers", workers: ["w1", "nobody"], ticket: 3 });
  const r = retired(take(s));
  assert.deepEqual(r.retired, []);
  assert.deepEqual(
    r.kept.map((k) => k.id),
    ["nobody", "w1"],
  );
  assert.match(r.kept[1]!.reason, /no other running worker can hold its 1 unique result/);
  assert.equal(s.workers.get("w1")!.status, "running");
  submit(s, [task("B")]);
  assert.equal(s.tasks.get("B")!.processingOn?.id, "w1"); // takes tasks again
});

test("a copy that fails is asked of another worker; after three failures the worker closes anyway", () => {
  const s = cluster(["w1", "w2", "w3"]);
  submit(s, [task("A", [], { workers: ["w1"] })]);
  finish(s, "w1", "A");
  feed(s, { op: "retire-workers", workers: ["w1"], ticket: 1 });
  assert.deepEqual(lines(take(s)), ["w2 acquire-replicas A"]);
  feed(s, { op: "acquire-failed", worker: "w2", keys: ["A"] });
  assert.deepEqual(lines(take(s)), ["w3 acquire-replicas A"]);
  feed(s, { op: "acquire-failed", worker: "w3", keys: ["A"] });
  assert.deepEqual(lines(take(s)), ["w2 acquire-replicas A"]);
  feed(s, { op: "acquire-failed", worker: "w2", keys: ["A"] });
  assert.deepEqual(lines(take(s)), ["w1 close-worker "]);
});

test("when the worker asked for a copy dies, the copy is asked of another", () => {
  const s = cluster(["w1", "w2", "w3"]);
  submit(s, [task("A", [], { workers: ["w1"] })]);
  finish(s, "w1", "A");
  feed(s, { op: "retire-workers", workers: ["w1"], ticket: 1 });
  assert.deepEqual(lines(take(s)), ["w2 acquire-replicas A"]);
  feed(s, { op: "worker-removed", worker: "w2", reason: "crashed" });
  assert.deepEqual(lines(take(s)), ["w3 acquire-replicas A"]);
});

test("a copy reported late (add-keys) of a result lost meanwhile does not drop the task the worker now computes again", () => {
  const s = cluster(["w1"]);
  submit(s, [task("A")]);
  finish(s, "w1", "A");
  addWorker(s, "w2");
  feed(s, { op: "retire-workers", workers: ["w1"], ticket: 1 });
  assert.deepEqual(lines(take(s)), ["w2 acquire-replicas A"]);
  // w1 dies before w2's copy is confirmed: A is lost and computed again, on w2.
  feed(s, { op: "worker-removed", worker: "w1", reason: "crashed" });
  assert.ok(lines(take(s)).includes("w2 compute-task A"));
  // Then w2's copy is reported, late: w2 must not be told to drop A, which it is computing.
  feed(s, { op: "add-keys", worker: "w2", keys: [{ key: "A", nbytes: 8 }] });
  assert.deepEqual(lines(take(s)), []);
  assert.deepEqual(lines(finish(s, "w2", "A")), ["c key-in-memory A"]);
});
