// The worker as a pure state machine: what it was asked to compute, what data it holds (memory.ts),
// which dependencies it is fetching from which peer (fetches.ts). Events in, instructions out: the
// shell (server.ts) turns what the scheduler, peers, clients and its own task loop say into
// WorkerEvents, feeds them to `handle`, and carries out the instructions it returns; it executes
// tasks, talks to peers and the scheduler. The transitions below are private: nothing else moves a
// task. Each is recorded in a bounded story (`storyOf(key)`), and with `validate` on the whole
// state is checked after every event (validate.ts).

import type { ErrorData } from "../errors.js";
import { comparePriority } from "../graph/priority.js";
import type { ComputeTask, WorkerToScheduler } from "../protocol/messages.js";
import type { Serialized } from "../protocol/refs.js";
import { Story, type StoryEntry } from "../scheduler/story.js";
import { Heap } from "../util/heap.js";
import { dueForCheck, InvariantError, validateByDefault } from "../util/invariant.js";
import { type Stimulus, stimulusOf, WorkerTask, type WorkerEvent, type WorkerInstruction } from "./events.js";
import { Fetches } from "./fetches.js";
import { type MemoryOptions, WorkerMemory } from "./memory.js";
import { findWorkerProblems, type WorkerStateView } from "./validate.js";

export type { MemoryOptions } from "./memory.js";
export { FETCH_BATCH_BYTES } from "./fetches.js";
export { WorkerTask, type WorkerEvent, type WorkerInstruction, type WorkerTaskState } from "./events.js";

/** Transitions kept for storyOf() by default: a few thousand tasks' recent past (4-6 each; scheduler/story.ts), <1 MB. */
export const WORKER_STORY_CAPACITY = 20_000;

export interface WorkerStateOptions extends MemoryOptions {
  /** Tasks it runs at once, at most (the task loop runs one). Default 1. */
  threads?: number;
  /** Transitions kept for storyOf(); 0 keeps none (storyOf answers []). Default WORKER_STORY_CAPACITY. */
  storyCapacity?: number;
  /**
   * Check the whole state after every event (validate.ts) and raise InvariantError naming the event
   * and the keys involved. `"sampled"`: after every event while the state is small, every
   * ⌈records / VALIDATE_RECORDS_PER_EVENT⌉ events past that. Not for production. Default: the
   * realm's (off; "sampled" in a test run, MESHWORK_VALIDATE=1, as for schedulers).
   */
  validate?: boolean | "sampled";
  /** What to do with a broken invariant; default: throw it (handle's caller sees it). The Worker logs it. */
  onInvalid?: (err: InvariantError) => void;
}

export class WorkerState {
  private readonly memory_: WorkerMemory;
  private readonly tasks_ = new Map<string, WorkerTask>();
  private readonly ready = new Heap<WorkerTask>((a, b) => comparePriority(a.priority, b.priority) < 0);
  private readonly fetches: Fetches;
  private out: WorkerInstruction[] = [];
  private tasksDone_ = 0;
  /** Whether the scheduler was told this worker is paused (the last "paused" instruction). */
  private pausedTold = false;
  /** The event being handled, for the story (its stimulus); null between events. */
  private event: WorkerEvent | null = null;
  private readonly story: Story | null;
  private readonly threads: number;
  private readonly memoryLimit: number;
  /** WorkerStateOptions.validate. */
  readonly validate: boolean | "sampled";
  private unchecked = 0;
  private readonly onInvalid: (err: InvariantError) => void;
  /** The shell's clock (ms since the epoch on this machine), set before events: story entries carry it. */
  now = 0;

  constructor(
    readonly selfAddress: string,
    options: WorkerStateOptions = { limit: 0 },
  ) {
    this.memory_ = new WorkerMemory(options);
    this.fetches = new Fetches(selfAddress, {
      holds: (key) => this.memory_.holds(key),
      size: (key) => this.memory_.sizes.get(key),
      store: (key, value, nbytes) => this.memory_.store(key, value, nbytes),
      arrivedFor: (task, key) => {
        task.missing?.delete(key);
        if (!task.missing?.size && task.state === "waiting") this.makeReady(task);
      },
      drop: (task, key) => this.forgetTask(task, `its input ${key} is missing`),
      send: (msg) => this.send(msg),
      record: (key, from, to, note) => this.record(key, from, to, note),
    });
    const capacity = options.storyCapacity ?? WORKER_STORY_CAPACITY;
    this.story = capacity > 0 ? new Story(capacity) : null;
    this.threads = options.threads ?? 1;
    this.memoryLimit = options.limit;
    this.validate = options.validate ?? validateByDefault();
    this.onInvalid =
      options.onInvalid ??
      ((err) => {
        throw err;
      });
  }

