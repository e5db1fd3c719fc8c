// Graceful retirement: a retiring worker takes no new tasks, gives back the tasks queued on it,
// finishes the one it is running, and has each result that only it holds copied to another worker
// (acquire-replicas) before it is told to close. Nothing it computed is computed again. Dask does
// the same with its Active Memory Manager's RetireWorker policy.

import type { DepLocation, RetireResult } from "../protocol/messages.js";
import type { Retirement, TaskState, WorkerRecord } from "./model.js";
import { holders } from "./outbox.js";
import { trustAllows } from "./placement.js";
import type { Core } from "./core.js";

/** Times a result may fail to be copied off a retiring worker before it is left to recomputation. */
export const MAX_REPLICA_ATTEMPTS = 3;

export type { PendingReplicas, ReplicaAttempts } from "./core.js";

/** Whether `ts` lives only on workers that are leaving (so it must be copied to survive). */
function onlyOnLeaving(ts: TaskState): boolean {
  for (const ws of ts.whoHas) if (ws.status === "running") return false;
  return true;
}

/**
 * Moves every retirement forward: asks for copies of unique results, closes workers whose results
 * are all safe, keeps workers whose results have nowhere to go. Cheap when nothing is retiring.
 */
export function advanceRetirements(s: Core): void {
  if (s.retirements.size === 0) return;
  const planned = new Map<WorkerRecord, number>(); // bytes planned per recipient in this pass
  const asks = new Map<WorkerRecord, DepLocation[]>();
  for (const r of s.retirements) {
    for (const ws of r.workers) {
      if (ws.status !== "closing" || ws.closeSent || ws.processing.size > 0) continue; // its running task finishes first
      let waiting = false;
      let homeless = 0;
      for (const ts of ws.hasWhat) {
        if (ts.state !== "memory" || !onlyOnLeaving(ts)) continue;
        const attempts = s.replicaAttempts.get(ts);
        if (attempts && attempts.count >= MAX_REPLICA_ATTEMPTS) continue; // given up on: recomputed if needed
        if (s.pendingReplicas.has(ts)) {
          waiting = true;
          continue;
        }
        const to = recipient(s, ts, planned, attempts?.failed);
        if (!to) {
          homeless++;
          continue;
        }
        planned.set(to, (planned.get(to) ?? 0) + ts.nbytes);
        s.pendingReplicas.set(ts, to);
        if (attempts) attempts.count++;
        else s.replicaAttempts.set(ts, { count: 1, failed: new Set() });
        let list = asks.get(to);
        if (!list) asks.set(to, (list = []));
        const who = holders(ts);
        list.push({
          key: ts.key,
          who,
          nbytes: ts.nbytes,
          tickets: s.outbox.grants?.tickets("get", who, to.name, ts.key),
          digest: ts.digest ?? undefined,
        });
        waiting = true;
      }
      if (homeless > 0) {
        keep(s, r, ws, `no other running worker can hold its ${homeless} unique result${homeless === 1 ? "" : "s"}`);
      } else if (!waiting) {
        // Every result it holds is safe elsewhere: it may go. The retirement ends when it has left (removeWorker).
        ws.closeSent = true;
        s.outbox.toWorker(ws, { op: "close-worker", reason: "retired" });
      }
    }
    if (r.workers.size === 0 && s.retirements.has(r)) finish(s, r);
  }
  for (const [ws, keys] of asks) {
    for (const k of keys) ws.told.add(k.key);
    s.outbox.toWorker(ws, { op: "acquire-replicas", keys });
  }
}

/**
 * The running worker with the fewest bytes held (counting what this pass already sends it),
 * preferring those that have not failed to copy `ts` before; null if there is none.
 */
function recipient(
  s: Core,
  ts: TaskState,
  planned: Map<WorkerRecord, number>,
  failed: Set<WorkerRecord> | undefined,
): WorkerRecord | null {
  let best: WorkerRecord | null = null;
  let bestBytes = Infinity;
  for (const ws of s.workers.values()) {
    if (ws.status !== "running" || ts.whoHas.has(ws) || !trustAllows(ts, ws)) continue;
    const bytes = ws.nbytes + (planned.get(ws) ?? 0) + (failed?.has(ws) ? Number.MAX_SAFE_INTEGER / 2 : 0);
    if (bytes < bestBytes) {
      best = ws;
      bestBytes = bytes;
    }
  }
  return best;
}

/** Gives up retiring `ws`: it takes tasks again. */
function keep(s: Core, r: Retirement, ws: WorkerRecord, reason: string): void {
  if (!r.workers.delete(ws)) return;
  r.kept.push({ id: ws.id, reason });
  ws.retiring = null;
  if (ws.status === "closing") {
    ws.status = "running";
    s.offerUnrunnable();
  }
}

/** `ws`, part of retirement `r`, has left (told to, or on its own). */
export function retiredWorkerLeft(s: Core, r: Retirement, ws: WorkerRecord): void {
  r.workers.delete(ws);
  r.retired.push(ws.id);
  ws.retiring = null;
  if (r.workers.size === 0) finish(s, r);
}

function finish(s: Core, r: Retirement): void {
  s.retirements.delete(r);
  const result: RetireResult = {
    retired: r.retired,
    kept: r.kept,
    moved: r.moved,
    ms: Math.max(0, s.now - r.startedAt),
  };
  s.outbox.retired(r.ticket, result);
}

/**
 * Starts retiring workers (by id, name or address) gracefully; the answer comes as a "scheduler"
 * instruction with `ticket` once each has left or been kept.
 */
export function retireWorkers(s: Core, names: string[], ticket: number): void {
  s.begin("retire-workers");
  const r: Retirement = {
    ticket,
    workers: new Set(),
    retired: [],
    kept: [],
    moved: { keys: 0, bytes: 0 },
    startedAt: s.now,
  };
  s.retirements.add(r);
  for (const name of new Set(names)) {
    const ws = s.findWorker(name);
    if (!ws) r.kept.push({ id: name, reason: "no such worker" });
    else if (ws.status !== "running") r.kept.push({ id: ws.id, reason: "already leaving" });
    else {
      ws.status = "closing";
      ws.retiring = r;
      r.workers.add(ws);
      // Queued tasks go elsewhere; the ones it said it is running finish here and their results move.
      for (const ts of ws.processing) if (!ws.started.has(ts)) s.recommend(ts, "released");
    }
  }
  s.run();
}
