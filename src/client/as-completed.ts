// asCompleted: futures in the order they finish, as an async iterable that accepts more futures
// while it is being iterated (Dask's as_completed with add). Implemented by hand rather than as an
// async generator: a generator's `yield` would await the (thenable) future instead of yielding it.

import { ArgumentError } from "../errors.js";
import { Future } from "./future.js";

export interface AsCompletedOptions {
  /** Yield [future, result] pairs; a failed future makes the iteration throw its error. Default false. */
  withResults?: boolean;
}

type Entry<T> = { future: Future<T>; value?: T; error?: unknown };

export class AsCompleted<T, Y = Future<T>> implements AsyncIterableIterator<Y> {
  private readonly ready: Entry<T>[] = [];
  private pending = 0;
  /** Everyone waiting in next(): concurrent calls are allowed, each wakes and looks again. */
  private wakers: (() => void)[] = [];
  private stopped = false;

  constructor(
    futures: Iterable<Future<T>>,
    private readonly withResults: boolean,
  ) {
    for (const f of futures) this.add(f);
  }

  /** Adds a future; allowed while iterating. */
  add(future: Future<T>): void {
    if (!(future instanceof Future)) throw new ArgumentError(`asCompleted.add expects a future, got ${typeof future}`);
    this.pending++;
    void future.settled().then(async () => {
      const entry: Entry<T> = { future };
      if (this.withResults) {
        try {
          entry.value = await future.result();
        } catch (err) {
          entry.error = err;
        }
      }
      this.pending--;
      this.ready.push(entry);
      this.notify();
    });
  }

  /** Adds several futures. */
  update(futures: Iterable<Future<T>>): void {
    for (const f of futures) this.add(f);
  }

  /** Futures added and not yet yielded. */
  get count(): number {
    return this.pending + this.ready.length;
  }

  isEmpty(): boolean {
    return this.count === 0;
  }

  async next(): Promise<IteratorResult<Y, undefined>> {
    for (;;) {
      if (this.stopped) return { done: true, value: undefined };
      const entry = this.ready.shift();
      if (entry) return { done: false, value: this.output(entry) };
      if (this.pending === 0) return { done: true, value: undefined };
      await new Promise<void>((r) => this.wakers.push(r));
    }
  }

  /** Everything finished since the last batch, waiting for at least one. */
  batches(): AsyncIterableIterator<Y[]> {
    const self = this;
    return {
      async next(): Promise<IteratorResult<Y[], undefined>> {
        const first = await self.next();
        if (first.done) return first;
        const batch = [first.value];
        // Stop before a failed entry: it throws on the next call, after this batch is delivered.
        while (self.ready.length > 0 && !("error" in self.ready[0]!)) batch.push(self.output(self.ready.shift()!));
        return { done: false, value: batch };
      },
      async return(): Promise<IteratorResult<Y[], undefined>> {
        await self.return();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /** Stops the iteration (called by `break` in for await). */
  async return(): Promise<IteratorResult<Y, undefined>> {
    this.stopped = true;
    this.notify();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private output(entry: Entry<T>): Y {
    if (!this.withResults) return entry.future as Y;
    if ("error" in entry) throw entry.error;
    return [entry.future, entry.value] as Y;
  }

  private notify(): void {
    const wakers = this.wakers;
    this.wakers = [];
    for (const w of wakers) w();
  }
}

/**
 * The futures in the order they finish. `for await (const f of asCompleted(fs))` yields each
 * future once it is done; `ac.add(future)` while iterating extends the iteration.
 */
export function asCompleted<T>(
  futures?: Iterable<Future<T>>,
  options?: { withResults?: false },
): AsCompleted<T, Future<T>>;
export function asCompleted<T>(
  futures: Iterable<Future<T>>,
  options: { withResults: true },
): AsCompleted<T, [Future<T>, T]>;
export function asCompleted<T>(
  futures: Iterable<Future<T>> = [],
  options: AsCompletedOptions = {},
): AsCompleted<T, unknown> {
  if (typeof (futures as Iterable<unknown>)?.[Symbol.iterator] !== "function")
    throw new ArgumentError("asCompleted expects an iterable of futures");
  return new AsCompleted<T, unknown>(futures, options.withResults ?? false);
}
