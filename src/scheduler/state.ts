// The scheduler as a pure state machine: events in (a client submitted, a worker finished),
// instructions out (messages to send). No sockets, timers or awaits, so scheduling tests are
// synchronous and exact. The shell (server.ts) feeds it one SchedulerEvent (events.ts) at a time
// and delivers what handle() returns. The events are carried out in client-events.ts,
// worker-events.ts, worker-removal.ts, retire.ts, stealing.ts, timeouts.ts, no-worker.ts and ttl.ts,
// on a Core (core.ts): the state and the machinery below (recommend, transition, begin, run), which
// only they see. The transitions themselves are in their table (transitions.ts).

import { LostDataError, type ErrorData } from "../errors.js";
import type { FnDef, ModuleDef, WorkerHello } from "../protocol/messages.js";
import type { Core, PendingReplicas, ReplicaAttempts, SchedulerData, TransitionExtra } from "./core.js";
import { NO_EXTRA } from "./core.js";
import type { SchedulerEvent } from "./events.js";
import { ClientState, type TaskState, WorkerRecord, type Retirement, type TaskStateName } from "./model.js";
import { holders, Outbox, type Instruction } from "./outbox.js";
import * as stealing from "./stealing.js";
import * as noWorker from "./no-worker.js";
import { moduleFor } from "./platforms.js";
import * as retire from "./retire.js";
import { Story, type StoryEntry } from "./story.js";
import { TRANSITIONS } from "./transitions.js";
import * as clientEvents from "./client-events.js";
import * as events from "./worker-events.js";
import { workerRemoved } from "./worker-removal.js";
import { assignWitness } from "./verify.js";
import * as timeouts from "./timeouts.js";
import { DEFAULT_UNTRUSTED_TASK_TIMEOUT_MS } from "./timeouts.js";
import { badData } from "./bad-data.js";
import { expireSilentWorkers } from "./ttl.js";

export type { Instruction } from "./outbox.js";
export type { SchedulerEvent } from "./events.js";
export { NO_EXTRA } from "./core.js";

export interface SchedulerStateOptions {
  /**
   * A task fails with KilledWorkerError once this many workers died while running it. Default 3
   * (the futures issue's figure; Dask's `allowed-failures` of 3 fails on the fourth death).
   */
  allowedFailures?: number;
  /** Transitions kept for story(). Default 100,000. */
  storyCapacity?: number;
  /**
   * Verify what untrusted workers compute on a second worker (scheduler/verify.ts). Default true.
   * false takes their word, as for trusted workers: only for tabs you control (your own machines,
   * tests of data moving between tabs); anyone holding the tab link could then forge results.
   */
  verifyUntrusted?: boolean;
  /**
   * Milliseconds a task may take on an untrusted worker, from being sent there, before it is taken
   * back and run elsewhere (a task's own `timeout` wins). Default DEFAULT_UNTRUSTED_TASK_TIMEOUT_MS
   * (10 minutes).
   */
  untrustedTaskTimeoutMs?: number;
}

/** Ignored claims kept between two looks by the shell. */
const IGNORED_CLAIMS_KEPT = 100;

/** Notices kept between two looks by the shell (a hostile worker can cause one with every message). */
const NOTICES_KEPT = 100;

/** Something for the shell's log: a worker removed, bad data reported. `throttled` ones a hostile member can cause at will. */
export interface Notice {
  level: "info" | "warn";
  text: string;
  throttled?: boolean;
}

/** The state and its machinery (core.ts): made and used only by SchedulerState. */
class Machine implements Core {
  readonly tasks = new Map<string, TaskState>();
  readonly workers = new Map<string, WorkerRecord>();
  readonly clients = new Map<string, ClientState>();
  readonly unrunnable = new Set<TaskState>();
  readonly awaitingWitness = new Set<TaskState>();
  readonly banned = { names: new Set<string>(), addresses: new Set<string>(), hosts: new Set<string>() };
  readonly durations = new Map<string, number>();
  readonly fns = new Map<string, FnDef>();
  readonly modules = new Map<string, ModuleDef>();
  readonly story: Story;
  now = 0;
  readonly allowedFailures: number;
  readonly verifyUntrusted: boolean;
  readonly untrustedTaskTimeoutMs: number;
  readonly retirements = new Set<Retirement>();
  readonly pendingReplicas: PendingReplicas = new Map();
  readonly replicaAttempts = new Map<TaskState, ReplicaAttempts>();
  readonly workersByAddress = new Map<string, WorkerRecord>();
  readonly outbox: Outbox;
  /** See SchedulerState.ignoredClaims. */
  ignoredClaims: { worker: string; key: string; op: string }[] = [];
  notices: Notice[] = [];
  /** The stimulus the event being handled brought, if any (else begin numbers one). */
  given: string | undefined = undefined;

