// What the scheduler knows: one record per task, per worker and per client. Plain data with
// links between records; all changes go through SchedulerState (state.ts).

import type { ErrorData } from "../errors.js";
import type { FnRef, Resources, WorkerHello, WorkerKind } from "../protocol/messages.js";

export type WorkerGroupInfo = NonNullable<WorkerHello["group"]>;
import type { Serialized } from "../protocol/refs.js";
import { Few } from "../util/few.js";

/**
 * released → waiting → processing → memory | erred → forgotten, with no-worker when no worker can
 * take a task yet, and verifying between processing and memory while a result that needs a second
 * opinion waits for it (verify.ts). Every change goes through the transition table (transitions.ts).
 */
export type TaskStateName =
  | "released"
  | "waiting"
  | "no-worker"
  | "processing"
  | "verifying"
  | "memory"
  | "erred"
  | "forgotten";

/** One worker's answer for a task under verification: the digest of its serialized result. */
export interface Opinion {
  readonly worker: WorkerRecord;
  /** SHA-256 of the serialized result; a worker that sent none gets one of its own that matches nothing. */
  readonly digest: string;
  readonly nbytes: number;
  /** The result itself when small (task-finished's inline value). */
  readonly value: Serialized | undefined;
}

/** How to compute a task. Scattered data has none: it cannot be recomputed. */
export interface TaskSpec {
  fn: FnRef;
  args: Serialized;
  retries: number;
  workers: string[] | undefined;
  resources: Resources | undefined;
  /** Milliseconds it may stay in no-worker before failing with NoWorkerError; undefined: forever. */
  noWorkerTimeout?: number | undefined;
  /** Why it runs on Node workers only (platforms.ts: its task module needs Node); undefined: anywhere. */
  nodeOnly?: string | undefined;
  /** Agreeing results needed (TaskMsg.verify); undefined: 2 on an untrusted worker, 1 on a trusted one. */
  verify?: number | undefined;
  /** Milliseconds it may take on a worker, from being sent there, before it is taken back (timeouts.ts). */
  timeout?: number | undefined;
}

/**
 * The set every task starts with in each relation. Most tasks have no dependencies, dependents or
 * waiters, so sets are made on first add (TaskState.add) rather than four per task up front; at
 * 10,000 tasks per map that was a good part of the scheduler's garbage. Adding to it is a bug.
 */
class NoneSet<T> extends Set<T> {
  override add(): this {
    throw new Error("scheduler bug: add() on the shared empty set; use TaskState.add()");
  }
}
const NONE = new NoneSet<never>();

type TaskRelation = "deps" | "dependents" | "waitingOn" | "waiters";

export class TaskState {
  state: TaskStateName = "released";
  spec: TaskSpec | null = null;
  /** Lower runs first; compared element by element. */
  priority: number[] = [];
  deps: Set<TaskState> = NONE;
  dependents: Set<TaskState> = NONE;
  /** Dependencies not yet in memory (while waiting). */
  waitingOn: Set<TaskState> = NONE;
  /** Dependents that still need this task's result. */
  waiters: Set<TaskState> = NONE;
  readonly whoWants = new Few<ClientState>();
  readonly whoHas = new Few<WorkerRecord>();
  processingOn: WorkerRecord | null = null;
  /** Milliseconds of occupancy this task added to its worker when assigned. */
  cost = 0;
  /** The worker this task is being stolen for (a steal-request is out), else null. */
  stealTo: WorkerRecord | null = null;
  /**
   * Workers that died while running it (a task that kills workers is stopped, see KilledWorkerError).
   * Untrusted workers count once per remote address: one stranger joining three times and crashing
   * cannot make an honest task fail (issue 20).
   */
  suspicious = 0;
  /** Remote addresses of untrusted workers counted in `suspicious`. */
  diedOnHosts: Set<string> | null = null;
  nbytes = 0;
  error: ErrorData | null = null;
  /** The key whose failure made this one fail (itself, or a dependency). */
  blame: string | null = null;
  /**
   * Its result was in memory at least once: a released or forgotten task was done (its result
   * freed after its users ran), not dropped unfinished. Read by progress watches (progress.ts).
   */
  wasInMemory = false;
  retriesLeft = 0;
  /** When (the shell's clock, ms) it last went to no-worker. */
  noWorkerSince = 0;
  /**
   * For a task submitted among many of its kind with no inputs, or only a few inputs they all share
   * (a root of a big graph, or root-ish): its place in priority order among them, and how many
   * there are (0: not such a task). See coAssign.
   */
  coRank = 0;
  coSize = 0;
  /** Private data, or computed from it: never placed on (or sent to) an untrusted worker. */
  private = false;
  /** When (the shell's clock, ms) it was last sent to a worker; the clock of its timeout. */
  sentAt = 0;
  /** Workers it was taken back from for running past its timeout: not given it again (timeouts.ts). */
  timedOutOn: Set<WorkerRecord> | null = null;
  /**
   * In memory after verification: the untrusted workers whose word it was accepted on (each lists
   * it in its `vouched`), so that it leaves their lists when it leaves memory, held by them or not.
   */
  vouchers: WorkerRecord[] | null = null;
  /** While verifying: the answers so far, in order (verify.ts). */
  opinions: Opinion[] | null = null;
  /**
   * In memory after verification: the digest its workers agreed on, given with its locations so
   * that readers check what they fetch (null for results taken on one worker's word).
   */
  digest: string | null = null;
  /** Name prefix used to learn typical durations ("inc" for "inc-3f2a…"). */
  readonly group: string;

