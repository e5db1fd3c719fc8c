// What the scheduler and its workers say to each other: tasks to compute, keys to free, replicas,
// tickets, steals and WebRTC signalling one way; results, failures, heartbeats the other.

import type { ErrorData } from "../../errors.js";
import type { Serialized } from "../refs.js";
import type { FnDef, FnRef, ModuleDef, Reply } from "./common.js";
import type { BadData } from "./data.js";
import type { StoryEntry } from "../../scheduler/story.js";

// ---- scheduler → worker ----

export interface DepLocation {
  key: string;
  who: string[];
  nbytes: number;
  /** One ticket per holder in `who` (same order) letting the reader fetch `key` there; absent on a scheduler without tokens. */
  tickets?: string[] | undefined;
  /**
   * For a result that was verified: the digest its workers agreed on (protocol/digest.ts). The
   * reader hashes the bytes it receives and, on a mismatch, discards them, tries another holder
   * and reports the holder (BadData). Absent for results taken on one worker's word.
   */
  digest?: string | undefined;
}

export interface ComputeTask {
  op: "compute-task";
  key: string;
  fn: FnRef;
  /** Present the first time this worker gets a task with this function. */
  fnDef?: FnDef | undefined;
  args: Serialized;
  deps: DepLocation[];
  priority: number[];
  /** Report the digest of the serialized result with task-finished (the task is being verified). */
  digest?: boolean | undefined;
}

export interface FreeKeys {
  op: "free-keys";
  keys: string[];
}

export interface LoadModule {
  op: "load-module";
  module: ModuleDef;
}

export interface CloseWorker {
  op: "close-worker";
  reason: string;
}

/** Fetch copies of these results from their holders and keep them (a retiring worker's unique data). */
export interface AcquireReplicas {
  op: "acquire-replicas";
  keys: DepLocation[];
}

/** Fresh tickets for keys this worker asked about (RenewTickets); `who` is empty for a key it may not fetch now. */
export interface Tickets {
  op: "tickets";
  keys: DepLocation[];
}

/** Work stealing: give back these tasks if they have not started here (answered by steal-response). */
export interface StealRequest {
  op: "steal-request";
  keys: string[];
}

/** Adaptive scaling of a worker process: start `n` more threads in this worker's group. */
export interface ScaleUp {
  op: "scale-up";
  n: number;
}

/** A signalling message between two hosts, about the connection `pc` (an id chosen by its offerer). */
export type RtcSignal =
  | { pc: string; kind: "offer" | "answer"; sdp: string }
  | {
      pc: string;
      kind: "candidate";
      candidate: { candidate: string; sdpMid?: string | null | undefined; sdpMLineIndex?: number | null | undefined };
    }
  /** The connection cannot be made (the peer cannot do WebRTC, or is gone) or was closed. */
  | { pc: string; kind: "refused" | "bye"; reason: string };

/**
 * WebRTC signalling between two workers' hosts, carried by the scheduler: a worker sends it with
 * `to` (the other worker's data-server address), the scheduler passes it on with `from`. The
 * scheduler answers "refused" itself when there is no such worker or it cannot do WebRTC.
 */
export interface RtcSignalMessage {
  op: "rtc-signal";
  to?: string | undefined;
  from?: string | undefined;
  data: RtcSignal;
}

/** The scheduler asks a worker what it recorded of `key` (for a client's workerStory); answered by StoryEntries. */
export interface StoryRequest {
  op: "story-request";
  id: number;
  key: string;
}

export type SchedulerToWorker =
  | StoryRequest
  | ComputeTask
  | FreeKeys
  | LoadModule
  | CloseWorker
  | AcquireReplicas
  | Tickets
  | StealRequest
  | ScaleUp
  | RtcSignalMessage
  | Reply;

// ---- worker → scheduler ----

export interface TaskFinished {
  op: "task-finished";
  key: string;
  nbytes: number;
  /** Milliseconds the function ran. */
  duration: number;
  /** The result itself when it is small (≤ INLINE_RESULT_MAX_BYTES), for the scheduler to pass on to clients. */
  value?: Serialized | undefined;
  /** The worker already held the result and ran nothing (asked to compute a key it has a replica of). */
  held?: boolean | undefined;
  /** SHA-256 of the serialized result (protocol/digest.ts), when compute-task asked for it. */
  digest?: string | undefined;
}

export interface TaskErred {
  op: "task-erred";
  key: string;
  error: ErrorData;
}

/**
 * The worker starts a task that may run long (its function is new here or has taken longer than a
 * slice), and says so before running it. Only tasks known to be running count against
 * KilledWorkerError when a worker dies.
 */
export interface TaskStarted {
  op: "task-started";
  key: string;
}

/** Replicas the scheduler asked for (acquire-replicas) that no holder could provide. */
export interface AcquireFailed {
  op: "acquire-failed";
  keys: string[];
}

export interface MissingData {
  op: "missing-data";
  /** The task that needed it. */
  key: string;
  dep: string;
  /** The worker address that did not have it. */
  from: string;
}

/**
 * A holder refused these keys' tickets as expired (DataReply.expired): the worker asks for fresh
 * ones (answered by Tickets), only for keys the scheduler told it to fetch.
 */
export interface RenewTickets {
  op: "renew-tickets";
  keys: string[];
}

export interface AddKeys {
  op: "add-keys";
  /** Replicas this worker now holds (fetched dependencies). */
  keys: { key: string; nbytes: number }[];
}

export interface Heartbeat {
  op: "heartbeat";
  /** Bytes of results held in memory. */
  memory: number;
  /** Bytes of results spilled to disk. */
  spilled: number;
  /** Whether the worker has stopped starting tasks because its memory is full. */
  paused: boolean;
  /** Data links this worker opened to other workers' data servers, with bytes moved so far. */
  links?: LinkReport[] | undefined;
  executing: number;
  ready: number;
}

/** The answer to a steal-request: the tasks dropped here (the scheduler moves them) and the ones kept (started or done). */
export interface StealResponse {
  op: "steal-response";
  stolen: string[];
  kept: string[];
}

/** The worker wants to leave gracefully (a tab being closed): retire it, moving its unique results first. */
export interface RetireMe {
  op: "retire-me";
  reason: string;
}

export interface LinkReport {
  /** The data-server address at the other end. */
  peer: string;
  kind: string;
  bytesIn: number;
  bytesOut: number;
}

/**
 * A worker's answer to a StoryRequest: its transitions of the key, oldest first, without the key
 * (at most the last MAX_STORY_ENTRIES_PER_WORKER, protocol/validate.ts).
 */
export interface StoryEntries {
  op: "story-entries";
  id: number;
  entries: Omit<StoryEntry, "key">[];
}

/** One transition a worker recorded, as a client gets it: which worker said so. */
export interface WorkerStoryEntry extends StoryEntry {
  /** The worker's name. */
  worker: string;
}

export type WorkerToScheduler =
  | StoryEntries
  | TaskFinished
  | TaskStarted
  | TaskErred
  | MissingData
  | BadData
  | RenewTickets
  | AddKeys
  | AcquireFailed
  | StealResponse
  | RetireMe
  | Heartbeat
  | RtcSignalMessage
  | Reply;
