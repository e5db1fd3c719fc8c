// A Future stands for the result of one task on the cluster. It is awaitable (`await f`), can be
// passed as an argument to other tasks, and releases the result on the workers when no future for
// that key is held any more (explicitly with release(), or when garbage collected).

import type { ClientClosedError } from "../errors.js";
import type { CountSource } from "../graph/computation.js";
import type { Serialized } from "../protocol/refs.js";

/** pending → finished | error | cancelled | lost. */
export type FutureStatus = "pending" | "finished" | "error" | "cancelled" | "lost";

/** What a Future needs from its client (kept as an interface so the two files do not import each other). */
export interface FutureHost {
  /** Fetches the value of a finished key from a worker that holds it. */
  fetch(key: string): Promise<unknown>;
  cancelKeys(keys: string[]): Promise<void>;
  /** One Future object for this key's record is gone (released or collected). */
  drop(ks: KeyState): void;
  /** Set once the client is closed. */
  readonly closedError: ClientClosedError | null;
  /**
   * One more (+1) or one fewer (-1) thing the client waits for: while any, it keeps its process
   * alive (its connections alone do not, so a script that forgets close() still exits).
   */
  hold(delta: 1 | -1): void;
  /** A count of the tasks behind `keys` and what they need, for progress(). */
  watchProgress?(keys: readonly string[]): CountSource;
}

/** What the client knows about one key, shared by all Future objects for it. */
export class KeyState {
  status: FutureStatus = "pending";
  error: Error | null = null;
  /** Data-server addresses of workers holding the result (from the scheduler). */
  who: string[] = [];
  nbytes = 0;
  /** The result itself, when it was small enough to come with the notice (decoded afresh on each use). */
  inline: Serialized | undefined;
  /** Live Future objects for this key. */
  refs = 0;
  /** Times the result was lost and computed again (reset). */
  generation = 0;
  /**
   * Called once when the key settles. A single function most of the time, so a key costs no array
   * and no promise until someone waits on it alone (a map of 10,000 keys kept 10,000 promises alive).
   */
  private waiters: SettleListener | SettleListener[] | null = null;
  private promise: Promise<void> | null = null;

  constructor(
    readonly key: string,
    /** The client this key belongs to (told when the last future for it goes away). */
    readonly host: FutureHost,
  ) {
    host.hold(1); // pending from the start
  }

  /** Resolves (never rejects) when the status is no longer pending. */
  whenSettled(): Promise<void> {
    if (this.status !== "pending") return SETTLED;
    return (this.promise ??= new Promise((resolve) => this.onSettled(() => resolve())));
  }

  /** Calls `listener(this)` once, when the status is no longer pending (at once if it is not). */
  onSettled(listener: SettleListener): void {
    if (this.status !== "pending") return listener(this);
    if (this.waiters === null) this.waiters = listener;
    else if (typeof this.waiters === "function") this.waiters = [this.waiters, listener];
    else this.waiters.push(listener);
  }

  finish(who: string[], nbytes: number, inline?: Serialized): void {
    this.who = who;
    this.nbytes = nbytes;
    this.inline = inline;
    if (this.status === "pending") this.host.hold(-1);
    if (this.status === "pending" || this.status === "lost") {
      this.status = "finished";
      this.error = null;
    }
    this.settle();
  }

  /**
   * The result was lost and is being computed again: back to pending, so waiting on it waits for
   * the new result. A value that came inline is still good, and is kept.
   */
  reset(): void {
    if (this.status !== "finished" || this.inline) return;
    this.generation++;
    this.status = "pending";
    this.host.hold(1);
    this.who = [];
    this.promise = null;
  }

  fail(status: "error" | "cancelled" | "lost", error: Error): void {
    if (this.status !== "pending" && this.status !== "finished") return;
    if (this.status === "pending") this.host.hold(-1);
    this.status = status;
    this.error = error;
    this.settle();
  }

  private settle(): void {
    const w = this.waiters;
    this.waiters = null;
    if (w === null) return;
    if (typeof w === "function") w(this);
    else for (const listener of w) listener(this);
  }
}

export type SettleListener = (ks: KeyState) => void;

const SETTLED: Promise<void> = Promise.resolve();

/**
 * Collected Future objects give their reference back, so results nobody holds are freed. The
 * future itself is the unregister token: release() unregisters, so a key is never dropped twice.
 */
const collected = new FinalizationRegistry<KeyState>((ks) => ks.host.drop(ks));

/** Structurally a Promise (then, catch, finally), so it fits wherever a Promise<T> is expected. */
export class Future<T = unknown> implements Promise<T> {
  /** @internal Created by Client; users get futures from submit, map and scatter. */
  constructor(
    /** The task's key, unique on the scheduler. */
    readonly key: string,
    private readonly _host: FutureHost,
    private readonly ks: KeyState,
  ) {
    ks.refs++;
    collected.register(this, ks, this);
  }

  /** @internal The client this future belongs to (progress() asks it to count). */
  get host(): FutureHost {
    return this._host;
  }

  get status(): FutureStatus {
    return this.ks.status;
  }

  /** Whether the task has finished, failed or been cancelled. */
  done(): boolean {
    return this.ks.status !== "pending";
  }

  /** The result; rejects with RemoteError if the task failed, CancelledError if cancelled. */
  async result(): Promise<T> {
    for (;;) {
      await this.ks.whenSettled();
      const closed = this._host.closedError;
      if (closed) throw closed;
      if (this.ks.status !== "finished") throw this.ks.error!;
      const generation = this.ks.generation;
      try {
        return (await this._host.fetch(this.key)) as T;
      } catch (err) {
        // Lost with its workers and being computed again (the scheduler said so before the fetch
        // failed, on the same connection): wait for the new result instead of failing. It may
        // even be back already (key-lost and key-in-memory in one batch): then fetch it anew.
        if ((this.ks.status as FutureStatus) === "pending" || this.ks.generation !== generation) continue;
        throw err;
      }
    }
  }

  /** The error the task failed with, or undefined if it succeeded. Rejects if cancelled. */
  async exception(): Promise<Error | undefined> {
    await this.ks.whenSettled();
    if (this.ks.status === "finished") return undefined;
    if (this.ks.status === "cancelled") throw this.ks.error!;
    return this.ks.error ?? undefined;
  }

  /** Resolves (never rejects) once the future is done, whatever the outcome. */
  settled(): Promise<void> {
    return this.ks.whenSettled();
  }

  /** Cancels the task (and the client's tasks that depend on it). Awaiting it then rejects with CancelledError. */
  cancel(): Promise<void> {
    return this._host.cancelKeys([this.key]);
  }

  /** Gives up this future: when no future for the key is left, its result is freed on the workers. */
  release(): void {
    if (collected.unregister(this)) this._host.drop(this.ks);
  }

  [Symbol.dispose](): void {
    this.release();
  }

  // biome-ignore lint/suspicious/noThenProperty: a Future is awaitable by design (await future gives its result)
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.result().then(onfulfilled, onrejected);
  }

  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.result().catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<T> {
    return this.result().finally(onfinally);
  }

  get [Symbol.toStringTag](): string {
    return "Future";
  }

  toString(): string {
    return `Future(${this.key}, ${this.status})`;
  }
}
