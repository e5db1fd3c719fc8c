// The scheduler's state and the machinery that moves tasks between states (core.ts's Core):
// recommendations carried out a round at a time until none are left (run), each transition looked
// up in its table (transitions.ts) and recorded in the story with the event that caused it. Made
// and used only by SchedulerState (state.ts), which hands it to the event handlers.

import { type ErrorData, errorToData, LostDataError } from "../errors.js";
import type { FnDef, ModuleDef, WorkerHello } from "../protocol/messages.js";
import type { Core, PendingReplicas, ReplicaAttempts, TransitionExtra } from "./core.js";
import { NO_EXTRA } from "./core.js";
import { type ClientState, type Retirement, type TaskState, type TaskStateName, WorkerRecord } from "./model.js";
import { Outbox } from "./outbox.js";
import { moduleFor } from "./platforms.js";
import * as retire from "./retire.js";
import { Story, stimulusId } from "./story.js";
import { DEFAULT_UNTRUSTED_TASK_TIMEOUT_MS, STEAL_ANSWER_TIMEOUT_MS } from "./timeouts.js";
import { TRANSITIONS } from "./transitions.js";
import { assignWitness } from "./verify.js";

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
export class Machine implements Core {
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
  readonly stealAnswerTimeoutMs: number;
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
  /** The stimulus of the transitions being made: a given one, or the kind of event of a numbered one. */
  private stimulus = "";
  /** The number of that stimulus, or NaN for a given one. */
  private stimulusNumber = Number.NaN;

  /** `options`: SchedulerStateOptions (state.ts) */
  constructor(options: {
    allowedFailures?: number | undefined;
    verifyUntrusted?: boolean | undefined;
    untrustedTaskTimeoutMs?: number | undefined;
    stealAnswerTimeoutMs?: number | undefined;
    storyCapacity?: number | undefined;
  }) {
    this.allowedFailures = options.allowedFailures ?? 3;
    this.verifyUntrusted = options.verifyUntrusted ?? true;
    this.untrustedTaskTimeoutMs = options.untrustedTaskTimeoutMs ?? DEFAULT_UNTRUSTED_TASK_TIMEOUT_MS;
    this.stealAnswerTimeoutMs = options.stealAnswerTimeoutMs ?? STEAL_ANSWER_TIMEOUT_MS;
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
    const text = note?.key === ts.key ? note.text : undefined;
    this.story.record(ts.key, start, finish, this.stimulus, this.now, text, this.stimulusNumber);
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
    // The latest size counts for every holder (Dask's set_nbytes), so that each worker's nbytes
    // stays the sum of what it holds; overwriting it alone made the totals drift, and go negative
    // once the result was released (found by test/scheduler/state-properties.test.ts).
    if (nbytes !== ts.nbytes) for (const holder of ts.whoHas) holder.nbytes += nbytes - ts.nbytes;
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
    return errorToData(
      new LostDataError(
        `${ts.key} was held only by workers that are gone, and it cannot be recomputed (it was scattered, not computed)`,
      ),
      { stack: false },
    );
  }

  /** The worker with this id, data-server address or name. */
  findWorker(name: string): WorkerRecord | undefined {
    const byId = this.workers.get(name) ?? this.workersByAddress.get(name);
    if (byId) return byId;
    for (const ws of this.workers.values()) if (ws.name === name) return ws;
    return undefined;
  }

  /** Whether the event being handled began a stimulus (SchedulerState.handle clears it first). */
  begun = false;

  /** The stimulus of the event being handled, as the story spells it ("update-graph-3"), if it began one. */
  begunId(): string | undefined {
    return this.begun ? stimulusId(this.stimulus, this.stimulusNumber) : undefined;
  }

  /** Starts handling an event (what caused the transitions that follow, for story()). */
  begin(what: string): void {
    // Numbered as "what-n" when the story is read, not here: no string per event.
    if (this.given === undefined) {
      this.stimulus = what;
      this.stimulusNumber = ++this.stimulusCount;
    } else {
      this.stimulus = this.given;
      this.stimulusNumber = Number.NaN;
    }
    this.begun = true;
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
