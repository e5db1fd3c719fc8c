// The worker's shell: one connection to the scheduler, the data plane (a data server that peers
// and clients fetch results from, connections to peers for fetching dependencies; data-plane.ts),
// and the loop that runs tasks. Decisions about tasks and data live in WorkerState.

import { Comm } from "../comm/comm.js";
import { greet } from "../comm/handshake.js";
import { dispatch } from "../comm/dispatch.js";
import { connect, listen, type Listener } from "../comm/registry.js";
import { RtcLink, type BridgeEnd } from "../comm/rtc-link.js";
import type { TransportOptions } from "../comm/types.js";
import { errorToData, SerializationError } from "../errors.js";
import { useSchedulerCredentials } from "../io/store.js";
import { log } from "../log.js";
import type { Handlers, Resources, SchedulerToWorker, WorkerHello, WorkerKind } from "../protocol/messages.js";
import type { Serialized, TaskRef } from "../protocol/refs.js";
import { deserialize, measure, serialize } from "../protocol/serialize.js";
import { digestOf } from "../protocol/digest.js";
import type { DigestMaker } from "../util/sha256.js";
import { randomId } from "../util/ids.js";
import type { SecretCompare } from "../util/secret.js";
import { exposeBuffers } from "../util/buffer-pool.js";
import { clearReceiveBuffers, setSpareBudget } from "../util/receive-buffers.js";
import { CodeCache, type CodePlatform, type TaskFunction } from "./code.js";
import { platformWorkerKind } from "./kind.js";
import { DataPlane } from "./data-plane.js";
import { WorkerState, type WorkerTask } from "./state.js";
import { SPILL_FRACTION, type SpillStore } from "./spill.js";

/** One of a worker's open connections, as its status page shows it. */
export interface WorkerLink {
  /** The other end's address: a peer's data server (out), the connection's remote end (in). */
  peer: string;
  /** The other end's name: the worker's (from its welcome or hello), a client's, "scheduler"; undefined if it gave none. */
  name: string | undefined;
  role: "scheduler" | "peer" | "client";
  kind: string;
  direction: "scheduler" | "out" | "in";
  bytesIn: number;
  bytesOut: number;
}

export interface WorkerOptions {
  /** Address of the scheduler. */
  scheduler: string;
  /** Where this worker's data server listens. Default: a fresh in-process address. */
  listen?: string;
  name?: string;
  /** What it runs on, for the scheduler (which build of a task module it gets). Default: "thread" in Node, "browser" from meshwork's browser entry. */
  kind?: WorkerKind;
  /**
   * Bytes of results this worker holds in memory at most. Above 60 % results are spilled to
   * `spill` (least recently used first); above 80 % the worker starts no tasks until memory is
   * freed. Default 0: no limit.
   */
  memoryLimit?: number;
  /** Where results are spilled (Node: a temporary directory). None: the worker only pauses. */
  spill?: SpillStore | undefined;
  resources?: Resources;
  token?: string | undefined;
  /**
   * Unused since data servers check tickets (util/tickets.ts, compared in constant time there), not
   * a shared token; kept so that callers passing it still compile.
   */
  compareSecret?: SecretCompare | undefined;
  /** How source becomes code on this platform. */
  code?: CodePlatform;
  /** Milliseconds between heartbeats. Default 1000. */
  heartbeatMs?: number;
  /** The worker process this is a thread of, with its adaptive bounds (see WorkerHello.group). */
  group?: WorkerHello["group"];
  /** The scheduler asks this worker's process for `n` more threads (adaptive scaling). */
  onScaleUp?: (n: number) => void;
  /** Lets pending I/O run between batches of tasks. Default: a zero timeout. */
  yieldToEventLoop?: () => Promise<void>;
  transport?: TransportOptions;
  /** WebRTC data links: the bridge to this worker's RtcHost, and the peers to try them with. */
  webrtc?: WebRtcOptions | undefined;
  /**
   * Where the scheduler serves /data/ when that is not its own address (a LocalCluster's threads
   * join in-process): tasks read from this http:// origin with `token`. Default: the scheduler's
   * address, when it is ws:// or wss://.
   */
  dataOrigin?: string | undefined;
  /** The SHA-256 that digests results being verified. Default: plain JavaScript; Node injects its native one. */
  digest?: DigestMaker | undefined;
  /**
   * For the adversarial tests only: answer every task with a forged result (and its digest), as a
   * lying worker would; "serve": compute and report honestly, but serve forged bytes to every
   * reader (a worker that agrees on the digest and then lies to its fetchers). Never set it otherwise.
   */
  lieForTests?: boolean | "serve" | undefined;
}

