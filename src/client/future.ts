// A Future stands for the result of one task on the cluster. It is awaitable (`await f`), can be
// passed as an argument to other tasks, and releases the result on the workers when no future for
// that key is held any more (explicitly with release(), or when garbage collected).

import type { ClientClosedError } from "../errors.js";
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
  private readonly settled: Promise<void>;
  private resolveSettled!: () => void;

  constructor(readonly key: string) {
    this.settled = new Promise((r) => (this.resolveSettled = r));
  }

  /** Resolves (never rejects) when the status is no longer pending. */
  whenSettled(): Promise<void> {
    return this.settled;
  }

  finish(who: string[], nbytes: number, inline?: Serialized): void {
    this.who = who;
    this.nbytes = nbytes;
    this.inline = inline;
    if (this.status === "pending" || this.status === "lost") {
      this.status = "finished";
      this.error = null;
    }
    this.resolveSettled();
  }

  fail(status: "error" | "cancelled" | "lost", error: Error): void {
    if (this.status !== "pending" && this.status !== "finished") return;
    this.status = status;
    this.error = error;
    this.resolveSettled();
  }
}

/** Collected Future objects give their reference back, so results nobody holds are freed. */
const collected = new FinalizationRegistry<{ host: FutureHost; ks: KeyState; dropped: { done: boolean } }>((held) => {
  if (!held.dropped.done) held.host.drop(held.ks);
});

/** Structurally a Promise (then, catch, finally), so it fits wherever a Promise<T> is expected. */
export class Future<T = unknown> implements Promise<T> {
  private readonly dropped = { done: false };

  /** @internal Created by Client; users get futures from submit, map and scatter. */
  constructor(
    /** The task's key, unique on the scheduler. */
    readonly key: string,
    private readonly host: FutureHost,
    private readonly ks: KeyState,
  ) {
    ks.refs++;
    collected.register(this, { host, ks, dropped: this.dropped }, this.dropped);
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
    await this.ks.whenSettled();
    const closed = this.host.closedError;
    if (closed) throw closed;
    if (this.ks.status !== "finished") throw this.ks.error!;
    return (await this.host.fetch(this.key)) as T;
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
    return this.host.cancelKeys([this.key]);
  }

  /** Gives up this future: when no future for the key is left, its result is freed on the workers. */
  release(): void {
    if (this.dropped.done) return;
    this.dropped.done = true;
    collected.unregister(this.dropped);
    this.host.drop(this.ks);
  }

  [Symbol.dispose](): void {
    this.release();
  }

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
