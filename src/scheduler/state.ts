// The scheduler as a pure state machine: events in (a client submitted, a worker finished),
// instructions out (messages to send). No sockets, timers or awaits, so scheduling tests are
// synchronous and exact. The shell (server.ts) feeds it one SchedulerEvent (events.ts) at a time
// and delivers what handle() returns. The events are carried out in client-events.ts,
// worker-events.ts, worker-removal.ts, retire.ts, stealing.ts, timeouts.ts, no-worker.ts and ttl.ts,
// on a Core (core.ts): the state and its machinery (machine.ts: recommend, transition, begin, run),
// which only they see. The transitions themselves are in their table (transitions.ts). Anyone may
// read the state (tasks, workers, stories …); only events change it.

import type { FnDef, ModuleDef } from "../protocol/messages.js";
import { badData } from "./bad-data.js";
import * as clientEvents from "./client-events.js";
import type { PendingReplicas, ReplicaAttempts, SchedulerData } from "./core.js";
import type { SchedulerEvent } from "./events.js";
import { Machine, type Notice } from "./machine.js";
import { ClientState, type Retirement, type TaskState, type WorkerRecord } from "./model.js";
import * as noWorker from "./no-worker.js";
import { holders, type Instruction, type Outbox } from "./outbox.js";
import * as retire from "./retire.js";
import * as stealing from "./stealing.js";
import type { Story, StoryEntry } from "./story.js";
import * as timeouts from "./timeouts.js";
import { expireSilentWorkers } from "./ttl.js";
import * as events from "./worker-events.js";
import { workerRemoved } from "./worker-removal.js";

export type { Instruction } from "./outbox.js";
export type { SchedulerEvent } from "./events.js";
export { NO_EXTRA } from "./core.js";
export type { Notice } from "./machine.js";
import { findProblems, InvariantError, VALIDATE_RECORDS_PER_EVENT, validateByDefault } from "./validate.js";

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
  /**
   * Check the whole state after events (validate.ts) and throw InvariantError, naming the tasks and
   * workers involved, at the first check that finds it inconsistent. `true`: after every event (a
   * pass over every task and worker each time: for tests of the state and fuzzing). `"sampled"`:
   * the same while the state is small, and every ⌈records / VALIDATE_RECORDS_PER_EVENT⌉ events on a
   * bigger one, so that a test cluster running 100,000 tasks pays a bounded cost per event. Not for
   * production. Default false; the Node test runner makes it "sampled" for every scheduler
   * (MESHWORK_VALIDATE=1, see node/platform/platform.ts).
   */
  validate?: boolean | "sampled";
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
  "renew-tickets",
]);

/** What takeNotices gives when there is nothing to log. */
const NO_NOTICES: readonly Notice[] = Object.freeze([]);

export class SchedulerState implements SchedulerData {
  readonly #m: Machine;
  /** SchedulerStateOptions.validate. */
  readonly validate: boolean | "sampled";
  /** Events since the state was last validated. */
  #unchecked = 0;

  /**
   * `onInvalid`: what to do with a broken invariant found with `validate` on; default: throw it
   * (the event's caller sees it). The Scheduler logs it and carries on (server.ts).
   */
  constructor(
    options: SchedulerStateOptions = {},
    private readonly onInvalid: (err: InvariantError) => void = throwIt,
  ) {
    this.#m = new Machine(options);
    this.validate = options.validate ?? validateByDefault();
  }

  /** Carries out one event; returns the messages it produced, in order, for the shell to deliver. */
  handle(e: SchedulerEvent): Instruction[] {
    const m = this.#m;
    m.given = e.stimulus;
    m.begun = false;
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
      case "renew-tickets":
        events.renewTickets(m, e);
        break;
      case "steal-response":
        stealing.stealResponse(m, e);
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
    // The one place every event ends: the state must be whole again here.
    if (
      this.validate === true ||
      (this.validate === "sampled" && ++this.#unchecked * VALIDATE_RECORDS_PER_EVENT >= m.tasks.size + m.workers.size)
    ) {
      this.#unchecked = 0;
      const problems = findProblems(m);
      if (problems.length > 0) {
        // The event's stimulus ("update-graph-3"), or its op when it began none.
        this.onInvalid(new InvariantError(m.begunId() ?? e.stimulus ?? e.op, problems));
      }
    }
    return m.outbox.take();
  }

  /**
   * What the shell should log since it last asked: workers removed, bad data reported, and claims
   * ignored (workers claiming keys they were never told to compute or fetch), the latter thinned out.
   */
  takeNotices(): readonly Notice[] {
    const m = this.#m;
    // Asked after every event; nearly always there is nothing, and then nothing is allocated.
    if (m.notices.length === 0 && m.ignoredClaims.length === 0) return NO_NOTICES;
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
  get stealAnswerTimeoutMs(): number {
    return this.#m.stealAnswerTimeoutMs;
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
}

function throwIt(err: InvariantError): never {
  throw err;
}