export interface WebRtcOptions {
  bridge: BridgeEnd;
  /** Whether to link to the data server at `address` over WebRTC (else its own transport). */
  useFor(address: string): boolean;
  /** A WebRTC link not open within this long is given up for the peer's own transport. Default RTC_LINK_TIMEOUT_MS. */
  timeoutMs?: number | undefined;
}

export { RTC_LINK_TIMEOUT_MS, RTC_RETRY_AFTER_MS } from "./data-plane.js";

/**
 * Run tasks back to back for at most this long before letting I/O in (peers asking for data, the
 * scheduler freeing keys). Long enough that thousands of tiny tasks share one message batch.
 */
export const TASK_SLICE_MS = 10;

/**
 * Results estimated at this size or less travel with the task-finished notice, and the scheduler
 * passes them on to the clients that want them, saving each client a fetch from the worker (a
 * round trip). The worker still holds the result for dependents. Small enough that forwarding
 * costs the scheduler little; Ray inlines objects up to 100 KiB for the same reason.
 */
export const INLINE_RESULT_MAX_BYTES = 1024;

export class Worker {
  readonly name: string;
  readonly state: WorkerState;
  /** Resolves with the reason when the worker has closed. */
  readonly closed: Promise<string>;
  private readonly code: CodeCache;
  private scheduler!: Comm;
  private listener!: Listener;
  private id = "";
  private readonly data: DataPlane;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private running = false;
  private closing = false;
  private resolveClosed!: (reason: string) => void;
  private drainScheduled = false;
  /** The paused state the scheduler last heard. */
  private reportedPaused = false;
  /** Typical milliseconds per task function, learned here. */
  private readonly fnDurations = new Map<string, number>();
  private readonly yieldToEventLoop: () => Promise<void>;

  private constructor(
    private readonly options: WorkerOptions,
    address: string,
  ) {
    this.name = options.name ?? `worker-${randomId(3)}`;
    this.state = new WorkerState(address, { limit: options.memoryLimit ?? 0, spill: options.spill });
    // Buffers prepared for incoming frames are memory too: lend them only what results leave free.
    const limit = options.memoryLimit ?? 0;
    if (limit > 0) setSpareBudget(() => SPILL_FRACTION * limit - this.state.memory);
    this.code = new CodeCache(options.code);
    this.closed = new Promise((r) => (this.resolveClosed = r));
    this.data = new DataPlane(
      this.name,
      this.state,
      options.transport,
      options.webrtc,
      () => this.scheduleDrain(),
      options.token !== undefined,
    );
    this.data.digestMaker = options.digest;
    this.data.serveForgedForTests = options.lieForTests === "serve";
    this.yieldToEventLoop = options.yieldToEventLoop ?? (() => new Promise((r) => setTimeout(r, 0)));
  }

  /** Starts the data server, joins the scheduler and starts taking tasks. */
  static async start(options: WorkerOptions): Promise<Worker> {
    let worker!: Worker;
    const listener = await listen(
      options.listen ?? `inproc://worker-${randomId(4)}`,
      (comm) => void worker.data.accept(comm),
      options.transport,
    );
    worker = new Worker(options, listener.address);
    worker.listener = listener;
    if (options.webrtc) {
      const rtc = new RtcLink(options.webrtc.bridge, listener.address, options.transport);
      rtc.onChannel = (channel) => void worker.data.accept(new Comm(channel));
      rtc.onSignal = (to, data) =>
        worker.scheduler && !worker.scheduler.isClosed && worker.scheduler.send({ op: "rtc-signal", to, data });
      worker.data.rtc = rtc;
    }
    try {
      await worker.join();
    } catch (err) {
      await listener.close();
      throw err;
    }
    return worker;
  }

