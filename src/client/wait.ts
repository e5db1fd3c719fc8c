// wait: until all (or the first) of some futures are done, with an optional timeout.

import { ArgumentError, TimeoutError } from "../errors.js";
import { Future } from "./future.js";

export interface WaitOptions {
  /** "ALL_COMPLETED" (default) or "FIRST_COMPLETED". */
  returnWhen?: "ALL_COMPLETED" | "FIRST_COMPLETED";
  /** Milliseconds to wait at most; then the promise rejects with TimeoutError. Default: no limit. */
  timeout?: number;
}

export interface WaitResult<T> {
  done: Set<Future<T>>;
  notDone: Set<Future<T>>;
}

/** Waits for futures to finish (successfully or not); resolves with which are done and which not. */
export async function wait<T>(futures: Iterable<Future<T>>, options: WaitOptions = {}): Promise<WaitResult<T>> {
  const list = [...futures];
  for (const f of list) if (!(f instanceof Future)) throw new ArgumentError(`wait expects futures, got ${typeof f}`);
  const returnWhen = options.returnWhen ?? "ALL_COMPLETED";
  if (returnWhen !== "ALL_COMPLETED" && returnWhen !== "FIRST_COMPLETED") {
    throw new ArgumentError(
      `returnWhen must be "ALL_COMPLETED" or "FIRST_COMPLETED", got ${JSON.stringify(returnWhen)}`,
    );
  }
  const timeout = options.timeout;
  if (timeout !== undefined && (typeof timeout !== "number" || Number.isNaN(timeout) || timeout < 0)) {
    throw new ArgumentError(`timeout must be a number of milliseconds ≥ 0, got ${String(timeout)}`);
  }
  const timeoutError = new TimeoutError(`wait: futures not done within ${timeout} ms`);
  const settled = list.map((f) => f.settled());
  const all =
    returnWhen === "ALL_COMPLETED"
      ? Promise.all(settled)
      : list.length === 0
        ? Promise.resolve()
        : Promise.race(settled);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    if (timeout === undefined || timeout === Infinity) await all;
    else {
      await Promise.race([
        all,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const pending = list.filter((f) => !f.done()).length;
            timeoutError.message = `wait: ${pending} of ${list.length} futures not done within ${timeout} ms`;
            reject(timeoutError);
          }, timeout);
        }),
      ]);
    }
  } finally {
    clearTimeout(timer);
  }
  const done = new Set<Future<T>>();
  const notDone = new Set<Future<T>>();
  for (const f of list) (f.done() ? done : notDone).add(f);
  return { done, notDone };
}
