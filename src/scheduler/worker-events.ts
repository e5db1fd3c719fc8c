// What workers report to the scheduler, as events on its state: tasks finished, failed or
// started elsewhere, data a worker could not find, replicas it gained or could not get, its
// heartbeat, and the worker itself gone. SchedulerState's methods of the same names call these.

import { type ErrorData, errorToData, KilledWorkerError } from "../errors.js";
import { comparePriority } from "../graph/priority.js";
import type { LinkReport } from "../protocol/messages.js";
import type { Serialized } from "../protocol/refs.js";
import type { TaskState, WorkerRecord } from "./model.js";
import { trustAllows } from "./placement.js";
import { retiredWorkerLeft } from "./retire.js";
import { tellRecomputing } from "./no-worker.js";
import { NO_EXTRA, type SchedulerState } from "./state.js";
import { unassign } from "./transitions.js";
import { addOpinion, agreementNeeded, assignWitness } from "./verify.js";

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
export function removeWorker(
  s: SchedulerState,
  id: string,
  reason: string,
  graceful = false,
): WorkerRemoval | undefined {
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

export function taskFinished(
  s: SchedulerState,
  workerId: string,
  key: string,
  nbytes: number,
  duration: number,
  value?: Serialized,
  held = false,
  digest?: string,
): void {
  const ws = s.workers.get(workerId);
  const ts = s.tasks.get(key);
  if (!ws) return;
  s.begin("task-finished");
  // Counted as the worker counts it (WorkerState.tasksDone, a tab's page): every task it was given
  // and ran to the end, also one whose result came too late to be used; not a replica it already held.
  if (!held && ws.told.has(key)) ws.tasksDone++;
  if (ts && ts.state === "processing" && ts.processingOn === ws) {
    if (agreementNeeded(s, ts, ws) > 1) s.transition(ts, "verifying", { worker: ws, nbytes, duration, value, digest });
    else s.transition(ts, "memory", { worker: ws, nbytes, duration, value });
  } else if (ts && ts.state === "verifying" && ts.processingOn === ws) {
    addOpinion(s, ts, ws, nbytes, duration, value, digest);
    return;
  } else if (ts && ts.state === "verifying" && ws.opinions.has(ts)) {
    // Said twice: its first answer stands.
  } else if (ts && ts.state === "memory" && ws.told.has(key)) {
    s.addReplica(ts, ws, nbytes);
  } else {
    if (ts && ts.state === "memory") s.ignoredClaim(ws, key, "task-finished");
    s.outbox.free(ws, key); // cancelled or reassigned meanwhile: the worker may drop it
  }
  s.run();
}

export function taskErred(s: SchedulerState, workerId: string, key: string, error: ErrorData): void {
  const ws = s.workers.get(workerId);
  const ts = s.tasks.get(key);
  // A witness of a verifying task may fail too: the task fails (or is retried) as it would had
  // the first worker failed, rather than wait for an answer that will not come. (Found by
  // test/scheduler/state-properties.test.ts: the failure was ignored and the task never settled.)
  if (!ws || !ts || (ts.state !== "processing" && ts.state !== "verifying") || ts.processingOn !== ws) return;
  s.begin("task-erred");
  if (ts.retriesLeft > 0) {
    ts.retriesLeft--;
    s.transition(ts, "released", NO_EXTRA);
  } else {
    s.transition(ts, "erred", { error, blame: key });
  }
  s.run();
}

/** A worker could not get `dep` from `from`: the scheduler's record was wrong; fix it and retry. */
export function missingData(s: SchedulerState, workerId: string, key: string, dep: string, from: string): void {
  const ws = s.workers.get(workerId);
  if (!ws) return;
  s.begin("missing-data");
  const dts = s.tasks.get(dep);
  const holder = s.workersByAddress.get(from);
  // Only a worker told to fetch `dep` may say a holder lacks it (else anyone could strip honest holders).
  if (dts && holder && !ws.told.has(dep)) s.ignoredClaim(ws, dep, "missing-data");
  else if (dts && holder && dts.whoHas.delete(holder)) {
    holder.hasWhat.delete(dts);
    holder.nbytes -= dts.nbytes;
    if (dts.whoHas.size === 0 && dts.state === "memory") s.transition(dts, "released", { workerGone: true });
  }
  const ts = s.tasks.get(key);
  if (ts && ts.state === "processing" && ts.processingOn === ws) s.recommend(ts, "released");
  else if (ts && ts.state === "verifying" && ts.processingOn === ws && !s.isRecommended(ts)) {
    // A witness that could not fetch an input dropped the task: ask another one (or the same, now
    // told the right holders), keeping the opinions so far. Before, the task waited for the
    // dropped witness forever (found by test/scheduler/state-properties.test.ts).
    unassign(s, ts, true);
    assignWitness(s, ts);
    if (ts.processingOn) s.recordStory(ts, "verifying", "verifying");
  }
  s.run();
}

/** A worker holds replicas it fetched (as dependencies, or asked to by a retirement). */
export function addKeys(s: SchedulerState, workerId: string, keys: { key: string; nbytes: number }[]): void {
  const ws = s.workers.get(workerId);
  if (!ws) return;
  for (const { key, nbytes } of keys) {
    const ts = s.tasks.get(key);
    if (ts && ts.state === "memory" && !ws.told.has(key)) {
      s.ignoredClaim(ws, key, "add-keys");
      s.outbox.free(ws, key);
    } else if (ts && ts.state === "memory" && !trustAllows(ts, ws)) {
      // An untrusted worker fetched a `verify: 1` result as an input: it may use it, but is not
      // listed as a holder that others read it from (found by the property tests).
      ws.told.delete(key);
    } else if (ts && ts.state === "memory") {
      ws.told.delete(key);
      s.addReplica(ts, ws, nbytes);
      if (s.pendingReplicas.get(ts) === ws) {
        s.pendingReplicas.delete(ts);
        for (const holder of ts.whoHas) {
          if (!holder.retiring) continue;
          holder.retiring.moved.keys++;
          holder.retiring.moved.bytes += ts.nbytes;
          break;
        }
      }
    } else if (ts?.processingOn !== ws) s.outbox.free(ws, key);
    // (A copy reported late of a key the worker now computes, the result having been lost meanwhile:
    // freeing it would drop that computation, and the task would wait for it forever. Found by
    // test/scheduler/state-properties.test.ts.)
  }
  // Nothing to carry out unless retirements wait for these copies; run() then only sends the frees.
  if (s.retirements.size > 0) s.begin("add-keys");
  s.run();
}

/** A worker could not fetch replicas it was asked for: ask again (elsewhere), or give up on them. */
export function acquireFailed(s: SchedulerState, workerId: string, keys: string[]): void {
  const ws = s.workers.get(workerId);
  if (!ws) return;
  s.begin("acquire-failed");
  for (const key of keys) {
    const ts = s.tasks.get(key);
    if (!ts || s.pendingReplicas.get(ts) !== ws) continue;
    s.pendingReplicas.delete(ts);
    s.replicaAttempts.get(ts)?.failed.add(ws);
  }
  s.run();
}

export function heartbeat(
  s: SchedulerState,
  workerId: string,
  memory: number,
  executing: number,
  spilled = 0,
  paused = false,
  links?: LinkReport[],
): void {
  const ws = s.workers.get(workerId);
  if (!ws) return;
  if (links) {
    const before = new Map(ws.links.map((l) => [l.peer, l]));
    ws.links = links.map((l) => {
      const prev = before.get(l.peer);
      const dt = prev ? (s.now - prev.at) / 1000 : 0;
      const moved = prev ? l.bytesIn + l.bytesOut - prev.bytesIn - prev.bytesOut : 0;
      return { ...l, bytesPerSecond: dt > 0 && moved > 0 ? moved / dt : 0, at: s.now };
    });
  }
  ws.lastSeen = s.now;
  ws.memory = memory;
  ws.executing = executing;
  ws.spilled = spilled;
  if (paused === ws.paused) return;
  ws.paused = paused;
  s.begin(paused ? "worker-paused" : "worker-resumed");
  // Paused: its queued tasks are stolen by others (stealing.ts). Resumed: it may take the tasks nobody could.
  if (!paused) s.offerUnrunnable();
  s.run();
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
