// The scheduler's shell: listens, admits clients and workers through the handshake, turns their
// messages into SchedulerState events and delivers the instructions that come back. All decisions
// live in SchedulerState; this file only moves messages.

import type { Comm } from "../comm/comm.js";
import { dispatch } from "../comm/dispatch.js";
import { welcome } from "../comm/handshake.js";
import { listen, type Listener } from "../comm/registry.js";
import type { TransportOptions } from "../comm/types.js";
import { ArgumentError, errorToData, ProtocolError } from "../errors.js";
import { Adaptive, type AdaptOptions } from "./adaptive.js";
import type { WorkerRecord } from "./model.js";
import { log } from "../log.js";
import type {
  ClientToScheduler,
  Handlers,
  Hello,
  Message,
  Request,
  RetireResult,
  RtcConfig,
  RtcSignalMessage,
  WorkerToScheduler,
} from "../protocol/messages.js";
import { HandshakeGate, hostOf, LogThrottle } from "../comm/gate.js";
import type { SecretCompare } from "../util/secret.js";
import { Admissions, capUntrusted } from "./admission.js";
import { badData } from "./bad-data.js";
import { BanKeeper, type BanStore } from "./bans.js";
import { challenge, DataGrants, grantedScatter, locate, placeScatter, renewTickets } from "./grants.js";
import { randomId } from "../util/ids.js";
import { workerInfo } from "./queries.js";
import { ProgressWatches } from "./progress.js";
import { SchedulerState, type Instruction, type SchedulerStateOptions } from "./state.js";
import { Telemetry } from "./telemetry.js";

export interface SchedulerOptions extends SchedulerStateOptions {
  /** Where to listen. Default: a fresh in-process address, "inproc://scheduler-<random>". */
  address?: string;
  /**
   * The client token: when set, clients must present it; it allows submitting work. Workers then
   * need `workerToken` (which defaults to this same token when not given).
   */
  token?: string | undefined;
  /** The worker token: it allows joining as a trusted worker and serving data, never submitting work. */
  workerToken?: string | undefined;
  /**
   * The tab token (the worker page's link carries it): it allows joining as an untrusted worker,
   * whose claims (threads, memory, resources) are capped. Never the worker or client token.
   */
  tabToken?: string | undefined;
  /** Treat every worker as untrusted, whatever token it joined with. Default false. */
  untrustedWorkers?: boolean | undefined;
  /** How tokens are compared. Default: constant time in plain JavaScript; Node passes timingSafeEqual over digests. */
  compareSecret?: SecretCompare | undefined;
  /** Passed to the transport's listen (size limits, inproc latency …). */
  transport?: TransportOptions;
  /** Milliseconds a new connection has to say hello. Default 10,000. */
  handshakeTimeoutMs?: number;
  /**
   * Connections allowed to be waiting for their handshake at once; past it the oldest waiting one
   * is closed. Default DEFAULT_MAX_PENDING_HANDSHAKES (1,024).
   */
  maxPendingHandshakes?: number;
  /** Of those, from one remote address. Default DEFAULT_MAX_PENDING_PER_ADDRESS (64). */
  maxPendingPerAddress?: number;
  /**
   * Failed logins from one address in a minute after which its new connections are closed before
   * their hello, until the minute has passed. Default DEFAULT_FAILED_LOGINS_PER_MINUTE (20).
   */
  maxFailedLoginsPerMinute?: number;
  /**
   * Milliseconds a data ticket stays valid after the scheduler makes it (readers then ask for a
   * fresh one). Default DEFAULT_TICKET_TTL_MS (5 minutes).
   */
  ticketTtlMs?: number;
  /**
   * Where the ban list (workers banned for lying: names, data addresses, hosts) outlives this
   * scheduler: loaded at start, saved after each ban. Node: `banFile(path)`. Default: in memory only.
   */
  bans?: BanStore | undefined;
  /** Workers connected at once; more are refused. Default DEFAULT_MAX_WORKERS (10,000). */
  maxWorkers?: number;
  /** Workers that may join from one address per minute. Default DEFAULT_JOINS_PER_ADDRESS_PER_MINUTE (256). */
  maxJoinsPerAddressPerMinute?: number;
  /**
   * A worker not heard from (heartbeat or any message) for this many milliseconds is removed as
   * lost, and its connection closed. Default 300,000 (Dask's `worker-ttl` of 5 minutes): a worker
   * thread busy in one long synchronous task cannot send heartbeats meanwhile.
   */
  workerTtlMs?: number;
  /** Move queued tasks from loaded workers to idle ones (see stealing.ts). Default true. */
  workStealing?: boolean;
  /**
   * How the scheduler adapts worker processes that join with adaptive bounds (`meshwork worker
   * --adapt MIN:MAX`): check interval, target duration, wait. Their minimum and maximum come from
   * the processes.
   */
  adapt?: Omit<AdaptOptions, "minimum" | "maximum">;
  /** How workers make WebRTC links (ICE servers, transport policy), told to each in its welcome. */
  webrtc?: RtcConfig | undefined;
  /**
   * Whether its connections keep the process alive. Default true (a scheduler process serves until
   * told to stop); a LocalCluster passes false, so that a script that forgets close() exits once its
   * clients wait for nothing.
   */
  keepAlive?: boolean;
}

