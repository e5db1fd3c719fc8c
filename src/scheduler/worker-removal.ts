// A worker left or died: what it was running and what only it held is computed again (or fails
// with KilledWorkerError), and the shell is told what happened for its log.

import { errorToData, KilledWorkerError } from "../errors.js";
import { comparePriority } from "../graph/priority.js";
import type { Core } from "./core.js";
import type { TaskState, WorkerRecord } from "./model.js";
import { tellRecomputing } from "./no-worker.js";
import { retiredWorkerLeft } from "./retire.js";

/** What removing a worker did, for the shell's log. */
export interface WorkerRemoval {
  name: string;
  /** Tasks it was running (or results only it held) that are being computed again. */
  rerun: number;
  /** Of those, results that were lost (the rest were running). */
  recomputed: number;
  /** Tasks that failed with KilledWorkerError instead. */
  failed: number;
}

/** Whether `ws` dying while running `ts` counts towards KilledWorkerError: always when trusted, once per address when not. */
function countsAsKill(ts: TaskState, ws: WorkerRecord): boolean {
  if (ws.trusted) return true;
  ts.diedOnHosts ??= new Set();
  if (ts.diedOnHosts.has(ws.host)) return false;
  ts.diedOnHosts.add(ws.host);
  return true;
}

/**
 * A worker left or died: recompute what it was running and what only it held. Only a worker that
 * died (`graceful` false) counts against the tasks it was running (KilledWorkerError); one that
 * said goodbye (scaled down, closed) did not die of them.
 */
export function removeWorker(s: Core, id: string, reason: string, graceful = false): WorkerRemoval | undefined {
  const ws = s.workers.get(id);
  if (!ws) return undefined;
  ws.status = "gone";
  s.workers.delete(id);
  s.workersByAddress.delete(ws.address);
  s.begin(`worker-removed`);
  const suspects = graceful ? new Set<TaskState>() : suspectsOf(ws);
  const lost: TaskState[] = [];
  const lostResults = new Set<TaskState>();
  for (const ts of ws.processing) {
    lost.push(ts);
    if (suspects.has(ts) && countsAsKill(ts, ws)) ts.suspicious++;
    if (ts.suspicious >= s.allowedFailures && suspects.has(ts)) {
      s.transition(ts, "erred", {
        workerGone: true,
        error: errorToData(
          new KilledWorkerError(
            `task ${ts.key} was running on ${ts.suspicious} workers when they died (last: ${ws.name}, ${reason}); it is stopped rather than kill more`,
          ),
          { stack: false },
        ),
      });
    } else {
      s.transition(ts, "released", { workerGone: true });
    }
  }
  for (const ts of ws.hasWhat) {
    ts.whoHas.delete(ws);
    if (ts.whoHas.size === 0 && ts.state === "memory") {
      s.transition(ts, "released", { workerGone: true });
      if (s.isNeeded(ts)) {
        lost.push(ts);
        lostResults.add(ts); // its wanting clients were told by key-lost
      }
    }
  }
  // Its answers for tasks under verification count no more: those tasks start over.
  for (const ts of ws.opinions) {
    if (ts.state !== "verifying") continue;
    lost.push(ts);
    s.transition(ts, "released", { workerGone: true });
  }
  ws.opinions.clear();
  ws.vouched.clear();
  ws.hasWhat.clear();
  ws.processing.clear();
  ws.started.clear();
  for (const [ts, to] of s.pendingReplicas) if (to === ws) s.pendingReplicas.delete(ts);
  if (ws.retiring) retiredWorkerLeft(s, ws.retiring, ws);
  s.run();
  if (lost.length > 0)
    tellRecomputing(s, lost, `worker ${ws.name} ${graceful ? "left" : "was lost"} (${reason})`, lostResults);
  let rerun = 0;
  let failed = 0;
  for (const ts of lost) {
    if (ts.state === "erred") failed++;
    else if (ts.state !== "forgotten" && ts.state !== "released") rerun++;
  }
  return { name: ws.name, rerun, failed, recomputed: lostResults.size };
}

/**
 * The tasks a worker that died may have died of: those it said it was running; if it said none
 * (it was in a run of quick tasks), the first in priority of those queued on it, since workers run
 * them in priority order. Counting every queued task instead would stop innocent tasks after a few
 * unrelated deaths (each worker holds a long queue).
 */
function suspectsOf(ws: WorkerRecord): Set<TaskState> {
  if (ws.started.size > 0) return new Set(ws.started);
  let first: TaskState | null = null;
  for (const ts of ws.processing) if (!first || comparePriority(ts.priority, first.priority) < 0) first = ts;
  return new Set(first ? [first] : []);
}

/** The worker's connection closed: remove it, and tell the shell's log what that did. */
export function workerRemoved(s: Core, id: string, reason: string, graceful: boolean): void {
  const ws = s.workers.get(id);
  // A worker let go for its silence (ttl.ts) did not say goodbye, whatever its connection said.
  if (ws?.expired) graceful = false;
  const removed = removeWorker(s, id, reason, graceful);
  if (!removed) return;
  const n = s.workers.size;
  const left = `${n} worker${n === 1 ? "" : "s"} left`;
  const work =
    removed.rerun > 0
      ? `; computing ${removed.rerun} task${removed.rerun === 1 ? "" : "s"} again (${removed.rerun - removed.recomputed} it was running, ${removed.recomputed} result${removed.recomputed === 1 ? "" : "s"} only it held)`
      : "";
  const failed =
    removed.failed > 0
      ? `; ${removed.failed} task${removed.failed === 1 ? "" : "s"} failed with KilledWorkerError`
      : "";
  if (graceful) s.notice("info", `worker ${removed.name} left (${reason})${work}${failed}; ${left}`);
  else s.notice("warn", `worker ${removed.name} was lost (${reason})${work}${failed}; ${left}`);
}
