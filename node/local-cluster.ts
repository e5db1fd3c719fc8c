// LocalCluster: a scheduler and worker threads in this process, the way Dask's LocalCluster
// starts a scheduler and workers on one machine. close() leaves nothing running.

import { availableParallelism } from "node:os";
import { ArgumentError, Scheduler, type LogLevel, type TransportOptions } from "../src/internal.js";
import { parseBytes } from "../src/util/bytes.js";
import { startThreadWorker, type ThreadWorker } from "./thread-host.js";

export interface LocalClusterOptions {
  /** Worker threads to start. Default: the number of CPU cores. */
  workers?: number;
  /** Resources each worker offers, e.g. { gpu: 1 }. */
  resources?: Record<string, number>;
  /** Memory each worker should use at most, e.g. "2GB". Default: no limit. */
  memoryLimit?: number | string;
  /** Require this token from clients and workers. Default: none (in-process clusters are private). */
  token?: string;
  /** Worker threads' log level. Default "warn". */
  logLevel?: LogLevel;
  /** Milliseconds between worker heartbeats. Default 1000. */
  heartbeatMs?: number;
  /** Settings for every connection (for tests: in-process latency and message-size caps). */
  transport?: TransportOptions;
}

export class LocalCluster {
  private readonly threads = new Map<string, ThreadWorker>();
  private counter = 0;
  private closing: Promise<void> | null = null;

  private constructor(
    readonly scheduler: Scheduler,
    private readonly options: LocalClusterOptions,
  ) {}

  /** Starts the scheduler and `workers` worker threads; resolves once all workers have joined. */
  static async start(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    const n = options.workers ?? availableParallelism();
    if (!Number.isInteger(n) || n < 0) throw new ArgumentError(`workers must be a whole number ≥ 0, got ${String(options.workers)}`);
    if (options.memoryLimit !== undefined) parseBytes(options.memoryLimit); // fail early on a bad size
    const scheduler = await Scheduler.start({ token: options.token, transport: options.transport });
    const cluster = new LocalCluster(scheduler, options);
    try {
      await Promise.all(Array.from({ length: n }, () => cluster.addWorker()));
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  /** The scheduler's address, for Client.connect. */
  get address(): string {
    return this.scheduler.address;
  }

  /** The running worker threads. */
  get workers(): ThreadWorker[] {
    return [...this.threads.values()];
  }

  /** Starts one more worker thread. */
  async addWorker(): Promise<ThreadWorker> {
    if (this.closing) throw new ArgumentError("the cluster is closed");
    const name = `thread-${++this.counter}`;
    const w = await startThreadWorker({
      scheduler: this.scheduler.address,
      name,
      memoryLimit: this.options.memoryLimit === undefined ? 0 : parseBytes(this.options.memoryLimit),
      resources: this.options.resources ?? {},
      token: this.options.token,
      logLevel: this.options.logLevel ?? "warn",
      heartbeatMs: this.options.heartbeatMs,
      transport: this.options.transport,
    });
    this.threads.set(w.workerId, w);
    void w.exited.then(() => this.threads.delete(w.workerId));
    return w;
  }

  /** Ends a worker abruptly, with no goodbye: for tests of lost workers. */
  async killWorker(workerId: string): Promise<void> {
    const w = this.threads.get(workerId);
    if (!w) throw new ArgumentError(`no worker ${workerId} in this cluster (have: ${[...this.threads.keys()].join(", ") || "none"})`);
    await w.kill();
  }

  /** Closes the workers gracefully, then the scheduler. Idempotent; nothing is left running. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all(this.workers.map((w) => w.close("cluster closing")));
      await this.scheduler.close();
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
