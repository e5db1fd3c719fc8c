// Leak checks for tests: what handles (threads, ports, timers) the process holds, plus whatever a
// test helper counts itself (a browser has no list of open handles; peer connections are counted
// where they are made), and a wait until that is back to a baseline, failing with what is still open.

import { waitFor } from "./wait-for.js";

/** How long teardown waits for threads and ports to finish closing before calling it a leak. */
export const TEARDOWN_GRACE_MS = 3_000;

const counters: [kind: string, count: () => number][] = [];

/** Adds to what resourceCounts() reports under `kind`: `count` says how many are open now. */
export function countResources(kind: string, count: () => number): void {
  counters.push([kind, count]);
}

/** Open resources by kind, e.g. { MessagePort: 2, Timeout: 1 }. */
export function resourceCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  // Node lists its active handles; a browser has no such list.
  const proc = (globalThis as { process?: { getActiveResourcesInfo?: () => string[] } }).process;
  for (const r of proc?.getActiveResourcesInfo?.() ?? []) counts.set(r, (counts.get(r) ?? 0) + 1);
  for (const [kind, count] of counters) counts.set(kind, (counts.get(kind) ?? 0) + count());
  return counts;
}

/** Waits for the process to be back to `baseline`; throws naming what is still open. */
export async function expectNoLeaks(baseline: Map<string, number>, graceMs = TEARDOWN_GRACE_MS): Promise<void> {
  let extra: string[] = [];
  // waitFor pauses on ref'd timers: when what is left is itself unref'd, an unref'd wait would let
  // the loop exit mid-test.
  await waitFor(
    () => {
      extra = [...resourceCounts()]
        .filter(([kind, n]) => n > (baseline.get(kind) ?? 0))
        .map(([kind, n]) => `${kind} ×${n - (baseline.get(kind) ?? 0)}`);
      return extra.length === 0;
    },
    { timeout: graceMs, interval: 10, message: () => `teardown to close everything; it leaked ${extra.join(", ")}` },
  );
}
