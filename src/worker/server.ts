// The worker's shell: one connection to the scheduler, the data plane (a data server that peers
// and clients fetch results from, connections to peers for fetching dependencies; data-plane.ts),
// and the loop that runs tasks (task-loop.ts). Decisions about tasks and data live in WorkerState:
// the shell turns what the scheduler, peers, clients and the task loop say into WorkerEvents,
// feeds them to WorkerState.handle and carries out the instructions it returns.

import { Comm } from "../comm/comm.js";
import { greet } from "../comm/handshake.js";
import { dispatch } from "../comm/dispatch.js";
import { connect, listen, type Listener } from "../comm/registry.js";
import { RtcLink } from "../comm/rtc-link.js";
import type { Logger } from "../log.js";
import type { Handlers, SchedulerToWorker } from "../protocol/messages.js";
import { randomId } from "../util/ids.js";
import { ReceiveBuffers } from "../util/receive-buffers.js";
import { defaultRuntime, type Runtime } from "../runtime.js";
import { CodeCache } from "./code.js";
import { WorkerDataPlane } from "./data-plane.js";
import type { WorkerEvent, WorkerInstruction } from "./events.js";
import { WorkerState } from "./state.js";
import { TaskLoop } from "./task-loop.js";
import type { WorkerOptions } from "./options.js";
import type { InvariantError } from "../util/invariant.js";
import { MAX_STORY_ENTRIES_PER_WORKER } from "../protocol/validate.js";
import { SPILL_FRACTION } from "./spill.js";

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

export type { WebRtcOptions, WorkerOptions } from "./options.js";
export { RTC_LINK_TIMEOUT_MS, RTC_RETRY_AFTER_MS } from "./data-plane.js";
export { INLINE_RESULT_MAX_BYTES, TASK_SLICE_MS } from "./task-loop.js";

export class Worker {
  readonly name: string;
  readonly state: WorkerState;
  /** Resolves with the reason when the worker has closed. */
  readonly closed: Promise<string>;
  private readonly code: CodeCache;
  private scheduler!: Comm;
  private listener!: Listener;
  private id = "";
  private readonly data: WorkerDataPlane;
  private readonly loop: TaskLoop;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private closing = false;
  private resolveClosed!: (reason: string) => void;
  private drainScheduled = false;
  /** With `validate` on: the first broken invariant of the state, which close() rejects with. */
  private invalid: InvariantError | undefined = undefined;
  private shuttingDown: Promise<void> | undefined = undefined;
  /** Takes this worker's token back off its runtime's stores (set when it joins; see Stores.useSchedulerCredentials). */
  private dropStoreToken: () => void = () => {};
  /** Events of this turn not yet handled: handled together at the turn's drain, or before the state is read. */
  private inbox: WorkerEvent[] = [];
  /** Instructions not yet carried out. */
  private outbox: WorkerInstruction[] = [];
  /** Events numbered so far (their stimulus ids). */
  private stimuli = 0;
  private readonly runtime: Runtime;
  private readonly log: Logger;
  /** This worker's buffers for large incoming frames (its links', not the realm's). */
  readonly receiveBuffers: ReceiveBuffers;

  private constructor(
    private readonly options: WorkerOptions,
    address: string,
    runtime: Runtime,
    receiveBuffers: ReceiveBuffers,
  ) {
    this.runtime = runtime;
    this.log = runtime.logger;
    this.receiveBuffers = receiveBuffers;
    this.name = options.name ?? `worker-${randomId(3)}`;
    this.state = new WorkerState(address, {
      limit: options.memoryLimit ?? 0,
      spill: options.spill,
      log: runtime.logger,
      validate: options.validate ?? runtime.validate,
      // As the scheduler does: logged once, the worker carries on, and close() rejects with it.
      onInvalid: (err) => {
        if (this.invalid) return;
        this.log.error(`${this.name}: ${err.message}`);
        this.invalid = err;
      },
    });
    // Buffers prepared for incoming frames are memory too: lend them only what results leave free.
    const limit = options.memoryLimit ?? 0;
    if (limit > 0) receiveBuffers.setBudget(() => SPILL_FRACTION * limit - this.state.memory);
    this.code = new CodeCache(options.code);
    this.closed = new Promise((r) => (this.resolveClosed = r));
    this.data = new WorkerDataPlane(
      this.name,
      {
        holds: (key) => this.current().holds(key),
        value: (key) => this.current().value(key),
        deliver: (event) => this.enqueue(event),
        stimulus: () => this.stimulus(),
      },
      options.transport,
      options.webrtc,
      options.token !== undefined,
    );
    this.data.digestMaker = options.digest;
    this.data.log = this.log;
    this.data.serveForgedForTests = options.lieForTests === "serve";
    this.loop = new TaskLoop(
      {
        name: this.name,
        closing: () => this.closing,
        current: () => this.current(),
        handle: (event) => this.handleNow(event),
        stimulus: () => this.stimulus(),
        drain: () => this.drain(),
        sendNow: () => this.sendNow(),
      },
      this.code,
      {
        yieldToEventLoop: options.yieldToEventLoop ?? (() => new Promise((r) => setTimeout(r, 0))),
        digest: options.digest,
        lie: options.lieForTests === true,
        log: this.log,
        context: { stores: runtime.stores, logger: runtime.logger },
      },
    );
  }

