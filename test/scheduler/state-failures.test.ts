// SchedulerState when things go wrong: errors and retries, cancellation, restrictions, lost workers and data.

import assert from "node:assert/strict";
import { test } from "node:test";
import { WorkerState, type Instruction } from "../../src/internal.js";
import { addWorker, cluster, feed, finish, lines, submit, take, task } from "../helpers/scheduler.js";

const BOOM = { name: "TypeError", message: "boom", stack: "TypeError: boom\n    at inc" };
function erred(out: Instruction[], key: string) {
  const i = out.find((x) => x.msg.op === "key-erred" && x.msg.key === key);
  assert.ok(i && i.msg.op === "key-erred", `no key-erred for ${key} in ${lines(out).join("; ")}`);
  return i.msg;
}

test("task-erred without retries sends key-erred with the error data", () => {
  const s = cluster(["w1"]);
  submit(s, [task("A")]);
  feed(s, { op: "task-erred", worker: "w1", key: "A", error: BOOM });
  assert.deepEqual(take(s), [{ to: "client", id: "c", msg: { op: "key-erred", key: "A", error: BOOM, blame: "A" } }]);
  assert.equal(s.tasks.get("A")!.state, "erred");
  assert.equal(s.workers.get("w1")!.processing.size, 0);
});

test("dependents of an erred task err too, blaming the failed key", () => {
  const s = cluster(["w1"]);
  submit(s, [task("A"), task("B", ["A"]), task("C", ["B"])], ["A", "C"]);
  feed(s, { op: "task-erred", worker: "w1", key: "A", error: BOOM });
  const out = take(s);
  assert.deepEqual(lines(out), ["c key-erred A", "c key-erred C"]); // B is not wanted: nobody to tell
  assert.deepEqual(erred(out, "C"), { op: "key-erred", key: "C", error: BOOM, blame: "A" });
  assert.deepEqual(
    ["A", "B", "C"].map((k) => s.tasks.get(k)?.state),
    ["erred", "erred", "erred"],
  );
  // Submitting on top of an erred key errs at once, still blaming A.
  const late = submit(s, [task("D", ["C"])]);
  assert.equal(erred(late, "D").blame, "A");
});

test("a task with retries 2 is resent twice before it errs", () => {
  const s = cluster(["w1"]);
  submit(s, [task("A", [], { retries: 2 })]);
  for (let attempt = 1; attempt <= 2; attempt++) {
    feed(s, { op: "task-erred", worker: "w1", key: "A", error: BOOM });
    const out = take(s);
    assert.ok(lines(out).includes("w1 compute-task A"), `retry ${attempt}: ${lines(out).join("; ")}`);
    assert.equal(s.tasks.get("A")!.state, "processing");
  }
  feed(s, { op: "task-erred", worker: "w1", key: "A", error: BOOM });
  assert.deepEqual(lines(take(s)), ["c key-erred A"]);
});

test("a retry reaches the worker as a task it will run, not one freed right after", () => {
  // The worker forgot A when it reported task-erred, so it needs no free-keys; one sent after the
  // new compute-task makes the worker drop the retry while the scheduler waits on it forever.
  const s = cluster(["w1"]);
  const w = new WorkerState("addr-w1");
  const deliver = (out: Instruction[]) => {
    for (const { msg } of out) {
      if (msg.op === "compute-task") w.handle({ op: "compute-task", task: msg, stimulus: "test" });
      else if (msg.op === "free-keys") w.handle({ op: "free-keys", keys: msg.keys, stimulus: "test" });
    }
  };
  deliver(submit(s, [task("A", [], { retries: 1 })]));
  w.handle({ op: "task-erred", task: w.nextReady()!, error: BOOM, stimulus: "test" });
  feed(s, { op: "task-erred", worker: "w1", key: "A", error: BOOM });
  const out = take(s);
  deliver(out);
  assert.equal(s.tasks.get("A")!.state, "processing");
  assert.equal(w.nextReady()?.key, "A", `worker got: ${lines(out).join("; ")}`);
});

