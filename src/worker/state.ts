// The worker as a pure state machine: what it was asked to compute, what data it holds (memory.ts),
// which dependencies it is fetching from which peer. Events in, instructions out: the shell
// (server.ts) turns what the scheduler, peers, clients and its own task loop say into WorkerEvents,
// feeds them to `handle`, and carries out the instructions it returns; it executes tasks, talks to
// peers and the scheduler. The transitions below are private: nothing else moves a task.

import type { ErrorData } from "../errors.js";
import { comparePriority } from "../graph/priority.js";
import type { ComputeTask, DepLocation, WorkerToScheduler } from "../protocol/messages.js";
import type { Serialized } from "../protocol/refs.js";
import { Heap } from "../util/heap.js";
import { WorkerTask, type WorkerEvent, type WorkerInstruction } from "./events.js";
import { type MemoryOptions, WorkerMemory } from "./memory.js";

export type { MemoryOptions } from "./memory.js";

export { WorkerTask, type WorkerEvent, type WorkerInstruction, type WorkerTaskState } from "./events.js";

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

export class WorkerState {
  private readonly memory_: WorkerMemory;
  private readonly tasks_ = new Map<string, WorkerTask>();
  private readonly ready = new Heap<WorkerTask>((a, b) => comparePriority(a.priority, b.priority) < 0);
  private readonly fetches = new Map<string, Fetch>();
  /** Tasks waiting for each dependency key. */
  private readonly waitingFor = new Map<string, Set<WorkerTask>>();
  /** Fetches to start, per holder: batches of keys of at most FETCH_BATCH_BYTES. */
  private readonly pendingFetch = new Map<string, { keys: string[]; bytes: number }[]>();
  /** Keys the scheduler asked this worker to hold copies of (acquire-replicas), still being fetched. */
  private readonly replicaWanted = new Set<string>();
  private out: WorkerInstruction[] = [];
  private tasksDone_ = 0;

  constructor(
    readonly selfAddress: string,
    memoryOptions: MemoryOptions = { limit: 0 },
  ) {
    this.memory_ = new WorkerMemory(memoryOptions);
  }

  /**
   * Applies `events` (one, or several in order) and returns the instructions they cause: messages
   * to the scheduler, then fetches, one request per peer for all of them (at most
   * FETCH_BATCH_BYTES each). The shell hands it a turn's events at once so that fetches to one
   * peer are batched.
   */
  handle(events: WorkerEvent | readonly WorkerEvent[]): WorkerInstruction[] {
    if (!Array.isArray(events)) this.apply(events as WorkerEvent);
    else for (const ev of events as readonly WorkerEvent[]) this.apply(ev);
    for (const [from, batches] of this.pendingFetch)
      for (const b of batches) this.out.push({ kind: "fetch", from, keys: b.keys });
    this.pendingFetch.clear();
    const out = this.out;
    this.out = [];
    return out;
  }

  private apply(ev: WorkerEvent): void {
    switch (ev.op) {
      case "compute-task":
        this.computeTask(ev.task, ev.stimulus);
        break;
      case "acquire-replicas":
        this.acquireReplicas(ev.keys);
        break;
      case "free-keys":
        this.freeKeys(ev.keys);
        break;
      case "steal-request":
        this.stealRequest(ev.keys);
        break;
      case "data-arrived":
        this.dataArrived(ev.from, ev.values, ev.missing);
        break;
      case "fetch-failed":
        this.fetchFailed(ev.from, ev.keys);
        break;
      case "bad-data":
        this.send({ op: "bad-data", key: ev.key, from: ev.from });
        break;
      case "data-put":
        this.memory_.store(ev.key, ev.value, ev.nbytes);
        break;
      case "task-started":
        this.taskStarted(ev.task);
        break;
      case "task-done":
        this.taskDone(ev.task, ev.value, ev.nbytes, ev.duration, ev.inline, ev.digest);
        break;
      case "task-erred":
        this.taskErred(ev.task, ev.error);
        break;
      case "tickets-expired":
        this.ticketsExpired(ev.from, ev.keys);
        break;
      case "tickets-renewed":
        this.ticketsRenewed(ev.keys);
        break;
      default:
        throw new Error(`unknown worker event ${(ev as { op: string }).op}`);
    }
  }

