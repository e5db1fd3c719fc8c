// The scheduler shell's clocks. Each timer only fires an event (check-ttl, check-timeouts, balance,
// no-worker-timeout); what to do then is SchedulerState's decision. Every timer is unref'd: the
// clients waiting for work keep a process alive, not the scheduler.

import { unrefTimer } from "../util/timers.js";
import type { SchedulerEvent } from "./events.js";
import type { SchedulerState } from "./state.js";

/** Milliseconds between looks for tasks past their timeout and steal-requests left unanswered (timeouts.ts). */
export const TIMEOUT_CHECK_MS = 1_000;

/** Milliseconds between work-stealing rounds (Dask's work-stealing-interval). */
export const STEAL_INTERVAL_MS = 100;

export class ShellTimers {
  private ttl: ReturnType<typeof setInterval> | undefined;
  private steal: ReturnType<typeof setInterval> | undefined;
  private timeouts: ReturnType<typeof setInterval> | undefined;
  private noWorker: ReturnType<typeof setTimeout> | undefined;
  /** When the no-worker timer fires, and how many tasks were in no-worker when last looked at. */
  private noWorkerAt = 0;
  private unrunnableSeen = 0;

  constructor(
    private readonly state: SchedulerState,
    private readonly event: (e: SchedulerEvent) => void,
  ) {}

  /** Starts the TTL check (a quarter of the TTL, at most 5 s apart), the timeouts' and, unless off, stealing. */
  start(ttlMs: number, workStealing: boolean): void {
    this.ttl = unrefTimer(setInterval(() => this.event({ op: "check-ttl", ttlMs }), Math.min(ttlMs / 4, 5_000)));
    this.timeouts = unrefTimer(setInterval(() => this.event({ op: "check-timeouts" }), TIMEOUT_CHECK_MS));
    if (workStealing)
      this.steal = unrefTimer(
        setInterval(() => {
          if (this.state.workers.size >= 2) this.event({ op: "balance" });
        }, STEAL_INTERVAL_MS),
      );
  }

  /** After each event: when tasks went to no-worker, wakes when the first noWorkerTimeout runs out (tasks without one wait). */
  afterEvent(closing: boolean): void {
    const waiting = this.state.unrunnable.size;
    if (waiting > 0 && waiting !== this.unrunnableSeen && !closing) this.armNoWorker();
    this.unrunnableSeen = waiting;
  }

  stop(): void {
    clearInterval(this.ttl);
    clearInterval(this.steal);
    clearInterval(this.timeouts);
    clearTimeout(this.noWorker);
  }

  private armNoWorker(): void {
    const at = this.state.nextNoWorkerDeadline();
    if (at === undefined || (this.noWorker !== undefined && at >= this.noWorkerAt)) return;
    clearTimeout(this.noWorker);
    this.noWorkerAt = at;
    this.noWorker = setTimeout(
      () => {
        this.noWorker = undefined;
        this.unrunnableSeen = -1;
        this.event({ op: "no-worker-timeout" });
      },
      Math.max(0, at - performance.now()) + 1,
    );
    unrefTimer(this.noWorker);
  }
}
