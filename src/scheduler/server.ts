// The scheduler's shell: listens, admits clients and workers through the handshake, turns their
// messages and its timers into SchedulerState events (events.ts) and delivers the instructions that
// come back. All decisions live in SchedulerState (and processes.ts, adaptive.ts for adapting worker
// processes); this file only moves messages and keeps the sockets and timers.

import type { Comm } from "../comm/comm.js";
import { dispatch } from "../comm/dispatch.js";
import { welcome } from "../comm/handshake.js";
import { listen, type Listener } from "../comm/registry.js";
import type { TransportOptions } from "../comm/types.js";
import { ArgumentError } from "../errors.js";
import { type Adaptive, adaptProcesses } from "./adaptive.js";
import type { Logger } from "../log.js";
import { defaultRuntime } from "../runtime.js";
import { ReceiveBuffers } from "../util/receive-buffers.js";
import type {
  ClientToScheduler,
  Handlers,
  Hello,
  RetireResult,
  WorkerStoryEntry,
  WorkerToScheduler,
} from "../protocol/messages.js";
import { HandshakeGate, hostOf, LogThrottle } from "../comm/gate.js";
import { Admissions, capUntrusted } from "./admission.js";
import type { SchedulerEvent } from "./events.js";
import { BanKeeper } from "./bans.js";
import { Challenges } from "./challenges.js";
import { DataGrants } from "./grants.js";
import { Requests, trySend } from "./requests.js";
import { randomId } from "../util/ids.js";
import type { SchedulerOptions } from "./options.js";
import { SchedulerState, type Instruction } from "./state.js";
import { Telemetry } from "./telemetry.js";
import { WorkerStories } from "./worker-stories.js";
import { ShellTimers } from "./shell-timers.js";
import { passSignal } from "./signalling.js";
import type { InvariantError } from "./validate.js";

export type { SchedulerOptions } from "./options.js";

export { STEAL_INTERVAL_MS, TIMEOUT_CHECK_MS } from "./shell-timers.js";

export const DEFAULT_WORKER_TTL_MS = 300_000;

export {
  DEFAULT_JOINS_PER_ADDRESS_PER_MINUTE,
  DEFAULT_MAX_WORKERS,
  UNTRUSTED_MAX_MEMORY_BYTES,
  UNTRUSTED_MAX_THREADS,
} from "./admission.js";

export { DEFAULT_MAX_PENDING_HANDSHAKES } from "../comm/gate.js";

export class Scheduler {
  readonly state: SchedulerState;
  private readonly clients = new Map<string, Comm>();
  private readonly workers = new Map<string, Comm>();
  private readonly gate: HandshakeGate;
  private readonly admissions: Admissions;
  private readonly bans: BanKeeper;
  /** Warnings a hostile worker can cause with every message (ignored claims), thinned out. */
  private readonly claimsLog: LogThrottle;
  private listener: Listener | null = null;
  /** Listeners added with listen() (e.g. a ws:// port for browser tabs beside an inproc address). */
  private readonly extraListeners: Listener[] = [];
  /** Ids are numbered per role (client-1 …, worker-1 …): a LocalCluster's thread-n is worker-n (its threads join in name order). */
  private readonly nextIds = { client: 0, worker: 0 };
  private closing = false;
  private nextTicket = 0;
  private readonly retirements = new Map<number, (result: RetireResult) => void>();
  /** The TTL, timeouts, stealing and no-worker timers, each firing an event (shell-timers.ts). */
  private readonly timers: ShellTimers;
  /** Adapting worker processes that asked for it (started when the first one joins). */
  private adaptive: Adaptive | null = null;
  /** Each member's credential and each worker's data secret, and the tickets made with them (grants.ts). */
  readonly grants: DataGrants;
  /** Workers' addresses the relay may reach: each after its data server answered the challenge (challenges.ts). */
  private readonly challenges: Challenges;
  /** Clients' requests: queries, scatters, progress watches (requests.ts). */
  private readonly requests: Requests;
  /** Workers' stories of a key that clients asked for, being gathered (worker-stories.ts). */
  private readonly stories = new WorkerStories();

  /** What the dashboard shows (telemetry.ts): task events kept only while a dashboard watches. */
  readonly telemetry: Telemetry;
  /** The dashboard's link, told to clients in their welcome; set by whoever serves the dashboard (node/servers/dashboard-server.ts). */
  dashboardLink: string | undefined = undefined;

  private readonly log: Logger;
  /** Where this scheduler's diagnostics go: its runtime's logger (what runs beside it, like a LocalCluster's adapt loop, logs there too). */
  get logger(): Logger {
    return this.log;
  }
  /** This scheduler's buffers for large incoming frames (its links', not the realm's). */
  private readonly receiveBuffers: ReceiveBuffers;

