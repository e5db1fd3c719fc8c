// Taking work back (issue 20): a task that runs past its `timeout` (or, on an untrusted worker,
// the scheduler's default for them) is taken back and run elsewhere, and a worker that does not
// answer a steal-request loses every task queued on it that it has not said it started. A worker
// that keeps beating but never answers can no longer hold its tasks forever.

import { errorToData, TimeoutError } from "../errors.js";
import type { TaskState, WorkerRecord } from "./model.js";
import type { Core } from "./core.js";
import { endSteal } from "./processing.js";

/**
 * Milliseconds a task may take on an untrusted worker by default, from being sent there: 10
 * minutes, twice the worker TTL (a busy thread's silence is tolerated that long). A task's own
 * `timeout` wins. Trusted workers have no default.
 */
export const DEFAULT_UNTRUSTED_TASK_TIMEOUT_MS = 600_000;

/** Milliseconds a victim has to answer a steal-request before its queue is taken back. */
export const STEAL_ANSWER_TIMEOUT_MS = 30_000;

/** Workers a task may be taken back from (for its timeout, or an ignored steal) before it fails with TimeoutError. */
export const MAX_TIMEOUTS = 3;

/** The timeout of `ts` on `ws`, in ms, or undefined for none. */
export function timeoutOf(s: Core, ts: TaskState, ws: WorkerRecord): number | undefined {
  return ts.spec?.timeout ?? (ws.trusted ? undefined : s.untrustedTaskTimeoutMs);
}

/** Takes back tasks past their timeout and the queues of workers that ignore steal-requests. */
export function expireTimeouts(s: Core): void {
  const late: [TaskState, WorkerRecord, number][] = [];
  const ignoring: WorkerRecord[] = [];
  for (const ws of s.workers.values()) {
    if (ws.stealAskedAt !== null && s.now - ws.stealAskedAt > s.stealAnswerTimeoutMs) ignoring.push(ws);
    for (const ts of ws.processing) {
      const limit = timeoutOf(s, ts, ws);
      if (limit !== undefined && s.now - ts.sentAt > limit) late.push([ts, ws, limit]);
    }
  }
  if (late.length === 0 && ignoring.length === 0) return;
  s.begin("timeouts");
  for (const [ts, ws, limit] of late) {
    if (ts.processingOn !== ws) continue;
    (ts.timedOutOn ??= new Set()).add(ws);
    if (ts.timedOutOn.size >= MAX_TIMEOUTS) {
      const message = `task ${ts.key} ran past its timeout of ${limit} ms on ${ts.timedOutOn.size} workers (last: ${ws.name})`;
      s.transition(ts, "erred", { error: errorToData(new TimeoutError(message), { stack: false }), blame: ts.key });
    } else {
      s.noteStory(ts, `ran past its timeout of ${limit} ms on ${ws.name}: taken back`);
      s.transition(ts, "released", {});
    }
  }
  for (const ws of ignoring) {
    ws.stealAskedAt = null;
    for (const ts of [...ws.processing]) {
      if (ts.stealTo) endSteal(ts, ws);
      if (ws.started.has(ts)) continue;
      (ts.timedOutOn ??= new Set()).add(ws); // not given back to it
      s.noteStory(
        ts,
        `${ws.name} did not answer a steal-request within ${s.stealAnswerTimeoutMs} ms: its queue is taken back`,
      );
      s.transition(ts, "released", {});
    }
  }
  s.run();
}
