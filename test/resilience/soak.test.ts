// Soak: 100,000 tasks streamed through asCompleted (1,000 in flight, each finished one replaced
// by the next with ac.add) while workers are killed and replaced. Every result is right, and the
// scheduler's memory stays bounded: tasks are forgotten as their futures are released.

import assert from "node:assert/strict";
import { test } from "node:test";
import { asCompleted, type Future } from "../../node/index.js";
import { startCluster } from "../helpers/cluster.js";
import { waitFor } from "../helpers/wait-for.js";

const TOTAL = 100_000;
const WINDOW = 1_000;

function heapAfterGc(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

test("soak: 100,000 tasks through asCompleted with add, workers killed at random, memory bounded", {
  timeout: 300_000,
}, async (t) => {
  await using c = await startCluster({ workers: 3 });
  const s = c.cluster.scheduler.state;
  const add = (a: number, b: number) => a + b;
  const expected = new Map<Future<number>, number>();
  let next = 0;
  const submitNext = () => {
    const i = next++;
    const f = c.client.submit(add, i, 1);
    expected.set(f, i + 1);
    return f;
  };
  const ac = asCompleted<number>(Array.from({ length: WINDOW }, submitNext));

  let kills = 0;
  let stop = false;
  const chaos = (async () => {
    while (!stop) {
      await new Promise((r) => setTimeout(r, 400)); // the chaos's pace: a kill every 400 ms
      if (stop) break;
      const ws = c.cluster.workers;
      if (ws.length === 0) continue;
      await c.cluster.killWorker(ws[Math.floor(Math.random() * ws.length)]!.workerId);
      kills++;
      await c.cluster.addWorker();
    }
  })();

  let done = 0;
  let wrong = 0;
  let maxTasks = 0;
  const heap: number[] = [];
  const t0 = performance.now();
  try {
    // next() rather than for-await, whose type unwraps the (thenable) futures it yields.
    for (let r = await ac.next(); !r.done; r = await ac.next()) {
      const f = r.value;
      const v = await f.result();
      if (v !== expected.get(f)) wrong++;
      expected.delete(f);
      f.release();
      done++;
      if (next < TOTAL) ac.add(submitNext());
      if (done % 1000 === 0) maxTasks = Math.max(maxTasks, s.tasks.size);
      if (done % 20_000 === 0) heap.push(heapAfterGc());
      if (done === TOTAL) break;
    }
  } finally {
    stop = true;
    await chaos;
  }
  const seconds = (performance.now() - t0) / 1000;
  const mb = heap.map((h) => Math.round(h / 1e5) / 10);
  t.diagnostic(
    `${TOTAL} tasks in ${seconds.toFixed(1)} s (${Math.round(TOTAL / seconds)}/s) with ${kills} kills; scheduler tasks at most ${maxTasks}; heap after GC every 20,000 (MB): ${mb.join(", ")}`,
  );
  assert.equal(done, TOTAL);
  assert.equal(wrong, 0);
  assert.ok(kills >= 3, `only ${kills} kills happened`);
  assert.ok(maxTasks <= 2 * WINDOW, `the scheduler held ${maxTasks} tasks with ${WINDOW} in flight`);
  // Bounded: the heap after 100,000 tasks is within 20 MB of the heap after 20,000.
  assert.ok(heap[heap.length - 1]! - heap[0]! < 20e6, `heap grew from ${mb[0]} to ${mb[mb.length - 1]} MB`);
  // Everything released: the scheduler forgets every task.
  await waitFor(() => s.tasks.size === 0, {
    timeout: 2_000,
    message: () => `the scheduler to forget ${s.tasks.size} tasks`,
  });
  assert.equal(s.tasks.size, 0);
});
