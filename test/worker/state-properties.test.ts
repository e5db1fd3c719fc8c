// Property tests of the worker's state machine: random sequences of events (compute-task with
// inputs here, on peers or nowhere, fetch results arriving, missing, failing, with expired tickets
// or bad bytes, copies asked for, tasks started, finished and failed, free-keys, steal-requests,
// scatters, results read back from the spill store under a small memory limit, so pausing and
// resuming) drive a WorkerState that validates itself after every event; then the worker is let
// finish, and every task the scheduler sent must have been answered and none may be left. Bounded
// for CI by a fixed seed and run count; for a longer hunt:
//   MESHWORK_PROPERTY_RUNS=5000 MESHWORK_PROPERTY_SEED=random node scripts/test.mjs test/worker/state-properties
// A failure prints the seed and the shrunk sequence of actions.

import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { propertySettings } from "../helpers/property-settings.js";
import { seen, WorkerDriver, type WorkerAction } from "./worker-driver.js";

/** The CI seed of this file (see propertySettings). */
const CI_SEED = 18_2027;
const settings = () => propertySettings(CI_SEED);

const index = fc.nat({ max: 30 });
const mask = fc.nat({ max: 7 });

const action: fc.Arbitrary<WorkerAction> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("compute" as const),
      key: fc.nat({ max: 11 }),
      deps: fc.array(fc.nat({ max: 21 }), { maxLength: 3 }),
      holders: mask,
      digest: fc.constantFrom(false, false, false, true),
      priority: fc.nat({ max: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("free" as const), pick: index }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("steal" as const), picks: fc.array(index, { maxLength: 3 }) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("run" as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("started" as const) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("finish" as const),
      ok: fc.constantFrom(true, true, true, false),
      nbytes: fc.constantFrom(8, 40, 90),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("answer" as const),
      pick: index,
      outcome: fc.constantFrom(
        "arrive" as const,
        "arrive" as const,
        "partial" as const,
        "fail" as const,
        "expired" as const,
        "bad-data" as const,
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("renew" as const), pick: index, holders: mask }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("acquire" as const),
      keys: fc.array(fc.nat({ max: 9 }), { maxLength: 3 }),
      holders: mask,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("scatter" as const),
      key: fc.nat({ max: 4 }),
      nbytes: fc.constantFrom(8, 60, 120),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("read" as const), pick: index }) },
);

test("random sequences of events keep the worker's state valid after every event, and every task it was sent settles", () => {
  const { numRuns, seed } = settings();
  fc.assert(
    fc.property(fc.boolean(), fc.array(action, { minLength: 10, maxLength: 80, size: "max" }), (spill, actions) => {
      const d = new WorkerDriver(spill);
      for (const a of actions) d.step(a);
      d.settle();
      assert.deepEqual([...d.outstanding], [], "tasks the scheduler still waits to hear about");
      assert.deepEqual([...d.w.tasks.keys()], [], "tasks left on the worker");
      assert.equal(d.w.readyCount === 0 || d.w.nextReady() === undefined, true);
      assert.equal(d.toldPaused, d.w.paused, "the scheduler's idea of pausing");
    }),
    { numRuns, seed },
  );
  // The runs reached every kind of situation they are meant to (else the property proves little).
  for (const kind of [
    "task-finished",
    "task-erred",
    "missing-data",
    "add-keys",
    "acquire-failed",
    "renew-tickets",
    "steal-response",
    "bad-data",
    "fetch",
    "paused-true",
    "paused-false",
    "answer-partial",
    "answer-expired",
  ])
    assert.ok((seen.get(kind) ?? 0) > 0, `no ${kind} in ${numRuns} runs: ${JSON.stringify([...seen])}`);
});