  /**
   * The next task to run, highest priority first; marks it executing. The task loop pulls (it
   * runs tasks back to back in slices); what it runs comes back as task-done or task-erred.
   */
  nextReady(): WorkerTask | undefined {
    for (;;) {
      const task = this.ready.pop();
      if (!task) return undefined;
      if (task.state !== "ready") continue; // cancelled while queued
      task.state = "executing";
      return task;
    }
  }

  // ------------------------------------------------------------ what the shell reads

  /** Whether this worker holds `key`, in memory or spilled. */
  holds(key: string): boolean {
    return this.memory_.holds(key);
  }

  /** The value of `key` (read back into memory if it was spilled), or undefined if not held. */
  value(key: string): unknown {
    return this.memory_.value(key);
  }

  /** Tasks asked of this worker and not yet done, by key. */
  get tasks(): ReadonlyMap<string, WorkerTask> {
    return this.tasks_;
  }

  /** Results held in memory, least recently used first. */
  get data(): ReadonlyMap<string, unknown> {
    return this.memory_.data;
  }

  /** Results spilled to the SpillStore, with their sizes. */
  get spilled(): ReadonlyMap<string, number> {
    return this.memory_.spilled;
  }

  /** The size of every result held, in memory or spilled. */
  get sizes(): ReadonlyMap<string, number> {
    return this.memory_.sizes;
  }

  /** Bytes of results held in memory. */
  get memory(): number {
    return this.memory_.bytes;
  }

  /** Bytes of results spilled. */
  get spilledBytes(): number {
    return this.memory_.spilledBytes;
  }

  /** Above PAUSE_FRACTION of the limit: start no tasks until memory is freed. */
  get paused(): boolean {
    return this.memory_.paused;
  }

  /**
   * Tasks run here to completion and reported finished: what the scheduler counts for this worker
   * (`WorkerInfo.tasks.done`), and what a tab's page shows. A task cancelled while it ran is not reported, so not counted.
   */
  get tasksDone(): number {
    return this.tasksDone_;
  }

  /** Tasks ready to run, not counting cancelled ones still in the heap. */
  get readyCount(): number {
    return this.ready.size;
  }

  // ------------------------------------------------------------ events