/** Milliseconds between looks for tasks past their timeout and steal-requests left unanswered (timeouts.ts). */
export const TIMEOUT_CHECK_MS = 1_000;

/** Milliseconds between work-stealing rounds (Dask's work-stealing-interval). */
export const STEAL_INTERVAL_MS = 100;

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
  private readonly claimsLog = new LogThrottle();
  private listener: Listener | null = null;
  /** Listeners added with listen() (e.g. a ws:// port for browser tabs beside an inproc address). */
  private readonly extraListeners: Listener[] = [];
  /** Ids are numbered per role (client-1 …, worker-1 …): a LocalCluster's thread-n is worker-n (its threads join in name order). */
  private readonly nextIds = { client: 0, worker: 0 };
  private closing = false;
  private nextTicket = 0;
  private readonly retirements = new Map<number, (result: RetireResult) => void>();
  /** Workers removed for silence: their connection's close is not a goodbye. */
  private readonly expired = new Set<string>();
  private ttlTimer: ReturnType<typeof setInterval> | undefined;
  private stealTimer: ReturnType<typeof setInterval> | undefined;
  private timeoutTimer: ReturnType<typeof setInterval> | undefined;
  private noWorkerTimer: ReturnType<typeof setTimeout> | undefined;
  /** When noWorkerTimer fires, and how many tasks were in no-worker when last looked at. */
  private noWorkerAt = 0;
  private unrunnableSeen = 0;
  /** Adapting worker processes that asked for it (started when the first one joins). */
  private adaptive: Adaptive | null = null;
  /** Each member's credential and each worker's data secret, and the tickets made with them (grants.ts). */
  readonly grants: DataGrants;
  /** Scatter placements granted to each client and not yet reported by update-data ("key\naddress"). */
  private readonly scatterGrants = new Map<string, Set<string>>();
  /** Workers' addresses the relay may reach: each after its data server answered the challenge (grants.ts). */
  private readonly challenged = new Map<string, Promise<boolean>>();
  /** The credential the scheduler's own challenges present at the relay (made at the first relay:// address). */
  private challengeCredential: string | undefined;
  /** Turns scatters onto the next worker (round robin across calls). */
  private scatterTurn = 0;
  /** Clients' progress watches (progress.ts), by client connection. */
  private readonly progress: ProgressWatches;

  /** What the dashboard shows (telemetry.ts): task events kept only while a dashboard watches. */
  readonly telemetry: Telemetry;
  /** The dashboard's link, told to clients in their welcome; set by whoever serves the dashboard (node/servers/dashboard-server.ts). */
  dashboardLink: string | undefined = undefined;

  private constructor(private readonly options: SchedulerOptions) {
    this.state = new SchedulerState(options);
    this.progress = new ProgressWatches(this.state.tasks);
    this.telemetry = new Telemetry(this.state);
    this.grants = new DataGrants(
      options.token !== undefined || options.workerToken !== undefined || options.tabToken !== undefined,
      options.ticketTtlMs,
    );
    if (this.grants.enabled) this.state.outbox.grants = this.grants;
    this.gate = new HandshakeGate("scheduler", {
      maxPending: options.maxPendingHandshakes,
      maxPendingPerAddress: options.maxPendingPerAddress,
    });
    this.bans = new BanKeeper(this.state.banned, options.bans, (m) => log().error(m));
    this.admissions = new Admissions(options, this.state, this.grants, (role) => ++this.nextIds[role]);
  }

  /** Starts a scheduler listening at `options.address`. */
  static async start(options: SchedulerOptions = {}): Promise<Scheduler> {
    const ttl = options.workerTtlMs ?? DEFAULT_WORKER_TTL_MS;
    if (!(ttl > 0))
      throw new ArgumentError(`workerTtlMs must be a number of milliseconds > 0, got ${String(options.workerTtlMs)}`);
    const s = new Scheduler(options);
    const loaded = await s.bans.load();
    if (options.bans) log().info(`${loaded} ban${loaded === 1 ? "" : "s"} loaded from ${options.bans.describe}`);
    s.listener = await listen(
      options.address ?? `inproc://scheduler-${randomId(4)}`,
      (comm) => void s.accept(comm),
      options.transport,
    );
    s.ttlTimer = setInterval(() => s.expireSilentWorkers(ttl), Math.min(ttl / 4, 5_000));
    (s.ttlTimer as { unref?: () => void }).unref?.();
    s.timeoutTimer = setInterval(() => {
      s.tick();
      s.state.expireTimeouts();
      s.deliver();
    }, TIMEOUT_CHECK_MS);
    (s.timeoutTimer as { unref?: () => void }).unref?.();
    if (options.workStealing !== false) {
      s.stealTimer = setInterval(() => s.steal(), STEAL_INTERVAL_MS);
      (s.stealTimer as { unref?: () => void }).unref?.();
    }
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
    this.tick();
    this.state.retireWorkers(workers, ticket);
    this.deliver();
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
    const answered = this.challenged.get(address);
    return answered ? answered.then((ok) => ok && this.state.workerAt(address) === ws) : false;
  }

  /**
   * Whether a caller presenting `given` may reach the relay's listener at `slot`: a connected
   * worker whose relay:// address has that slot answered the scheduler's challenge there (resolves
   * once it has answered, or failed to); the challenge itself always may. True without tokens.
   */
  reachableSlot(slot: string, given: string | undefined): boolean | Promise<boolean> {
    if (!this.grants.enabled || (given !== undefined && given === this.challengeCredential)) return true;
    const answers: Promise<boolean>[] = [];
    for (const [address, answered] of this.challenged) if (relaySlot(address) === slot) answers.push(answered);
    return answers.length === 0 ? false : Promise.all(answers).then((oks) => oks.includes(true));
  }

  /**
   * The relay's listener at `slot` left: a challenge it answered vouches for nobody who listens
   * there next, so callers are refused that slot from now on (its worker can no longer serve there).
   */
  relaySlotClosed(slot: string): void {
    for (const address of [...this.challenged.keys()])
      if (relaySlot(address) === slot) this.challenged.set(address, Promise.resolve(false));
  }

  /** The transport options the challenge at `address` connects with: through the relay, with the scheduler's own credential. */
  private challengeTransport(address: string): TransportOptions | undefined {
    if (!/^relays?:/.test(address)) return this.options.transport;
    this.challengeCredential ??= this.grants.credential("scheduler-challenge");
    return { ...this.options.transport, relayToken: this.challengeCredential };
  }

  /** Open connections, by role (for tests and the dashboard). */
  get connections(): { clients: number; workers: number; handshaking: number } {
    return { clients: this.clients.size, workers: this.workers.size, handshaking: this.gate.size };
  }

  /** Says goodbye to every client and worker, stops listening. Workers are asked to close. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.adaptive?.stop();
    clearInterval(this.ttlTimer);
    clearInterval(this.stealTimer);
    clearInterval(this.timeoutTimer);
    clearTimeout(this.noWorkerTimer);
    await this.listener?.close();
    await Promise.all(this.extraListeners.map((l) => l.close()));
    for (const comm of this.workers.values()) {
      trySend(comm, { op: "close-worker", reason: "scheduler closing" });
      comm.close("scheduler closing");
    }
    this.gate.closeAll("scheduler closing");
    for (const comm of this.clients.values()) comm.close("scheduler closing");
    await Promise.all([...this.workers.values(), ...this.clients.values()].map((c) => c.closed));
    await this.bans.settled();
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

  /** A reader says `from` served bytes for `key` not matching its agreed digest (scheduler/bad-data.ts). */
  private badData(reader: WorkerRecord | null, who: string, key: string, from: string): void {
    if (reader === null && who.startsWith("worker")) return; // gone meanwhile
    const outcome = badData(this.state, reader, key, from);
    if (outcome === "ignored") return;
    const what = {
      banned: "banned it",
      dropped: "dropped it as a holder (trusted workers are never banned)",
      "not-believed": "not believed from an untrusted reader (it skips that holder)",
    }[outcome];
    this.claimsLog.warn(`${who} says ${from} served bytes for ${key} that do not match the agreed digest: ${what}`);
  }

  private serveClient(comm: Comm, id: string): void {
    this.clients.set(id, comm);
    this.state.addClient(id);
    const s = this.state;
    const handlers: Handlers<ClientToScheduler> = {
      "update-graph": (m) => s.updateGraph(id, m.tasks, m.fns, m.wants),
      "release-keys": (m) => s.releaseKeys(id, m.keys),
      cancel: (m) => s.cancel(id, m.keys),
      "update-data": (m) => s.updateData(id, grantedScatter(id, m.entries, this.scatterGrants.get(id))),
      request: (m) => this.answer(comm, m, id),
      "bad-data": (m) => this.badData(null, `client ${id}`, m.key, m.from),
    };
    comm.setHandler((msg) => this.handle(handlers, msg));
    void comm.closed.then(() => {
      this.clients.delete(id);
      this.grants.forget(id);
      this.scatterGrants.delete(id);
      this.tick();
      s.removeClient(id);
      this.deliver();
    });
  }

  private serveWorker(comm: Comm, id: string, hello: Hello, trusted: boolean): void {
    this.workers.set(id, comm);
    this.tick();
    const w = hello.worker!;
    log().info(
      `worker ${w.name} joined (${id}, ${w.kind}, ${trusted ? "trusted" : "untrusted"}, ${w.nthreads} thread${w.nthreads === 1 ? "" : "s"}, data at ${w.address}); ${this.workers.size} worker${this.workers.size === 1 ? "" : "s"} now`,
    );
    this.state.addWorker(id, trusted ? w : capUntrusted(w), trusted, hostOf(comm.peerAddress));
    if (this.grants.enabled && /^(wss?|inproc|relays?):\/\//.test(w.address))
      this.challenged.set(w.address, challenge(this.grants, w.address, this.challengeTransport(w.address)));
    this.deliver();
    if (hello.worker!.group?.adapt && !this.adaptive) this.adaptProcesses();
    const s = this.state;
    const telemetry = this.telemetry;
    const handlers: Handlers<WorkerToScheduler> = {
      "task-finished": (m) => {
        telemetry.taskFinished(id, m.key, m.duration, m.nbytes);
        s.taskFinished(id, m.key, m.nbytes, m.duration, m.value, m.held, m.digest);
      },
      "task-started": (m) => s.taskStarted(id, m.key),
      "acquire-failed": (m) => s.acquireFailed(id, m.keys),
      "steal-response": (m) => s.stealResponse(id, m.stolen, m.kept),
      "retire-me": (m) => {
        log().info(`worker ${id} asks to leave (${m.reason}): retiring it`);
        void this.retireWorkers([id]);
      },
      "task-erred": (m) => {
        telemetry.taskErred(id, m.key);
        s.taskErred(id, m.key, m.error);
      },
      "missing-data": (m) => s.missingData(id, m.key, m.dep, m.from),
      "bad-data": (m) => this.badData(s.workers.get(id) ?? null, `worker ${w.name}`, m.key, m.from),
      "renew-tickets": (m) => {
        const ws = s.workers.get(id);
        if (ws) comm.send({ op: "tickets", keys: renewTickets(s, this.grants, ws, m.keys) });
      },
      "add-keys": (m) => {
        telemetry.fetched(id, m.keys);
        s.addKeys(id, m.keys);
      },
      heartbeat: (m) => s.heartbeat(id, m.memory, m.executing, m.spilled, m.paused, m.links),
      "rtc-signal": (m) => this.passSignal(comm, hello.worker!.address, m),
      reply: () => {},
    };
    comm.setHandler((msg) => {
      const ws = s.workers.get(id);
      if (ws) ws.lastSeen = performance.now();
      this.handle(handlers, msg);
    });
    void comm.closed.then((info) => {
      this.workers.delete(id);
      this.grants.forget(id, w.address);
      this.challenged.delete(w.address);
      this.tick();
      const expired = this.expired.delete(id);
      const graceful = info.graceful && !expired;
      const removed = s.removeWorker(id, info.reason, graceful);
      this.deliver();
      if (!removed || this.closing) return;
      const left = `${this.workers.size} worker${this.workers.size === 1 ? "" : "s"} left`;
      const work =
        removed.rerun > 0
          ? `; computing ${removed.rerun} task${removed.rerun === 1 ? "" : "s"} again (${removed.rerun - removed.recomputed} it was running, ${removed.recomputed} result${removed.recomputed === 1 ? "" : "s"} only it held)`
          : "";
      const failed =
        removed.failed > 0
          ? `; ${removed.failed} task${removed.failed === 1 ? "" : "s"} failed with KilledWorkerError`
          : "";
      if (graceful) log().info(`worker ${removed.name} left (${info.reason})${work}${failed}; ${left}`);
      else log().warn(`worker ${removed.name} was lost (${info.reason})${work}${failed}; ${left}`);
    });
  }

  /**
   * WebRTC signalling from the worker at `from` to the worker at `m.to`, passed on as it is. The
   * scheduler answers "refused" for a peer that is gone or cannot do WebRTC, so the sender falls
   * back to another link at once rather than after a timeout.
   */
  private passSignal(sender: Comm, from: string, m: RtcSignalMessage): void {
    const target = m.to === undefined ? undefined : this.state.workerAt(m.to);
    const comm = target && this.workers.get(target.id);
    if (comm && target.webrtc) return comm.send({ op: "rtc-signal", from, data: m.data });
    if (m.data.kind === "refused" || m.data.kind === "bye") return;
    const reason = !target ? `no worker at ${String(m.to)}` : `${target.name} cannot make WebRTC links`;
    sender.send({ op: "rtc-signal", from: m.to, data: { pc: m.data.pc, kind: "refused", reason } });
  }

  private handle<M extends { op: string }>(handlers: Handlers<M>, msg: Message): void {
    this.tick();
    dispatch(handlers, msg);
    this.deliver();
  }

  /** Places a client's scattered keys and grants it the puts (grants.ts). */
  private placeScatter(
    clientId: string,
    keys: string[],
    workers: string[] | undefined,
    broadcast: boolean,
    isPrivate: boolean,
  ): ReturnType<typeof placeScatter> {
    let granted = this.scatterGrants.get(clientId);
    if (!granted) this.scatterGrants.set(clientId, (granted = new Set()));
    return placeScatter(
      this.state,
      this.grants,
      clientId,
      keys,
      workers,
      broadcast,
      granted,
      this.scatterTurn++,
      isPrivate,
    );
  }

  private answer(comm: Comm, m: Request, clientId: string): void {
    const s = this.state;
    let value: unknown;
    try {
      const what = m.what;
      switch (what.kind) {
        case "who-has":
          value = s.whoHas(what.keys);
          break;
        case "locate":
          value = locate(s, this.grants, clientId, what.keys);
          break;
        case "scatter":
          value = this.placeScatter(clientId, what.keys, what.workers, what.broadcast === true, what.private === true);
          break;
        case "workers":
          value = workerInfo(s);
          break;
        case "upload":
          s.uploadModule(what.module);
          value = what.module.hash;
          break;
        case "story":
          value = s.storyOf(what.key);
          break;
        case "progress-watch":
          value = this.progress.watch(comm, what.keys);
          break;
        case "progress":
          value = this.progress.counts(comm, what.watch, what.end === true);
          break;
        case "retire":
          void this.retireWorkers(what.workers).then((result) =>
            trySend(comm, { op: "reply", id: m.id, value: result }),
          );
          return;
        default:
          throw new ProtocolError(`unknown request "${(what as { kind: unknown }).kind}"`);
      }
    } catch (err) {
      if (err instanceof ProtocolError) throw err;
      trySend(comm, { op: "reply", id: m.id, error: errorToData(err) });
      return;
    }
    trySend(comm, { op: "reply", id: m.id, value });
  }

  private tick(): void {
    this.state.now = performance.now();
  }

  private deliver(): void {
    for (const ins of this.state.takeInstructions()) this.route(ins);
    if (this.state.ignoredClaims.length > 0) {
      for (const c of this.state.ignoredClaims)
        this.claimsLog.warn(
          `ignored ${c.op} from worker ${c.worker}: it claims ${c.key}, which it was never told to compute or fetch`,
        );
      this.state.ignoredClaims = [];
    }
    const waiting = this.state.unrunnable.size;
    if (waiting > 0 && waiting !== this.unrunnableSeen && !this.closing) this.armNoWorkerTimer();
    this.unrunnableSeen = waiting;
  }

  /** Wakes when the first noWorkerTimeout of a task in no-worker runs out (tasks without one wait). */
  private armNoWorkerTimer(): void {
    const at = this.state.nextNoWorkerDeadline();
    if (at === undefined || (this.noWorkerTimer !== undefined && at >= this.noWorkerAt)) return;
    clearTimeout(this.noWorkerTimer);
    this.noWorkerAt = at;
    this.noWorkerTimer = setTimeout(
      () => {
        this.noWorkerTimer = undefined;
        this.unrunnableSeen = -1;
        this.tick();
        this.state.expireNoWorker();
        this.deliver();
      },
      Math.max(0, at - performance.now()) + 1,
    );
    // The clients waiting for these tasks keep the process alive, not the scheduler.
    (this.noWorkerTimer as { unref?: () => void }).unref?.();
  }

  /**
   * Grows and shrinks worker processes that joined with adaptive bounds: more threads in a
   * process with room (scale-up), threads retired gracefully down to each process's minimum.
   * Workers without bounds count towards the work but are never retired by this.
   */
  private adaptProcesses(): void {
    const s = this.state;
    const running = () => [...s.workers.values()].filter((ws) => ws.status === "running");
    const groups = () => {
      const out = new Map<string, { minimum: number; maximum: number; members: WorkerRecord[] }>();
      for (const ws of running()) {
        const adapt = ws.group?.adapt;
        if (!adapt) continue;
        let g = out.get(ws.group!.id);
        if (!g) out.set(ws.group!.id, (g = { ...adapt, members: [] }));
        g.members.push(ws);
      }
      return out;
    };
    this.adaptive = new Adaptive(
      {
        state: s,
        bounds: () => {
          const fixed = running().filter((ws) => !ws.group?.adapt).length;
          let minimum = fixed;
          let maximum = fixed;
          for (const g of groups().values()) {
            minimum += g.minimum;
            maximum += g.maximum;
          }
          return { minimum, maximum };
        },
        closable: (ws) => {
          const g = ws.group?.adapt ? groups().get(ws.group.id) : undefined;
          return g !== undefined && g.members.length > g.minimum;
        },
        scaleUp: async (n) => {
          const before = running().length;
          let asked = 0;
          for (const g of groups().values()) {
            const k = Math.min(n - asked, g.maximum - g.members.length);
            if (k <= 0) continue;
            const comm = this.workers.get(g.members[0]!.id);
            if (comm) trySend(comm, { op: "scale-up", n: k });
            asked += k;
          }
          // Done when they have joined, or after a while (a process may fail to start threads).
          for (let waited = 0; asked > 0 && running().length < before + asked && waited < 15_000; waited += 50)
            await new Promise((r) => setTimeout(r, 50));
        },
        scaleDown: async (ids) => {
          // Never below a process's minimum, even when several of its threads were picked.
          const now = groups();
          const left = new Map([...now].map(([id, g]) => [id, g.members.length]));
          const keep = ids.filter((id) => {
            const gid = s.workers.get(id)?.group?.id;
            const g = gid === undefined ? undefined : now.get(gid);
            if (!g || left.get(gid!)! <= g.minimum) return false;
            left.set(gid!, left.get(gid!)! - 1);
            return true;
          });
          if (keep.length > 0) await this.retireWorkers(keep);
        },
      },
      { ...this.options.adapt, minimum: 0, maximum: 0 },
      0,
    );
    this.adaptive.start();
  }

  private steal(): void {
    if (this.state.workers.size < 2) return;
    this.tick();
    if (this.state.balance() > 0) this.deliver();
  }

  /** Closes the connection of every worker silent for longer than `ttl` ms; it is removed as lost. */
  private expireSilentWorkers(ttl: number): void {
    const now = performance.now();
    for (const ws of this.state.workers.values()) {
      if (now - ws.lastSeen <= ttl) continue;
      const comm = this.workers.get(ws.id);
      if (!comm || this.expired.has(ws.id)) continue;
      const reason = `no word from it for ${Math.round((now - ws.lastSeen) / 1000)} s (worker TTL ${ttl / 1000} s)`;
      log().warn(`removing worker ${ws.name}: ${reason}`);
      this.expired.add(ws.id);
      comm.close(reason);
    }
  }

  private route(ins: Instruction): void {
    if (ins.to === "scheduler") {
      const msg = ins.msg;
      if (msg.op === "worker-banned") {
        log().warn(
          `worker ${msg.name} ${msg.reason}; its results are computed again where they were taken on its word`,
        );
        this.workers.get(msg.worker)?.close(msg.reason);
        this.bans.save();
        return;
      }
      const resolve = this.retirements.get(msg.ticket);
      this.retirements.delete(msg.ticket);
      resolve?.(msg.result);
      return;
    }
    const comm = ins.to === "worker" ? this.workers.get(ins.id) : this.clients.get(ins.id);
    if (comm) trySend(comm, ins.msg);
    else log().debug(`dropping ${ins.msg.op} for ${ins.id}: not connected`);
  }
}

function trySend(comm: Comm, msg: Message): void {
  if (!comm.isClosed) comm.send(msg);
}

/** The slot of a relay:// or relays:// address (relay://host:port/<slot>), or undefined for any other. */
function relaySlot(address: string): string | undefined {
  return /^relays?:\/\/[^/]+\/([\w-]+)$/.exec(address)?.[1];
}