  /**
   * Applies `events` (one, or several in order) and returns the instructions they cause: messages
   * to the scheduler (and "paused" when pausing changed), then fetches, one request per peer for
   * all of them (at most FETCH_BATCH_BYTES each). The shell hands it a turn's events at once so
   * that fetches to one peer are batched.
   */
  handle(events: WorkerEvent | readonly WorkerEvent[]): WorkerInstruction[] {
    if (!Array.isArray(events)) this.apply(events as WorkerEvent);
    else for (const ev of events as readonly WorkerEvent[]) this.apply(ev);
    // Pausing follows the bytes held, which events change (and reading spilled results back, between events).
    if (this.memory_.paused !== this.pausedTold) {
      this.pausedTold = this.memory_.paused;
      this.out.push({ kind: "paused", paused: this.pausedTold });
    }
    this.fetches.takeRequests(this.out);
    const out = this.out;
    this.out = [];
    return out;
  }

  private apply(ev: WorkerEvent): void {
    this.event = ev;
    this.carryOut(ev);
    this.event = null; // not kept past its turn: it may hold a result since freed
    if (this.validate && dueForCheck(this.validate, ++this.unchecked, this.records)) {
      this.unchecked = 0;
      const problems = findWorkerProblems(this.view());
      if (problems.length > 0)
        this.onInvalid(new InvariantError(stimulusOf(ev), problems, `worker ${this.selfAddress}`));
    }
  }