  private constructor(private readonly options: SchedulerOptions) {
    const runtime = options.runtime ?? defaultRuntime();
    this.log = runtime.logger;
    this.claimsLog = new LogThrottle(this.log);
    this.receiveBuffers = new ReceiveBuffers({ ahead: runtime.receiveAhead, timers: runtime.timers });
    // Every link of this scheduler picks its transport from the runtime and reads into its own buffers.
    this.options = options = {
      ...options,
      validate: options.validate ?? runtime.validate,
      transport: {
        ...options.transport,
        transports: runtime.transports,
        receiveBuffers: this.receiveBuffers,
        logger: runtime.logger,
      },
    };
    // A broken invariant (validate on) is logged and the scheduler carries on (its clients' futures
    // still settle); close() then fails with it, so a test cluster fails at its teardown at the
    // latest. Only the first is logged: the same damage is usually found again at later checks.
    this.state = new SchedulerState(options, (err) => {
      if (this.invalid) return;
      this.log.error(err.message);
      this.invalid = err;
    });
    this.telemetry = new Telemetry(this.state);
    this.timers = new ShellTimers(this.state, (e) => this.event(e));
    this.grants = new DataGrants(
      options.token !== undefined || options.workerToken !== undefined || options.tabToken !== undefined,
      options.ticketTtlMs,
    );
    this.grants.log = this.log;
    if (this.grants.enabled) this.state.outbox.grants = this.grants;
    this.gate = new HandshakeGate(
      "scheduler",
      { maxPending: options.maxPendingHandshakes, maxPendingPerAddress: options.maxPendingPerAddress },
      this.log,
    );
    this.challenges = new Challenges(this.grants, options.transport);
    this.bans = new BanKeeper(this.state.banned, options.bans, (m) => this.log.error(m));
    this.requests = new Requests(
      this.state,
      this.grants,
      (e) => this.event(e),
      (workers) => this.retireWorkers(workers),
      (client, key) => this.askStories(client, key),
    );
    this.admissions = new Admissions(options, this.state, this.grants, (role) => ++this.nextIds[role], this.log);
  }

  /** Starts a scheduler listening at `options.address`. */
  static async start(options: SchedulerOptions = {}): Promise<Scheduler> {
    const ttl = options.workerTtlMs ?? DEFAULT_WORKER_TTL_MS;
    if (!(ttl > 0))
      throw new ArgumentError(`workerTtlMs must be a number of milliseconds > 0, got ${String(options.workerTtlMs)}`);
    const s = new Scheduler(options);
    const loaded = await s.bans.load();
    if (options.bans) s.log.info(`${loaded} ban${loaded === 1 ? "" : "s"} loaded from ${options.bans.describe}`);
    s.listener = await listen(
      options.address ?? `inproc://scheduler-${randomId(4)}`,
      (comm) => void s.accept(comm),
      s.options.transport,
    );
    s.timers.start(ttl, options.workStealing !== false);
    return s;
  }

  /** Accepts clients and workers at one more address too (same tokens, same scheduler). */
  async listen(address: string, transport?: TransportOptions): Promise<Listener> {
    if (this.closing) throw new ArgumentError("the scheduler is closed");
    const l = await listen(address, (comm) => void this.accept(comm), { ...this.options.transport, ...transport });
    this.extraListeners.push(l);
    return l;
  }

  /**
   * Retires workers (ids, names or addresses) gracefully: they take no new tasks, the results only
   * they hold are copied to other workers, then they close. Resolves when all have left (or were
   * kept, with the reason: e.g. no other worker to hold their results).
   */
  retireWorkers(workers: string[]): Promise<RetireResult> {
    const ticket = ++this.nextTicket;
    const done = new Promise<RetireResult>((resolve) => this.retirements.set(ticket, resolve));
    this.event({ op: "retire-workers", workers, ticket });
    return done;
  }

  /** The address clients and workers connect to. */
  get address(): string {
    if (!this.listener) throw new Error("scheduler is not listening");
    return this.listener.address;
  }

  /**
   * Whether `given` is the credential of a client or worker connected now (the relay asks callers
   * for one). Always true on a scheduler that requires no tokens.
   */
  isCredential(given: string | undefined): boolean {
    return !this.grants.enabled || this.grants.isCredential(given);
  }

  /**
   * Whether the relay may reach `address`: a connected worker's data server that answered the
   * scheduler's challenge there (resolves once it has answered, or failed to). On a scheduler
   * without tokens, any connected worker's address.
   */
  reachable(address: string): boolean | Promise<boolean> {
    const ws = this.state.workerAt(address);
    if (!ws || ws.status === "gone") return false;
    if (!this.grants.enabled) return true;
    const answered = this.challenges.answered(address);
    return answered ? answered.then((ok) => ok && this.state.workerAt(address) === ws) : false;
  }