test("cancelling a processing key sends key-cancelled, frees it on the worker and forgets it", () => {
  const s = cluster(["w1"]);
  submit(s, [task("A")]);
  feed(s, { op: "cancel", client: "c", keys: ["A"] });
  assert.deepEqual(take(s), [
    { to: "client", id: "c", msg: { op: "key-cancelled", key: "A" } },
    { to: "worker", id: "w1", msg: { op: "free-keys", keys: ["A"] } },
  ]);
  assert.equal(s.tasks.has("A"), false);
  assert.deepEqual(finish(s, "w1", "A"), [{ to: "worker", id: "w1", msg: { op: "free-keys", keys: ["A"] } }]);
});

test("cancelling a key cancels the client's dependents of it, frees it on the worker and computes nothing more", () => {
  const s = cluster(["w1"]);
  submit(s, [task("A"), task("B", ["A"]), task("C", ["B"])]);
  feed(s, { op: "cancel", client: "c", keys: ["A"] });
  const out = take(s);
  assert.deepEqual(
    lines(out)
      .filter((l) => l.includes("key-cancelled"))
      .sort(),
    ["c key-cancelled A", "c key-cancelled B", "c key-cancelled C"],
  );
  // Nobody needs A any more, so the worker running it should be told to drop it.
  assert.ok(lines(out).includes("w1 free-keys A"), `got ${lines(out).join("; ")}`);
  assert.equal(s.tasks.size, 0, `left: ${[...s.tasks.values()].map((t) => `${t.key}:${t.state}`).join(", ")}`);
  assert.deepEqual(lines(finish(s, "w1", "A")), ["w1 free-keys A"]);
});

test("a task restricted to worker w2 only goes to w2", () => {
  const s = cluster(["w1", "w2"]);
  // w1 is idle and would win on occupancy; the restriction overrides that, every time.
  assert.deepEqual(lines(submit(s, [task("A", [], { workers: ["w2"] }), task("B", [], { workers: ["w2"] })])), [
    "w2 compute-task A",
    "w2 compute-task B",
  ]);
  feed(s, { op: "worker-removed", worker: "w2", reason: "test" });
  // The client hears why they wait (once each: no-worker, not also "recomputing").
  const out = take(s);
  assert.deepEqual(lines(out), ["c key-waiting A", "c key-waiting B"]);
  assert.match(
    (out[0]!.msg as { reason: string }).reason,
    /may only run on "w2", and no such worker is connected \(workers: w1\)/,
  );
  assert.deepEqual([s.tasks.get("A")!.state, s.tasks.get("B")!.state], ["no-worker", "no-worker"]);
});

test("a task needing a gpu waits in no-worker until a worker with a gpu joins", () => {
  const s = cluster(["w1"]);
  assert.deepEqual(submit(s, [task("A", [], { resources: { gpu: 1 } })]), [
    {
      to: "client",
      id: "c",
      msg: {
        op: "key-waiting",
        key: "A",
        why: "no-worker",
        reason: 'it needs resources {"gpu":1}, which no connected worker offers (w1 {})',
      },
    },
  ]);
  assert.equal(s.tasks.get("A")!.state, "no-worker");
  assert.deepEqual(
    [...s.unrunnable].map((t) => t.key),
    ["A"],
  );
  addWorker(s, "w-cpu", { cpu: 8 });
  assert.deepEqual(take(s), []); // still no-worker: told once, not again
  addWorker(s, "w-gpu", { gpu: 1 });
  assert.deepEqual(lines(take(s)), ["w-gpu compute-task A"]);
  assert.equal(s.unrunnable.size, 0);
});

test("a task running on a worker that leaves is sent to another worker", () => {
  const s = cluster(["w1", "w2"]);
  submit(s, [task("A")]);
  feed(s, { op: "worker-removed", worker: "w1", reason: "connection lost" });
  // Nothing goes to the dead worker.
  const out = take(s);
  assert.deepEqual(lines(out), ["w2 compute-task A", "c key-waiting A"]);
  assert.deepEqual(out[1]!.msg, {
    op: "key-waiting",
    key: "A",
    why: "recomputing",
    reason: "worker w1 was lost (connection lost)",
  });
  assert.equal(s.tasks.get("A")!.processingOn!.id, "w2");
  assert.deepEqual(lines(finish(s, "w2", "A")), ["c key-in-memory A"]);
});

