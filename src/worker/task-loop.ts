// The worker's task loop: runs the tasks its state makes ready, highest priority first, back to
// back in slices of TASK_SLICE_MS, and reports each as a task-started, task-done or task-erred
// event. Part of the shell (server.ts), which feeds those events to the state and sends what it says.

import { errorToData, SerializationError } from "../errors.js";
import type { Logger } from "../log.js";
import type { TaskRef, Serialized } from "../protocol/refs.js";
import { deserialize, measure, serialize } from "../protocol/serialize.js";
import { digestOf } from "../protocol/digest.js";
import { exposeBuffers } from "../util/buffer-pool.js";
import type { TaskContext } from "../task-context.js";
import type { DigestMaker } from "../util/sha256.js";
import type { CodeCache, TaskFunction } from "./code.js";
import type { WorkerEvent, WorkerTask } from "./events.js";
import type { WorkerState } from "./state.js";

/**
 * Run tasks back to back for at most this long before letting I/O in (peers asking for data, the
 * scheduler freeing keys). Long enough that thousands of tiny tasks share one message batch.
 */
export const TASK_SLICE_MS = 10;

/**
 * Results estimated at this size or less travel with the task-finished notice, and the scheduler
 * passes them on to the clients that want them, saving each client a fetch from the worker (a
 * round trip). The worker still holds the result for dependents. Small enough that forwarding
 * costs the scheduler little; Ray inlines objects up to 100 KiB for the same reason.
 */
export const INLINE_RESULT_MAX_BYTES = 1024;

/** What the task loop needs of its worker. */
export interface TaskLoopHost {
  readonly name: string;
  /** Whether the worker is closing: start nothing more. */
  closing(): boolean;
  /** The worker's state with every event queued so far handled (so the loop sees what the scheduler said). */
  current(): WorkerState;
  /** Feeds the loop's `event` to the state now (after the events already queued). */
  handle(event: WorkerEvent): void;
  /** A fresh stimulus for an event (its number: see Stimulus in events.ts). */
  stimulus(): number;
  /** Carries out what the state has said so far (at the end of a slice). */
  drain(): void;
  /** Carries it out and sends it at once, not at the end of the turn. */
  sendNow(): void;
}

export interface TaskLoopOptions {
  /** Lets pending I/O run between batches of tasks. */
  yieldToEventLoop: () => Promise<void>;
  /** The SHA-256 that digests results being verified. */
  digest: DigestMaker | undefined;
  /** WorkerOptions.lieForTests: true answers every task with a forged result. */
  lie: boolean;
  /** Where the loop logs: its worker's runtime's logger. */
  log: Logger;
  /** What builtins get as `this` (task-context.ts): the worker's runtime's stores and logger. */
  context: TaskContext;
}

export class TaskLoop {
  /** Whether the loop is running (a task executing, or between tasks of a slice). */
  running = false;
  /** Typical milliseconds per task function, learned here. */
  private readonly fnDurations = new Map<string, number>();

  constructor(
    private readonly host: TaskLoopHost,
    private readonly code: CodeCache,
    private readonly options: TaskLoopOptions,
  ) {}

  /** Starts the loop unless it runs already, the worker is closing or paused, or nothing is ready. */
  pump(): void {
    const state = this.host.current();
    if (this.running || this.host.closing() || state.paused || state.readyCount === 0) return;
    this.running = true;
    void this.runReady()
      .catch((err: unknown) =>
        this.options.log.error(`${this.host.name}: the task loop failed (a bug; the worker goes on)`, err),
      )
      .finally(() => {
        this.running = false;
        this.host.drain();
      });
  }

  /** Runs ready tasks back to back; yields to I/O every TASK_SLICE_MS and while awaiting async tasks. */
  private async runReady(): Promise<void> {
    let sliceStart = performance.now();
    for (;;) {
      const state = this.host.current();
      if (this.host.closing() || state.paused) return;
      const task = state.nextReady();
      if (!task) return;
      // Results finished so far must not wait behind a task that may take long: send them first.
      // Tasks known to be quick keep their batching (thousands of results per message).
      if (this.mayRunLong(task)) this.started(task);
      const pending = this.execute(task);
      if (pending) {
        this.started(task);
        await pending;
      }
      if (performance.now() - sliceStart > TASK_SLICE_MS) {
        this.host.drain(); // send what finished so far
        await this.options.yieldToEventLoop();
        sliceStart = performance.now();
      }
    }
  }

