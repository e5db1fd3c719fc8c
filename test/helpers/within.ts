// Waiting with a deadline in tests: a hang becomes a failure that names what did not settle.

/**
 * `p`, or a rejection naming `what` if it does not settle within `ms` (the timer is cleared either
 * way). `context` (e.g. a browser's console lines) is added to the message of a timeout.
 */
export async function within<T>(p: Promise<T>, ms: number, what: string, context: string[] = []): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = () =>
      new Error(`${what} did not settle within ${ms} ms${context.length ? `\n${context.join("\n")}` : ""}`);
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(timeout()), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
