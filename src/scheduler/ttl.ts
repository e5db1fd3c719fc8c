// The worker TTL: a worker not heard from (any message: heartbeats come every few seconds) for
// longer than the TTL is let go as lost. A worker thread busy in one long synchronous task cannot
// send heartbeats meanwhile, hence a TTL of minutes (Dask's worker-ttl).

import type { Core, SchedulerData } from "./core.js";
import type { WorkerRecord } from "./model.js";

/** The workers silent for longer than `ttlMs` at the state's clock and not yet let go, with how long each has been silent. */
export function silentWorkers(s: SchedulerData, ttlMs: number): { ws: WorkerRecord; silentMs: number }[] {
  const out: { ws: WorkerRecord; silentMs: number }[] = [];
  for (const ws of s.workers.values()) {
    const silentMs = s.now - ws.lastSeen;
    if (silentMs > ttlMs && !ws.expired) out.push({ ws, silentMs });
  }
  return out;
}

/**
 * Lets go of the silent workers: each is marked (its leaving then counts as a death, not a
 * goodbye) and the shell is told to close its connection; it is removed when that has closed.
 */
export function expireSilentWorkers(s: Core, ttlMs: number): void {
  for (const { ws, silentMs } of silentWorkers(s, ttlMs)) {
    ws.expired = true;
    s.outbox.expired(ws, `no word from it for ${Math.round(silentMs / 1000)} s (worker TTL ${ttlMs / 1000} s)`);
  }
}
