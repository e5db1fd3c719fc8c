// Waiting in tests for something to become true: one polling loop, with a deadline whose error
// names what did not happen (instead of a hang, or a loop written out again in each test).
// Platform-neutral (global timers only), so browser-run suites can use it too.

export interface WaitForOptions {
  /** Milliseconds to wait in all before failing. Default 5000. */
  timeout?: number;
  /** Milliseconds between checks. Default 20. */
  interval?: number;
  /** What is waited for, for the error (a function: read when the wait fails). */
  message?: string | (() => string);
}

type Truthy<T> = Exclude<T, false | 0 | "" | null | undefined>;

/**
 * Checks `condition` at once and then every `interval` ms until it gives a truthy value, which it
 * returns; fails after `timeout` ms with an error naming `message`, made where the wait started so
 * its stack points there. An error thrown by `condition` fails the wait at once.
 */
export async function waitFor<T>(condition: () => T | Promise<T>, options: WaitForOptions = {}): Promise<Truthy<T>> {
  const { timeout = 5_000, interval = 20, message = "a condition" } = options;
  const failure = new Error("waitFor");
  const deadline = performance.now() + timeout;
  for (;;) {
    const value = await condition();
    if (value) return value as Truthy<T>;
    if (performance.now() >= deadline) {
      failure.message = `waited ${timeout} ms for ${typeof message === "function" ? message() : message}`;
      throw failure;
    }
    const pause = Math.min(interval, Math.max(0, deadline - performance.now()));
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}
