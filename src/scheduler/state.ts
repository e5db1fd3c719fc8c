// The scheduler as a pure state machine: events in (a client submitted, a worker finished),
// instructions out (messages to send). No sockets, timers or awaits, so scheduling tests are
// synchronous and exact. The shell (server.ts) feeds it and delivers what it returns. The methods
// here are the events' entry points; most are carried out in client-events.ts, worker-events.ts,
// retire.ts and stealing.ts, on the state and the machinery below.

import { LostDataError, type ErrorData } from "../errors.js";
import type { FnDef, LinkReport, ModuleDef, TaskMsg, WorkerHello } from "../protocol/messages.js";
import type { Serialized } from "../protocol/refs.js";
import { ClientState, type TaskState, WorkerRecord, type Retirement, type TaskStateName } from "./model.js";
import { holders, Outbox, type Instruction } from "./outbox.js";
import * as stealing from "./stealing.js";
import * as noWorker from "./no-worker.js";
import { moduleFor } from "./platforms.js";
import * as retire from "./retire.js";
import type { PendingReplicas, ReplicaAttempts } from "./retire.js";
import { Story, type StoryEntry } from "./story.js";

export type { Instruction } from "./outbox.js";
import { TRANSITIONS, type TransitionExtra } from "./transitions.js";
import * as clientEvents from "./client-events.js";
import * as events from "./worker-events.js";
import { assignWitness } from "./verify.js";
import * as timeouts from "./timeouts.js";
import { DEFAULT_UNTRUSTED_TASK_TIMEOUT_MS, STEAL_ANSWER_TIMEOUT_MS } from "./timeouts.js";

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
  /** Milliseconds a worker has to answer a steal-request before its queue is taken back. Default STEAL_ANSWER_TIMEOUT_MS (30 s). */
  stealAnswerTimeoutMs?: number;
}

/** Ignored claims kept between two looks by the shell. */
const IGNORED_CLAIMS_KEPT = 100;

export class SchedulerState {
  readonly tasks = new Map<string, TaskState>();
  readonly workers = new Map<string, WorkerRecord>();
  readonly clients = new Map<string, ClientState>();
  /** Tasks no current worker may run (restrictions, resources, or no workers at all). */
  readonly unrunnable = new Set<TaskState>();
  /** Tasks being verified that no other worker may run now: offered again when one joins or resumes (verify.ts). */
  readonly awaitingWitness = new Set<TaskState>();
  /** Workers banned for lying, for the scheduler's lifetime: their names, data addresses, and untrusted ones' hosts. */
  readonly banned = { names: new Set<string>(), addresses: new Set<string>(), hosts: new Set<string>() };
  /** Typical duration in ms per task group, learned from completions. */
  readonly durations = new Map<string, number>();
  readonly fns = new Map<string, FnDef>();
  readonly modules = new Map<string, ModuleDef>();
  readonly story: Story;
  /** The shell's clock, in ms, set before each event. Only recorded, never read for decisions. */
  now = 0;
  readonly allowedFailures: number;
  /** SchedulerStateOptions.verifyUntrusted. */
  readonly verifyUntrusted: boolean;
  /** SchedulerStateOptions.untrustedTaskTimeoutMs. */
  readonly untrustedTaskTimeoutMs: number;
  /** SchedulerStateOptions.stealAnswerTimeoutMs. */
  readonly stealAnswerTimeoutMs: number;
  /** Retirements under way (see retire.ts). */
  readonly retirements = new Set<Retirement>();
  readonly pendingReplicas: PendingReplicas = new Map();
  /** Copies asked for per result during retirements; cleared when none are under way. */
  readonly replicaAttempts = new Map<TaskState, ReplicaAttempts>();

  private recs = new Map<TaskState, TaskStateName>();
  /** Facts for the recommendations that carry any (most carry none). */
  private recExtras = new Map<TaskState, TransitionExtra>();
  /** The messages decisions produce; the shell takes and delivers them after each event. */
  readonly outbox: Outbox;
  private stimulusCount = 0;
  private note: { key: string; text: string } | undefined = undefined;
  private stimulus = "";
  /** Workers by the address of their data server. */
  readonly workersByAddress = new Map<string, WorkerRecord>();

