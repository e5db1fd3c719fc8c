// Work stealing: every task is sent to a worker when it becomes ready, so queues can become
// uneven (a worker joins with nothing to do, others hold long queues; a worker's tasks turn out
// slower than estimated). Now and then the scheduler moves queued, not yet started tasks from the
// most loaded workers to idle ones, when moving their inputs costs less than waiting. The victim
// confirms which tasks it had not started (steal-request / steal-response), so a task never runs
// twice because of a steal. Dask's WorkStealing extension is the model.

import type { TaskState, WorkerRecord } from "./model.js";
import { canRun, DEFAULT_BANDWIDTH_BYTES_PER_MS, missingBytes } from "./placement.js";
import type { StealResponse } from "../protocol/messages.js";
import type { Core } from "./core.js";
import type { FromWorker } from "./events.js";
import { endSteal } from "./processing.js";
import { moveTask } from "./transitions.js";

/** Tasks asked back from one victim at a time, at most. */
export const MAX_STEAL_BATCH = 1000;

/** A worker is worth stealing for when the victim's queue would take this much longer than the thief's, in ms. */
export const MIN_STEAL_GAIN_MS = 2;

/** Expected ms until `ws` is through its queue (never, while it is paused). */
function load(ws: WorkerRecord): number {
  return ws.paused ? Number.MAX_SAFE_INTEGER : ws.occupancy / ws.nthreads;
}

/**
 * Pairs idle workers with the most loaded ones and asks the victims for tasks to move. Returns the
 * number of tasks asked for. Pure: instructions go to the outbox.
 */
export function balance(s: Core, bandwidth = DEFAULT_BANDWIDTH_BYTES_PER_MS): number {
  const thieves: WorkerRecord[] = [];
  const victims: WorkerRecord[] = [];
  for (const ws of s.workers.values()) {
    if (ws.status !== "running" || ws.stealsPending > 0) continue;
    // A paused worker runs nothing: everything queued on it is worth moving.
    if (ws.paused) {
      if (ws.processing.size > 0) victims.push(ws);
    } else if (ws.processing.size < ws.nthreads) thieves.push(ws);
    else if (ws.processing.size > ws.nthreads + 1) victims.push(ws);
  }
  if (thieves.length === 0 || victims.length === 0) return 0;
  victims.sort((a, b) => load(b) - load(a));
  let asked = 0;
  for (const thief of thieves) {
    const victim = victims.find((v) => v.stealsPending === 0);
    if (!victim) break;
    let victimLoad = load(victim);
    let thiefLoad = load(thief);
    if (victimLoad - thiefLoad < MIN_STEAL_GAIN_MS) continue;
    const batch: TaskState[] = [];
    // From the back of the victim's queue: the tasks it would run last.
    const queue = [...victim.processing];
    for (let i = queue.length - 1; i >= 0 && batch.length < MAX_STEAL_BATCH; i--) {
      const ts = queue[i]!;
      // A verifying task's witness stays: the thief might be a worker that already answered.
      if (ts.state !== "processing" || victim.started.has(ts) || ts.stealTo || !canRun(ts, thief)) continue;
      const move = ts.deps.size > 0 ? missingBytes(ts, thief) / bandwidth : 0;
      // Move it only if the thief would still be through no later than the victim.
      if (thiefLoad + ts.cost + move > victimLoad - ts.cost) break;
      batch.push(ts);
      victimLoad -= ts.cost;
      thiefLoad += ts.cost + move;
    }
    if (batch.length === 0) continue;
    for (const ts of batch) ts.stealTo = thief;
    victim.stealsPending += batch.length;
    victim.stealAskedAt = s.now;
    thief.stealsPending += batch.length;
    s.outbox.toWorker(victim, { op: "steal-request", keys: batch.map((ts) => ts.key) });
    asked += batch.length;
  }
  return asked;
}

/** A victim's answer to a steal-request: moves the tasks it dropped to the workers they were stolen for. */
export function stealResponse(s: Core, e: FromWorker<StealResponse>): void {
  const { worker: workerId, stolen, kept } = e;
  const victim = s.workers.get(workerId);
  if (!victim) return;
  victim.stealAskedAt = null;
  s.begin("steal-response");
  for (const key of kept) {
    const ts = s.tasks.get(key);
    if (ts && ts.processingOn === victim) endSteal(ts, victim);
  }
  for (const key of stolen) {
    const ts = s.tasks.get(key);
    if (!ts || ts.processingOn !== victim || !ts.stealTo) continue; // moved or released meanwhile
    const thief = ts.stealTo;
    endSteal(ts, victim);
    if (thief.status === "running" && s.workers.has(thief.id) && canRun(ts, thief)) {
      moveTask(s, ts, thief);
      s.recordStory(ts, "processing", "processing");
    } else {
      s.recommend(ts, "released"); // the thief left meanwhile; the victim has dropped it: place it anew
    }
  }
  s.run();
}