  /** Starts the data server, joins the scheduler and starts taking tasks. */
  static async start(options: WorkerOptions): Promise<Worker> {
    const runtime = options.runtime ?? defaultRuntime();
    const receiveBuffers = new ReceiveBuffers({ ahead: runtime.receiveAhead, timers: runtime.timers });
    // Every link of this worker picks its transport from the runtime and reads into its own buffers.
    options = {
      ...options,
      transport: { ...options.transport, transports: runtime.transports, receiveBuffers, logger: runtime.logger },
    };
    let worker!: Worker;
    const listener = await listen(
      options.listen ?? `inproc://worker-${randomId(4)}`,
      (comm) => void worker.data.accept(comm),
      options.transport,
    );
    worker = new Worker(options, listener.address, runtime, receiveBuffers);
    worker.listener = listener;
    if (options.webrtc) {
      const rtc = new RtcLink(options.webrtc.bridge, listener.address, options.transport);
      rtc.onChannel = (channel) => void worker.data.accept(new Comm(channel, undefined, runtime.logger));
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
    const timer = setTimeout(() => this.shutDown(`${reason} (retirement took longer than ${timeoutMs} ms)`), timeoutMs);
    await this.closed;
    clearTimeout(timer);
  }

  /**
   * Leaves the scheduler (saying goodbye), stops serving data and closes every connection. With
   * `validate` on, rejects (once closed) with the first InvariantError its state raised.
   */
  async close(reason = "worker closing"): Promise<void> {
    await this.shutDown(reason);
    if (this.invalid) throw this.invalid;
  }

  /** Closes (once; later calls wait for the first); never rejects: the worker's own ways out use it. */
  private shutDown(reason: string): Promise<void> {
    this.shuttingDown ??= this.closeEverything(reason);
    return this.shuttingDown;
  }

  private async closeEverything(reason: string): Promise<void> {
    this.closing = true;
    clearInterval(this.heartbeat);
    this.dropStoreToken();
    this.scheduler.close(reason);
    await this.listener.close();
    this.data.close(reason);
    this.receiveBuffers.clear();
    try {
      this.options.spill?.close();
    } catch (err) {
      this.log.warn(`${this.name}: could not remove spilled data: ${(err as Error).message}`);
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
        kind: this.options.kind ?? this.runtime.workerKind,
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
    this.dropStoreToken = this.runtime.stores.useSchedulerCredentials(
      this.options.dataOrigin ?? this.options.scheduler,
      this.options.token,
    );
    if (w.rtc) this.data.rtc?.configure(w.rtc);
    this.scheduler = comm;
    comm.name = `${this.name}→scheduler`;
    const handlers: Handlers<SchedulerToWorker> = {
      "compute-task": (m) => {
        if (m.fnDef) this.code.define(m.fnDef);
        if (m.deps.length > 0) this.data.learn(m.deps);
        this.enqueue({ op: "compute-task", task: m, stimulus: this.stimulus() });
      },
      "free-keys": (m) => {
        this.data.forget(m.keys);
        this.enqueue({ op: "free-keys", keys: m.keys, stimulus: this.stimulus() });
      },
      "load-module": (m) => this.code.loadModule(m.module),
      "close-worker": (m) => {
        this.log.info(`${this.name}: the scheduler asks it to close (${m.reason})`);
        this.shutDown(m.reason);
      },
      "acquire-replicas": (m) => {
        this.data.learn(m.keys);
        this.enqueue({ op: "acquire-replicas", keys: m.keys, stimulus: this.stimulus() });
      },
      tickets: (m) => {
        this.data.learn(m.keys);
        this.enqueue({ op: "tickets-renewed", keys: m.keys, stimulus: this.stimulus() });
      },
      "steal-request": (m) => this.enqueue({ op: "steal-request", keys: m.keys, stimulus: this.stimulus() }),
      "rtc-signal": (m) => m.from !== undefined && this.data.rtc?.signal(m.from, m.data),
      "scale-up": (m) => {
        if (this.options.onScaleUp) this.options.onScaleUp(m.n);
        else
          this.log.warn(`${this.name}: the scheduler asked for ${m.n} more threads, and this worker cannot start any`);
      },
      "story-request": (m) => {
        // Its most recent entries (the schema's cap), without the key: the scheduler knows what it asked.
        const entries = this.current()
          .storyOf(m.key)
          .slice(-MAX_STORY_ENTRIES_PER_WORKER)
          .map(({ key: _, ...entry }) => entry);
        comm.send({ op: "story-entries", id: m.id, entries });
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
        this.log[info.graceful ? "info" : "warn"](
          `${this.name}: lost the scheduler at ${this.options.scheduler} (${info.reason}); closing`,
        );
      this.shutDown(`scheduler connection closed: ${info.reason}`);
    });
    this.log.info(`${this.name}: joined the scheduler at ${this.options.scheduler} as ${w.id}`);
    this.heartbeat = setInterval(() => this.sendHeartbeat(), this.options.heartbeatMs ?? 1000);
  }

  private sendHeartbeat(): void {
    const st = this.current();
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
      executing: this.loop.running ? 1 : 0,
      ready: st.readyCount,
    });
  }

