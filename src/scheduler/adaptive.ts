// Adaptive scaling: how many workers the work in the scheduler calls for, and which to let go.
// The policy is a pure function of scheduler state (Dask's adaptive_target: queued work divided by
// a target duration, more workers when memory fills); the Adaptive loop applies it with
// hysteresis: it grows at once and shrinks only after several checks in a row agree, and it
// shrinks by graceful retirement, so nothing computed is lost.

import { checkKnownOptions } from "../client/arguments.js";
import { ArgumentError } from "../errors.js";
import { type Logger, realmLogger } from "../log.js";
import type { WorkerRecord } from "./model.js";
import { UNKNOWN_TASK_MS } from "./placement.js";
import { mayRetire, processBounds, processClosable, scaleUpAsks } from "./processes.js";
import type { SchedulerData } from "./core.js";
import { unrefTimer } from "../util/timers.js";

export interface AdaptOptions {
  /** Workers to keep at least. Default 0. */
  minimum?: number;
  /** Workers to have at most. Default: the number of CPU cores where known, else 4. */
  maximum?: number;
  /** How long the queued work should take to drain, in ms: the work divided by this is the worker count asked for. Default 5,000 (Dask's target-duration). */
  targetDurationMs?: number;
  /** Milliseconds between checks. Default 1,000. */
  intervalMs?: number;
  /** Checks in a row that must call for fewer workers before any is retired. Default 3 (Dask's wait-count). */
  wait?: number;
  /** Fraction of the workers' memory limits in use above which one more worker is asked for. Default 0.6. */
  memoryFraction?: number;
}

/**
 * Work queued in ms: every task processing or waiting for a worker, at the duration now known for
 * its kind (a task placed before its kind was first timed was counted at UNKNOWN_TASK_MS in its
 * worker's occupancy; here it counts at what such tasks really take).
 */
export function queuedWorkMs(s: SchedulerData): number {
  const expect = (group: string) => s.durations.get(group) ?? UNKNOWN_TASK_MS;
  let ms = 0;
  for (const ws of s.workers.values()) for (const ts of ws.processing) ms += expect(ts.group);
  for (const ts of s.unrunnable) ms += expect(ts.group);
  return ms;
}

/** The number of workers the current work calls for, within [minimum, maximum]. */
export function adaptiveTarget(
  s: SchedulerData,
  o: Required<Pick<AdaptOptions, "minimum" | "maximum" | "targetDurationMs" | "memoryFraction">>,
): number {
  let running = 0;
  let busy = 0;
  let memory = 0;
  let limit = 0;
  for (const ws of s.workers.values()) {
    if (ws.status !== "running") continue;
    running++;
    if (ws.processing.size > 0) busy++;
    memory += ws.nbytes;
    limit += ws.memoryLimit;
  }
  let target = Math.ceil(queuedWorkMs(s) / o.targetDurationMs);
  if (s.unrunnable.size > 0) target = Math.max(target, 1); // work that no worker can take yet
  target = Math.max(target, busy); // never ask busy workers to leave
  if (limit > 0 && memory > o.memoryFraction * limit) target = Math.max(target, running + 1);
  // Workers holding results stay unless others can take the results (retirement keeps them otherwise).
  if (target === 0 && [...s.workers.values()].some((ws) => ws.status === "running" && ws.hasWhat.size > 0)) target = 1;
  return Math.min(o.maximum, Math.max(o.minimum, target));
}

/** Up to `n` running workers to retire: idle ones, holding the fewest bytes first (Dask's workers_to_close). */
export function workersToClose(
  s: SchedulerData,
  n: number,
  closable: (ws: WorkerRecord) => boolean = () => true,
): WorkerRecord[] {
  const idle = [...s.workers.values()].filter(
    (ws) => ws.status === "running" && ws.processing.size === 0 && closable(ws),
  );
  idle.sort((a, b) => a.nbytes - b.nbytes);
  return idle.slice(0, Math.max(0, n));
}

/** One check's decision: start `up` workers, or retire `down` (ids), or neither. */
export interface AdaptDecision {
  up: number;
  down: string[];
  /** Checks in a row that have called for fewer workers (carried to the next check). */
  lowChecks: number;
}

/**
 * One check of the adaptive policy, a pure function of the state: grow at once to the target;
 * shrink only once `wait` checks in a row (counting this one, after `lowChecks` before it) have
 * called for fewer, and then only idle workers that `closable` allows.
 */
export function adaptDecision(
  s: SchedulerData,
  o: Required<Pick<AdaptOptions, "minimum" | "maximum" | "targetDurationMs" | "memoryFraction" | "wait">>,
  lowChecks: number,
  closable?: (ws: WorkerRecord) => boolean,
): AdaptDecision {
  let running = 0;
  for (const ws of s.workers.values()) if (ws.status === "running") running++;
  const target = adaptiveTarget(s, o);
  if (target > running) return { up: target - running, down: [], lowChecks: 0 };
  if (target === running) return { up: 0, down: [], lowChecks: 0 };
  if (++lowChecks < o.wait) return { up: 0, down: [], lowChecks };
  return { up: 0, down: workersToClose(s, running - target, closable).map((ws) => ws.id), lowChecks: 0 };
}

