// Taking work back (issue 20) as a pure state machine: a task past its `timeout` is taken back and
// run elsewhere, failing with TimeoutError after three workers; untrusted workers get the
// scheduler's default; a worker that ignores a steal-request loses the tasks it has not started.

import assert from "node:assert/strict";
import { test } from "node:test";
import { STEAL_ANSWER_TIMEOUT_MS } from "../../src/scheduler/timeouts.js";
import { addWorker, balance, cluster, feed, lines, submit, take, task } from "../helpers/scheduler.js";

test("a task past its timeout is taken back from its worker and sent to another, never back to the same one", () => {
  const s = cluster(["w1", "w2"]);
  submit(s, [task("A", [], { timeout: 100 })]);
  const first = s.tasks.get("A")!.processingOn!.id;
  s.now = 99;
  feed(s, { op: "check-timeouts" });
  assert.deepEqual(take(s), [], "not yet");
  s.now = 101;
  feed(s, { op: "check-timeouts" });
  const other = first === "w1" ? "w2" : "w1";
  assert.deepEqual(lines(take(s)), [`${other} compute-task A`, `${first} free-keys A`]);
  // A late answer from the first worker is not taken.
  feed(s, { op: "task-finished", worker: first, key: "A", nbytes: 8, duration: 1 });
  assert.equal(s.tasks.get("A")!.state, "processing");
  assert.ok(
    s
      .storyOf("A")
      .some((e) => e.start === "processing" && e.finish === "released" && /timeout of 100 ms/.test(e.note ?? "")),
  );
});

test("after running past its timeout on three workers a task fails with TimeoutError", () => {
  const s = cluster(["w1", "w2", "w3"]);
  submit(s, [task("A", [], { timeout: 10 })]);
  for (let i = 1; i <= 3; i++) {
    s.now = 20 * i;
    feed(s, { op: "check-timeouts" });
  }
  const ts = s.tasks.get("A")!;
  assert.equal(ts.state, "erred");
  assert.equal(ts.error?.name, "TimeoutError");
  assert.match(ts.error?.message ?? "", /3 workers/);
});

test("untrusted workers get the scheduler's default timeout; trusted workers none", () => {
  const s = cluster(["t1"], { untrustedTaskTimeoutMs: 50 });
  addWorker(s, "u1", {}, false, "h");
  take(s);
  submit(s, [task("U", [], { workers: ["u1"] }), task("T", [], { workers: ["t1"] })]);
  s.now = 1_000_000;
  feed(s, { op: "check-timeouts" });
  assert.notEqual(s.tasks.get("U")!.processingOn?.id, "u1");
  assert.equal(s.tasks.get("T")!.processingOn?.id, "t1");
});

test("a worker that does not answer a steal-request loses every queued task it has not said it started", () => {
  const s = cluster(["w1"]);
  submit(
    s,
    Array.from({ length: 10 }, (_, i) => task(`t${i}`)),
  );
  feed(s, { op: "task-started", worker: "w1", key: "t0" });
  addWorker(s, "w2");
  take(s);
  assert.ok(balance(s) > 0);
  take(s);
  s.now = STEAL_ANSWER_TIMEOUT_MS + 1;
  feed(s, { op: "check-timeouts" });
  const w1 = s.workers.get("w1")!;
  assert.deepEqual(
    [...w1.processing].map((t) => t.key),
    ["t0"],
    "only the task it said it runs stays",
  );
  assert.equal(w1.stealsPending, 0);
  assert.equal(s.workers.get("w2")!.stealsPending, 0);
  // A late steal-response changes nothing.
  feed(s, { op: "steal-response", worker: "w1", stolen: ["t9"], kept: [] });
  assert.notEqual(s.tasks.get("t9")!.processingOn?.id, "w1");
});