  // ------------------------------------------------------------ events and instructions

  /** A fresh stimulus for an event: its number in this worker (its id is "<op>-<number>", see Stimulus). */
  private stimulus(): number {
    return ++this.stimuli;
  }

  /** Queues `event` for this turn: a turn's events are handled together, so fetches to one peer are batched. */
  private enqueue(event: WorkerEvent): void {
    this.inbox.push(event);
    this.scheduleDrain();
  }

  /** Handles the queued events, then `event` (the task loop's, at once); their instructions wait in the outbox. */
  private handleNow(event?: WorkerEvent): void {
    let events: WorkerEvent | WorkerEvent[];
    if (this.inbox.length === 0) {
      if (!event) return;
      events = event;
    } else {
      events = this.inbox;
      this.inbox = [];
      if (event) events.push(event);
    }
    let out: WorkerInstruction[];
    this.state.now = Date.now();
    try {
      out = this.state.handle(events);
    } catch (err) {
      // As a message handler's failure is on a connection: logged, and the worker goes on.
      this.log.error(`${this.name}: handling ${Array.isArray(events) ? events.length : 1} events failed (a bug)`, err);
      return;
    }
    if (this.outbox.length === 0) this.outbox = out;
    else for (const ins of out) this.outbox.push(ins);
  }

  /** The state, with every event queued so far handled: what the shell and its parts read. */
  private current(): WorkerState {
    if (this.inbox.length > 0) this.handleNow();
    return this.state;
  }

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
    this.handleNow();
    const out = this.outbox;
    this.outbox = [];
    for (const ins of out) {
      if (ins.kind === "send") {
        if (!this.scheduler.isClosed) this.scheduler.send(ins.msg);
      } else if (ins.kind === "fetch") {
        void this.data.fetch(ins.from, ins.keys);
      } else if (this.scheduler) {
        // Pausing or resuming is told at once (a heartbeat), so the scheduler sends tasks elsewhere or here again.
        this.sendHeartbeat();
      }
    }
    this.loop.pump();
  }

  /** Hands what the state has said to the connections and sends it now, not at the end of the turn. */
  private sendNow(): void {
    this.drain();
    if (!this.scheduler.isClosed) this.scheduler.flush();
  }
}
