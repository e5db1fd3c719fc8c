// LocalCluster: a scheduler and worker threads in this process, the way Dask's LocalCluster
// starts a scheduler and workers on one machine. close() leaves nothing running.

import { availableParallelism } from "node:os";
import {
  Adaptive,
  ArgumentError,
  checkKnownOptions,
  Scheduler,
  type AdaptOptions,
  type LogLevel,
  type RetireResult,
  type TransportOptions,
} from "../../src/internal.js";
import { parseBytes } from "../../src/util/bytes.js";
import type { ThreadWorker } from "./thread-host.js";
import { WorkerGroup } from "./worker-group.js";
import type { DataServeOptions } from "../servers/data-server.js";
import type { ServedPage } from "../servers/page-server.js";
import type { ServedDashboard } from "../servers/dashboard-server.js";
import { randomId } from "../../src/util/ids.js";
import { timingSafeSecretEquals } from "../platform/secrets.js";
import type { Stores } from "../../src/io/store.js";
import { defaultRuntime, type Runtime } from "../../src/runtime.js";

export interface LocalClusterOptions {
  /** Worker threads to start. Default: the number of CPU cores. */
  workers?: number;
  /** Resources each worker offers, e.g. { gpu: 1 }. */
  resources?: Record<string, number>;
  /** Memory each worker should use at most, e.g. "2GB". Default: no limit. */
  memoryLimit?: number | string;
  /** Require this token from clients (and workers). Default: none (in-process clusters are private). */
  token?: string;
  /** Worker threads' log level. Default "warn". */
  logLevel?: LogLevel;
  /** Milliseconds between worker heartbeats. Default 1000. */
  heartbeatMs?: number;
  /** Settings for every connection (for tests: in-process latency and message-size caps). */
  transport?: TransportOptions;
  /** A worker not heard from for this many ms is removed as lost. Default 300,000 (see SchedulerOptions). */
  workerTtlMs?: number;
  /** A task that was running on this many workers when they died fails with KilledWorkerError. Default 3. */
  allowedFailures?: number;
  /**
   * Also listen at ws://host:port (default 127.0.0.1, a free port) for browser tabs: the worker page,
   * whose link (`cluster.pageUrl`) lends a tab to this cluster as an untrusted worker, and the relay
   * for their data. A tab token (the link's) and a worker token (this process's threads') are made
   * for it (clients of this process need none). `serveData` serves a
   * directory read-only at `cluster.dataUrl` (/data/ on that port) to the tabs, the worker threads
   * and clients of this process (see `meshwork scheduler --serve-data`).
   */
  page?: boolean | { host?: string; port?: number; serveData?: string | DataServeOptions };
  /**
   * Serve the dashboard (`cluster.dashboardLink`, also told to clients as `client.dashboardLink`):
   * on the page's port with `page`, else on a port of its own at host (default 127.0.0.1) and port
   * (default a free one). Its link carries the client token, or a token made for it when clients
   * need none. Default true; it costs nothing but an idle port until a dashboard is opened.
   */
  dashboard?: boolean | { host?: string; port?: number };
  /**
   * The platform's pieces for the scheduler in this thread (transports, logger, buffer policy):
   * see src/runtime.ts. Default: the realm's. The worker threads build their own from `logLevel`.
   */
  runtime?: Runtime | undefined;
}

/**
 * `p`, with the process kept alive until it settles. The cluster's threads and links do not keep it
 * alive (so a script that forgets close() exits), so what a program awaits of the cluster itself
 * (close, a worker starting or ending) must, or `await cluster.close()` could end the process first.
 */
function keptAlive<T>(p: Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, 1 << 30);
  return p.finally(() => clearInterval(timer));
}

const LOCAL_CLUSTER_OPTION_NAMES = [
  "workers",
  "resources",
  "memoryLimit",
  "token",
  "logLevel",
  "heartbeatMs",
  "transport",
  "workerTtlMs",
  "allowedFailures",
  "page",
  "dashboard",
  "runtime",
];

