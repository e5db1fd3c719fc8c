// Graceful retirement on a real cluster: a worker's unique results move to the others before it
// leaves, nothing is computed again, and work in progress carries on.

import assert from "node:assert/strict";
import { test } from "node:test";
import { wait } from "../../node/index.js";
import { startCluster } from "../helpers/cluster.js";
import { within } from "../helpers/within.js";
import { waitFor } from "../helpers/wait-for.js";

const MiB = 1 << 20;

test("retiring a worker holding 1 GB of unique results moves them all; nothing is recomputed", {
  timeout: 120_000,
}, async (t) => {
  await using c = await startCluster({ workers: 2 });
  const [a, b] = c.cluster.workers;
  // 16 blocks of 64 MiB, all made on worker a; each holds its index in every element.
  const make = (i: number) => new Float64Array((64 * 1024 * 1024) / 8).fill(i);
  const blocks = c.client.with({ workers: [a!.workerId], pure: false }).map(
    make,
    Array.from({ length: 16 }, (_, i) => i),
  );
  await within(wait(blocks), 60_000, "making 1 GB");
  let info = await c.client.workers();
  assert.equal(info.find((w) => w.id === a!.workerId)!.memory, 1024 * MiB);

  const t0 = performance.now();
  const result = await within(c.client.retireWorkers(a!.workerId), 60_000, "the retirement");
  const ms = performance.now() - t0;
  t.diagnostic(`retired a worker holding 1 GiB in ${Math.round(ms)} ms (scheduler: ${Math.round(result.ms)} ms)`);
  assert.deepEqual(result.retired, [a!.workerId]);
  assert.deepEqual(result.kept, []);
  assert.deepEqual(result.moved, { keys: 16, bytes: 1024 * MiB });

  info = await within(c.client.workers(), 5_000, "workers()");
  assert.deepEqual(
    info.map((w) => w.id),
    [b!.workerId],
  );
  assert.equal(info[0]!.memory, 1024 * MiB);
  // Every block is right and was computed exactly once.
  for (let i = 0; i < 16; i += 5) {
    const v = await within(blocks[i]!.result(), 30_000, `block ${i}`);
    assert.equal(v[0], i);
    assert.equal(v[v.length - 1], i);
  }
  for (const f of blocks) {
    const story = await c.client.story(f.key);
    assert.equal(
      story.filter((e) => e.finish === "processing").length,
      1,
      `${f.key} computed again: ${story.map((e) => `${e.start}>${e.finish}`).join(", ")}`,
    );
  }
  await within(a!.exited, 5_000, "the retired thread's exit");
});

test("a retirement during a running graph: queued tasks move, the results are right, nothing is lost", {
  timeout: 60_000,
}, async () => {
  await using c = await startCluster({ workers: 3 });
  const slowInc = async (x: number) => {
    await new Promise((r) => setTimeout(r, 5));
    return x + 1;
  };
  const xs = c.client.map(
    slowInc,
    Array.from({ length: 300 }, (_, i) => i),
  );
  const total = c.client.submit((...v: number[]) => v.reduce((s, x) => s + x, 0), ...xs);
  const victim = c.cluster.workers[0]!;
  await waitFor(async () => (await c.client.workers()).find((w) => w.id === victim.workerId)!.tasks.processing > 0, {
    message: "the graph running on the worker to retire",
  });
  const result = await within(c.client.retireWorkers([victim.workerId]), 30_000, "the retirement");
  assert.deepEqual(result.retired, [victim.workerId]);
  assert.equal(await within(total.result(), 30_000, "the total"), (300 * 301) / 2);
  for (const f of xs.slice(0, 20)) {
    const story = await c.client.story(f.key);
    assert.equal(
      story.filter((e) => e.finish === "memory").length,
      1,
      `${f.key}: ${story.map((e) => `${e.start}>${e.finish}`).join(", ")}`,
    );
  }
});

test("retiring the last worker keeps it and says why; unknown names are reported, not thrown", async () => {
  await using c = await startCluster({ workers: 1 });
  const f = c.client.submit((x: number) => x * 2, 21);
  await f;
  const [w] = c.cluster.workers;
  const result = await within(c.client.retireWorkers([w!.workerId, "no-such-worker"]), 5_000, "the retirement");
  assert.deepEqual(result.retired, []);
  assert.deepEqual(result.kept.map((k) => k.id).sort(), ["no-such-worker", w!.workerId].sort());
  assert.equal(await f.result(), 42);
  assert.equal(await c.client.submit((x: number) => x + 1, 1).result(), 2); // still takes work
  await assert.rejects(c.client.retireWorkers(42 as never), /retireWorkers expects worker ids/);
});

test("LocalCluster.retireWorkers resolves once the thread has exited", async () => {
  await using c = await startCluster({ workers: 2 });
  const [a] = c.cluster.workers;
  const result = await c.cluster.retireWorkers([a!.workerId]);
  assert.deepEqual(result.retired, [a!.workerId]);
  assert.equal(c.cluster.workers.length, 1);
});
