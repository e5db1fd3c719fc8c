// A group of worker threads in this process, all joined to one scheduler: the workers of a
// LocalCluster (in-process links) and of a `meshwork worker` process (WebSocket links).

import type { TransportOptions } from "../src/comm/types.js";
import { ArgumentError } from "../src/errors.js";
import type { LogLevel } from "../src/log.js";
import { parseBytes } from "../src/util/bytes.js";
import { rmSync } from "node:fs";
import { makeSpillDirectory } from "./spill.js";
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
  heartbeatMs?: number | undefined;
  transport?: TransportOptions | undefined;
}

export class WorkerGroup {
  private readonly threads = new Map<string, ThreadWorker>();
  private counter = 0;
  private closing: Promise<void> | null = null;
  private readonly memoryLimit: number;

  constructor(private readonly options: WorkerGroupOptions) {
    this.memoryLimit = options.memoryLimit === undefined ? 0 : parseBytes(options.memoryLimit);
  }

  /** The running workers. */
  get workers(): ThreadWorker[] {
    return [...this.threads.values()];
  }

  /** Starts `n` workers at once. */
  async grow(n: number): Promise<ThreadWorker[]> {
    if (!Number.isInteger(n) || n < 0) throw new ArgumentError(`the number of workers must be a whole number ≥ 0, got ${String(n)}`);
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
    let w: ThreadWorker;
    try {
      w = await startThreadWorker({
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
      });
    } catch (err) {
      removeSpill();
      throw err;
    }
    this.threads.set(w.workerId, w);
    void w.exited.then(() => {
      this.threads.delete(w.workerId);
      removeSpill();
    });
    return w;
  }

  /** Ends a worker abruptly, with no goodbye (a crash, as far as the scheduler can tell). */
  async kill(workerId: string): Promise<void> {
    const w = this.threads.get(workerId);
    if (!w) throw new ArgumentError(`no worker ${workerId} here (have: ${[...this.threads.keys()].join(", ") || "none"})`);
    await w.kill();
  }

  /** Resolves when every worker has exited (e.g. after the scheduler went away). */
  async exited(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.exited));
  }

  /** Asks every worker to leave gracefully. Idempotent. */
  close(reason = "closing"): Promise<void> {
    this.closing ??= Promise.all(this.workers.map((w) => w.close(reason))).then(() => undefined);
    return this.closing;
  }
}
