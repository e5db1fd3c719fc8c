// The validate option (scheduler/validate.ts): a broken invariant is reported at the event that
// broke it, naming the tasks and workers involved; off, nothing is checked; a Scheduler logs it
// and fails its close() with it.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Client, Scheduler, Worker } from "../../src/internal.js";
import { findProblems, InvariantError, validateState } from "../../src/scheduler/validate.js";
import { cluster, feed, finish, submit, task } from "../helpers/scheduler.js";

test("a consistent state has no problems; each broken mirror is named with its task and worker", () => {
  const s = cluster(["w1", "w2"]);
  submit(s, [task("A"), task("B", ["A"])], ["B"]);
  finish(s, "w1", "A");
  assert.deepEqual(findProblems(s), []);
  const a = s.tasks.get("A")!;
  const b = s.tasks.get("B")!;
  const w1 = s.workers.get("w1")!;
  const w2 = s.workers.get("w2")!;
  b.processingOn!.processing.delete(b);
  a.whoHas.add(w2);
  w1.occupancy += 5;
  w2.stealsPending = 1;
  const problems = findProblems(s);
  const on = b.processingOn!.name;
  assert.ok(problems.includes(`B is processing on ${on}, whose processing set lacks it`), problems.join("\n"));
  assert.ok(problems.includes("A is held by w2, whose hasWhat lacks it"), problems.join("\n"));
  assert.ok(problems.some((p) => p.startsWith("w2 counts 1 steals pending but is part of 0")));
  assert.ok(problems.some((p) => p.startsWith("w1 has occupancy")));
  assert.throws(
    () => validateState(s, "by hand"),
    (err: unknown) =>
      err instanceof InvariantError &&
      err.name === "InvariantError" &&
      err.code === "INVARIANT" &&
      err.event === "by hand" &&
      err.problems.length === problems.length &&
      err.message.includes("A is held by w2"),
  );
});

test("with validate on, the event after which the state is broken throws; off, nothing is checked", () => {
  for (const validate of [true, false]) {
    const s = cluster(["w1"], { validate });
    submit(s, [task("A")]);
    s.workers.get("w1")!.nbytes = 99; // as a transition that forgot to count would leave it
    const next = () => submit(s, [task("B")]);
    if (validate)
      assert.throws(next, (err: unknown) => {
        assert.ok(err instanceof InvariantError);
        assert.match(err.event, /^update-graph-\d+$/);
        assert.deepEqual(err.problems, ["w1 counts 99 bytes held but its results add up to 0"]);
        return true;
      });
    else assert.doesNotThrow(next);
  }
});

test("a Scheduler with validate on logs a broken invariant, keeps serving, and fails close() with it", async () => {
  const scheduler = await Scheduler.start({ address: `inproc://validate-${Math.random()}`, validate: true });
  const worker = await Worker.start({ scheduler: scheduler.address, name: "w" });
  const client = await Client.connect(scheduler.address);
  try {
    assert.equal(await client.submit((x: number) => x + 1, 1).result(), 2);
    for (const ws of scheduler.state.workers.values()) ws.nbytes += 1_000_000;
    // Still served: the client's futures settle although the state is wrong.
    assert.equal(await client.submit((x: number) => x * 2, 21).result(), 42);
  } finally {
    await client.close();
    await worker.close();
    await assert.rejects(scheduler.close(), (err: unknown) => {
      assert.ok(err instanceof InvariantError);
      assert.match(err.problems[0]!, /^w counts \d+ bytes held but its results add up to \d+$/);
      return true;
    });
  }
});

test('validate: "sampled" checks a small state after every event and a big one every ⌈records / 100⌉ events', () => {
  const s = cluster(["w1"], { validate: "sampled" });
  s.workers.get("w1")!.nbytes = 1;
  assert.throws(() => submit(s, [task("A")]), InvariantError); // 2 records: checked at once
  const t = cluster(["w1"], { validate: "sampled" });
  submit(
    t,
    Array.from({ length: 300 }, (_, i) => task(`x-${i}`)),
  ); // 301 records: every ⌈301 / 100⌉ = 4th event is checked
  t.workers.get("w1")!.nbytes = 1;
  feed(t, { op: "balance" });
  feed(t, { op: "balance" });
  assert.throws(() => feed(t, { op: "balance" }), InvariantError);
});