  constructor(options: SchedulerStateOptions = {}) {
    this.allowedFailures = options.allowedFailures ?? 3;
    this.verifyUntrusted = options.verifyUntrusted ?? true;
    this.untrustedTaskTimeoutMs = options.untrustedTaskTimeoutMs ?? DEFAULT_UNTRUSTED_TASK_TIMEOUT_MS;
    this.stealAnswerTimeoutMs = options.stealAnswerTimeoutMs ?? STEAL_ANSWER_TIMEOUT_MS;
    this.story = new Story(options.storyCapacity);
    this.outbox = new Outbox(this.fns);
  }

  /** Instructions produced since the last call, in order. */
  takeInstructions(): Instruction[] {
    return this.outbox.take();
  }

  // ---------------------------------------------------------------- clients

  addClient(id: string): void {
    this.clients.set(id, new ClientState(id));
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

  /** A client submits tasks (a key already known keeps its task) and says which keys it wants. */
  updateGraph(clientId: string, tasks: TaskMsg[], fns: FnDef[], wants: string[]): void {
    clientEvents.updateGraph(this, clientId, tasks, fns, wants);
  }

  releaseKeys(clientId: string, keys: string[]): void {
    clientEvents.releaseKeys(this, clientId, keys);
  }

  /** The client gives up these keys and the ones of its keys that depend on them. */
  cancel(clientId: string, keys: string[]): void {
    clientEvents.cancel(this, clientId, keys);
  }

  /** Scattered values now held by workers. */
  updateData(
    clientId: string,
    entries: { key: string; worker: string; nbytes: number; private?: boolean | undefined }[],
  ): void {
    clientEvents.updateData(this, clientId, entries);
  }

  // ---------------------------------------------------------------- workers

  /** The worker whose data server is at `address`. */
  workerAt(address: string): WorkerRecord | undefined {
    return this.workersByAddress.get(address);
  }

  /**
   * Claims to hold keys a worker was never told to compute or fetch, ignored since the shell last
   * took them (it logs them, thinned out). Bounded: only the first IGNORED_CLAIMS_KEPT are kept.
   */
  ignoredClaims: { worker: string; key: string; op: string }[] = [];

  /** Records a claim ignored (see ignoredClaims). */
  ignoredClaim(ws: WorkerRecord, key: string, op: string): void {
    if (this.ignoredClaims.length < IGNORED_CLAIMS_KEPT) this.ignoredClaims.push({ worker: ws.name, key, op });
  }

  addWorker(id: string, hello: WorkerHello, trusted = true, host = ""): WorkerRecord {
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
    return ws;
  }

  /** Offers the tasks no worker could take to the workers there are now. */
  offerUnrunnable(): void {
    for (const ts of this.unrunnable) this.recommend(ts, "processing");
    for (const ts of this.awaitingWitness) {
      assignWitness(this, ts);
      if (ts.processingOn) this.recordStory(ts, "verifying", "verifying");
    }
  }

  /** Why a worker joining with this name, data address and host is refused (it or its host was banned for lying), or null. */
  bannedWhy(name: string, address: string, host: string): string | null {
    const b = this.banned;
    if (b.names.has(name) || b.addresses.has(address))
      return `worker ${name} is banned from this scheduler (its results were false)`;
    if (host && b.hosts.has(host))
      return `workers from ${host} are banned from this scheduler (a worker from there sent false results)`;
    return null;
  }

  /**
   * Starts retiring workers (by id, name or address) gracefully; the answer comes as a "scheduler"
   * instruction with `ticket` once each has left or been kept (see retire.ts).
   */
  retireWorkers(names: string[], ticket: number): void {
    retire.retireWorkers(this, names, ticket);
  }

  /**
   * A worker left or died: recompute what it was running and what only it held. Only a worker that
   * died (`graceful` false) counts against the tasks it was running (KilledWorkerError); one that
   * said goodbye (scaled down, closed) did not die of them.
   */
  removeWorker(id: string, reason: string, graceful = false): events.WorkerRemoval | undefined {
    return events.removeWorker(this, id, reason, graceful);
  }

  /** Work stealing: asks loaded workers for queued tasks to move to idle ones (see stealing.ts). */
  balance(): number {
    this.begin("balance");
    const asked = stealing.balance(this);
    this.run();
    return asked;
  }

  /** A victim's answer to a steal-request: moves the tasks it dropped to the workers they were stolen for. */
  stealResponse(workerId: string, stolen: string[], kept: string[]): void {
    stealing.stealResponse(this, workerId, stolen, kept);
  }

  /** A worker says it is running `key` (see TaskStarted). */
  taskStarted(workerId: string, key: string): void {
    const ws = this.workers.get(workerId);
    const ts = this.tasks.get(key);
    if (ws && ts && ts.processingOn === ws) ws.started.add(ts);
  }

  /** `held`: the worker already held the result and ran nothing; `digest`: the result's SHA-256, when the task is being verified (verify.ts). */
  taskFinished(
    workerId: string,
    key: string,
    nbytes: number,
    duration: number,
    value?: Serialized,
    held?: boolean,
    digest?: string,
  ): void {
    events.taskFinished(this, workerId, key, nbytes, duration, value, held, digest);
  }

  taskErred(workerId: string, key: string, error: ErrorData): void {
    events.taskErred(this, workerId, key, error);
  }

  /** A worker could not get `dep` from `from`: the scheduler's record was wrong; fix it and retry. */
  missingData(workerId: string, key: string, dep: string, from: string): void {
    events.missingData(this, workerId, key, dep, from);
  }

  /** A worker holds replicas it fetched (as dependencies, or asked to by a retirement). */
  addKeys(workerId: string, keys: { key: string; nbytes: number }[]): void {
    events.addKeys(this, workerId, keys);
  }

  /** A worker could not fetch replicas it was asked for: ask again (elsewhere), or give up on them. */
  acquireFailed(workerId: string, keys: string[]): void {
    events.acquireFailed(this, workerId, keys);
  }

  heartbeat(
    workerId: string,
    memory: number,
    executing: number,
    spilled = 0,
    paused = false,
    links?: LinkReport[],
  ): void {
    events.heartbeat(this, workerId, memory, executing, spilled, paused, links);
  }

  uploadModule(module: ModuleDef): void {
    this.modules.set(module.hash, module);
    for (const ws of this.workers.values())
      this.outbox.toWorker(ws, { op: "load-module", module: moduleFor(module, ws) });
  }

  // ---------------------------------------------------------------- queries

  whoHas(keys: string[]): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const k of keys) {
      const ts = this.tasks.get(k);
      out[k] = ts ? holders(ts) : [];
    }
    return out;
  }

  storyOf(key: string): StoryEntry[] {
    return this.story.of(key);
  }

  // ---------------------------------------------------------------- machinery used by transitions

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

  /** Takes back tasks past their timeout, and the queues of workers that ignore steal-requests (timeouts.ts). */
  expireTimeouts(): void {
    timeouts.expireTimeouts(this);
  }

  /** Fails the tasks that waited in no-worker past their noWorkerTimeout (see no-worker.ts). */
  expireNoWorker(): void {
    noWorker.expireNoWorker(this);
  }

  /** When the next noWorkerTimeout runs out (shell clock, ms), if any task has one. */
  nextNoWorkerDeadline(): number | undefined {
    return noWorker.nextNoWorkerDeadline(this);
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

  // ---------------------------------------------------------------- running events (also for worker-events.ts)

  /** The worker with this id, data-server address or name. */
  findWorker(name: string): WorkerRecord | undefined {
    const byId = this.workers.get(name) ?? this.workersByAddress.get(name);
    if (byId) return byId;
    for (const ws of this.workers.values()) if (ws.name === name) return ws;
    return undefined;
  }

  /** Starts handling an event (what caused the transitions that follow, for story()). */
  begin(what: string): void {
    this.stimulus = `${what}-${++this.stimulusCount}`;
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

/** Facts for a transition that carries none. */
export const NO_EXTRA: TransitionExtra = Object.freeze({});
