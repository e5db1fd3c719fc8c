// Progress watches: a client asks how far the work behind some keys is (a map's futures, or a
// collection's outputs with every task they need) and then polls for the counts. Read-only over
// the state and only while a watch is open: nothing is counted on the hot path, and a scheduler
// nobody watches pays nothing.

import { ArgumentError } from "../errors.js";
import type { ProgressCounts } from "../protocol/messages.js";
import type { TaskState } from "./model.js";

/** Watches one client may hold at once (a progress bar holds one per computation it follows). */
export const MAX_WATCHES_PER_CLIENT = 64;
/**
 * Tasks one watch follows at most; a larger graph is followed on its first million tasks. A walk
 * or a poll over a million tasks takes ~10-30 ms of the scheduler's thread, about once a second.
 */
export const MAX_WATCH_TASKS = 1_000_000;

interface Watch {
  /** Tasks not yet seen done or erred (compacted on every poll, so a poll costs what is left). */
  remaining: TaskState[];
  total: number;
  done: number;
  erred: number;
}

export type WatchAnswer = ProgressCounts & { watch: number };

export class ProgressWatches {
  /** Per client connection; a closed connection's watches go with it. */
  private readonly byOwner = new WeakMap<object, Map<number, Watch>>();
  private next = 1;

  constructor(private readonly tasks: ReadonlyMap<string, TaskState>) {}

  /**
   * Starts following `keys` and everything they need that is not in memory yet (as Dask's
   * progress: results already held are not work to do). Keys the scheduler does not know are
   * skipped (released already, or never submitted).
   */
  watch(owner: object, keys: readonly string[]): WatchAnswer {
    let watches = this.byOwner.get(owner);
    if (!watches) this.byOwner.set(owner, (watches = new Map()));
    if (watches.size >= MAX_WATCHES_PER_CLIENT)
      throw new ArgumentError(
        `a client may follow at most ${MAX_WATCHES_PER_CLIENT} computations' progress at once; end some first`,
      );
    const seen = new Set<TaskState>();
    const stack: TaskState[] = [];
    for (const key of keys) {
      const ts = this.tasks.get(key);
      if (ts && !seen.has(ts)) {
        seen.add(ts);
        stack.push(ts);
      }
    }
    const remaining: TaskState[] = [];
    while (stack.length > 0 && remaining.length < MAX_WATCH_TASKS) {
      const ts = stack.pop()!;
      // Held results, and results freed after their users ran, are not part of the work ahead.
      if (ts.state === "memory" || ts.wasInMemory) continue;
      remaining.push(ts);
      for (const dep of ts.deps) {
        if (seen.has(dep)) continue;
        seen.add(dep);
        stack.push(dep);
      }
    }
    const w: Watch = { remaining, total: remaining.length, done: 0, erred: 0 };
    const id = this.next++;
    watches.set(id, w);
    return { watch: id, ...count(w) };
  }

  /** The counts of watch `id` now; `end` forgets the watch after answering. */
  counts(owner: object, id: number, end = false): ProgressCounts {
    const watches = this.byOwner.get(owner);
    const w = watches?.get(id);
    if (!w) throw new ArgumentError(`no progress watch ${id} for this client (ended, or never started)`);
    if (end) watches!.delete(id);
    return count(w);
  }
}

/**
 * Moves tasks that finished since the last poll into `done` or `erred` for good: a task's result
 * may be freed (released, then forgotten) between two polls once its dependents ran, so a task
 * that was in memory once is done whatever its state now; an erred one keeps its blame when
 * forgotten. A task dropped unfinished (cancelled, released with its failed computation) stays
 * outstanding. A result lost and computed again stays counted once.
 */
function count(w: Watch): ProgressCounts {
  const r = w.remaining;
  let kept = 0;
  let processing = 0;
  for (let i = 0; i < r.length; i++) {
    const ts = r[i]!;
    const state = ts.state;
    if (state === "memory" || ts.wasInMemory) {
      w.done++;
      continue;
    }
    if (state === "erred" || (state === "forgotten" && ts.blame !== null)) {
      w.erred++;
      continue;
    }
    if (state === "processing") processing++;
    r[kept++] = ts;
  }
  r.length = kept;
  return { total: w.total, done: w.done, erred: w.erred, processing };
}