  /** Whether a caller presenting `given` may reach the relay's listener at `slot` (challenges.ts). */
  reachableSlot(slot: string, given: string | undefined): boolean | Promise<boolean> {
    return this.challenges.reachableSlot(slot, given);
  }

  /** The relay's listener at `slot` left: it vouches for nobody who listens there next (challenges.ts). */
  relaySlotClosed(slot: string): void {
    this.challenges.relaySlotClosed(slot);
  }

  /** Open connections, by role (for tests and the dashboard). */
  get connections(): { clients: number; workers: number; handshaking: number } {
    return { clients: this.clients.size, workers: this.workers.size, handshaking: this.gate.size };
  }

  /** With `validate` on: the first broken invariant found, which close() rejects with. */
  private invalid: InvariantError | undefined = undefined;

  /**
   * Says goodbye to every client and worker, stops listening. Workers are asked to close. With
   * `validate` on, rejects (once all is closed) with the first InvariantError found.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.adaptive?.stop();
    this.timers.stop();
    await this.listener?.close();
    await Promise.all(this.extraListeners.map((l) => l.close()));
    this.stories.close();
    for (const comm of this.workers.values()) {
      trySend(comm, { op: "close-worker", reason: "scheduler closing" });
      comm.close("scheduler closing");
    }
    this.gate.closeAll("scheduler closing");
    for (const comm of this.clients.values()) comm.close("scheduler closing");
    await Promise.all([...this.workers.values(), ...this.clients.values()].map((c) => c.closed));
    this.receiveBuffers.clear();
    await this.bans.settled();
    if (this.invalid) throw this.invalid;
  }

  private async accept(comm: Comm): Promise<void> {
    if (this.closing) return comm.close("scheduler closing");
    const locked = this.admissions.lockedOut(comm.peerAddress);
    if (locked) return comm.close(locked);
    this.gate.enter(comm);
    const admitted = await welcome(
      comm,
      (hello) => {
        const a = this.admissions.admit(hello, comm.peerAddress, this.workers.size);
        return hello.role === "client" && "id" in a && this.dashboardLink !== undefined
          ? { ...a, dashboard: this.dashboardLink }
          : a;
      },
      this.options.handshakeTimeoutMs,
    );
    this.gate.leave(comm);
    if (!admitted) return;
    const { hello, id } = admitted;
    const joining = this.admissions.joined(id);
    if (this.closing) return this.grants.forget(id, hello.worker?.address);
    comm.name = `scheduler↔${id}`;
    if (this.options.keepAlive === false) comm.keepAlive(false);
    if (hello.role === "client") this.serveClient(comm, id);
    else this.serveWorker(comm, id, hello, joining?.trusted ?? false);
  }

  private serveClient(comm: Comm, id: string): void {
    this.clients.set(id, comm);
    this.event({ op: "client-added", client: id });
    const handlers: Handlers<ClientToScheduler> = {
      "update-graph": (m) => this.event({ op: m.op, client: id, tasks: m.tasks, fns: m.fns, wants: m.wants }),
      "release-keys": (m) => this.event({ op: m.op, client: id, keys: m.keys }),
      cancel: (m) => this.event({ op: m.op, client: id, keys: m.keys }),
      "update-data": (m) => this.event({ op: m.op, client: id, entries: this.requests.granted(id, m.entries) }),
      request: (m) => this.requests.answer(comm, m, id),
      "bad-data": (m) => this.event({ op: m.op, client: id, key: m.key, from: m.from }),
    };
    comm.setHandler((msg) => dispatch(handlers, msg));
    void comm.closed.then(() => {
      this.clients.delete(id);
      this.grants.forget(id);
      this.requests.forget(id);
      this.event({ op: "client-removed", client: id });
    });
  }

  private serveWorker(comm: Comm, id: string, hello: Hello, trusted: boolean): void {
    this.workers.set(id, comm);
    const w = hello.worker!;
    this.log.info(
      `worker ${w.name} joined (${id}, ${w.kind}, ${trusted ? "trusted" : "untrusted"}, ${w.nthreads} thread${w.nthreads === 1 ? "" : "s"}, data at ${w.address}); ${this.workers.size} worker${this.workers.size === 1 ? "" : "s"} now`,
    );
    this.challenges.joined(w.address);
    const joined = trusted ? w : capUntrusted(w, this.log);
    this.event({ op: "worker-added", worker: id, hello: joined, trusted, host: hostOf(comm.peerAddress) });
    if (w.group?.adapt && !this.adaptive) this.adaptProcesses();
    const telemetry = this.telemetry;
    const worker = id;
    const handlers: Handlers<WorkerToScheduler> = {
      "task-finished": (m) => {
        telemetry.taskFinished(id, m.key, m.duration, m.nbytes);
        const { key, nbytes, duration, value, held, digest } = m;
        this.event({ op: m.op, worker, key, nbytes, duration, value, held, digest });
      },
      "task-started": (m) => this.event({ op: m.op, worker, key: m.key }),
      "acquire-failed": (m) => this.event({ op: m.op, worker, keys: m.keys }),
      "steal-response": (m) => this.event({ op: m.op, worker, stolen: m.stolen, kept: m.kept }),
      "retire-me": (m) => {
        this.event({ op: "heard-from", worker });
        this.log.info(`worker ${id} asks to leave (${m.reason}): retiring it`);
        void this.retireWorkers([id]);
      },
      "task-erred": (m) => {
        telemetry.taskErred(id, m.key);
        this.event({ op: m.op, worker, key: m.key, error: m.error });
      },
      "missing-data": (m) => this.event({ op: m.op, worker, key: m.key, dep: m.dep, from: m.from }),
      "bad-data": (m) => this.event({ op: m.op, worker, key: m.key, from: m.from }),
      "renew-tickets": (m) => this.event({ op: m.op, worker, keys: m.keys }),
      "add-keys": (m) => {
        telemetry.fetched(id, m.keys);
        this.event({ op: m.op, worker, keys: m.keys });
      },
      heartbeat: (m) => {
        const { memory, executing, ready, spilled, paused, links } = m;
        this.event({ op: m.op, worker, memory, executing, ready, spilled, paused, links });
      },
      "rtc-signal": (m) => {
        this.event({ op: "heard-from", worker });
        passSignal(this.state, this.workers, comm, w.address, m);
      },
      "story-entries": (m) => {
        this.event({ op: "heard-from", worker });
        this.stories.answered(worker, m);
      },
      reply: () => this.event({ op: "heard-from", worker }),
    };
    comm.setHandler((msg) => dispatch(handlers, msg));
    void comm.closed.then((info) => {
      this.workers.delete(id);
      this.stories.left(id);
      this.grants.forget(id, w.address);
      this.challenges.left(w.address);
      this.event({ op: "worker-removed", worker: id, reason: info.reason, graceful: info.graceful });
    });
  }

  /** Asks every connected worker for its story of `key` (worker-stories.ts gathers the answers). */
  private askStories(client: string, key: string): Promise<WorkerStoryEntry[]> {
    const names = new Map([...this.workers.keys()].map((id) => [id, this.state.workers.get(id)?.name ?? id]));
    return this.stories.ask(client, key, names, (worker, id) =>
      trySend(this.workers.get(worker)!, { op: "story-request", id, key }),
    );
  }

