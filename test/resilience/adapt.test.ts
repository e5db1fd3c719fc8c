// Adaptive scaling of a LocalCluster: it grows while tasks queue, shrinks by graceful retirement
// when idle (keeping the results), and does not shrink on a single quiet check.

import assert from "node:assert/strict";
import { test } from "node:test";
import { adaptiveTarget, SchedulerState } from "../../src/internal.js";
import { addWorker, cluster, submit, task } from "../helpers/scheduler.js";
import { startCluster } from "../helpers/cluster.js";
import { within } from "../helpers/within.js";
import { waitFor } from "../helpers/wait-for.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const bounds = { minimum: 0, maximum: 10, targetDurationMs: 100, memoryFraction: 0.6 };

test("adaptiveTarget: queued work over the target duration, within bounds; one worker for work nobody can take", () => {
  const s = cluster([]);
  assert.equal(adaptiveTarget(s, bounds), 0);
  submit(
    s,
    Array.from({ length: 30 }, (_, i) => task(`inc-${i}`)),
  );
  assert.equal(adaptiveTarget(s, bounds), 1, "no workers: unrunnable work asks for one");
  addWorker(s, "w1");
  s.durations.set("inc", 20); // 30 tasks × 20 ms = 600 ms of work
  assert.equal(adaptiveTarget(s, bounds), 6);
  assert.equal(adaptiveTarget(s, { ...bounds, maximum: 4 }), 4);
  assert.equal(adaptiveTarget(new SchedulerState(), { ...bounds, minimum: 2 }), 2);
});

test("adapt grows a LocalCluster while tasks queue, then shrinks it when idle without losing results", {
  timeout: 60_000,
}, async () => {
  await using c = await startCluster({ workers: 0 });
  await c.cluster.adapt({ minimum: 0, maximum: 3, intervalMs: 100, targetDurationMs: 200, wait: 3 });
  const busy = (i: number) => {
    const end = performance.now() + 50;
    while (performance.now() < end);
    return i * 2;
  };
  const fs = c.client.map(
    busy,
    Array.from({ length: 60 }, (_, i) => i),
  );
  let most = 0;
  const watch = setInterval(() => (most = Math.max(most, c.cluster.workers.length)), 20);
  try {
    assert.deepEqual(
      await within(c.client.gather(fs), 30_000, "the tasks"),
      Array.from({ length: 60 }, (_, i) => i * 2),
    );
  } finally {
    clearInterval(watch);
  }
  assert.equal(most, 3, "grew to the maximum while work queued");
  // Idle: it shrinks, but keeps one worker while results are held (they move to it).
  await waitFor(() => c.cluster.workers.length <= 1, {
    timeout: 10_000,
    interval: 50,
    message: "shrinking to one worker",
  });
  assert.deepEqual(
    await c.client.gather(fs),
    Array.from({ length: 60 }, (_, i) => i * 2),
  );
  for (const f of fs.slice(0, 10)) {
    const story = await c.client.story(f.key);
    assert.equal(story.filter((e) => e.finish === "processing").length, 1, `${f.key} computed again`);
  }
  // Nothing held any more: down to the minimum.
  for (const f of fs) f.release();
  await waitFor(() => c.cluster.workers.length === 0, { timeout: 10_000, interval: 50, message: "shrinking to zero" });
  // And back up when work comes.
  assert.equal(
    await within(c.client.submit((x: number) => x + 1, 41).result(), 10_000, "a task after scaling to zero"),
    42,
  );
});

test("adapt waits for several quiet checks before retiring a worker", { timeout: 30_000 }, async () => {
  await using c = await startCluster({ workers: 2 });
  await c.cluster.adapt({ minimum: 0, maximum: 2, intervalMs: 200, wait: 5 });
  await sleep(500); // two or three quiet checks: not yet (a fixed wait: what is asserted is that nothing retires)
  assert.equal(c.cluster.workers.length, 2);
  await waitFor(() => c.cluster.workers.length === 0, {
    timeout: 10_000,
    interval: 50,
    message: "shrinking after five quiet checks",
  });
  await c.cluster.adapt(false);
});

test("adapt refuses nonsense bounds with a clear error", async () => {
  await using c = await startCluster({ workers: 0 });
  await assert.rejects(c.cluster.adapt({ minimum: 3, maximum: 1 }), /minimum \(3\) is above maximum \(1\)/);
  await assert.rejects(c.cluster.adapt({ maximum: -1 }), /whole numbers ≥ 0/);
  await assert.rejects(c.cluster.adapt({ wait: 0 }), /wait must be a whole number ≥ 1/);
});
