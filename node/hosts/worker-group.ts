// A group of worker threads in this process, all joined to one scheduler: the workers of a
// LocalCluster (in-process links) and of a `meshwork worker` process (WebSocket links).

import type { TransportOptions } from "../../src/comm/types.js";
import { ArgumentError } from "../../src/errors.js";
import { randomId } from "../../src/util/ids.js";
import { type Logger, type LogLevel, realmLogger } from "../../src/log.js";
import { parseBytes } from "../../src/util/bytes.js";
import { rmSync } from "node:fs";
import { makeSpillDirectory } from "../platform/spill.js";
import { startThreadWorker, type ThreadWorker } from "./thread-host.js";

export interface WorkerGroupOptions {
  /** Scheduler address. */
  scheduler: string;
  /** Data-server address pattern for each worker: "inproc://" or "ws://host:0". */
  listen: string;
  kind: "thread" | "node";
  /** Prefix of worker names: "thread" gives thread-1, thread-2 … */
  namePrefix: string;
  resources?: Record<string, number> | undefined;
  memoryLimit?: number | string | undefined;
  token?: string | undefined;
  logLevel?: LogLevel | undefined;
  /** Where this process logs a thread that failed to start (the threads log on their own). Default: the realm's logger. */
  log?: Logger | undefined;
  heartbeatMs?: number | undefined;
  transport?: TransportOptions | undefined;
  /**
   * Let the scheduler grow and shrink this group with the work, between these thread counts: it
   * asks for more threads (scale-up) and retires idle ones gracefully (`meshwork worker --adapt`).
   */
  adapt?: { minimum: number; maximum: number } | undefined;
  /** Link to browser tabs over WebRTC (node-datachannel, loaded when a tab is first linked to). Default true. */
  webrtc?: boolean | undefined;
  /** Where the scheduler serves /data/, when not at its address (a LocalCluster's page). */
  dataOrigin?: string | undefined;
  /** Whether the threads keep this process alive once started. Default true (`meshwork worker`); a LocalCluster's do not. */
  keepAlive?: boolean | undefined;
  /**
   * Threads load in parallel but join one after another in the order of their names, so that a
   * scheduler numbering workers as they join pairs thread-n with worker-n (a LocalCluster's). Default false.
   */
  joinInOrder?: boolean | undefined;
  /** Adversarial tests only: every worker of the group forges its results (WorkerOptions.lieForTests). */
  lieForTests?: boolean | "serve" | undefined;
}

export class WorkerGroup {
  private readonly threads = new Map<string, ThreadWorker>();
  private counter = 0;
  /** Resolves when the last thread started has joined or failed: the next one's turn (joinInOrder). */
  private lastJoin: Promise<void> = Promise.resolve();
  private closing: Promise<void> | null = null;
  private readonly memoryLimit: number;
  /** This group's id for the scheduler (unique: names may repeat across machines). */
  private readonly groupId: string;

  constructor(private readonly options: WorkerGroupOptions) {
    this.memoryLimit = options.memoryLimit === undefined ? 0 : parseBytes(options.memoryLimit);
    this.groupId = `${options.namePrefix}-${randomId(4)}`;
  }

  /** The running workers. */
  get workers(): ThreadWorker[] {
    return [...this.threads.values()];
  }

  /** Starts `n` workers at once. */
  async grow(n: number): Promise<ThreadWorker[]> {
    if (!Number.isInteger(n) || n < 0)
      throw new ArgumentError(`the number of workers must be a whole number ≥ 0, got ${String(n)}`);
    return Promise.all(Array.from({ length: n }, () => this.add()));
  }

  /** Starts one more worker thread; resolves once it has joined the scheduler. */
  async add(): Promise<ThreadWorker> {
    if (this.closing) throw new ArgumentError("these workers are closed");
    const o = this.options;
    const name = `${o.namePrefix}-${++this.counter}`;
    // The directory is this thread's to make and remove, so nothing is left even if the worker is killed.
    const spillDirectory = this.memoryLimit > 0 ? makeSpillDirectory(name) : undefined;
    const removeSpill = () => spillDirectory && rmSync(spillDirectory, { recursive: true, force: true });
    let turn: Promise<void> | undefined;
    let joined = () => {};
    if (o.joinInOrder) {
      turn = this.lastJoin;
      this.lastJoin = new Promise<void>((resolve) => (joined = resolve));
    }
    let w: ThreadWorker;
    try {
      w = await startThreadWorker(
        {
          scheduler: o.scheduler,
          listen: o.listen,
          kind: o.kind,
          name,
          memoryLimit: this.memoryLimit,
          spillDirectory,
          resources: o.resources ?? {},
          token: o.token,
          logLevel: o.logLevel ?? "warn",
          heartbeatMs: o.heartbeatMs,
          transport: o.transport,
          group: { id: this.groupId, adapt: o.adapt },
          webrtc: o.webrtc ?? true,
          dataOrigin: o.dataOrigin,
          lieForTests: o.lieForTests,
        },
        (n) => void this.growTo(this.threads.size + this.starting + n),
        turn,
        o.log,
      );
    } catch (err) {
      removeSpill();
      throw err;
    } finally {
      joined();
    }
    if (o.keepAlive === false) w.thread.unref();
    this.threads.set(w.workerId, w);
    void w.exited.then(() => {
      this.threads.delete(w.workerId);
      removeSpill();
      if (this.threads.size === 0 && this.starting === 0) for (const resolve of this.emptyWaiters.splice(0)) resolve();
    });
    return w;
  }

  /** Threads being started now. */
  private starting = 0;

  /** Starts threads until there are `n` (at most the adaptive maximum); failures are logged. */
  private async growTo(n: number): Promise<void> {
    const max = this.options.adapt?.maximum ?? Infinity;
    const more = Math.min(n, max) - this.threads.size - this.starting;
    if (more <= 0 || this.closing) return;
    this.starting += more;
    try {
      await Promise.all(
        Array.from({ length: more }, () =>
          this.add().catch((err: unknown) =>
            (this.options.log ?? realmLogger).warn(`could not start a worker thread: ${(err as Error).message}`),
          ),
        ),
      );
    } finally {
      this.starting -= more;
    }
  }

  /** Resolves when no thread is left (all retired, killed, or gone with the scheduler). */
  empty(): Promise<void> {
    if (this.threads.size === 0 && this.starting === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptyWaiters.push(resolve));
  }
  private emptyWaiters: (() => void)[] = [];

  /** Ends a worker abruptly, with no goodbye (a crash, as far as the scheduler can tell). */
  async kill(workerId: string): Promise<void> {
    const w = this.threads.get(workerId);
    if (!w)
      throw new ArgumentError(`no worker ${workerId} here (have: ${[...this.threads.keys()].join(", ") || "none"})`);
    await w.kill();
  }

  /** Asks every worker to leave gracefully. Idempotent. */
  close(reason = "closing"): Promise<void> {
    this.closing ??= Promise.all(this.workers.map((w) => w.close(reason))).then(() => undefined);
    return this.closing;
  }
}
