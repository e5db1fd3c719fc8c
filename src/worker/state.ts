// The worker as a pure state machine: what it was asked to compute, what data it holds, which
// dependencies it is fetching from which peer. Events in, instructions out; the shell (server.ts)
// executes tasks, talks to peers and the scheduler.

import type { ErrorData } from "../errors.js";
import { comparePriority } from "../graph/priority.js";
import type { ComputeTask, DepLocation, FnRef, WorkerToScheduler } from "../protocol/messages.js";
import type { Serialized } from "../protocol/refs.js";
import { Heap } from "../util/heap.js";
import { dropBuffers, exposeBuffers, holdBuffers } from "../util/buffer-pool.js";
import { deserialize, serialize } from "../protocol/serialize.js";
import { log } from "../log.js";
import { PAUSE_FRACTION, SPILL_FRACTION, type SpillStore } from "./spill.js";

/** waiting (for dependencies) → ready → executing → done; "cancelled" is executing but no longer wanted. */
export type WorkerTaskState = "waiting" | "ready" | "executing" | "done" | "cancelled";

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
  ) {}
}

export type WorkerInstruction =
  | { kind: "send"; msg: WorkerToScheduler }
  /** Ask the data server at `from` for `keys`. */
  | { kind: "fetch"; from: string; keys: string[] };

/**
 * Bytes asked of one peer in one request, at most (one bigger key goes alone). Replies stay well
 * below the transports' packet limit, and the first inputs arrive while later ones are still
 * being sent. Dask's transfer-message-bytes-limit is 50 MB.
 */
export const FETCH_BATCH_BYTES = 64 * 1024 * 1024;

interface Fetch {
  /** Bytes of the value, as the scheduler reported it. */
  nbytes: number;
  /** Holders not tried yet, in the scheduler's order. */
  candidates: string[];
  /** The holder asked now, if a request is in flight. */
  from: string | null;
  /** Times a holder said this worker's ticket had expired (see ticketsExpired). */
  renewals?: number;
}

/**
 * Fresh tickets asked for one fetch before it counts as failed there: a clock so far off that each
 * fresh ticket is refused as expired would otherwise ask forever.
 */
const MAX_TICKET_RENEWALS = 3;

export interface MemoryOptions {
  /** Bytes of results to hold in memory at most; 0: no limit. */
  limit: number;
  /** Where results go when memory passes SPILL_FRACTION of the limit; none: the worker only pauses. */
  spill?: SpillStore | undefined;
}

export class WorkerState {
  /** Results held in memory, least recently used first. */
  readonly data = new Map<string, unknown>();
  /** Results spilled to the SpillStore, with their sizes. */
  readonly spilled = new Map<string, number>();
  readonly sizes = new Map<string, number>();
  readonly tasks = new Map<string, WorkerTask>();
  /** Bytes of results held in memory. */
  memory = 0;
  /** Bytes of results spilled. */
  spilledBytes = 0;
  /** Above PAUSE_FRACTION of the limit: start no tasks until memory is freed. */
  paused = false;
  private readonly ready = new Heap<WorkerTask>((a, b) => comparePriority(a.priority, b.priority) < 0);
  private readonly fetches = new Map<string, Fetch>();
  /** Tasks waiting for each dependency key. */
  private readonly waitingFor = new Map<string, Set<WorkerTask>>();
  /** Fetches to start, per holder: batches of keys of at most FETCH_BATCH_BYTES. */
  private readonly pendingFetch = new Map<string, { keys: string[]; bytes: number }[]>();
  /** Keys the scheduler asked this worker to hold copies of (acquire-replicas), still being fetched. */
  private readonly replicaWanted = new Set<string>();
  private out: WorkerInstruction[] = [];

  constructor(
    readonly selfAddress: string,
    private readonly memoryOptions: MemoryOptions = { limit: 0 },
  ) {}

  /** Whether this worker holds `key`, in memory or spilled. */
  holds(key: string): boolean {
    return this.data.has(key) || this.spilled.has(key);
  }