export class LocalCluster {
  private closing: Promise<void> | null = null;
  private adaptive: Adaptive | null = null;
  private constructor(
    readonly scheduler: Scheduler,
    private readonly group: WorkerGroup,
    private readonly page: ServedPage | null,
    /** The http:// origin whose /data/ this process was given a token for. */
    private readonly dataOrigin: string | undefined,
    private readonly dashboard: ServedDashboard | null,
    /** The runtime of this cluster's members in this thread (the scheduler's; its clients' if they are given it). */
    readonly runtime: Runtime,
  ) {}

  /** Starts the scheduler and `workers` worker threads; resolves once all workers have joined. */
  static async start(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    checkKnownOptions("LocalCluster.start options", options, LOCAL_CLUSTER_OPTION_NAMES);
    const n = options.workers ?? availableParallelism();
    if (!Number.isInteger(n) || n < 0)
      throw new ArgumentError(`workers must be a whole number ≥ 0, got ${String(options.workers)}`);
    if (options.memoryLimit !== undefined) parseBytes(options.memoryLimit); // fail early on a bad size
    const page = options.page === true ? {} : options.page || null;
    const dashboard = options.dashboard === undefined || options.dashboard === true ? {} : options.dashboard || null;
    // The dashboard shows what clients submit: it asks for the client token, or one of its own.
    const dashboardToken = dashboard ? (options.token ?? randomId(16)) : undefined;
    // With a page, tabs join with a tab token of their own (as untrusted workers), and this
    // process's threads with a worker token: never the client token, which may submit work.
    const workerToken = page ? randomId(16) : undefined;
    const tabToken = page ? randomId(16) : undefined;
    const runtime = options.runtime ?? defaultRuntime();
    const scheduler = await Scheduler.start({
      token: options.token,
      workerToken,
      tabToken,
      compareSecret: timingSafeSecretEquals,
      transport: options.transport,
      workerTtlMs: options.workerTtlMs,
      allowedFailures: options.allowedFailures,
      // Neither the scheduler's links nor the threads keep the process alive: clients do while they wait.
      keepAlive: false,
      runtime,
    });
    // The page first, so that worker threads know where /data/ is (they join in-process).
    let served: ServedPage | null = null;
    let dataOrigin: string | undefined;
    if (page) {
      try {
        const { servePage } = await import("../servers/page-server.js"); // HTTP, the relay and `ws`: only when asked for
        const serveData = typeof page.serveData === "string" ? { directory: page.serveData } : page.serveData;
        // /api/status answers the client token, or (a cluster whose clients need none) the page's token.
        served = await servePage(scheduler, {
          host: page.host ?? "127.0.0.1",
          port: page.port ?? 0,
          workerToken,
          tabToken,
          statusToken: options.token ?? workerToken,
          serveData,
          dashboardToken,
          keepAlive: false,
        });
      } catch (err) {
        await scheduler.close();
        throw err;
      }
      if (page.serveData !== undefined) {
        dataOrigin = new URL(served.address.replace(/^ws/, "http")).origin;
        // This process's clients plan from the metadata: the token goes to the cluster's runtime's
        // stores (the realm's when it was given none, so planners given no client find it too).
        runtime.stores.setCredentials(dataOrigin, options.token ?? workerToken!);
      }
    }
    let ownDashboard: ServedDashboard | null = null;
    if (dashboard && !served) {
      try {
        const { serveDashboard } = await import("../servers/dashboard-server.js"); // node:http: only when asked for
        ownDashboard = await serveDashboard(scheduler, {
          host: dashboard.host ?? "127.0.0.1",
          port: dashboard.port ?? 0,
          token: dashboardToken!,
          keepAlive: false,
        });
      } catch (err) {
        await scheduler.close();
        throw err;
      }
    }
    const group = new WorkerGroup({
      scheduler: scheduler.address,
      listen: "inproc://",
      kind: "thread",
      namePrefix: "thread",
      resources: options.resources,
      memoryLimit: options.memoryLimit,
      token: workerToken ?? options.token,
      logLevel: options.logLevel,
      log: scheduler.logger,
      heartbeatMs: options.heartbeatMs,
      transport: options.transport,
      dataOrigin,
      keepAlive: false,
      joinInOrder: true, // thread-n is worker-n, run after run (issue 21)
    });
    const cluster = new LocalCluster(scheduler, group, served, dataOrigin, ownDashboard, runtime);
    try {
      await group.grow(n);
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

  /** The worker page's link (with the `page` option): opening it lends that tab to this cluster. */
  get pageUrl(): string | undefined {
    return this.page?.pageUrl;
  }

  /**
   * The dashboard's link (`http://127.0.0.1:<port>/dashboard#token=…`), undefined with
   * `dashboard: false`. It carries the client token: share it as you would the token.
   */
  get dashboardLink(): string | undefined {
    return this.scheduler.dashboardLink;
  }

  /** Where `page.serveData` is served: `${dataUrl}air.zarr` reads DIR/air.zarr. */
  get dataUrl(): string | undefined {
    return this.dataOrigin && `${this.dataOrigin}/data/`;
  }

  /**
   * What this process reads the cluster's data through (its runtime's stores, holding the token for
   * `dataUrl` until the cluster closes): `fromZarr(url, { stores: cluster })`, or a client connected
   * with `{ runtime: cluster.runtime }`.
   */
  get stores(): Stores {
    return this.runtime.stores;
  }

  /** The ws:// address beside the in-process one (with the `page` option). */
  get networkAddress(): string | undefined {
    return this.page?.address;
  }

  /** The running worker threads. */
  get workers(): ThreadWorker[] {
    return this.group.workers;
  }

  /** Starts one more worker thread. */
  addWorker(): Promise<ThreadWorker> {
    if (this.closing) return Promise.reject(new ArgumentError("the cluster is closed"));
    return keptAlive(this.group.add());
  }

  /** Ends a worker abruptly, with no goodbye: for tests of lost workers (and chaos). */
  killWorker(workerId: string): Promise<void> {
    return keptAlive(this.group.kill(workerId));
  }

  /**
   * Retires workers gracefully (see Client.retireWorkers): their unique results move to other
   * workers first. Resolves when the retired threads have exited.
   */
  retireWorkers(workerIds: string[]): Promise<RetireResult> {
    return keptAlive(
      (async () => {
        const result = await this.scheduler.retireWorkers(workerIds);
        const gone = new Set(result.retired);
        await Promise.all(this.group.workers.filter((w) => gone.has(w.workerId)).map((w) => w.exited));
        return result;
      })(),
    );
  }

  /**
   * Grows and shrinks the cluster with the work: more worker threads when tasks queue (up to
   * `maximum`), fewer through graceful retirement when idle (down to `minimum`), shrinking only
   * after `wait` checks in a row agree so it does not flap. Calling it again replaces the settings;
   * `adapt(false)` stops adapting (the workers there are stay).
   */
  async adapt(options: AdaptOptions | false = {}): Promise<void> {
    if (this.closing) throw new ArgumentError("the cluster is closed");
    await keptAlive(this.adaptive?.stop() ?? Promise.resolve());
    this.adaptive = null;
    if (options === false) return;
    const adaptive = new Adaptive(
      {
        state: this.scheduler.state,
        scaleUp: (n) => this.group.grow(n),
        scaleDown: (ids) => this.retireWorkers(ids),
        log: this.scheduler.logger,
      },
      options,
      availableParallelism(),
    );
    this.adaptive = adaptive;
    adaptive.start();
  }

  /** Closes the workers gracefully, then the scheduler. Idempotent; nothing is left running. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.adaptive?.stop();
      // The scheduler and the workers reject with a broken invariant when validating (tests): close the rest first.
      const workers = this.group.close("cluster closing").then(
        () => undefined,
        (err: unknown) => err,
      );
      const workerFailure = await workers;
      try {
        await this.scheduler.close();
        if (workerFailure) throw workerFailure;
      } finally {
        await this.page?.close();
        await this.dashboard?.close();
        if (this.dataOrigin) this.runtime.stores.setCredentials(this.dataOrigin, null);
      }
    })();
    return keptAlive(this.closing);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