  private recs = new Map<TaskState, TaskStateName>();
  /** Facts for the recommendations that carry any (most carry none). */
  private recExtras = new Map<TaskState, TransitionExtra>();
  private stimulusCount = 0;
  private note: { key: string; text: string } | undefined = undefined;
  private stimulus = "";

  constructor(options: SchedulerStateOptions) {
    this.allowedFailures = options.allowedFailures ?? 3;
    this.verifyUntrusted = options.verifyUntrusted ?? true;
    this.untrustedTaskTimeoutMs = options.untrustedTaskTimeoutMs ?? DEFAULT_UNTRUSTED_TASK_TIMEOUT_MS;
    this.story = new Story(options.storyCapacity);
    this.outbox = new Outbox(this.fns);
  }

  ignoredClaim(ws: WorkerRecord, key: string, op: string): void {
    if (this.ignoredClaims.length < IGNORED_CLAIMS_KEPT) this.ignoredClaims.push({ worker: ws.name, key, op });
  }

  notice(level: "info" | "warn", text: string, throttled = false): void {
    if (this.notices.length < NOTICES_KEPT) this.notices.push({ level, text, throttled });
  }

  addWorker(id: string, hello: WorkerHello, trusted: boolean, host: string): void {
    const ws = new WorkerRecord(
      id,
      hello.address,
      hello.name,
      hello.kind,
      hello.nthreads,
      hello.memoryLimit,
      hello.resources,
    );
    ws.trusted = trusted;
    ws.host = host;
    ws.lastSeen = this.now;
    ws.group = hello.group;
    ws.webrtc = hello.webrtc ?? false;
    this.workers.set(id, ws);
    this.workersByAddress.set(ws.address, ws);
    for (const module of this.modules.values())
      this.outbox.toWorker(ws, { op: "load-module", module: moduleFor(module, ws) });
    this.begin("worker-added");
    this.offerUnrunnable();
    this.run();
  }

  removeClient(id: string): void {
    const cs = this.clients.get(id);
    if (!cs) return;
    this.clients.delete(id);
    this.begin("client-gone");
    for (const ts of cs.wants) {
      ts.whoWants.delete(cs);
      if (!this.isNeeded(ts)) this.recommend(ts, "released");
    }
    cs.wants.clear();
    this.run();
  }

  uploadModule(module: ModuleDef): void {
    this.modules.set(module.hash, module);
    for (const ws of this.workers.values())
      this.outbox.toWorker(ws, { op: "load-module", module: moduleFor(module, ws) });
  }

  offerUnrunnable(): void {
    for (const ts of this.unrunnable) this.recommend(ts, "processing");
    for (const ts of this.awaitingWitness) {
      assignWitness(this, ts);
      if (ts.processingOn) this.recordStory(ts, "verifying", "verifying");
    }
  }

  /** Whether anything still needs `ts`'s result: a client, or a dependent not yet computed. */
  isNeeded(ts: TaskState): boolean {
    return ts.whoWants.size > 0 || ts.waiters.size > 0;
  }

  /** Whether a transition of `ts` waits to be carried out in this event. */
  isRecommended(ts: TaskState): boolean {
    return this.recs.has(ts);
  }

  /** Records in `ts`'s story a move made outside `transition` (a stolen task changing workers). */
  recordStory(ts: TaskState, start: TaskStateName, finish: TaskStateName): void {
    const note = this.note;
    this.note = undefined;
    this.story.record(ts.key, start, finish, this.stimulus, this.now, note?.key === ts.key ? note.text : undefined);
  }

  /** Attaches `text` to the story entry of `ts`'s transition under way (why it went where it went). */
  noteStory(ts: TaskState, text: string): void {
    this.note = { key: ts.key, text };
  }

  recommend(ts: TaskState, finish: TaskStateName, extra?: TransitionExtra): void {
    this.recs.set(ts, finish);
    if (extra) this.recExtras.set(ts, extra);
    else if (this.recExtras.size > 0) this.recExtras.delete(ts);
  }

  addReplica(ts: TaskState, ws: WorkerRecord, nbytes: number): void {
    if (ts.whoHas.has(ws)) return;
    ts.nbytes = nbytes;
    ts.addHolder(ws);
    ws.hasWhat.add(ts);
    ws.nbytes += nbytes;
  }

  learnDuration(group: string, ms: number): void {
    const prev = this.durations.get(group);
    this.durations.set(group, prev === undefined ? ms : 0.5 * prev + 0.5 * ms);
  }

  lostError(ts: TaskState): ErrorData {
    const e = new LostDataError(
      `${ts.key} was held only by workers that are gone, and it cannot be recomputed (it was scattered, not computed)`,
    );
    return { name: e.name, message: e.message, code: e.code };
  }

