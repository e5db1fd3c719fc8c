// Timers that do not keep a process alive. Node's timers have unref(); a browser's are numbers and
// keep nothing alive anyway. One place checks which, instead of a cast at every timer.

/** Lets `timer` not keep the process alive, where the platform has such a notion (Node's unref); returns it. */
export function unrefTimer<T>(timer: T): T {
  if (typeof timer === "object" && timer !== null && "unref" in timer && typeof timer.unref === "function")
    timer.unref();
  return timer;
}

/** Pending timers that do not keep a process alive, from a member's Runtime. */
export interface BackgroundTimers {
  /** Calls `fn` after `ms` without keeping the process alive for it; returns the cancel function. */
  background(fn: () => void, ms: number): () => void;
}

/** The platform's setTimeout, unref'd where it can be. */
export const platformTimers: BackgroundTimers = {
  background(fn, ms) {
    const t = unrefTimer(setTimeout(fn, ms));
    return () => clearTimeout(t);
  },
};
