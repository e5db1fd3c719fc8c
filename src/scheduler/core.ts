// What the scheduler's event handlers and transitions work on: the state (tasks, workers, clients …)
// and the machinery that moves tasks between states (recommend, transition, begin, run). Only
// SchedulerState (state.ts) makes one and hands it to the handlers; nothing outside the scheduler
// sees the machinery. This file declares the shape, so that the handlers (client-events.ts,
// worker-events.ts, retire.ts, stealing.ts, verify.ts …) and the transition table import it rather
// than state.ts, which imports them.

import type { ErrorData } from "../errors.js";
import type { FnDef, ModuleDef } from "../protocol/messages.js";
import type { Serialized } from "../protocol/refs.js";
import type { ClientState, Retirement, TaskState, TaskStateName, WorkerRecord } from "./model.js";
import type { Outbox } from "./outbox.js";
import type { Story } from "./story.js";

/** Facts some transitions need from the event that caused them. */
export interface TransitionExtra {
  worker?: WorkerRecord | undefined;
  nbytes?: number | undefined;
  duration?: number | undefined;
  /** A small result, sent along to the clients that want it (never stored here). */
  value?: Serialized | undefined;
  error?: ErrorData | undefined;
  blame?: string | undefined;
  /** The worker processing or holding the task is gone: do not message it. */
  workerGone?: boolean | undefined;
  /** The digest of the result reported (verifying), or the one accepted (verifying>memory). */
  digest?: string | undefined;
  /** The result is thrown away though its holders are alive (it rested on a banned liar's word). */
  discard?: boolean | undefined;
}

/** Facts for a transition that carries none. */
export const NO_EXTRA: TransitionExtra = Object.freeze({});

/** Copies asked for and not yet confirmed: task → the worker asked to hold it. */
export type PendingReplicas = Map<TaskState, WorkerRecord>;

/** Per result being moved: copies asked for so far, and the workers that failed to make one. */
export interface ReplicaAttempts {
  count: number;
  failed: Set<WorkerRecord>;
}

/** The scheduler's state: what SchedulerState lets anyone read (it is changed only by events). */
export interface SchedulerData {
  readonly tasks: Map<string, TaskState>;
  readonly workers: Map<string, WorkerRecord>;
  readonly clients: Map<string, ClientState>;
  /** Tasks no current worker may run (restrictions, resources, or no workers at all). */
  readonly unrunnable: Set<TaskState>;
  /** Tasks being verified that no other worker may run now: offered again when one joins or resumes (verify.ts). */
  readonly awaitingWitness: Set<TaskState>;
  /** Workers banned for lying, for the scheduler's lifetime: their names, data addresses, and untrusted ones' hosts. */
  readonly banned: { names: Set<string>; addresses: Set<string>; hosts: Set<string> };
  /** Typical duration in ms per task group, learned from completions. */
  readonly durations: Map<string, number>;
  readonly fns: Map<string, FnDef>;
  readonly modules: Map<string, ModuleDef>;
  readonly story: Story;
  /** The shell's clock, in ms, set before each event. Recorded, and compared with deadlines the state set. */
  now: number;
  /** A task fails with KilledWorkerError once this many workers died while running it. */
  readonly allowedFailures: number;
  /** Verify what untrusted workers compute (verify.ts). */
  readonly verifyUntrusted: boolean;
  /** Milliseconds a task may take on an untrusted worker before it is taken back. */
  readonly untrustedTaskTimeoutMs: number;
  /** Milliseconds a worker has to answer a steal-request before its queue is taken back. */
  readonly stealAnswerTimeoutMs: number;
  /** Retirements under way (see retire.ts). */
  readonly retirements: Set<Retirement>;
  readonly pendingReplicas: PendingReplicas;
  /** Copies asked for per result during retirements; cleared when none are under way. */
  readonly replicaAttempts: Map<TaskState, ReplicaAttempts>;
  /** Workers by the address of their data server. */
  readonly workersByAddress: Map<string, WorkerRecord>;
  /** The messages decisions produce; SchedulerState.handle returns them after each event. */
  readonly outbox: Outbox;
}

/** The state with the machinery: what event handlers and transitions are given. */
export interface Core extends SchedulerData {
  /** Starts handling an event (what caused the transitions that follow, for story()). */
  begin(what: string): void;
  /** Carries out the recommendations until none are left (see state.ts). */
  run(): void;
  /** Moves `ts` to `finish` now, through "released" where there is no direct transition. */
  transition(ts: TaskState, finish: TaskStateName, extra: TransitionExtra): void;
  /** Asks for a transition of `ts`, carried out by run() (a newer one replaces an older one). */
  recommend(ts: TaskState, finish: TaskStateName, extra?: TransitionExtra): void;
  /** Whether a transition of `ts` waits to be carried out in this event. */
  isRecommended(ts: TaskState): boolean;
  /** Records in `ts`'s story a move made outside `transition` (a stolen task changing workers). */
  recordStory(ts: TaskState, start: TaskStateName, finish: TaskStateName): void;
  /** Attaches `text` to the story entry of `ts`'s transition under way (why it went where it went). */
  noteStory(ts: TaskState, text: string): void;
  /** Whether anything still needs `ts`'s result: a client, or a dependent not yet computed. */
  isNeeded(ts: TaskState): boolean;
  addReplica(ts: TaskState, ws: WorkerRecord, nbytes: number): void;
  learnDuration(group: string, ms: number): void;
  lostError(ts: TaskState): ErrorData;
  /** The worker with this id, data-server address or name. */
  findWorker(name: string): WorkerRecord | undefined;
  /** Offers the tasks no worker could take to the workers there are now. */
  offerUnrunnable(): void;
  /** Records a claim of a worker that is ignored (it was never told to compute or fetch `key`), for the shell's log. */
  ignoredClaim(ws: WorkerRecord, key: string, op: string): void;
  /** Something the shell should log (a worker removed, bad data reported), taken with each event's instructions. */
  notice(level: "info" | "warn", text: string, throttled?: boolean): void;
}