  /** The worker with this id, data-server address or name. */
  findWorker(name: string): WorkerRecord | undefined {
    const byId = this.workers.get(name) ?? this.workersByAddress.get(name);
    if (byId) return byId;
    for (const ws of this.workers.values()) if (ws.name === name) return ws;
    return undefined;
  }

  /** Starts handling an event (what caused the transitions that follow, for story()). */
  begin(what: string): void {
    this.stimulus = this.given ?? `${what}-${++this.stimulusCount}`;
  }

  /**
   * Ends handling an event: carries out recommendations until none are left, a round at a time (taking the first entry of
   * a Map after many deletions is slow in V8, so we never do that). A newer recommendation for a
   * task replaces an older one that has not run yet.
   */
  run(): void {
    for (;;) {
      while (this.recs.size > 0) {
        const round = this.recs;
        const extras = this.recExtras;
        this.recs = new Map();
        this.recExtras = new Map();
        for (const [ts, finish] of round) {
          if (this.recs.has(ts) || ts.state === "forgotten") continue; // superseded, or gone
          this.transition(ts, finish, extras.get(ts) ?? NO_EXTRA);
        }
      }
      // Retirements move on once the tasks have settled (a kept worker may take tasks again).
      if (this.retirements.size === 0) break;
      retire.advanceRetirements(this);
      if (this.recs.size === 0) break;
    }
    if (this.retirements.size === 0 && this.replicaAttempts.size > 0) {
      this.replicaAttempts.clear();
      this.pendingReplicas.clear();
    }
    this.outbox.flushFrees();
  }

  /** Moves `ts` to `finish` now, through "released" where there is no direct transition. */
  transition(ts: TaskState, finish: TaskStateName, extra: TransitionExtra): void {
    const start = ts.state;
    if (start === finish) return;
    const fn = TRANSITIONS[`${start}>${finish}`];
    if (fn) {
      fn(this, ts, extra);
      // A no-worker task offered to new workers none of which may run it stays where it was.
      if (ts.state !== start) this.recordStory(ts, start, ts.state);
      return;
    }
    if (start === "released" || finish === "released") {
      throw new Error(`scheduler bug: no transition ${start}>${finish} for ${ts.key}`);
    }
    this.transition(ts, "released", extra);
    if (ts.state === "released") this.transition(ts, finish, extra);
  }
}

/** Events that are a worker's own messages: each shows the worker is alive (its TTL starts again). */
const FROM_WORKER: ReadonlySet<string> = new Set([
  "heard-from",
  "task-started",
  "task-finished",
  "task-erred",
  "missing-data",
  "add-keys",
  "acquire-failed",
  "heartbeat",
  "steal-response",
  "bad-data",
]);

export class SchedulerState implements SchedulerData {
  readonly #m: Machine;

  constructor(options: SchedulerStateOptions = {}) {
    this.#m = new Machine(options);
  }

  /** Carries out one event; returns the messages it produced, in order, for the shell to deliver. */
  handle(e: SchedulerEvent): Instruction[] {
    const m = this.#m;
    m.given = e.stimulus;
    if (FROM_WORKER.has(e.op) && "worker" in e && e.worker !== undefined) {
      const ws = m.workers.get(e.worker);
      if (ws) ws.lastSeen = m.now;
    }
    switch (e.op) {
      case "client-added":
        m.clients.set(e.client, new ClientState(e.client));
        break;
      case "client-removed":
        m.removeClient(e.client);
        break;
      case "update-graph":
        clientEvents.updateGraph(m, e);
        break;
      case "release-keys":
        clientEvents.releaseKeys(m, e);
        break;
      case "cancel":
        clientEvents.cancel(m, e);
        break;
      case "update-data":
        clientEvents.updateData(m, e);
        break;
      case "upload-module":
        m.uploadModule(e.module);
        break;
      case "worker-added":
        m.addWorker(e.worker, e.hello, e.trusted ?? true, e.host ?? "");
        break;
      case "worker-removed":
        workerRemoved(m, e.worker, e.reason, e.graceful ?? false);
        break;
      case "heard-from":
        break;
      case "task-started":
        events.taskStarted(m, e);
        break;
      case "task-finished":
        events.taskFinished(m, e);
        break;
      case "task-erred":
        events.taskErred(m, e);
        break;
      case "missing-data":
        events.missingData(m, e);
        break;
      case "add-keys":
        events.addKeys(m, e);
        break;
      case "acquire-failed":
        events.acquireFailed(m, e);
        break;
      case "heartbeat":
        events.heartbeat(m, e);
        break;
      case "steal-response":
        stealing.stealResponse(m, e.worker, e.stolen, e.kept);
        break;
      case "bad-data":
        badData(m, e);
        break;
      case "retire-workers":
        retire.retireWorkers(m, e.workers, e.ticket);
        break;
      case "balance":
        m.begin("balance");
        stealing.balance(m);
        m.run();
        break;
      case "check-timeouts":
        timeouts.expireTimeouts(m);
        break;
      case "no-worker-timeout":
        noWorker.expireNoWorker(m);
        break;
      case "check-ttl":
        expireSilentWorkers(m, e.ttlMs);
        break;
      default:
        throw new Error(`scheduler bug: no handler for event ${(e as { op: string }).op}`);
    }
    m.given = undefined;
    return m.outbox.take();
  }

