// Leak checks for tests: what handles (threads, ports, timers) the process holds, and a wait
// until it is back to a baseline, failing with what is still open.

/** How long teardown waits for threads and ports to finish closing before calling it a leak. */
export const TEARDOWN_GRACE_MS = 3_000;

/** Active handles by kind, e.g. { MessagePort: 2, Timeout: 1 }. */
export function resourceCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

/** Waits for the process to be back to `baseline`; throws naming what is still open. */
export async function expectNoLeaks(baseline: Map<string, number>, graceMs = TEARDOWN_GRACE_MS): Promise<void> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const extra = [...resourceCounts()].filter(([kind, n]) => n > (baseline.get(kind) ?? 0)).map(([kind, n]) => `${kind} ×${n - (baseline.get(kind) ?? 0)}`);
    if (extra.length === 0) return;
    if (Date.now() > deadline) throw new Error(`teardown leaked: ${extra.join(", ")}`);
    // A ref'd timer: when what is left is itself unref'd, an unref'd wait would let the loop exit mid-test.
    await new Promise((r) => setTimeout(r, 10));
  }
}
