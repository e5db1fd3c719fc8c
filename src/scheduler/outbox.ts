// What the scheduler tells whom: the messages its decisions produce, in order, with frees
// batched per worker and sent at the end of each event.

import { clientReader, type DataGrants } from "./grants.js";
import { errorToData } from "../errors.js";
import type {
  ComputeTask,
  DepLocation,
  FnDef,
  KeyInMemory,
  RetireResult,
  SchedulerToClient,
  SchedulerToWorker,
} from "../protocol/messages.js";
import type { Serialized } from "../protocol/refs.js";
import { type ClientState, holders, type TaskState, type WorkerRecord } from "./model.js";

export type Instruction =
  | { to: "worker"; id: string; msg: SchedulerToWorker }
  | { to: "client"; id: string; msg: SchedulerToClient }
  /** For the shell itself: a retirement it started has finished; a worker is banned, or silent too long (close it). */
  | { to: "scheduler"; id: "self"; msg: RetirementDone | WorkerBanned | WorkerExpired };

/** A worker silent for longer than the worker TTL (ttl.ts): the shell closes its connection. */
export interface WorkerExpired {
  op: "worker-expired";
  worker: string;
  name: string;
  reason: string;
}

export interface WorkerBanned {
  op: "worker-banned";
  /** The worker's id, for the shell to close its connection. */
  worker: string;
  name: string;
  reason: string;
}

export interface RetirementDone {
  op: "retirement-done";
  ticket: number;
  result: RetireResult;
}

export { holders } from "./model.js";

/** Shared by the many tasks without dependencies; never mutated (frozen). */
const NO_DEPS: DepLocation[] = Object.freeze([]) as unknown as DepLocation[];

export class Outbox {
  private out: Instruction[] = [];
  /** Keys to free per worker, sent at the end of the event (one message per worker). */
  private readonly frees = new Map<WorkerRecord, Set<string>>();

  /** Set by the scheduler when it requires tokens: locations then carry the reader's tickets (grants.ts). */
  grants: DataGrants | undefined;

  constructor(
    /** Function sources by id, sent along with a worker's first task using each. */
    private readonly fns: ReadonlyMap<string, FnDef>,
  ) {}

  /** Instructions produced since the last call, in order. */
  take(): Instruction[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  toWorker(ws: WorkerRecord, msg: SchedulerToWorker): void {
    this.out.push({ to: "worker", id: ws.id, msg });
  }

  toClient(cs: ClientState, msg: SchedulerToClient): void {
    this.out.push({ to: "client", id: cs.id, msg });
  }

  /** Queues a free of `key` on `ws`, sent by flushFrees. */
  free(ws: WorkerRecord, key: string): void {
    const keys = this.frees.get(ws);
    if (keys) keys.add(key);
    else this.frees.set(ws, new Set([key]));
  }

  flushFrees(): void {
    for (const [ws, keys] of this.frees) {
      for (const key of keys) ws.told.delete(key);
      if (ws.status !== "gone" && keys.size > 0) this.toWorker(ws, { op: "free-keys", keys: [...keys] });
    }
    this.frees.clear();
  }

  /** Sends `ts` to `ws`; `digest`: the worker reports its result's digest (the task is being verified). */
  compute(ws: WorkerRecord, ts: TaskState, digest = false): void {
    // Frees go out after this message; one queued for the same key (an earlier attempt, e.g. a
    // retry) would then drop the task just sent.
    this.frees.get(ws)?.delete(ts.key);
    const spec = ts.spec!;
    let fnDef: FnDef | undefined;
    if (spec.fn.kind === "source" && !ws.knownFns.has(spec.fn.id)) {
      fnDef = this.fns.get(spec.fn.id);
      ws.knownFns.add(spec.fn.id);
    }
    const deps: DepLocation[] = ts.deps.size === 0 ? NO_DEPS : [];
    for (const d of ts.deps) {
      const who = holders(d);
      const loc: DepLocation = { key: d.key, who, nbytes: d.nbytes };
      if (this.grants) loc.tickets = this.grants.tickets("get", who, ws.name, d.key);
      if (d.digest !== null) loc.digest = d.digest;
      deps.push(loc);
      ws.told.add(d.key);
    }
    ws.told.add(ts.key);
    const msg: ComputeTask = {
      op: "compute-task",
      key: ts.key,
      fn: spec.fn,
      fnDef,
      args: spec.args,
      deps,
      priority: ts.priority,
    };
    if (digest) msg.digest = true;
    this.toWorker(ws, msg);
  }

  banned(ws: WorkerRecord, reason: string): void {
    this.out.push({ to: "scheduler", id: "self", msg: { op: "worker-banned", worker: ws.id, name: ws.name, reason } });
  }

  expired(ws: WorkerRecord, reason: string): void {
    this.out.push({ to: "scheduler", id: "self", msg: { op: "worker-expired", worker: ws.id, name: ws.name, reason } });
  }

  retired(ticket: number, result: RetireResult): void {
    this.out.push({ to: "scheduler", id: "self", msg: { op: "retirement-done", ticket, result } });
  }

  /** Tells every client wanting `ts` that it is in memory, with its value when small. */
  inMemory(ts: TaskState, value: Serialized | undefined): void {
    const who = holders(ts);
    const grants = this.grants;
    // A small result goes inline: the client fetches nothing, and needs no ticket (the hot path of map).
    if (!grants || value !== undefined) {
      const msg: SchedulerToClient = { op: "key-in-memory", key: ts.key, who, nbytes: ts.nbytes, value };
      for (const cs of ts.whoWants) this.toClient(cs, msg);
      return;
    }
    for (const cs of ts.whoWants) {
      const msg: SchedulerToClient = {
        op: "key-in-memory",
        key: ts.key,
        who,
        tickets: grants.tickets("get", who, clientReader(cs.id), ts.key),
        nbytes: ts.nbytes,
        value,
      };
      if (ts.digest !== null) msg.digest = ts.digest;
      this.toClient(cs, msg);
    }
  }

  /** Tells one client (that just asked for it) that `ts` is already in memory. */
  alreadyInMemory(ts: TaskState, cs: ClientState): void {
    const who = holders(ts);
    const tickets = this.grants?.tickets("get", who, clientReader(cs.id), ts.key);
    const msg: KeyInMemory =
      tickets === undefined
        ? { op: "key-in-memory", key: ts.key, who, nbytes: ts.nbytes }
        : { op: "key-in-memory", key: ts.key, who, tickets, nbytes: ts.nbytes };
    if (ts.digest !== null) msg.digest = ts.digest;
    this.toClient(cs, msg);
  }

  /** Tells `to` (default: every client wanting it) that `ts` failed. */
  erred(ts: TaskState, to: Iterable<ClientState> = ts.whoWants): void {
    const msg: SchedulerToClient = {
      op: "key-erred",
      key: ts.key,
      error: ts.error ?? errorToData(new Error(`task ${ts.key} failed`), { stack: false }),
      blame: ts.blame ?? ts.key,
    };
    for (const cs of to) this.toClient(cs, msg);
  }
}