  private computeTask(msg: ComputeTask, stimulus: string): void {
    const existing = this.tasks_.get(msg.key);
    if (existing) {
      // Freed while running and now asked for again: keep the running execution's result.
      if (existing.state === "cancelled") existing.state = "executing";
      return;
    }
    // A result to be verified is computed afresh: a copy held here may be one fetched from anyone.
    if (msg.digest && this.holds(msg.key)) this.memory_.drop(msg.key);
    if (this.holds(msg.key)) {
      // Already holds the result (e.g. recomputation asked of a worker that has a replica).
      this.send({ op: "task-finished", key: msg.key, nbytes: this.sizes.get(msg.key) ?? 0, duration: 0, held: true });
      return;
    }
    const task = new WorkerTask(msg.key, msg.fn, msg.args, msg.deps, msg.priority, stimulus);
    if (msg.digest) task.digest = true;
    this.tasks_.set(msg.key, task);
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

  private acquireReplicas(deps: DepLocation[]): void {
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

  private stealRequest(keys: string[]): void {
    const stolen: string[] = [];
    const kept: string[] = [];
    for (const key of keys) {
      const task = this.tasks_.get(key);
      if (task && (task.state === "waiting" || task.state === "ready")) {
        this.forgetTask(task); // a ready one stays in the heap marked done, and is skipped there
        stolen.push(key);
      } else kept.push(key);
    }
    this.send({ op: "steal-response", stolen, kept });
  }

  private taskStarted(task: WorkerTask): void {
    if (task.announced) return;
    task.announced = true;
    this.send({ op: "task-started", key: task.key });
  }

  private freeKeys(keys: string[]): void {
    for (const key of keys) {
      this.replicaWanted.delete(key);
      this.memory_.drop(key);
      const task = this.tasks_.get(key);
      if (!task) continue;
      if (task.state === "executing") {
        task.state = "cancelled"; // it cannot be interrupted; its result will be discarded
      } else {
        this.forgetTask(task);
      }
    }
  }

  private dataArrived(from: string, values: Map<string, { value: unknown; nbytes: number }>, missing: string[]): void {
    const added: { key: string; nbytes: number }[] = [];
    for (const [key, { value, nbytes }] of values) {
      const f = this.fetches.get(key);
      if (!f || f.from !== from) continue;
      this.fetches.delete(key);
      const waiting = this.waitingFor.get(key);
      this.waitingFor.delete(key);
      const asked = this.replicaWanted.delete(key);
      if (!asked && (!waiting || waiting.size === 0)) continue; // nobody here needs it any more
      this.memory_.store(key, value, nbytes);
      added.push({ key, nbytes });
      for (const task of waiting ?? []) {
        task.missing?.delete(key);
        if (!task.missing?.size && task.state === "waiting") this.makeReady(task);
      }
    }
    if (added.length > 0) this.send({ op: "add-keys", keys: added });
    for (const key of missing) this.fetchFailed(from, [key]);
  }

  private fetchFailed(from: string, keys: string[]): void {
    for (const key of keys) {
      const f = this.fetches.get(key);
      if (!f || f.from !== from) continue;
      f.from = null;
      if (f.candidates.length > 0) this.startFetch(key);
      else this.giveUp(key, from);
    }
  }

  private taskDone(
    task: WorkerTask,
    value: unknown,
    nbytes: number,
    duration: number,
    inline: Serialized | undefined,
    digest: string | undefined,
  ): void {
    const cancelled = task.state === "cancelled";
    this.forgetTask(task);
    if (cancelled) return;
    this.tasksDone_++;
    this.memory_.store(task.key, value, nbytes);
    const msg: WorkerToScheduler = { op: "task-finished", key: task.key, nbytes, duration, value: inline };
    if (digest !== undefined) msg.digest = digest;
    this.send(msg);
  }

  private taskErred(task: WorkerTask, error: ErrorData): void {
    const cancelled = task.state === "cancelled";
    this.forgetTask(task);
    if (!cancelled) this.send({ op: "task-erred", key: task.key, error });
  }

  /**
   * `from` refused this worker's tickets for `keys` as expired (the fetch waited long, in a queue):
   * ask the scheduler for fresh ones (renew-tickets); the fetches wait for them (ticketsRenewed).
   */
  private ticketsExpired(from: string, keys: string[]): void {
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
  private ticketsRenewed(locations: DepLocation[]): void {
    for (const loc of locations) {
      const f = this.fetches.get(loc.key);
      if (!f || f.from !== null || f.candidates.length > 0) continue; // started again meanwhile (another task's compute-task)
      f.candidates = loc.who.filter((w) => w !== this.selfAddress);
      if (f.candidates.length > 0) this.startFetch(loc.key);
      else this.giveUp(loc.key, this.selfAddress); // no holder the scheduler will vouch for: as for a key nobody has
    }
  }

  // ------------------------------------------------------------ transitions

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

  private makeReady(task: WorkerTask): void {
    task.state = "ready";
    this.ready.push(task);
  }

  private forgetTask(task: WorkerTask): void {
    task.state = "done";
    if (this.tasks_.get(task.key) === task) this.tasks_.delete(task.key);
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