test("a result held only by a lost worker and still wanted is recomputed", () => {
  const s = cluster(["w1", "w2"]);
  submit(s, [task("B")]);
  finish(s, "w1", "B");
  submit(s, [task("A")]); // w1 is idle again and first: A runs there too
  feed(s, { op: "worker-removed", worker: "w1", reason: "connection lost" });
  // A is resent; B's only copy is gone, so it is computed again, both on the survivor, and the
  // client that wants B is told to wait for the new result rather than fetch the lost one.
  // B's client heard key-lost; A, which B needs, is news: "recomputing".
  assert.deepEqual(lines(take(s)), ["c key-lost B", "w2 compute-task A", "w2 compute-task B", "c key-waiting A"]);
  assert.deepEqual(s.whoHas(["B"]), { B: [] });
  assert.deepEqual(lines(finish(s, "w2", "B")), ["c key-in-memory B"]);
});

test("missing-data drops the stale holder and resends the task without freeing it again", () => {
  // The worker already dropped B when it reported missing-data; a free-keys sent after the new
  // compute-task would make it drop the resent B too, and nobody would ever finish it.
  const s = cluster(["w1", "w2", "w3"]);
  submit(s, [
    task("A", [], { workers: ["w1"] }),
    task("B", ["A"], { workers: ["w3"] }),
    task("C", ["A"], { workers: ["w2"] }),
  ]);
  finish(s, "w1", "A");
  take(s);
  feed(s, { op: "add-keys", worker: "w2", keys: [{ key: "A", nbytes: 8 }] }); // a replica (C's input) the scheduler learns of after B was sent
  feed(s, { op: "missing-data", worker: "w3", key: "B", dep: "A", from: "addr-w1" });
  assert.deepEqual(s.whoHas(["A"]), { A: ["addr-w2"] });
  const out = take(s);
  assert.deepEqual(lines(out), ["w3 compute-task B"]);
  assert.ok(out[0]!.msg.op === "compute-task");
  assert.deepEqual(out[0]!.msg.deps, [{ key: "A", who: ["addr-w2"], nbytes: 8 }]);
});

test("claims to hold a key a worker was never told to compute or fetch are ignored (and the key freed there)", () => {
  const s = cluster(["w1", "w2", "w3"]);
  submit(s, [task("A", [], { workers: ["w1"] })]);
  finish(s, "w1", "A");
  take(s);
  feed(s, { op: "add-keys", worker: "w2", keys: [{ key: "A", nbytes: 8 }] });
  feed(s, { op: "task-finished", worker: "w2", key: "A", nbytes: 8, duration: 1 });
  feed(s, { op: "missing-data", worker: "w2", key: "X", dep: "A", from: "addr-w1" });
  assert.deepEqual(s.whoHas(["A"]), { A: ["addr-w1"] });
  assert.deepEqual(lines(take(s)), ["w2 free-keys A", "w2 free-keys A"]); // after add-keys, after task-finished
  assert.deepEqual(
    s.ignoredClaims.map((c) => `${c.worker} ${c.op} ${c.key}`),
    ["w2 add-keys A", "w2 task-finished A", "w2 missing-data A"],
  );
});

test("a scattered value lost with its worker errs with LostDataError for the wanting client", () => {
  const s = cluster(["w1"]);
  feed(s, { op: "update-data", client: "c", entries: [{ key: "x", worker: "addr-w1", nbytes: 8 }] });
  assert.deepEqual(lines(take(s)), ["c key-in-memory x"]);
  submit(s, [task("B", ["x"])]);
  finish(s, "w1", "B");
  feed(s, { op: "worker-removed", worker: "w1", reason: "connection lost" });
  const out = take(s);
  const e = erred(out, "x");
  assert.deepEqual([e.error.name, e.error.code, e.blame], ["LostDataError", "LOST_DATA", "x"]);
  // B could be recomputed, but not without x: it errs too rather than wait forever.
  assert.equal(erred(out, "B").blame, "x");
});

