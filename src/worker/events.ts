// What the worker's state machine (state.ts) talks about: the tasks it tracks, the events the shell
// (server.ts) feeds it and the instructions it returns.

import type { ErrorData } from "../errors.js";
import type { ComputeTask, DepLocation, FnRef, WorkerToScheduler } from "../protocol/messages.js";
import type { Serialized } from "../protocol/refs.js";
import { stimulusId } from "../scheduler/story.js";

/** waiting (for dependencies) → ready → executing → done; "cancelled" is executing but no longer wanted. */
export type WorkerTaskState = "waiting" | "ready" | "executing" | "done" | "cancelled";

/**
 * What caused an event: an id given whole ("compute-task-7", a test's "t"), or the number the shell
 * gave the event, when its id is "<op>-<number>" (spelled so only when a story is read: no string
 * is made per event).
 */
export type Stimulus = string | number;

/** A stimulus as the story and errors spell it. */
export function stimulusOf(ev: { op: string; stimulus: Stimulus }): string {
  return typeof ev.stimulus === "number" ? stimulusId(ev.op, ev.stimulus) : ev.stimulus;
}

export class WorkerTask {
  state: WorkerTaskState = "waiting";
  /** Whether the scheduler was told this task is running (task-started). */
  announced = false;
  /** Dependency keys not yet held; made on first need (most tasks have none). */
  missing: Set<string> | null = null;
  /** Report the digest of the serialized result (the scheduler is verifying this task). */
  digest = false;
  constructor(
    readonly key: string,
    readonly fn: FnRef,
    readonly args: Serialized,
    readonly deps: DepLocation[],
    readonly priority: number[],
    /** The event that made this task here (WorkerEvent.stimulus), for tracing it. */
    readonly stimulus: Stimulus,
  ) {}
}

/**
 * What happens to a worker, as the shell tells its state: from the scheduler (compute-task,
 * acquire-replicas, free-keys, steal-request), from the peers it fetches from (data-arrived,
 * fetch-failed, bad-data), from clients (data-put) and from its own task loop (task-started,
 * task-done, task-erred). `stimulus` names the occurrence, for tracing (see Stimulus).
 */
export type WorkerEvent =
  /** Run this task here (ComputeTask). */
  | { op: "compute-task"; task: ComputeTask; stimulus: Stimulus }
  /** Fetch and keep copies of these results, from the holders given (a retiring worker's unique data). */
  | { op: "acquire-replicas"; keys: DepLocation[]; stimulus: Stimulus }
  /** The scheduler no longer needs these keys here: drop their data and any pending task. */
  | { op: "free-keys"; keys: string[]; stimulus: Stimulus }
  /** Give back the tasks asked for that have not started; keep the rest (StealRequest). */
  | { op: "steal-request"; keys: string[]; stimulus: Stimulus }
  /** A peer answered a fetch: `values` arrived, `missing` it did not have. */
  | {
      op: "data-arrived";
      from: string;
      values: Map<string, { value: unknown; nbytes: number }>;
      missing: string[];
      stimulus: Stimulus;
    }
  /** Fetching `keys` from `from` failed (the connection broke): try the next holder. */
  | { op: "fetch-failed"; from: string; keys: string[]; stimulus: Stimulus }
  /**
   * `from` refused this worker's tickets for `keys` as expired (the fetch waited long, in a queue):
   * ask the scheduler for fresh ones (renew-tickets); the fetches wait for them (tickets-renewed).
   */
  | { op: "tickets-expired"; from: string; keys: string[]; stimulus: Stimulus }
  /** Fresh tickets came from the scheduler (the data plane keeps them): fetch again, from the holders it names now. */
  | { op: "tickets-renewed"; keys: DepLocation[]; stimulus: Stimulus }
  /** `from` served bytes for `key` that do not match its agreed digest (they were dropped). */
  | { op: "bad-data"; key: string; from: string; stimulus: Stimulus }
  /** Data a client scattered here. */
  | { op: "data-put"; key: string; value: unknown; nbytes: number; stimulus: Stimulus }
  /** `task`, which may run long, is starting: tell the scheduler (TaskStarted). */
  | { op: "task-started"; task: WorkerTask; stimulus: Stimulus }
  /**
   * `task` returned `value`. `inline` is the result already encoded, when small enough to travel
   * with the notice; `digest` its serialized bytes' SHA-256, when the scheduler asked for it.
   */
  | {
      op: "task-done";
      task: WorkerTask;
      value: unknown;
      nbytes: number;
      duration: number;
      inline?: Serialized | undefined;
      digest?: string | undefined;
      stimulus: Stimulus;
    }
  /** `task` threw (or its result could not be encoded). */
  | { op: "task-erred"; task: WorkerTask; error: ErrorData; stimulus: Stimulus };

export type WorkerInstruction =
  | { kind: "send"; msg: WorkerToScheduler }
  /** Ask the data server at `from` for `keys`. */
  | { kind: "fetch"; from: string; keys: string[] }
  /**
   * The worker paused (its results passed PAUSE_FRACTION of its memory limit: it starts no task) or
   * resumed: tell the scheduler at once (a heartbeat), so that it sends tasks elsewhere, or here again.
   */
  | { kind: "paused"; paused: boolean };