  /** The value of `key` (read back into memory if it was spilled), or undefined if not held. */
  value(key: string): unknown {
    if (this.data.has(key)) {
      const v = this.data.get(key);
      this.data.delete(key); // most recently used now
      this.data.set(key, v);
      return v;
    }
    const nbytes = this.spilled.get(key);
    if (nbytes === undefined) return undefined;
    const store = this.memoryOptions.spill!;
    const v = deserialize(store.read(key));
    store.remove(key);
    this.spilled.delete(key);
    this.spilledBytes -= nbytes;
    this.data.set(key, v);
    holdBuffers(v);
    this.memory += nbytes;
    this.checkMemory(key);
    return v;
  }

  takeInstructions(): WorkerInstruction[] {
    for (const [from, batches] of this.pendingFetch)
      for (const b of batches) this.out.push({ kind: "fetch", from, keys: b.keys });
    this.pendingFetch.clear();
    const out = this.out;
    this.out = [];
    return out;
  }

  /**
   * Tasks run here to completion and reported finished: what the scheduler counts for this worker
   * (`WorkerInfo.tasks.done`), and what a tab's page shows. A task cancelled while it ran is not reported, so not counted.
   */
  tasksDone = 0;

  /** Tasks ready to run, not counting cancelled ones still in the heap. */
  get readyCount(): number {
    return this.ready.size;
  }

  computeTask(msg: ComputeTask): void {
    const existing = this.tasks.get(msg.key);
    if (existing) {
      // Freed while running and now asked for again: keep the running execution's result.
      if (existing.state === "cancelled") existing.state = "executing";
      return;
    }
    // A result to be verified is computed afresh: a copy held here may be one fetched from anyone.
    if (msg.digest && this.holds(msg.key)) this.dropData(msg.key);
    if (this.holds(msg.key)) {
      // Already holds the result (e.g. recomputation asked of a worker that has a replica).
      this.send({ op: "task-finished", key: msg.key, nbytes: this.sizes.get(msg.key) ?? 0, duration: 0, held: true });
      return;
    }
    const task = new WorkerTask(msg.key, msg.fn, msg.args, msg.deps, msg.priority);
    if (msg.digest) task.digest = true;
    this.tasks.set(msg.key, task);
    for (const dep of msg.deps) {
      if (this.holds(dep.key)) continue;
      (task.missing ??= new Set()).add(dep.key);
      let waiting = this.waitingFor.get(dep.key);
      if (!waiting) this.waitingFor.set(dep.key, (waiting = new Set()));
      waiting.add(task);
      const f = this.fetches.get(dep.key);
      if (!f) {
        this.fetches.set(dep.key, {
          nbytes: dep.nbytes,
          candidates: dep.who.filter((w) => w !== this.selfAddress),
          from: null,
        });
        this.startFetch(dep.key);
      } else if (f.from === null && f.candidates.length === 0) {
        f.candidates = dep.who.filter((w) => w !== this.selfAddress);
        this.startFetch(dep.key);
      }
      if (task.state === "done") return; // dropped: a dependency has no holder; fetch nothing more for it
    }
    if (!task.missing || task.missing.size === 0) this.makeReady(task);
  }

  /** Copies of results to fetch and keep, from the holders given (a retiring worker's unique data). */
  acquireReplicas(deps: DepLocation[]): void {
    for (const dep of deps) {
      if (this.holds(dep.key)) {
        this.send({ op: "add-keys", keys: [{ key: dep.key, nbytes: this.sizes.get(dep.key) ?? dep.nbytes }] });
        continue;
      }
      this.replicaWanted.add(dep.key);
      const f = this.fetches.get(dep.key);
      if (f && (f.from !== null || f.candidates.length > 0)) continue; // already on its way for a task
      this.fetches.set(dep.key, {
        nbytes: dep.nbytes,
        candidates: dep.who.filter((w) => w !== this.selfAddress),
        from: null,
      });
      this.startFetch(dep.key);
    }
  }

  /** Gives back the tasks asked for that have not started; keeps the rest (see StealRequest). */
  stealRequest(keys: string[]): void {
    const stolen: string[] = [];
    const kept: string[] = [];
    for (const key of keys) {
      const task = this.tasks.get(key);
      if (task && (task.state === "waiting" || task.state === "ready")) {
        this.forgetTask(task); // a ready one stays in the heap marked done, and is skipped there
        stolen.push(key);
      } else kept.push(key);
    }
    this.send({ op: "steal-response", stolen, kept });
  }

  /** Tells the scheduler that `task`, which may run long, is starting (see TaskStarted). */
  taskStarted(task: WorkerTask): void {
    if (task.announced) return;
    task.announced = true;
    this.send({ op: "task-started", key: task.key });
  }