  /** Where peers and clients reach this worker's data. */
  get address(): string {
    return this.listener.address;
  }

  /** The id the scheduler gave this worker. */
  get workerId(): string {
    return this.id;
  }

  /** Tasks this worker ran and reported finished (WorkerState.tasksDone): the scheduler's count for it. */
  get tasksDone(): number {
    return this.state.tasksDone;
  }

  /** This worker's open connections: to the scheduler, to peers it fetches from, and from those fetching here. */
  links(): WorkerLink[] {
    const row = (
      c: Comm,
      direction: WorkerLink["direction"],
      name: string | undefined,
      role: WorkerLink["role"],
    ): WorkerLink => ({
      peer: c.peerAddress,
      name,
      role,
      kind: c.kind,
      direction,
      bytesIn: c.stats.bytesIn,
      bytesOut: c.stats.bytesOut,
    });
    const out: WorkerLink[] = [];
    if (this.scheduler && !this.scheduler.isClosed)
      out.push(row(this.scheduler, "scheduler", "scheduler", "scheduler"));
    for (const { comm, direction, name, role } of this.data.connections()) out.push(row(comm, direction, name, role));
    return out;
  }

  /**
   * Leaves gracefully: asks the scheduler to retire this worker, which copies the results only it
   * holds to other workers and then tells it to close. Resolves when closed; after `timeoutMs`
   * (the results could not all move in time) it closes anyway and they are recomputed.
   */
  async retire(reason = "retiring", timeoutMs = 10_000): Promise<void> {
    if (this.closing) return;
    if (!this.scheduler.isClosed) this.scheduler.send({ op: "retire-me", reason });
    const timer = setTimeout(
      () => void this.close(`${reason} (retirement took longer than ${timeoutMs} ms)`),
      timeoutMs,
    );
    await this.closed;
    clearTimeout(timer);
  }

