// What clients and the scheduler say to each other: graphs, releases, scatter, requests one way;
// keys done, failed, lost or waiting the other; and what the scheduler reports about its workers.

import type { ErrorData } from "../../errors.js";
import type { Serialized } from "../refs.js";
import type { FnDef, FnRef, ModuleDef, Reply, Resources, WorkerKind } from "./common.js";
import type { BadData } from "./data.js";

// ---- client → scheduler ----

export interface TaskMsg {
  key: string;
  fn: FnRef;
  args: Serialized;
  /** Keys this task needs first. */
  deps: string[];
  /** Lower runs first: [-userPriority, generation, order]. */
  priority: number[];
  retries: number;
  /** Only these worker ids (or names) may run it. */
  workers?: string[] | undefined;
  resources?: Resources | undefined;
  /** Milliseconds it may wait while no worker may run it, then it fails with NoWorkerError. */
  noWorkerTimeout?: number | undefined;
  /**
   * Agreeing results needed (scheduler/verify.ts): 2 runs it on two workers and compares their
   * digests; 1 accepts one result and so keeps it off untrusted workers. Default: 2 on an
   * untrusted worker, 1 on a trusted one.
   */
  verify?: number | undefined;
  /** Never sent to an untrusted worker (nor are tasks that depend on it). */
  private?: boolean | undefined;
  /** Milliseconds it may take on a worker before it is taken back and run elsewhere. */
  timeout?: number | undefined;
}

export interface UpdateGraph {
  op: "update-graph";
  tasks: TaskMsg[];
  fns: FnDef[];
  /** Keys the client holds futures for. */
  wants: string[];
}

export interface ReleaseKeys {
  op: "release-keys";
  keys: string[];
}

export interface CancelKeys {
  op: "cancel";
  keys: string[];
}

export interface UpdateData {
  op: "update-data";
  /** Scattered values now held by a worker; `private` ones never go to untrusted workers. */
  entries: { key: string; worker: string; nbytes: number; private?: boolean | undefined }[];
}

export interface Request {
  op: "request";
  id: number;
  what: RequestWhat;
}

export type RequestWhat =
  | { kind: "who-has"; keys: string[] }
  /** Who holds each key, with this client's tickets to fetch it there: answered with Record<key, { who, tickets }>. */
  | { kind: "locate"; keys: string[] }
  /**
   * Where to store scattered keys: answered with one { address, ticket } per key and target
   * (the scheduler picks among `workers`, or every worker with `broadcast`). update-data counts
   * only the placements granted here.
   */
  | {
      kind: "scatter";
      keys: string[];
      workers?: string[] | undefined;
      broadcast?: boolean | undefined;
      private?: boolean | undefined;
    }
  | { kind: "workers" }
  | { kind: "upload"; module: ModuleDef }
  | { kind: "story"; key: string }
  /** What each worker recorded of `key` (its own story: WorkerState.storyOf): answered with WorkerStoryEntry[]. */
  | { kind: "worker-story"; key: string }
  /** Retire these workers gracefully (ids, names or addresses): their unique results move first. */
  | { kind: "retire"; workers: string[] }
  /** Count the tasks these keys need that are not done yet (scheduler/progress.ts); answered with ProgressCounts and a watch id. */
  | { kind: "progress-watch"; keys: string[] }
  /** The counts of a watch now; `end` stops it after answering. */
  | { kind: "progress"; watch: number; end?: boolean | undefined };

/**
 * The answer to a "scatter" request: where to store each key, with the client's tickets there to
 * store it (`ticket`) and read it back (`read`); no tickets from a scheduler without tokens.
 */
export type ScatterPlacement = Record<
  string,
  { address: string; ticket?: string | undefined; read?: string | undefined }[]
>;

/** Tasks of a progress watch by where they are: done (in memory, or finished and freed), erred, running. */
export interface ProgressCounts {
  total: number;
  done: number;
  erred: number;
  processing: number;
}

export type ClientToScheduler = UpdateGraph | ReleaseKeys | CancelKeys | UpdateData | Request | BadData;

// ---- scheduler → client ----

export interface KeyInMemory {
  op: "key-in-memory";
  key: string;
  /** Data-server addresses of workers that hold it. */
  who: string[];
  /** One ticket per holder in `who`, letting this client fetch the key there (see DepLocation). */
  tickets?: string[] | undefined;
  /** The verified result's agreed digest (see DepLocation), when it is fetched from `who`. */
  digest?: string | undefined;
  nbytes: number;
  /** The result itself when small: the client needs no fetch from the worker. */
  value?: Serialized | undefined;
}

export interface KeyErred {
  op: "key-erred";
  key: string;
  error: ErrorData;
  /** The task that actually threw (this one, or a dependency). */
  blame: string;
}

export interface KeyCancelled {
  op: "key-cancelled";
  key: string;
}

/** The result was lost with its workers and is being computed again: wait for it anew. */
export interface KeyLost {
  op: "key-lost";
  key: string;
  reason: string;
}

/**
 * Why a key this client waits for (or a task it needs) is not running: no worker may run it
 * ("no-worker"), or its worker was lost and it is being computed again ("recomputing"). The key
 * stays pending; this is for the client's log and its listeners.
 */
export interface KeyWaiting {
  op: "key-waiting";
  /** The task concerned: the wanted key, or a task it depends on. */
  key: string;
  why: "no-worker" | "recomputing";
  reason: string;
}

export type SchedulerToClient = KeyInMemory | KeyErred | KeyCancelled | KeyLost | KeyWaiting | Reply;

// ---- what the scheduler reports (answers to requests, /api/status) ----

/** What client.workers() reports for each worker (the reply to a "workers" request). */
export interface WorkerInfo {
  id: string;
  name: string;
  kind: WorkerKind;
  /**
   * Joined with the worker token; false for tabs (the tab token) and on a scheduler told to trust
   * no worker. An untrusted worker's threads, memory and resources are capped by the scheduler.
   */
  trusted: boolean;
  /** Data-server address. */
  address: string;
  nthreads: number;
  memoryLimit: number;
  resources: Resources;
  /** Bytes of results held (in memory or spilled), as the scheduler counts them. */
  memory: number;
  /** Of those, bytes spilled to disk (from the worker's last heartbeat). */
  spilled: number;
  /** Whether the worker takes no new tasks because its memory is full. */
  paused: boolean;
  tasks: { processing: number; inMemory: number; done: number };
}

/** What a retirement reports when every worker it named has left or been kept. */
export interface RetireResult {
  /** Ids of the workers that left. */
  retired: string[];
  /** Workers that were not retired, and why. */
  kept: { id: string; reason: string }[];
  /** Results copied to other workers before their holders left. */
  moved: { keys: number; bytes: number };
  /** Milliseconds from the request to the last worker leaving. */
  ms: number;
}

/** One data link between workers (GET /api/status). */
export interface LinkInfo {
  /** The worker that opened it (it fetches through it). */
  from: string;
  /** The worker it reaches (its id, or its address if it is not a current worker). */
  to: string;
  /** port (threads of one process), ws, webrtc, or relay (through the scheduler). */
  kind: string;
  /** Bytes moved both ways so far. */
  bytes: number;
  /** Recent rate, MB/s, between the worker's last two heartbeats. */
  MBps: number;
}
