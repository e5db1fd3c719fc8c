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
    throw new ArgumentError(`returnWhen must be "ALL_COMPLETED" or "FIRST_COMPLETED", got ${JSON.stringify(returnWhen)}`);
  }
  const timeoutError = new TimeoutError(`wait: ${list.length} futures not done within ${options.timeout} ms`);
  const settled = list.map((f) => f.settled());
  const all = returnWhen === "ALL_COMPLETED" ? Promise.all(settled) : list.length === 0 ? Promise.resolve() : Promise.race(settled);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    if (options.timeout === undefined) await all;
    else {
      await Promise.race([
        all,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(timeoutError), options.timeout);
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