  /** Leaves the scheduler (saying goodbye), stops serving data and closes every connection. */
  async close(reason = "worker closing"): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.heartbeat);
    this.scheduler.close(reason);
    await this.listener.close();
    this.data.close(reason);
    clearReceiveBuffers();
    if ((this.options.memoryLimit ?? 0) > 0) setSpareBudget(() => Infinity);
    try {
      this.options.spill?.close();
    } catch (err) {
      log().warn(`${this.name}: could not remove spilled data: ${(err as Error).message}`);
    }
    this.resolveClosed(reason);
  }

  private async join(): Promise<void> {
    const comm = await connect(this.options.scheduler, this.options.transport);
    const w = await greet(comm, {
      role: "worker",
      token: this.options.token,
      name: this.name,
      worker: {
        address: this.listener.address,
        kind: this.options.kind ?? platformWorkerKind(),
        nthreads: 1,
        memoryLimit: this.options.memoryLimit ?? 0,
        resources: this.options.resources ?? {},
        name: this.name,
        group: this.options.group,
        webrtc: this.data.rtc !== null,
      },
    });
    this.id = w.id;
    this.data.setCredentials(w.dataToken, w.dataSecret, w.clock);
    // Tasks that read the scheduler's /data/ (a tab's chunks above all) present this worker's token.
    useSchedulerCredentials(this.options.dataOrigin ?? this.options.scheduler, this.options.token);
    if (w.rtc) this.data.rtc?.configure(w.rtc);
    this.scheduler = comm;
    comm.name = `${this.name}→scheduler`;
    const handlers: Handlers<SchedulerToWorker> = {
      "compute-task": (m) => {
        if (m.fnDef) this.code.define(m.fnDef);
        if (m.deps.length > 0) this.data.learn(m.deps);
        this.state.computeTask(m);
      },
      "free-keys": (m) => {
        this.data.forget(m.keys);
        this.state.freeKeys(m.keys);
      },
      "load-module": (m) => this.code.loadModule(m.module),
      "close-worker": (m) => {
        log().info(`${this.name}: the scheduler asks it to close (${m.reason})`);
        void this.close(m.reason);
      },
      "acquire-replicas": (m) => {
        this.data.learn(m.keys);
        this.state.acquireReplicas(m.keys);
      },
      tickets: (m) => {
        this.data.learn(m.keys);
        this.state.ticketsRenewed(m.keys);
      },
      "steal-request": (m) => this.state.stealRequest(m.keys),
      "rtc-signal": (m) => m.from !== undefined && this.data.rtc?.signal(m.from, m.data),
      "scale-up": (m) => {
        if (this.options.onScaleUp) this.options.onScaleUp(m.n);
        else log().warn(`${this.name}: the scheduler asked for ${m.n} more threads, and this worker cannot start any`);
      },
      reply: () => {},
    };
    comm.setHandler((msg) => {
      dispatch(handlers, msg);
      this.scheduleDrain();
    });
    void comm.closed.then((info) => {
      // Closing on our own (or told to) is a leave; the scheduler's link dropping is news.
      if (!this.closing)
        log()[info.graceful ? "info" : "warn"](
          `${this.name}: lost the scheduler at ${this.options.scheduler} (${info.reason}); closing`,
        );
      void this.close(`scheduler connection closed: ${info.reason}`);
    });
    log().info(`${this.name}: joined the scheduler at ${this.options.scheduler} as ${w.id}`);
    this.heartbeat = setInterval(() => this.sendHeartbeat(), this.options.heartbeatMs ?? 1000);
  }

  private sendHeartbeat(): void {
    const st = this.state;
    this.reportedPaused = st.paused;
    if (this.scheduler.isClosed) return;
    const links = this.links()
      .filter((l) => l.direction === "out")
      .map(({ peer, kind, bytesIn, bytesOut }) => ({ peer, kind, bytesIn, bytesOut }));
    this.scheduler.send({
      op: "heartbeat",
      memory: st.memory,
      spilled: st.spilledBytes,
      paused: st.paused,
      links,
      executing: this.running ? 1 : 0,
      ready: st.readyCount,
    });
  }

  // ------------------------------------------------------------ instructions

  /** Carries out the state's instructions once per turn, so fetches to one peer are batched. */
  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    queueMicrotask(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    // Pausing or resuming is told at once, so the scheduler sends tasks elsewhere or here again.
    if (this.state.paused !== this.reportedPaused && this.scheduler) this.sendHeartbeat();
    for (const ins of this.state.takeInstructions()) {
      if (ins.kind === "send") {
        if (!this.scheduler.isClosed) this.scheduler.send(ins.msg);
      } else {
        void this.data.fetch(ins.from, ins.keys);
      }
    }
    this.pump();
  }

  // ------------------------------------------------------------ running tasks

  private pump(): void {
    if (this.running || this.closing || this.state.paused || this.state.readyCount === 0) return;
    this.running = true;
    void this.runReady()
      .catch((err: unknown) => log().error(`${this.name}: the task loop failed (a bug; the worker goes on)`, err))
      .finally(() => {
        this.running = false;
        this.drain();
      });
  }

  /** Runs ready tasks back to back; yields to I/O every TASK_SLICE_MS and while awaiting async tasks. */
  private async runReady(): Promise<void> {
    let sliceStart = performance.now();
    for (;;) {
      if (this.closing || this.state.paused) return;
      const task = this.state.nextReady();
      if (!task) return;
      // Results finished so far must not wait behind a task that may take long: send them first.
      // Tasks known to be quick keep their batching (thousands of results per message).
      if (this.mayRunLong(task)) {
        this.state.taskStarted(task);
        this.sendNow();
      }
      const pending = this.execute(task);
      if (pending) {
        this.state.taskStarted(task);
        this.sendNow();
        await pending;
      }
      if (performance.now() - sliceStart > TASK_SLICE_MS) {
        this.drain(); // send what finished so far
        await this.yieldToEventLoop();
        sliceStart = performance.now();
      }
    }
  }

  /** Whether `task`'s function is new here or has taken longer than a slice before. */
  private mayRunLong(task: WorkerTask): boolean {
    const ms = this.fnDurations.get(fnKey(task.fn));
    return ms === undefined || ms > TASK_SLICE_MS;
  }

  /** Hands what the state has queued to the connections and sends it now, not at the end of the turn. */
  private sendNow(): void {
    this.drain();
    if (!this.scheduler.isClosed) this.scheduler.flush();
  }

  /** Runs one task. Returns a promise only when the task is asynchronous (or its module is loading). */
  private execute(task: WorkerTask): Promise<void> | undefined {
    let fn: TaskFunction | Promise<TaskFunction>;
    try {
      fn = this.code.resolve(task.fn);
    } catch (err) {
      this.fail(task, err);
      return undefined;
    }
    if (fn instanceof Promise)
      return fn.then(
        (f) => this.call(task, f),
        (err) => this.fail(task, err),
      );
    return this.call(task, fn);
  }

  private call(task: WorkerTask, fn: TaskFunction): Promise<void> | undefined {
    const start = performance.now();
    let result: unknown;
    try {
      const args = deserialize(task.args, (ref) => this.depValue(task, ref));
      // A user's function may keep what it is given or returns: that storage is never reused.
      const ours = task.fn.kind === "builtin";
      if (!ours) exposeBuffers(args);
      result = fn(...(args as unknown[]));
      if (!ours) exposeBuffers(result);
    } catch (err) {
      this.fail(task, err);
      return undefined;
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        (value) => this.finish(task, value, start),
        (err) => this.fail(task, err),
      );
    }
    this.finish(task, result, start);
    return undefined;
  }

  private depValue(task: WorkerTask, ref: TaskRef): unknown {
    if (!this.state.holds(ref.key)) throw new Error(`input ${ref.key} of ${task.key} is not held by this worker`);
    return this.state.value(ref.key);
  }

  private finish(task: WorkerTask, value: unknown, start: number): void {
    const duration = performance.now() - start;
    const k = fnKey(task.fn);
    const prev = this.fnDurations.get(k);
    this.fnDurations.set(k, prev === undefined ? duration : 0.7 * prev + 0.3 * duration);
    if (this.options.lieForTests === true) value = forged(value);
    let nbytes: number;
    let inline: Serialized | undefined;
    let digest: string | undefined;
    try {
      nbytes = measure(value);
      if (nbytes <= INLINE_RESULT_MAX_BYTES) {
        exposeBuffers(value); // it leaves this thread
        inline = serialize(value).payload;
      }
      // Digested at once: serialize's header is a view into an arena the next call reuses.
      if (task.digest) digest = digestOf(inline ?? serialize(value).payload, this.options.digest);
    } catch (err) {
      const e = err as Error;
      this.fail(task, new SerializationError(`the result of ${task.key} cannot be sent: ${e.message}`));
      return;
    }
    this.state.taskDone(task, value, nbytes, duration, inline, digest);
  }

  private fail(task: WorkerTask, err: unknown): void {
    if (err instanceof ReferenceError && task.fn.kind === "source") {
      err.message +=
        " (task functions are sent to workers as source code, so variables from outside the function do not exist here: pass them as arguments or use a task module)";
    }
    this.state.taskErred(task, errorToData(err));
  }
}

/** Identifies a task's function across tasks (for learning how long it runs). */
function fnKey(ref: WorkerTask["fn"]): string {
  return ref.kind === "source" ? ref.id : ref.kind === "builtin" ? `builtin#${ref.name}` : `${ref.module}#${ref.name}`;
}

/** What a lying worker (lieForTests) answers instead of `value`: a number off by 1,000, else a string. */
function forged(value: unknown): unknown {
  return typeof value === "number" ? value + 1000 : "FORGED";
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";
}
