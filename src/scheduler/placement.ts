// Where a task should run: data locality first (fewest bytes to move, priced by link bandwidth),
// then occupancy (expected work already queued). Pure functions over scheduler records.

import { comparePriority } from "../graph/priority.js";
import type { TaskState, WorkerRecord } from "./model.js";
import { inBrowser } from "./platforms.js";

/**
 * Assumed bandwidth between workers until measured, in bytes per millisecond: 100 MB/s, Dask's
 * default (`distributed.scheduler.bandwidth`). Only the ratio to task durations matters here.
 */
export const DEFAULT_BANDWIDTH_BYTES_PER_MS = 100_000;

/** Expected duration of a task of a kind never seen finishing, in milliseconds (Dask: 0.5 s is for
 * unknown *slow* tasks; ours start small because submitted JS functions are usually quick, and the
 * estimate is replaced by measurements after the first completion). */
export const UNKNOWN_TASK_MS = 1;

/**
 * Input bytes per millisecond a task of a kind never timed is assumed to go through (1 GB/s: a
 * kernel reading its inputs once). A task of 48 MB of inputs is not a 1 ms task: counted at 1 ms,
 * the 25 outputs of a sort (each a piece of every split, a few more of them on one worker) all
 * went where 4 % fewer bytes had to move, and one worker idled for half the first call.
 */
export const UNKNOWN_TASK_BYTES_PER_MS = 1_000_000;

/** The expected duration of `ts` when its kind was never timed: UNKNOWN_TASK_MS, or the time to read its inputs at UNKNOWN_TASK_BYTES_PER_MS if longer. */
export function unknownTaskMs(ts: TaskState): number {
  let bytes = 0;
  for (const dep of ts.deps) bytes += dep.nbytes;
  return Math.max(UNKNOWN_TASK_MS, bytes / UNKNOWN_TASK_BYTES_PER_MS);
}

/**
 * Roots of a graph that come next to each other in priority order usually feed the same tasks
 * (the blocks (i, j) and (j, i) of `x.add(x.T)`, neighbours in a reduction). Handing out such
 * roots in contiguous runs, one run per worker, keeps those inputs together and saves moving them
 * (Dask's co-assignment of root tasks). Applies to a kind of root task submitted at least this
 * many times per thread; fewer are spread by occupancy as usual.
 */
export const CO_ASSIGN_MIN_PER_THREAD = 2;

/**
 * A kind of task whose members all read the same few inputs, and nothing else, is placed as roots
 * are (Dask's root-ish tasks: `is_rootish`, fewer than 5 dependencies for the whole group): each
 * worker fetches those inputs once and runs its run of the tasks. Placed by where the inputs are,
 * they all went to the one worker holding them (an anomaly's 64 chunk tasks, each needing the
 * 12 MB climatology, ran on one of two workers while the other idled).
 */
export const ROOTISH_MAX_INPUTS = 4;

/**
 * Marks fresh roots of each kind, and root-ish tasks (ROOTISH_MAX_INPUTS), when there are enough
 * of them, with their rank in priority order.
 */
export function coAssign(fresh: readonly TaskState[], threads: number): void {
  const groups = new Map<string, TaskState[]>();
  for (const ts of fresh) {
    if (!ts.spec || ts.spec.workers?.length || ts.spec.resources) continue;
    let g = groups.get(ts.group);
    if (!g) groups.set(ts.group, (g = []));
    g.push(ts);
  }
  for (const g of groups.values()) {
    if (g.length < CO_ASSIGN_MIN_PER_THREAD * Math.max(1, threads)) continue;
    const inputs = new Set<TaskState>();
    for (const ts of g) for (const d of ts.deps) inputs.add(d);
    if (inputs.size > ROOTISH_MAX_INPUTS) continue;
    g.sort((a, b) => comparePriority(a.priority, b.priority));
    g.forEach((ts, i) => {
      ts.coRank = i;
      ts.coSize = g.length;
    });
  }
}

/**
 * Whether an untrusted worker may see `ts` (run it, or hold its result): not when the task is
 * private data or depends on it, nor when its result is to be taken on one worker's word
 * (`verify: 1`). Trusted workers may see everything.
 */
