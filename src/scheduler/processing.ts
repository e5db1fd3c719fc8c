// Taking a task off the worker it was sent to (finished elsewhere, stolen, released, or the worker
// is gone), shared by the transitions, stealing, timeouts and verification.

import type { Core } from "./core.js";
import type { TaskState, WorkerRecord } from "./model.js";

/** Takes `ts` off the worker processing it; tells that worker to drop it unless it is gone. */
export function unassign(s: Core, ts: TaskState, workerGone: boolean | undefined): void {
  const ws = ts.processingOn;
  if (!ws) return;
  ws.processing.delete(ts);
  ws.started.delete(ts);
  ws.occupancy = Math.max(0, ws.occupancy - ts.cost);
  ts.cost = 0;
  ts.processingOn = null;
  endSteal(ts, ws);
  if (!workerGone && ws.status !== "gone") s.outbox.free(ws, ts.key);
}

/** Forgets a steal of `ts` (from `victim`) that is under way, if any. */
export function endSteal(ts: TaskState, victim: WorkerRecord): void {
  const thief = ts.stealTo;
  if (!thief) return;
  ts.stealTo = null;
  victim.stealsPending--;
  thief.stealsPending--;
}
