// A compute or persist of collections while it runs, as progress() sees it. The scheduler that
// runs it says where its counts come from (the "sync" scheduler counts as it runs tasks; a
// cluster's client opens a watch on the scheduler, but only once someone follows), and
// progress(promise) follows every computation running while its promise is pending: the promise
// of `x.persist()` is not linked to its graph, but the graph starts in the same turn.

import type { ProgressCounts } from "../protocol/messages.js";

/** Counts from one place a computation runs. */
export interface CountSource {
  /** The counts now (a request to the scheduler for a cluster; never rejects). */
  read(): ProgressCounts | Promise<ProgressCounts>;
  /** Stops counting (a scheduler's watch ends); later reads give the last counts. */
  end?(): void;
}

export type ComputationOutcome = "running" | "done" | "failed";

export class Computation {
  outcome: ComputationOutcome = "running";
  /** Sources made so far (made when the computation is first followed). */
  readonly sources: CountSource[] = [];
  private readonly makers: (() => CountSource)[] = [];
  private followed = false;

  /**
   * A scheduler running (part of) this computation says how to count it. `make` runs at once if
   * someone follows, else when someone does: a cluster's scheduler is not asked to count nobody's
   * work. It is called in the turn the tasks were submitted in, so no task has finished unseen.
   */
  addSource(make: () => CountSource): void {
    if (this.outcome !== "running") return;
    if (this.followed) this.sources.push(make());
    else this.makers.push(make);
  }

  /** Someone follows: the sources are made (once, shared by every follower). */
  follow(): void {
    if (this.followed) return;
    this.followed = true;
    for (const make of this.makers.splice(0)) this.sources.push(make());
  }

  /** @internal The computation settled; its sources stop counting. */
  finish(ok: boolean): void {
    if (this.outcome !== "running") return;
    this.outcome = ok ? "done" : "failed";
    this.makers.length = 0;
    for (const s of this.sources) s.end?.();
    running.delete(this);
  }
}

/**
 * Computations running in this realm. Realm-wide on purpose (as the default client is): a promise
 * cannot name the graph it waits for, and every scheduler (sync, threads, clients) is in this set.
 */
const running = new Set<Computation>();
const starting = new Set<(c: Computation) => void>();

/** @internal compute/persist start a computation (graph/collection.ts). */
export function beginComputation(): Computation {
  const c = new Computation();
  running.add(c);
  for (const listener of starting) listener(c);
  return c;
}

/**
 * Calls `listener` for every computation running now and each one that starts until the
 * returned function is called.
 */
export function followComputations(listener: (c: Computation) => void): () => void {
  for (const c of running) listener(c);
  starting.add(listener);
  return () => starting.delete(listener);
}