  /** The scheduler no longer needs these keys here: drop their data and any pending task. */
  freeKeys(keys: string[]): void {
    for (const key of keys) {
      this.replicaWanted.delete(key);
      this.dropData(key);
      const task = this.tasks.get(key);
      if (!task) continue;
      if (task.state === "executing") {
        task.state = "cancelled"; // it cannot be interrupted; its result will be discarded
      } else {
        this.forgetTask(task);
      }
    }
  }

  /** A peer answered a fetch: `values` arrived, `missing` it did not have. */
  dataArrived(from: string, values: Map<string, { value: unknown; nbytes: number }>, missing: string[]): void {
    const added: { key: string; nbytes: number }[] = [];
    for (const [key, { value, nbytes }] of values) {
      const f = this.fetches.get(key);
      if (!f || f.from !== from) continue;
      this.fetches.delete(key);
      const waiting = this.waitingFor.get(key);
      this.waitingFor.delete(key);
      const asked = this.replicaWanted.delete(key);
      if (!asked && (!waiting || waiting.size === 0)) continue; // nobody here needs it any more
      this.store(key, value, nbytes);
      added.push({ key, nbytes });
      for (const task of waiting ?? []) {
        task.missing?.delete(key);
        if (!task.missing?.size && task.state === "waiting") this.makeReady(task);
      }
    }
    if (added.length > 0) this.send({ op: "add-keys", keys: added });
    for (const key of missing) this.fetchFailed(from, [key]);
  }

  /** `from` served bytes for `key` that do not match its agreed digest (they were dropped). */
  badData(key: string, from: string): void {
    this.send({ op: "bad-data", key, from });
  }

  /** Fetching `keys` from `from` failed (peer lacked them or the connection broke): try the next holder. */
  fetchFailed(from: string, keys: string[]): void {
    for (const key of keys) {
      const f = this.fetches.get(key);
      if (!f || f.from !== from) continue;
      f.from = null;
      if (f.candidates.length > 0) this.startFetch(key);
      else this.giveUp(key, from);
    }
  }

  /**
   * `from` refused this worker's tickets for `keys` as expired (the fetch waited long, in a queue):
   * ask the scheduler for fresh ones (renew-tickets); the fetches wait for them (ticketsRenewed).
   */
  ticketsExpired(from: string, keys: string[]): void {
    const renew: string[] = [];
    for (const key of keys) {
      const f = this.fetches.get(key);
      if (!f || f.from !== from) continue;
      f.renewals = (f.renewals ?? 0) + 1;
      if (f.renewals > MAX_TICKET_RENEWALS) {
        this.fetchFailed(from, [key]);
        continue;
      }
      f.from = null;
      f.candidates = []; // the other holders' tickets are as old: wait for fresh ones
      renew.push(key);
    }
    if (renew.length > 0) this.send({ op: "renew-tickets", keys: renew });
  }

  /** Fresh tickets came (the data plane keeps them): fetch again, from the holders the scheduler names now. */
  ticketsRenewed(locations: DepLocation[]): void {
    for (const loc of locations) {
      const f = this.fetches.get(loc.key);
      if (!f || f.from !== null || f.candidates.length > 0) continue; // started again meanwhile (another task's compute-task)
      f.candidates = loc.who.filter((w) => w !== this.selfAddress);
      if (f.candidates.length > 0) this.startFetch(loc.key);
      else this.giveUp(loc.key, this.selfAddress); // no holder the scheduler will vouch for: as for a key nobody has
    }
  }

  /** No holder of `key` could provide it: tell the scheduler (it recomputes or reassigns), drop the tasks. */
  private giveUp(key: string, lastTried: string): void {
    this.fetches.delete(key);
    if (this.replicaWanted.delete(key)) this.send({ op: "acquire-failed", keys: [key] });
    const waiting = this.waitingFor.get(key);
    this.waitingFor.delete(key);
    for (const task of waiting ?? []) {
      this.send({ op: "missing-data", key: task.key, dep: key, from: lastTried });
      this.forgetTask(task);
    }
  }

  /** The next task to run, highest priority first; marks it executing. */
  nextReady(): WorkerTask | undefined {
    for (;;) {
      const task = this.ready.pop();
      if (!task) return undefined;
      if (task.state !== "ready") continue; // cancelled while queued
      task.state = "executing";
      return task;
    }
  }