  /** Hands one event to the state (at the time now) and delivers what it decided. */
  private event(e: SchedulerEvent): void {
    this.state.now = performance.now();
    for (const ins of this.state.handle(e)) this.route(ins);
    for (const n of this.state.takeNotices()) {
      if (this.closing) break;
      if (n.throttled) this.claimsLog.warn(n.text);
      else this.log[n.level](n.text);
    }
    this.timers.afterEvent(this.closing);
  }

  /** Adapts the worker processes that joined with adaptive bounds (processes.ts decides; this sends). */
  private adaptProcesses(): void {
    this.adaptive = adaptProcesses(
      this.state,
      (worker, n) => {
        const comm = this.workers.get(worker);
        if (comm) trySend(comm, { op: "scale-up", n });
      },
      (ids) => this.retireWorkers(ids),
      this.options.adapt ?? {},
      this.log,
    );
    this.adaptive.start();
  }

  private route(ins: Instruction): void {
    if (ins.to === "scheduler") {
      const msg = ins.msg;
      if (msg.op === "worker-banned") {
        this.log.warn(
          `worker ${msg.name} ${msg.reason}; its results are computed again where they were taken on its word`,
        );
        this.workers.get(msg.worker)?.close(msg.reason);
        this.bans.save();
        return;
      }
      if (msg.op === "worker-expired") {
        this.log.warn(`removing worker ${msg.name}: ${msg.reason}`);
        this.workers.get(msg.worker)?.close(msg.reason);
        return;
      }
      const resolve = this.retirements.get(msg.ticket);
      this.retirements.delete(msg.ticket);
      resolve?.(msg.result);
      return;
    }
    const comm = ins.to === "worker" ? this.workers.get(ins.id) : this.clients.get(ins.id);
    if (comm) trySend(comm, ins.msg);
    else this.log.debug(`dropping ${ins.msg.op} for ${ins.id}: not connected`);
  }
}