  private carryOut(ev: WorkerEvent): void {
    switch (ev.op) {
      case "compute-task":
        this.computeTask(ev.task, ev.stimulus);
        break;
      case "acquire-replicas":
        this.fetches.acquire(ev.keys);
        break;
      case "free-keys":
        this.freeKeys(ev.keys);
        break;
      case "steal-request":
        this.stealRequest(ev.keys);
        break;
      case "data-arrived":
        this.fetches.arrived(ev.from, ev.values, ev.missing);
        break;
      case "fetch-failed":
        this.fetches.failed(ev.from, ev.keys);
        break;
      case "bad-data":
        this.send({ op: "bad-data", key: ev.key, from: ev.from });
        break;
      case "data-put":
        this.record(ev.key, this.holds(ev.key) ? "memory" : "released", "memory", "scattered here");
        this.memory_.store(ev.key, ev.value, ev.nbytes);
        this.fetches.heldHere(ev.key);
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
        this.fetches.ticketsExpired(ev.from, ev.keys);
        break;
      case "tickets-renewed":
        this.fetches.ticketsRenewed(ev.keys);
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
    if (this.memory_.paused) return undefined; // a paused worker starts nothing new
    for (;;) {
      const task = this.ready.pop();
      if (!task) return undefined;
      if (task.state !== "ready") continue; // cancelled while queued
      task.state = "executing";
      this.story?.record(task.key, "ready", "executing", "task-loop", this.now);
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

  /** Tasks ready to run (the heap's size: tasks stolen or freed while queued count until popped). */
  get readyCount(): number {
    return this.ready.size;
  }

  /** What happened to `key` here, oldest first (as far as the story still holds): its transitions and their stimuli. */
  storyOf(key: string): StoryEntry[] {
    return this.story?.of(key) ?? [];
  }

  // ------------------------------------------------------------ events

  private computeTask(msg: ComputeTask, stimulus: Stimulus): void {
    const existing = this.tasks_.get(msg.key);
    if (existing) {
      // Freed while running and now asked for again: keep the running execution's result.
      if (existing.state === "cancelled") this.move(existing, "executing");
      return;
    }
    // A result to be verified is computed afresh: a copy held here may be one fetched from anyone.
    if (msg.digest && this.holds(msg.key)) this.drop(msg.key, "to compute it afresh");
    if (this.holds(msg.key)) {
      // Already holds the result (e.g. recomputation asked of a worker that has a replica).
      this.send({ op: "task-finished", key: msg.key, nbytes: this.sizes.get(msg.key) ?? 0, duration: 0, held: true });
      return;
    }
    const task = new WorkerTask(msg.key, msg.fn, msg.args, msg.deps, msg.priority, stimulus);
    if (msg.digest) task.digest = true;
    this.tasks_.set(msg.key, task);
    this.record(msg.key, "released", "waiting");
    for (const dep of msg.deps) {
      if (this.holds(dep.key)) continue;
      this.fetches.need(task, dep);
      if (task.state === "done") return; // dropped: a dependency has no holder; fetch nothing more for it
    }
    if (!task.missing || task.missing.size === 0) this.makeReady(task);
  }

  private stealRequest(keys: string[]): void {
    const stolen: string[] = [];
    const kept: string[] = [];
    for (const key of keys) {
      const task = this.tasks_.get(key);
      if (task && (task.state === "waiting" || task.state === "ready")) {
        this.forgetTask(task, "stolen"); // a ready one stays in the heap marked done, and is skipped there
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
      this.drop(key, "freed");
      this.fetches.freed(key);
      const task = this.tasks_.get(key);
      if (!task) continue;
      if (task.state === "executing") {
        this.move(task, "cancelled"); // it cannot be interrupted; its result will be discarded
      } else if (task.state !== "cancelled") {
        // (A cancelled one freed again stays cancelled: forgotten, its result would be reported when it ends.)
        this.forgetTask(task, "freed");
      }
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
    this.forgetTask(task, cancelled ? "done, after it was freed" : undefined, cancelled ? "released" : "memory");
    if (cancelled) return;
    this.tasksDone_++;
    this.memory_.store(task.key, value, nbytes);
    this.fetches.heldHere(task.key);
    const msg: WorkerToScheduler = { op: "task-finished", key: task.key, nbytes, duration, value: inline };
    if (digest !== undefined) msg.digest = digest;
    this.send(msg);
  }

  private taskErred(task: WorkerTask, error: ErrorData): void {
    const cancelled = task.state === "cancelled";
    this.forgetTask(task, `${error.name}: ${error.message.slice(0, 200)}`, cancelled ? "released" : "erred");
    if (!cancelled) this.send({ op: "task-erred", key: task.key, error });
  }

  // ------------------------------------------------------------ transitions

  private makeReady(task: WorkerTask): void {
    this.move(task, "ready");
    this.ready.push(task);
  }

  /** The task leaves this worker's tasks: to `to` in its story ("released" unless it ended otherwise). */
  private forgetTask(task: WorkerTask, note?: string, to = "released"): void {
    this.record(task.key, task.state, to, note);
    task.state = "done";
    if (this.tasks_.get(task.key) === task) this.tasks_.delete(task.key);
    this.fetches.taskGone(task);
  }

  private move(task: WorkerTask, to: "ready" | "executing" | "cancelled"): void {
    this.record(task.key, task.state, to);
    task.state = to;
  }

  private drop(key: string, why: string): void {
    if (!this.holds(key)) return;
    this.record(key, "memory", "released", why);
    this.memory_.drop(key);
  }

  private record(key: string, from: string, to: string, note?: string): void {
    const s = this.event?.stimulus ?? "";
    // A numbered stimulus goes in as its op and number (Story spells "op-n" when read).
    if (typeof s === "number") this.story?.record(key, from, to, this.event!.op, this.now, note, s);
    else this.story?.record(key, from, to, s, this.now, note);
  }

  private send(msg: WorkerToScheduler): void {
    this.out.push({ kind: "send", msg });
  }

  // ------------------------------------------------------------ validation

  /** Tasks, results and fetches: what a check walks (validate: "sampled" checks less often past 100). */
  private get records(): number {
    return this.tasks_.size + this.memory_.sizes.size + this.fetches.size;
  }

  private view(): WorkerStateView {
    return {
      tasks: this.tasks_,
      ready: this.ready.entries(),
      fetches: this.fetches.byKey,
      waitingFor: this.fetches.waitingFor,
      replicaWanted: this.fetches.replicaWanted,
      memory: this.memory_,
      memoryLimit: this.memoryLimit,
      threads: this.threads,
    };
  }
}