  /** Tells the scheduler now that `task` is running (once; the state knows whether it did). */
  private started(task: WorkerTask): void {
    this.host.handle({ op: "task-started", task, stimulus: this.host.stimulus() });
    this.host.sendNow();
  }

  /** Whether `task`'s function is new here or has taken longer than a slice before. */
  private mayRunLong(task: WorkerTask): boolean {
    const ms = this.fnDurations.get(fnKey(task.fn));
    return ms === undefined || ms > TASK_SLICE_MS;
  }

  /** Runs one task. Returns a promise only when the task is asynchronous (or its module is loading). */
  private execute(task: WorkerTask): Promise<void> | undefined {
    let fn: TaskFunction | Promise<TaskFunction>;
    try {
      fn = this.code.resolve(task.fn);
    } catch (err) {
      this.fail(task, err);
      return undefined;
    }
    if (fn instanceof Promise)
      return fn.then(
        (f) => this.call(task, f),
        (err) => this.fail(task, err),
      );
    return this.call(task, fn);
  }

  private call(task: WorkerTask, fn: TaskFunction): Promise<void> | undefined {
    const start = performance.now();
    let result: unknown;
    try {
      const args = deserialize(task.args, (ref) => this.depValue(task, ref));
      // A user's function may keep what it is given or returns: that storage is never reused.
      const ours = task.fn.kind === "builtin";
      if (!ours) exposeBuffers(args);
      // Builtins get the worker's context as `this`; a user's function its arguments only.
      result = ours ? fn.call(this.options.context, ...(args as unknown[])) : fn(...(args as unknown[]));
      if (!ours) exposeBuffers(result);
    } catch (err) {
      this.fail(task, err);
      return undefined;
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        (value) => this.finish(task, value, start),
        (err) => this.fail(task, err),
      );
    }
    this.finish(task, result, start);
    return undefined;
  }

  private depValue(task: WorkerTask, ref: TaskRef): unknown {
    const state = this.host.current();
    if (!state.holds(ref.key)) throw new Error(`input ${ref.key} of ${task.key} is not held by this worker`);
    return state.value(ref.key);
  }

  private finish(task: WorkerTask, value: unknown, start: number): void {
    const duration = performance.now() - start;
    const k = fnKey(task.fn);
    const prev = this.fnDurations.get(k);
    this.fnDurations.set(k, prev === undefined ? duration : 0.7 * prev + 0.3 * duration);
    if (this.options.lie) value = forged(value);
    let nbytes: number;
    let inline: Serialized | undefined;
    let digest: string | undefined;
    try {
      nbytes = measure(value);
      if (nbytes <= INLINE_RESULT_MAX_BYTES) {
        exposeBuffers(value); // it leaves this thread
        inline = serialize(value).payload;
      }
      // Digested at once: serialize's header is a view into an arena the next call reuses.
      if (task.digest) digest = digestOf(inline ?? serialize(value).payload, this.options.digest);
    } catch (err) {
      const e = err as Error;
      this.fail(task, new SerializationError(`the result of ${task.key} cannot be sent: ${e.message}`));
      return;
    }
    const stimulus = this.host.stimulus();
    this.host.handle({ op: "task-done", task, value, nbytes, duration, inline, digest, stimulus });
  }

  private fail(task: WorkerTask, err: unknown): void {
    if (err instanceof ReferenceError && task.fn.kind === "source") {
      err.message +=
        " (task functions are sent to workers as source code, so variables from outside the function do not exist here: pass them as arguments or use a task module)";
    }
    this.host.handle({ op: "task-erred", task, error: errorToData(err), stimulus: this.host.stimulus() });
  }
}

/** Identifies a task's function across tasks (for learning how long it runs). */
function fnKey(ref: WorkerTask["fn"]): string {
  return ref.kind === "source" ? ref.id : ref.kind === "builtin" ? `builtin#${ref.name}` : `${ref.module}#${ref.name}`;
}

/** What a lying worker (lieForTests) answers instead of `value`: a number off by 1,000, else a string. */
function forged(value: unknown): unknown {
  return typeof value === "number" ? value + 1000 : "FORGED";
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";
}
