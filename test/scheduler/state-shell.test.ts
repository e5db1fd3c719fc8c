// Decisions the shell used to make, now pure functions of the state tested synchronously: the
// worker TTL (check-ttl), when a worker was last heard from, the per-process adaptive policy
// (processes.ts) and the cluster's adaptive decision with its hysteresis (adaptive.ts); and the
// events' own stimulus in the story.

import assert from "node:assert/strict";
import { test } from "node:test";
import { adaptDecision } from "../../src/scheduler/adaptive.js";
import {
  mayRetire,
  processBounds,
  processClosable,
  processGroups,
  scaleUpAsks,
} from "../../src/scheduler/processes.js";
import type { SchedulerState } from "../../src/scheduler/state.js";
import { addWorker, cluster, feed, submit, take, task } from "../helpers/scheduler.js";

const TTL = 300_000;

test("check-ttl lets go of the workers silent past the TTL, once each; any message from a worker restarts its clock", () => {
  const s = cluster([]);
  s.now = 0;
  addWorker(s, "w1");
  addWorker(s, "w2");
  s.now = 200_000;
  feed(s, { op: "heard-from", worker: "w2" }); // e.g. an rtc-signal
  s.now = TTL + 1;
  feed(s, { op: "check-ttl", ttlMs: TTL });
  assert.deepEqual(take(s), [
    {
      to: "scheduler",
      id: "self",
      msg: { op: "worker-expired", worker: "w1", name: "w1", reason: "no word from it for 300 s (worker TTL 300 s)" },
    },
  ]);
  feed(s, { op: "check-ttl", ttlMs: TTL });
  assert.deepEqual(take(s), [], "told once: its connection is being closed");
  s.now = 200_000 + TTL + 1;
  feed(s, { op: "heartbeat", worker: "w2", memory: 0, executing: 0, ready: 3, spilled: 0, paused: false });
  feed(s, { op: "check-ttl", ttlMs: TTL });
  assert.deepEqual(take(s), [], "a heartbeat is word from it");
  assert.equal(s.workers.get("w2")!.ready, 3, "heartbeat's ready is read");
  assert.equal(s.workers.get("w2")!.lastSeen, 200_000 + TTL + 1);
});

test("a worker let go for its silence counts as lost, not as leaving, even when its connection closed cleanly", () => {
  const s = cluster(["w1", "w2"]);
  submit(s, [task("A", [], { workers: ["w1"] })]);
  feed(s, { op: "task-started", worker: "w1", key: "A" });
  s.now = TTL + 1;
  feed(s, { op: "heard-from", worker: "w2" });
  feed(s, { op: "check-ttl", ttlMs: TTL });
  take(s);
  feed(s, { op: "worker-removed", worker: "w1", reason: "closed", graceful: true });
  assert.equal(s.tasks.get("A")!.suspicious, 1, "it died running A");
  assert.deepEqual(s.takeNotices(), [
    {
      level: "warn",
      text: "worker w1 was lost (closed); computing 1 task again (1 it was running, 0 results only it held); 1 worker left",
      throttled: false,
    },
  ]);
});

test("a stimulus given with an event names it in the story; without one the state numbers it", () => {
  const s = cluster(["w1"]);
  submit(s, [task("A")]);
  feed(s, { op: "task-finished", worker: "w1", key: "A", nbytes: 8, duration: 1, stimulus: "task-finished-w1-7" });
  assert.deepEqual(
    s.storyOf("A").map((e) => e.stimulus),
    ["update-graph-2", "update-graph-2", "task-finished-w1-7"],
  );
});

/** A cluster with one fixed worker and two adaptive processes: p1 (1..3, threads p1-a, p1-b), p2 (0..2, p2-a). */
function processes(): SchedulerState {
  const s = cluster(["fixed"]);
  const join = (id: string, group: string, minimum: number, maximum: number) =>
    feed(s, {
      op: "worker-added",
      worker: id,
      hello: {
        address: `addr-${id}`,
        kind: "thread",
        nthreads: 1,
        memoryLimit: 0,
        resources: {},
        name: id,
        group: { id: group, adapt: { minimum, maximum } },
      },
    });
  join("p1-a", "p1", 1, 3);
  join("p1-b", "p1", 1, 3);
  join("p2-a", "p2", 0, 2);
  take(s);
  return s;
}