  /**
   * `inline` is the result already encoded, when small enough to travel with the notice; `digest`
   * its serialized bytes' SHA-256, when the scheduler asked for it.
   */
  taskDone(
    task: WorkerTask,
    value: unknown,
    nbytes: number,
    duration: number,
    inline?: Serialized,
    digest?: string,
  ): void {
    const cancelled = task.state === "cancelled";
    this.forgetTask(task);
    if (cancelled) return;
    this.tasksDone++;
    this.store(task.key, value, nbytes);
    const msg: WorkerToScheduler = { op: "task-finished", key: task.key, nbytes, duration, value: inline };
    if (digest !== undefined) msg.digest = digest;
    this.send(msg);
  }

  taskErred(task: WorkerTask, error: ErrorData): void {
    const cancelled = task.state === "cancelled";
    this.forgetTask(task);
    if (!cancelled) this.send({ op: "task-erred", key: task.key, error });
  }

  /** Data a client scattered here. */
  putData(key: string, value: unknown, nbytes: number): void {
    this.store(key, value, nbytes);
  }

  private store(key: string, value: unknown, nbytes: number): void {
    if (this.holds(key)) this.dropData(key);
    this.data.set(key, value);
    holdBuffers(value);
    this.sizes.set(key, nbytes);
    this.memory += nbytes;
    this.checkMemory(key);
  }

  private dropData(key: string): void {
    const spilled = this.spilled.get(key);
    if (spilled !== undefined) {
      this.spilled.delete(key);
      this.spilledBytes -= spilled;
      this.sizes.delete(key);
      this.memoryOptions.spill!.remove(key);
      this.checkMemory();
      return;
    }
    const value = this.data.get(key);
    if (!this.data.delete(key)) return;
    dropBuffers(value); // storage only this value held is reused for the next block
    this.memory -= this.sizes.get(key) ?? 0;
    this.sizes.delete(key);
    this.checkMemory();
  }

  /**
   * Keeps memory under the limit's thresholds: spills the least recently used results (never
   * `keep`, the one just stored or read) while above SPILL_FRACTION, then pauses or resumes.
   */
  private checkMemory(keep?: string): void {
    const { limit, spill } = this.memoryOptions;
    if (limit <= 0) return;
    if (spill) {
      for (const [key, value] of this.data) {
        if (this.memory <= SPILL_FRACTION * limit) break;
        if (key === keep) continue;
        const nbytes = this.sizes.get(key) ?? 0;
        try {
          exposeBuffers(value); // it is encoded as views of its storage; never reuse that storage
          spill.write(key, serialize(value).payload);
        } catch (err) {
          log().warn(`could not spill ${key}: ${(err as Error).message}`);
          break;
        }
        this.data.delete(key);
        this.spilled.set(key, nbytes);
        this.memory -= nbytes;
        this.spilledBytes += nbytes;
      }
    }
    this.paused = this.memory > PAUSE_FRACTION * limit;
  }

  private makeReady(task: WorkerTask): void {
    task.state = "ready";
    this.ready.push(task);
  }

  private forgetTask(task: WorkerTask): void {
    task.state = "done";
    if (this.tasks.get(task.key) === task) this.tasks.delete(task.key);
    for (const depKey of task.missing ?? []) {
      const waiting = this.waitingFor.get(depKey);
      waiting?.delete(task);
      if (waiting && waiting.size === 0) this.waitingFor.delete(depKey);
    }
    task.missing = null;
  }

  private startFetch(key: string): void {
    const f = this.fetches.get(key)!;
    const from = f.candidates.shift();
    // No other holder: the scheduler believes this worker has it, and it does not. Say so by name.
    if (from === undefined) return this.giveUp(key, this.selfAddress);
    f.from = from;
    let batches = this.pendingFetch.get(from);
    if (!batches) this.pendingFetch.set(from, (batches = []));
    const last = batches[batches.length - 1];
    if (last && last.bytes + f.nbytes <= FETCH_BATCH_BYTES) {
      last.keys.push(key);
      last.bytes += f.nbytes;
    } else batches.push({ keys: [key], bytes: f.nbytes });
  }

  private send(msg: WorkerToScheduler): void {
    this.out.push({ kind: "send", msg });
  }
}