export function trustAllows(ts: TaskState, ws: WorkerRecord): boolean {
  return ws.trusted || (!ts.private && ts.spec?.verify !== 1);
}

/**
 * Whether worker `ws` may run task `ts` (restrictions, resources, platform and trust). `pinned` false
 * ignores the task's `workers` list: a second opinion is not bound to where the user pinned the first.
 */
export function canRun(ts: TaskState, ws: WorkerRecord, pinned = true): boolean {
  if (ws.status !== "running" || ws.paused) return false;
  const spec = ts.spec;
  if (!spec) return false;
  if (spec.nodeOnly !== undefined && inBrowser(ws)) return false;
  if (!trustAllows(ts, ws) || ts.timedOutOn?.has(ws)) return false;
  if (pinned && spec.workers && spec.workers.length > 0) {
    if (!spec.workers.some((w) => w === ws.id || w === ws.name || w === ws.address)) return false;
  }
  if (spec.resources) {
    for (const [name, need] of Object.entries(spec.resources)) {
      if ((ws.resources[name] ?? 0) < need) return false;
    }
  }
  return true;
}

/** Bytes of `ts`'s dependencies that `ws` does not hold yet. */
export function missingBytes(ts: TaskState, ws: WorkerRecord): number {
  let bytes = 0;
  for (const dep of ts.deps) if (!dep.whoHas.has(ws)) bytes += dep.nbytes;
  return bytes;
}

/**
 * Inputs of at least this many bytes in all keep a task among the workers holding some of them
 * (Dask's rule: only holders are candidates). Queued work is an estimate that grows with every task
 * placed in a burst, and moving a big input costs its sender a copy too: a sum over 100 persisted
 * 32 MB blocks sent 40 of them between two workers, and ran 2× slower, when every worker was a
 * candidate. Smaller inputs move for nearly nothing, so for them every worker is a candidate.
 */
export const LOCALITY_MIN_BYTES = 1 << 20;

/** The workers holding an input of `ts`, when its inputs are big enough to keep it there; else null (anywhere). */
function localCandidates(ts: TaskState): Set<WorkerRecord> | null {
  let bytes = 0;
  const holders = new Set<WorkerRecord>();
  for (const dep of ts.deps) {
    bytes += dep.nbytes;
    for (const ws of dep.whoHas) if (ws.status === "running" && canRun(ts, ws)) holders.add(ws);
  }
  return bytes >= LOCALITY_MIN_BYTES && holders.size > 0 ? holders : null;
}

/**
 * The worker that can start `ts` soonest: queued work divided by threads, plus the time to fetch
 * missing inputs. Ties go to the worker with fewer bytes to fetch, then fewer tasks in flight.
 * Co-assigned roots and root-ish tasks go by their rank instead. Returns null when no worker may run it.
 */
export function decideWorker(
  ts: TaskState,
  workers: Iterable<WorkerRecord>,
  bandwidth = DEFAULT_BANDWIDTH_BYTES_PER_MS,
): WorkerRecord | null {
  if (ts.coSize > 0) {
    const able: WorkerRecord[] = [];
    for (const ws of workers) if (canRun(ts, ws)) able.push(ws);
    if (able.length === 0) return null;
    return able[Math.min(able.length - 1, Math.floor((ts.coRank * able.length) / ts.coSize))]!;
  }
  let best: WorkerRecord | null = null;
  let bestStart = Infinity;
  let bestBytes = Infinity;
  let bestCount = Infinity;
  const hasDeps = ts.deps.size > 0;
  const holders = hasDeps ? localCandidates(ts) : null;
  for (const ws of workers) {
    if (!canRun(ts, ws)) continue;
    if (holders && !holders.has(ws)) continue;
    const bytes = hasDeps ? missingBytes(ts, ws) : 0;
    const start = ws.occupancy / ws.nthreads + bytes / bandwidth;
    const count = ws.processing.size;
    if (
      start < bestStart ||
      (start === bestStart && (bytes < bestBytes || (bytes === bestBytes && count < bestCount)))
    ) {
      best = ws;
      bestStart = start;
      bestBytes = bytes;
      bestCount = count;
    }
  }
  return best;
}