test("adaptive processes: bounds add up over processes and fixed workers; a process is grown within its maximum", () => {
  const s = processes();
  assert.deepEqual(
    [...processGroups(s)].map(([id, g]) => [id, g.members.map((ws) => ws.id)]),
    [
      ["p1", ["p1-a", "p1-b"]],
      ["p2", ["p2-a"]],
    ],
  );
  assert.deepEqual(processBounds(s), { minimum: 1 + 1 + 0, maximum: 1 + 3 + 2 });
  assert.deepEqual(scaleUpAsks(s, 2), [
    { worker: "p1-a", n: 1 },
    { worker: "p2-a", n: 1 },
  ]);
  assert.deepEqual(
    scaleUpAsks(s, 10),
    [
      { worker: "p1-a", n: 1 },
      { worker: "p2-a", n: 1 },
    ],
    "only what fits",
  );
  assert.deepEqual(scaleUpAsks(s, 1), [{ worker: "p1-a", n: 1 }]);
});

test("adaptive processes: only their threads above each process's minimum may be retired, however many are picked", () => {
  const s = processes();
  assert.equal(processClosable(s, s.workers.get("fixed")!), false, "a worker without bounds");
  assert.equal(processClosable(s, s.workers.get("p1-a")!), true);
  assert.equal(processClosable(s, s.workers.get("p2-a")!), true);
  assert.deepEqual(mayRetire(s, ["p1-a", "p1-b", "p2-a", "fixed", "gone"]), ["p1-a", "p2-a"]);
  feed(s, { op: "retire-workers", workers: ["p1-a"], ticket: 1 });
  assert.equal(processClosable(s, s.workers.get("p1-b")!), false, "p1 is at its minimum once p1-a is leaving");
});

test("adaptDecision grows at once, shrinks only after `wait` low checks in a row, and retires idle workers holding least", () => {
  const s = cluster(["w1", "w2", "w3"]);
  const o = { minimum: 0, maximum: 10, targetDurationMs: 100, memoryFraction: 0.6, wait: 3 };
  submit(s, [task("R", [], { workers: ["w3"] })]);
  feed(s, { op: "task-finished", worker: "w3", key: "R", nbytes: 100, duration: 1 });
  // Holding a result, nothing queued: one worker is called for, two are idle.
  assert.deepEqual(adaptDecision(s, o, 0), { up: 0, down: [], lowChecks: 1 });
  assert.deepEqual(adaptDecision(s, o, 1), { up: 0, down: [], lowChecks: 2 });
  assert.deepEqual(adaptDecision(s, o, 2), { up: 0, down: ["w1", "w2"], lowChecks: 0 });
  assert.deepEqual(
    adaptDecision(s, o, 2, (ws) => ws.id !== "w1"),
    { up: 0, down: ["w2", "w3"], lowChecks: 0 },
    "only closable ones (w3, holding R, last)",
  );
  s.durations.set("inc", 50);
  submit(
    s,
    Array.from({ length: 10 }, (_, i) => task(`inc-${i}`)),
  );
  assert.deepEqual(adaptDecision(s, o, 2), { up: 2, down: [], lowChecks: 0 }, "500 ms of work at 100 ms each: 5");
  assert.deepEqual(adaptDecision(s, { ...o, maximum: 3 }, 2), { up: 0, down: [], lowChecks: 0 }, "at the target");
});

test("only events change the state: its machinery is not reachable from outside, and each event's instructions come back once", () => {
  const s = cluster(["w1"]);
  for (const name of ["recommend", "transition", "begin", "run", "addReplica", "taskFinished", "takeInstructions"])
    assert.equal(name in s, false, name);
  const out = s.handle({ op: "update-graph", client: "c", tasks: [task("A")], fns: [], wants: ["A"] });
  assert.deepEqual(
    out.map((i) => `${i.id} ${i.msg.op}`),
    ["w1 compute-task"],
  );
  assert.deepEqual(s.handle({ op: "heard-from", worker: "w1" }), [], "handed back once, not again");
});
