// Everything that happens to the scheduler, as one typed object per event: what a client or worker
// said (the message, with who said it), a member joining or leaving, and the shell's timers
// firing. SchedulerState.handle takes one and returns the instructions it produced. `stimulus`
// names the event in the story of every task it moved (story(key)); without one the state numbers
// events itself ("task-finished-42").

import type {
  AcquireFailed,
  AddKeys,
  BadData,
  CancelKeys,
  Heartbeat,
  MissingData,
  ModuleDef,
  ReleaseKeys,
  RenewTickets,
  StealResponse,
  TaskErred,
  TaskFinished,
  TaskStarted,
  UpdateData,
  UpdateGraph,
  WorkerHello,
} from "../protocol/messages.js";

interface Stimulus {
  /** Names the event in the tasks' stories; default: the event's op, numbered. */
  stimulus?: string | undefined;
}

/** A client's message, with the client's id. */
export type FromClient<M> = M & Stimulus & { client: string };
/** A worker's message, with the worker's id. */
export type FromWorker<M> = M & Stimulus & { worker: string };

export type ClientEvent =
  | (Stimulus & { op: "client-added"; client: string })
  | (Stimulus & { op: "client-removed"; client: string })
  | FromClient<UpdateGraph>
  | FromClient<ReleaseKeys>
  | FromClient<CancelKeys>
  | FromClient<UpdateData>
  /** A client's functions module (client.upload), loaded by every worker now and to come. */
  | (Stimulus & { op: "upload-module"; module: ModuleDef });

export type WorkerEvent =
  | (Stimulus & {
      op: "worker-added";
      worker: string;
      hello: WorkerHello;
      /** Joined with the worker token (not a tab's). Default true. */
      trusted?: boolean | undefined;
      /** The remote host it connected from ("" when unknown). */
      host?: string | undefined;
    })
  | (Stimulus & {
      op: "worker-removed";
      worker: string;
      reason: string;
      /** It said goodbye (scaled down, closed): it did not die of the tasks it was running. Default false. */
      graceful?: boolean | undefined;
    })
  /** Any other message from the worker (signalling, replies): only that it is alive. */
  | (Stimulus & { op: "heard-from"; worker: string })
  | FromWorker<TaskStarted>
  | FromWorker<TaskFinished>
  | FromWorker<TaskErred>
  | FromWorker<MissingData>
  | FromWorker<AddKeys>
  | FromWorker<AcquireFailed>
  | FromWorker<Heartbeat>
  | FromWorker<StealResponse>
  /** Its tickets expired: fresh ones for the keys it was told to fetch (answered by a tickets instruction). */
  | FromWorker<RenewTickets>;

/** A reader (a worker, or a client when `worker` is absent) says `from` served bytes for `key` not matching its digest. */
export type BadDataEvent = BadData & Stimulus & { worker?: string | undefined; client?: string | undefined };

/** The shell's own requests and timers. */
export type ShellEvent =
  /** Retire these workers (ids, names or addresses); answered by a retirement-done instruction with `ticket`. */
  | (Stimulus & { op: "retire-workers"; workers: string[]; ticket: number })
  /** Work stealing's round (every STEAL_INTERVAL_MS). */
  | (Stimulus & { op: "balance" })
  /** Tasks past their timeout, steal-requests left unanswered (every TIMEOUT_CHECK_MS). */
  | (Stimulus & { op: "check-timeouts" })
  /** The first noWorkerTimeout of a task in no-worker ran out (nextNoWorkerDeadline). */
  | (Stimulus & { op: "no-worker-timeout" })
  /** Workers silent for longer than the worker TTL are let go (ttl.ts). */
  | (Stimulus & { op: "check-ttl"; ttlMs: number });

export type SchedulerEvent = ClientEvent | WorkerEvent | BadDataEvent | ShellEvent;

/** The op of every event, e.g. for a property test that draws them. */
export type SchedulerEventOp = SchedulerEvent["op"];