  constructor(readonly key: string) {
    this.group = groupOf(key);
  }

  /** Adds `other` to one of this task's relations, making the set on first use. */
  add(relation: TaskRelation, other: TaskState): void {
    if (this[relation] === NONE) this[relation] = new Set();
    this[relation].add(other);
  }

  addWanter(cs: ClientState): void {
    this.whoWants.add(cs);
  }

  addHolder(ws: WorkerRecord): void {
    this.whoHas.add(ws);
  }
}

export type WorkerStatus = "running" | "closing" | "gone";

export class WorkerRecord {
  status: WorkerStatus = "running";
  readonly processing = new Set<TaskState>();
  /** Tasks of `processing` the worker said it is running (task-started): the suspects if it dies. */
  readonly started = new Set<TaskState>();
  /** The retirement this worker is part of, while it is closing gracefully. */
  retiring: Retirement | null = null;
  /** Told to close (close-worker) once its results were safe elsewhere. */
  closeSent = false;
  /** Tasks being stolen from or for this worker, awaiting the victim's answer. */
  stealsPending = 0;
  /** Data links this worker opened, as last reported, with a transfer rate from the last two reports. */
  links: { peer: string; kind: string; bytesIn: number; bytesOut: number; bytesPerSecond: number; at: number }[] = [];
  /** The worker process it is a thread of, and that process's adaptive bounds (WorkerHello.group). */
  group: WorkerGroupInfo | undefined = undefined;
  readonly hasWhat = new Set<TaskState>();
  /** Bytes of results held. */
  nbytes = 0;
  /** Expected milliseconds of work queued on it. */
  occupancy = 0;
  readonly knownFns = new Set<string>();
  memory = 0;
  /** Bytes the worker has spilled to disk (heartbeat). */
  spilled = 0;
  /** The worker's memory is full: it starts no tasks, so none are sent to it (heartbeat). */
  paused = false;
  executing = 0;
  /** Tasks ready to run on it, waiting for a thread (from its last heartbeat). */
  ready = 0;
  tasksDone = 0;
  lastSeen = 0;
  /** Let go for its silence (ttl.ts): its connection is being closed, and its leaving is no goodbye. */
  expired = false;
  /** The worker can make WebRTC data links. */
  webrtc = false;
  /**
   * Keys this worker was told to compute or to fetch (a task's inputs, replicas for a retirement):
   * the only keys whose possession it may claim (add-keys, a late task-finished, missing-data).
   * A claim to hold anything else is ignored (issue 20: a worker became the only recorded holder
   * of a key it never computed).
   */
  readonly told = new Set<string>();
  /** When (shell clock, ms) the steal-request it has not answered yet went out; null: none out. */
  stealAskedAt: number | null = null;
  /** Tasks under verification for which this worker's answer is among the opinions. */
  readonly opinions = new Set<TaskState>();
  /**
   * Results accepted on the word of untrusted workers alone (this one among them): recomputed if
   * this worker is caught lying (verify.ts).
   */
  readonly vouched = new Set<TaskState>();
  /** The remote address (host) the worker connected from, when the shell knows it. */
  host = "";
  /**
   * Joined with the worker token (false: with the tab token, or on a scheduler that trusts no
   * worker); an untrusted worker's claims were capped when it joined (server.ts capUntrusted).
   */
  trusted = true;

  constructor(
    readonly id: string,
    /** Data-server address that peers and clients connect to. */
    readonly address: string,
    readonly name: string,
    readonly kind: WorkerKind,
    readonly nthreads: number,
    readonly memoryLimit: number,
    readonly resources: Resources,
  ) {}
}

/** A request to retire workers gracefully: they take no new tasks, their unique results move, then they close. */
export interface Retirement {
  /** The shell's handle for the answer. */
  readonly ticket: number;
  /** Workers still closing. */
  readonly workers: Set<WorkerRecord>;
  readonly retired: string[];
  readonly kept: { id: string; reason: string }[];
  moved: { keys: number; bytes: number };
  readonly startedAt: number;
}

export class ClientState {
  readonly wants = new Set<TaskState>();
  constructor(readonly id: string) {}
}

/**
 * "inc-00ab12…" → "inc"; "x" → "x". Keys made by meshwork are `${name}-${token}`, and an array's
 * blocks `${name}-${i}-${j}-${k}`: every trailing index is dropped, so the blocks of one array are
 * one group ("mean-9f3c…-4-0-1" → "mean-9f3c…"), as Dask's key_split makes ("mean-9f3c…", 4, 0, 1)
 * one. (Dropping only the last index made a group per row of blocks: a 3-D array of 64 × 1 × 1
 * blocks was 64 groups of one, whose durations were never learned.)
 */
export function groupOf(key: string): string {
  const block = /^(.+?)(?:-\d+)+$/.exec(key);
  if (block) return block[1]!;
  const i = key.lastIndexOf("-");
  return i > 0 ? key.slice(0, i) : key;
}

/** Data-server addresses of the workers holding `ts`. */
export function holders(ts: TaskState): string[] {
  const out: string[] = [];
  for (const ws of ts.whoHas) out.push(ws.address);
  return out;
}