  /**
   * What the shell should log since it last asked: workers removed, bad data reported, and claims
   * ignored (workers claiming keys they were never told to compute or fetch), the latter thinned out.
   */
  takeNotices(): Notice[] {
    const m = this.#m;
    const out = m.notices;
    for (const c of m.ignoredClaims)
      out.push({
        level: "warn",
        text: `ignored ${c.op} from worker ${c.worker}: it claims ${c.key}, which it was never told to compute or fetch`,
        throttled: true,
      });
    m.notices = [];
    m.ignoredClaims = [];
    return out;
  }

  // ---------------------------------------------------------------- reading the state

  get tasks(): Map<string, TaskState> {
    return this.#m.tasks;
  }
  get workers(): Map<string, WorkerRecord> {
    return this.#m.workers;
  }
  get clients(): Map<string, ClientState> {
    return this.#m.clients;
  }
  get unrunnable(): Set<TaskState> {
    return this.#m.unrunnable;
  }
  get awaitingWitness(): Set<TaskState> {
    return this.#m.awaitingWitness;
  }
  get banned(): { names: Set<string>; addresses: Set<string>; hosts: Set<string> } {
    return this.#m.banned;
  }
  get durations(): Map<string, number> {
    return this.#m.durations;
  }
  get fns(): Map<string, FnDef> {
    return this.#m.fns;
  }
  get modules(): Map<string, ModuleDef> {
    return this.#m.modules;
  }
  get story(): Story {
    return this.#m.story;
  }
  /** The shell's clock, in ms, set before each event: recorded in stories, compared with deadlines (timeouts, TTL). */
  get now(): number {
    return this.#m.now;
  }
  set now(ms: number) {
    this.#m.now = ms;
  }
  get allowedFailures(): number {
    return this.#m.allowedFailures;
  }
  get verifyUntrusted(): boolean {
    return this.#m.verifyUntrusted;
  }
  get untrustedTaskTimeoutMs(): number {
    return this.#m.untrustedTaskTimeoutMs;
  }
  get retirements(): Set<Retirement> {
    return this.#m.retirements;
  }
  get pendingReplicas(): PendingReplicas {
    return this.#m.pendingReplicas;
  }
  get replicaAttempts(): Map<TaskState, ReplicaAttempts> {
    return this.#m.replicaAttempts;
  }
  get workersByAddress(): Map<string, WorkerRecord> {
    return this.#m.workersByAddress;
  }
  get outbox(): Outbox {
    return this.#m.outbox;
  }
  /**
   * Claims to hold keys a worker was never told to compute or fetch, ignored since the shell last
   * took them (takeNotices logs them, thinned out). Bounded: only the first IGNORED_CLAIMS_KEPT are kept.
   */
  get ignoredClaims(): readonly { worker: string; key: string; op: string }[] {
    return this.#m.ignoredClaims;
  }

  /** The worker whose data server is at `address`. */
  workerAt(address: string): WorkerRecord | undefined {
    return this.#m.workersByAddress.get(address);
  }

  /** The worker with this id, data-server address or name. */
  findWorker(name: string): WorkerRecord | undefined {
    return this.#m.findWorker(name);
  }

  /** Why a worker joining with this name, data address and host is refused (it or its host was banned for lying), or null. */
  bannedWhy(name: string, address: string, host: string): string | null {
    const b = this.#m.banned;
    if (b.names.has(name) || b.addresses.has(address))
      return `worker ${name} is banned from this scheduler (its results were false)`;
    if (host && b.hosts.has(host))
      return `workers from ${host} are banned from this scheduler (a worker from there sent false results)`;
    return null;
  }

  whoHas(keys: string[]): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const k of keys) {
      const ts = this.#m.tasks.get(k);
      out[k] = ts ? holders(ts) : [];
    }
    return out;
  }

  storyOf(key: string): StoryEntry[] {
    return this.#m.story.of(key);
  }

  /** When the next noWorkerTimeout runs out (shell clock, ms), if any task has one. */
  nextNoWorkerDeadline(): number | undefined {
    return noWorker.nextNoWorkerDeadline(this.#m);
  }

  /** Whether anything still needs `ts`'s result: a client, or a dependent not yet computed. */
  isNeeded(ts: TaskState): boolean {
    return this.#m.isNeeded(ts);
  }
}
