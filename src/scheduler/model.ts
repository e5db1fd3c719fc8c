// What the scheduler knows: one record per task, per worker and per client. Plain data with
// links between records; all changes go through SchedulerState (state.ts).

import type { ErrorData } from "../errors.js";
import type { FnRef, Resources, WorkerKind } from "../protocol/messages.js";
import type { Serialized } from "../protocol/refs.js";

/**
 * released → waiting → processing → memory | erred → forgotten, with no-worker when no worker can
 * take a task yet. Every change goes through the transition table (transitions.ts).
 */
export type TaskStateName = "released" | "waiting" | "no-worker" | "processing" | "memory" | "erred" | "forgotten";

/** How to compute a task. Scattered data has none: it cannot be recomputed. */
export interface TaskSpec {
  fn: FnRef;
  args: Serialized;
  retries: number;
  workers: string[] | undefined;
  resources: Resources | undefined;
}

export class TaskState {
  state: TaskStateName = "released";
  spec: TaskSpec | null = null;
  /** Lower runs first; compared element by element. */
  priority: number[] = [];
  readonly deps = new Set<TaskState>();
  readonly dependents = new Set<TaskState>();
  /** Dependencies not yet in memory (while waiting). */
  readonly waitingOn = new Set<TaskState>();
  /** Dependents that still need this task's result. */
  readonly waiters = new Set<TaskState>();
  readonly whoWants = new Set<ClientState>();
  readonly whoHas = new Set<WorkerRecord>();
  processingOn: WorkerRecord | null = null;
  /** Milliseconds of occupancy this task added to its worker when assigned. */
  cost = 0;
  /** Workers that died while running it (a task that kills workers is stopped, see KilledWorkerError). */
  suspicious = 0;
  nbytes = 0;
  error: ErrorData | null = null;
  /** The key whose failure made this one fail (itself, or a dependency). */
  blame: string | null = null;
  retriesLeft = 0;
  /** Name prefix used to learn typical durations ("inc" for "inc-3f2a…"). */
  readonly group: string;

  constructor(readonly key: string) {
    this.group = groupOf(key);
  }
}

export type WorkerStatus = "running" | "closing" | "gone";

export class WorkerRecord {
  status: WorkerStatus = "running";
  readonly processing = new Set<TaskState>();
  readonly hasWhat = new Set<TaskState>();
  /** Bytes of results held. */
  nbytes = 0;
  /** Expected milliseconds of work queued on it. */
  occupancy = 0;
  readonly knownFns = new Set<string>();
  memory = 0;
  executing = 0;
  tasksDone = 0;
  lastSeen = 0;

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

export class ClientState {
  readonly wants = new Set<TaskState>();
  constructor(readonly id: string) {}
}

/** "inc-00ab12…" → "inc"; "x" → "x". Keys made by meshwork are `${name}-${token}`. */
export function groupOf(key: string): string {
  const i = key.lastIndexOf("-");
  return i > 0 ? key.slice(0, i) : key;
}