/** What Adaptive needs from a cluster: start workers, retire workers, and the count starting. */
export interface Scalable {
  readonly state: SchedulerData;
  /** Starts `n` more workers; resolves when they have joined. */
  scaleUp(n: number): Promise<unknown>;
  /** Retires these workers gracefully; resolves when they have left (or were kept). */
  scaleDown(ids: string[]): Promise<unknown>;
  /** Bounds that change with the cluster (a scheduler adapting worker processes as they join); else the options'. */
  bounds?(): { minimum: number; maximum: number };
  /** Which workers may be retired (default: any). */
  closable?(ws: WorkerRecord): boolean;
  /** Where a failed scaling is logged: the cluster's runtime's logger. Default: the realm's. */
  readonly log?: Logger | undefined;
}

/** A running adapt() loop. */
export class Adaptive {
  readonly options: Required<AdaptOptions>;
  private timer: ReturnType<typeof setInterval> | undefined;
  private busy = false;
  private lowChecks = 0;
  private stopped = false;
  /** Resolves when no scaling action is in flight (for close()). */
  private inFlight: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly cluster: Scalable,
    options: AdaptOptions,
    defaultMaximum: number,
  ) {
    checkKnownOptions("adapt options", options, [
      "minimum",
      "maximum",
      "targetDurationMs",
      "intervalMs",
      "wait",
      "memoryFraction",
    ]);
    const o: Required<AdaptOptions> = {
      minimum: options.minimum ?? 0,
      maximum: options.maximum ?? defaultMaximum,
      targetDurationMs: options.targetDurationMs ?? 5_000,
      intervalMs: options.intervalMs ?? 1_000,
      wait: options.wait ?? 3,
      memoryFraction: options.memoryFraction ?? 0.6,
    };
    const whole = (v: number) => Number.isInteger(v) && v >= 0;
    if (!whole(o.minimum) || !whole(o.maximum))
      throw new ArgumentError(
        `adapt: minimum and maximum must be whole numbers ≥ 0, got ${o.minimum} and ${o.maximum}`,
      );
    if (o.minimum > o.maximum) throw new ArgumentError(`adapt: minimum (${o.minimum}) is above maximum (${o.maximum})`);
    if (!(o.targetDurationMs > 0) || !(o.intervalMs > 0))
      throw new ArgumentError("adapt: targetDurationMs and intervalMs must be > 0");
    if (!whole(o.wait) || o.wait < 1) throw new ArgumentError(`adapt: wait must be a whole number ≥ 1, got ${o.wait}`);
    if (!(o.memoryFraction > 0 && o.memoryFraction <= 1))
      throw new ArgumentError(`adapt: memoryFraction must be in (0, 1], got ${o.memoryFraction}`);
    this.options = o;
  }

  start(): void {
    this.timer = unrefTimer(setInterval(() => this.check(), this.options.intervalMs));
    this.check();
  }

  /** Stops adapting; resolves once any scaling in flight has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.inFlight;
  }

  /** One decision: grow now, or shrink after `wait` checks in a row asked for fewer. */
  check(): void {
    if (this.busy || this.stopped) return;
    const d = adaptDecision(
      this.cluster.state,
      { ...this.options, ...this.cluster.bounds?.() },
      this.lowChecks,
      this.cluster.closable?.bind(this.cluster),
    );
    this.lowChecks = d.lowChecks;
    let action: Promise<unknown> | null = null;
    if (d.up > 0) action = this.cluster.scaleUp(d.up);
    else if (d.down.length > 0) action = this.cluster.scaleDown(d.down);
    if (!action) return;
    this.busy = true;
    this.inFlight = action
      .catch((err: unknown) =>
        (this.cluster.log ?? realmLogger).warn(`adapt: scaling failed: ${(err as Error).message}`),
      )
      .finally(() => {
        this.busy = false;
      });
  }
}

/**
 * The Adaptive loop of a scheduler whose worker processes joined with adaptive bounds (`meshwork
 * worker --adapt MIN:MAX`): processes.ts decides which process grows and which threads may go;
 * `scaleUp` asks a thread of a process for `n` more threads (the shell sends scale-up), `retire`
 * retires workers gracefully. Growing resolves when the threads have joined, or after a while (a
 * process may fail to start threads).
 */
export function adaptProcesses(
  s: SchedulerData,
  scaleUp: (worker: string, n: number) => void,
  retire: (ids: string[]) => Promise<unknown>,
  options: Omit<AdaptOptions, "minimum" | "maximum">,
  log?: Logger,
): Adaptive {
  const running = () => [...s.workers.values()].filter((ws) => ws.status === "running").length;
  return new Adaptive(
    {
      state: s,
      bounds: () => processBounds(s),
      closable: (ws) => processClosable(s, ws),
      log,
      scaleUp: async (n) => {
        const before = running();
        let asked = 0;
        for (const ask of scaleUpAsks(s, n)) {
          scaleUp(ask.worker, ask.n);
          asked += ask.n;
        }
        for (let waited = 0; asked > 0 && running() < before + asked && waited < 15_000; waited += 50)
          await new Promise((r) => setTimeout(r, 50));
      },
      scaleDown: async (ids) => {
        const keep = mayRetire(s, ids);
        if (keep.length > 0) await retire(keep);
      },
    },
    { ...options, minimum: 0, maximum: 0 },
    0,
  );
}