test("a task that was running on 3 workers that all died errs with KilledWorkerError", () => {
  const s = cluster(["w1", "w2", "w3", "w4"]);
  submit(s, [task("A")]);
  for (const dead of ["w1", "w2"]) {
    assert.equal(s.tasks.get("A")!.processingOn!.id, dead);
    feed(s, { op: "worker-removed", worker: dead, reason: "crashed" });
    assert.deepEqual(
      lines(take(s)).map((l) => l.split(" ")[1]),
      ["compute-task", "key-waiting"],
    ); // resent, and said so
  }
  feed(s, { op: "worker-removed", worker: "w3", reason: "crashed" });
  const out = take(s);
  assert.deepEqual(lines(out), ["c key-erred A"]); // w4 is not tried
  assert.deepEqual([erred(out, "A").error.name, erred(out, "A").error.code], ["KilledWorkerError", "KILLED_WORKER"]);
});

test("a task naming a dependency the scheduler never heard of errs with LOST_DATA", () => {
  const s = cluster(["w1"]);
  const out = submit(s, [task("B", ["released-long-ago"])]);
  assert.deepEqual(lines(out), ["c key-erred B"]);
  assert.deepEqual([erred(out, "B").error.code, erred(out, "B").blame], ["LOST_DATA", "B"]);
  assert.equal(s.tasks.has("released-long-ago"), false);
});

test("a dependent resent after its worker died keeps its dependency's result instead of recomputing it", () => {
  // A is no longer wanted by the client, only by B. When B goes back to waiting, A is still needed.
  const s = cluster(["w1", "w2"]);
  submit(s, [task("A", [], { workers: ["w1"] }), task("B", ["A"], { workers: ["w2", "w3"] })], ["B"]);
  finish(s, "w1", "A");
  feed(s, { op: "worker-removed", worker: "w2", reason: "crashed" });
  addWorker(s, "w3");
  const out = take(s);
  assert.equal(
    s.tasks.get("A")!.state,
    "memory",
    `A went ${s
      .storyOf("A")
      .map((e) => e.finish)
      .join(">")}; sent ${lines(out).join("; ")}`,
  );
  assert.deepEqual(lines(out), ["c key-waiting B", "w3 compute-task B"]); // B waited for a worker it may use
});

test("a dependent resent after its worker died still finds a scattered input the client has released", () => {
  const s = cluster(["w1", "w2"]);
  feed(s, { op: "update-data", client: "c", entries: [{ key: "x", worker: "addr-w1", nbytes: 8 }] });
  submit(s, [task("B", ["x"], { workers: ["w2", "w3"] })]);
  feed(s, { op: "release-keys", client: "c", keys: ["x"] }); // the usual `scatter; submit; release` pattern: B alone keeps x
  feed(s, { op: "worker-removed", worker: "w2", reason: "crashed" });
  addWorker(s, "w3");
  take(s);
  // x cannot be recomputed: if it is freed now, B can never run and the client never hears back.
  assert.equal(
    s.tasks.get("x")!.state,
    "memory",
    `x went ${s
      .storyOf("x")
      .map((e) => e.finish)
      .join(">")}`,
  );
  assert.equal(s.tasks.get("B")!.state, "processing");
});

test("a task recommended to run whose input is released later in the same event waits for that input again", () => {
  const s = cluster(["w1"]);
  submit(s, [task("A"), task("B", ["A"]), task("C", ["B", "A"]), task("D", ["B"])], ["D"]);
  finish(s, "w1", "A");
  finish(s, "w1", "B");
  assert.deepEqual([s.tasks.get("C")!.state, s.tasks.get("D")!.state], ["processing", "processing"]);
  // w1 lost B: C (wanted by nobody) is dropped, which frees A; B, needed by D, is computed again,
  // and needs A, which must be computed again first.
  feed(s, { op: "missing-data", worker: "w1", key: "C", dep: "B", from: "addr-w1" });
  const out = lines(take(s));
  assert.ok(!out.includes("w1 compute-task B"), out.join("; "));
  assert.equal(s.tasks.get("B")!.state, "waiting");
  assert.deepEqual(lines(finish(s, "w1", "A")), ["w1 compute-task B"]);
});
