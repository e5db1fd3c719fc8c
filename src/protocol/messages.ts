// Every message meshwork sends, as one discriminated union per direction (types only).
// Handlers are tables keyed by `op` (see Handlers<>), so a message without a handler does not compile.

import type { ErrorData } from "../errors.js";
import type { Serialized } from "./refs.js";
import type { StoryEntry } from "../scheduler/story.js";

/** Bumped on any incompatible change to the messages below. */
export const PROTOCOL_VERSION = 1;

export type Role = "client" | "worker" | "peer";
export type WorkerKind = "thread" | "node" | "browser";

/**
 * What a task runs: a function shipped as source (by hash), an export of an uploaded module, or a
 * function compiled into meshwork itself (array kernels), by name. A user's function (source or
 * module) with `via` runs through builtin `via`: the task computes `via(fn, ...args)` (a
 * collection kernel that calls the user's function, as mapPartitions does).
 */
export type FnRef =
  | { kind: "source"; id: string; via?: string | undefined }
  | { kind: "module"; module: string; name: string; via?: string | undefined }
  | { kind: "builtin"; name: string };

/** Source of a function, sent once per scheduler and once per worker. */
export interface FnDef {
  id: string;
  source: string;
  name: string;
}

/** One build of a task module: a self-contained ES module and a hash of its text. */
export interface ModuleBuild {
  hash: string;
  source: string;
}

/**
 * An uploaded task module, built once per platform. Clients upload both builds; each worker is sent
 * the one for its kind (see moduleFor in scheduler/state.ts): a browser tab the browser build, or,
 * for a module that needs Node, no source and `nodeOnly` saying why.
 */
export interface ModuleDef {
  /** The module's id (what FnRefs name): a hash of its builds. */
  hash: string;
  /** The Node build (empty where a browser worker is sent a module that needs Node). */
  source: string;
  exports: string[];
  /** The browser build; absent when the module needs Node. */
  browser?: ModuleBuild | undefined;
  /** Why the module runs on Node workers only (it imports node:fs …); its tasks are never placed on tabs. */
  nodeOnly?: string | undefined;
}

/** Resources a worker offers or a task needs, e.g. { gpu: 1 }. */
export type Resources = Record<string, number>;

// ---- handshake (first message each way on every connection) ----

export interface Hello {
  op: "hello";
  version: number;
  role: Role;
  token?: string | undefined;
  /** Worker role: what the worker offers. */
  worker?: WorkerHello | undefined;
  name?: string | undefined;
  /** Frame codecs this end can decode (e.g. ["deflate"]); the other end compresses only with these. */
  codecs?: string[] | undefined;
}

export interface WorkerHello {
  /** Where peers and clients reach this worker's data server. */
  address: string;
  kind: WorkerKind;
  nthreads: number;
  memoryLimit: number;
  resources: Resources;
  name: string;
  /**
   * Threads of one `meshwork worker` process share a group id; with `adapt`, the scheduler grows
   * the group (scale-up) and retires its threads with the work, within these bounds.
   */
  group?: { id: string; adapt?: { minimum: number; maximum: number } | undefined } | undefined;
  /** The worker can make WebRTC data links (its host has RTCPeerConnection). */
  webrtc?: boolean | undefined;
}

export interface Welcome {
  op: "welcome";
  version: number;
  /** The id the scheduler gave this client or worker. */
  id: string;
  /** Frame codecs this end can decode. */
  codecs?: string[] | undefined;
  /**
   * From a scheduler that requires tokens: this client's or worker's own credential, which the
   * relay asks callers for (void once it leaves). It opens no data server by itself: reading or
   * storing a key there takes a ticket (see dataSecret).
   */
  dataToken?: string | undefined;
  /**
   * To a worker, from a scheduler that requires tokens: its own data secret. Its data server serves
   * a key only to a reader presenting the ticket the scheduler made with this secret for that
   * reader and key (util/tickets.ts, scheduler/grants.ts).
   */
  dataSecret?: string | undefined;
  /**
   * With dataSecret: the scheduler's clock (milliseconds) when it welcomed this worker. Tickets
   * expire at a time on that clock; the worker's data server compares with its own clock plus the
   * difference it saw here (so the two machines' clocks need not agree).
   */
  clock?: number | undefined;
  /** To a worker: how to make WebRTC links in this cluster (ICE servers for networks with NAT). */
  rtc?: RtcConfig | undefined;
  /** From a worker's data server: that worker's name (the worker page names its peers by it). */
  name?: string | undefined;
  /** To a client: the dashboard's link (with the client token in its fragment), when the scheduler serves one. */
  dashboard?: string | undefined;
}

/** The part of RTCConfiguration a cluster sets for its workers' WebRTC links. */
export interface RtcConfig {
  /** STUN and TURN servers. Default none: host candidates only, enough on one machine or LAN. */
  iceServers?:
    | { urls: string | string[]; username?: string | undefined; credential?: string | undefined }[]
    | undefined;
  /** "relay": only through TURN servers. Default "all". */
  iceTransportPolicy?: "all" | "relay" | undefined;
}

export interface Refused {
  op: "refused";
  version: number;
  reason: string;
}

export type HandshakeMsg = Hello | Welcome | Refused;

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

export interface Reply {
  op: "reply";
  id: number;
  value?: unknown;
  error?: ErrorData | undefined;
}

export type SchedulerToClient = KeyInMemory | KeyErred | KeyCancelled | KeyLost | KeyWaiting | Reply;

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
 * `from` served bytes for `key` whose digest is not the one the scheduler gave with its location:
 * sent by a worker or client that checked them (then it tries another holder). The scheduler bans
 * `from` on the word of a trusted reader only (scheduler/bad-data.ts).
 */
export interface BadData {
  op: "bad-data";
  key: string;
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

// ---- anyone → a worker's data server ----

export interface GetData {
  op: "get-data";
  id: number;
  keys: string[];
  /** One ticket per key, for the name this connection's hello gave (required where the worker has a data secret). */
  tickets?: string[] | undefined;
}

export interface PutData {
  op: "put-data";
  id: number;
  values: Record<string, Serialized>;
  /** One "put" ticket per key of `values`, by key (required where the worker has a data secret). */
  tickets?: Record<string, string> | undefined;
}

export type ToDataServer = GetData | PutData;

export interface DataReply {
  op: "data";
  id: number;
  values: Record<string, Serialized>;
  missing: string[];
  /** Keys asked for with a ticket that has expired: not served; the reader asks the scheduler for a fresh ticket. */
  expired?: string[] | undefined;
}

export interface PutReply {
  op: "put-reply";
  id: number;
  nbytes: Record<string, number>;
}

export type FromDataServer = DataReply | PutReply;

// ---- both ways, any connection ----

/** Sent before a connection closes on purpose, so the other end knows it was not a crash. */
export interface Goodbye {
  op: "goodbye";
  reason: string;
}

export type Message =
  | HandshakeMsg
  | ClientToScheduler
  | SchedulerToClient
  | SchedulerToWorker
  | WorkerToScheduler
  | ToDataServer
  | FromDataServer
  | Goodbye;

/** A handler for every `op` of a union, so that forgetting one is a compile error. */
export type Handlers<M extends { op: string }, R = void> = { [K in M["op"]]: (msg: Extract<M, { op: K }>) => R };
