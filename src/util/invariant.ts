// What the `validate` modes of the state machines share (scheduler/validate.ts, worker/validate.ts):
// the error a broken invariant raises, and the realm's default for members whose options say nothing.

/**
 * A state machine's state broke its invariants: a bug in meshwork. `problems` lists each one with
 * the task keys and workers involved. Internal (never sent to clients): it is raised only with
 * `validate` on; the Scheduler and the Worker log it and their close() rejects with it.
 */
export class InvariantError extends Error {
  override readonly name = "InvariantError";
  readonly code = "INVARIANT";
  constructor(
    /** What was being handled (the event's stimulus), e.g. "task-finished-12". */
    readonly event: string,
    readonly problems: readonly string[],
    /** Whose state: "scheduler", or "worker <name>". */
    readonly subject = "scheduler",
  ) {
    super(`${subject} state is inconsistent after ${event}: ${problems.length} problem(s)\n  ${problems.join("\n  ")}`);
  }
}

/** Problems listed at most per check (a broken invariant usually breaks it for many tasks at once). */
export const MAX_PROBLEMS = 50;

/**
 * With `validate: "sampled"`, records (tasks, workers, held keys) checked per event on average: a
 * state up to this size is checked after every event, a bigger one every ⌈records / this⌉ events. A
 * check costs about 1 µs per record; checking a 1,000-task state after every event made the
 * 100,000-task soak test (test/resilience/soak.test.ts) run past its 5-minute timeout. Most bugs
 * leave lasting damage (a stuck task, a count that drifted), which a later check still finds; the
 * property tests and the pure-state tests use `validate: true`, every event.
 */
export const VALIDATE_RECORDS_PER_EVENT = 100;

/** Whether a `validate: "sampled"` state checks after this event, given its records and the events since its last check. */
export function dueForCheck(mode: boolean | "sampled", unchecked: number, records: number): boolean {
  return mode === true || (mode === "sampled" && unchecked * VALIDATE_RECORDS_PER_EVENT >= records);
}

/**
 * Whether schedulers and workers validate when their options do not say: off, except where a
 * platform entry point turns it on for a test run (node/platform/platform.ts reads
 * MESHWORK_VALIDATE=1, which the test runner sets; worker threads load it too). Realm-wide until a
 * Runtime object carries such settings (issue 18, Build 1).
 */
let byDefault: boolean | "sampled" = false;

export function validateByDefault(): boolean | "sampled" {
  return byDefault;
}

export function setValidateByDefault(mode: boolean | "sampled"): void {
  byDefault = mode;
}
