// Heartbeats with a time-to-live: a worker the scheduler stops hearing from is removed as lost
// (and its work recomputed elsewhere); one that keeps beating stays.

import assert from "node:assert/strict";
import { test } from "node:test";
import { startCluster } from "../helpers/cluster.js";
import { within } from "../helpers/within.js";
import { waitFor } from "../helpers/wait-for.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a worker silent for longer than workerTtlMs is removed and closes; one that beats stays", {
  timeout: 30_000,
}, async () => {
  await using beating = await startCluster({ workers: 1, workerTtlMs: 400, heartbeatMs: 100 });
  await using silent = await startCluster({ workers: 1, workerTtlMs: 400, heartbeatMs: 60_000 });
  for (const c of [beating, silent]) assert.equal(await c.client.submit((x: number) => x + 1, 1).result(), 2);
  await sleep(1_200); // a fixed wait: three TTLs in which the beating worker must not be removed
  assert.equal((await beating.client.workers()).length, 1);
  assert.equal((await silent.client.workers()).length, 0);
  const [w] = silent.cluster.workers;
  if (w) await within(w.exited, 5_000, "the expired worker's exit");
  assert.equal(silent.cluster.workers.length, 0);
});

test("the result held by an expired worker is computed again on a worker that joins", { timeout: 30_000 }, async () => {
  await using c = await startCluster({ workers: 1, workerTtlMs: 300, heartbeatMs: 60_000 });
  const f = c.client.submit((n: number) => new Float64Array(n).fill(7), 10_000);
  await f;
  await waitFor(async () => (await c.client.story(f.key)).some((e) => e.start === "memory"), {
    message: "the worker to expire, and its result with it",
  });
  const story = (await c.client.story(f.key)).map((e) => `${e.start}>${e.finish}`);
  assert.ok(story.includes("memory>released"), story.join(", "));
  await c.cluster.addWorker(); // this one beats too rarely as well, but answers within its TTL
  const v = await within(f.result(), 5_000, "the recomputed result");
  assert.equal(v[9_999], 7);
});

test("workerTtlMs must be a positive number", async () => {
  const { Scheduler } = await import("../../src/internal.js");
  await assert.rejects(Scheduler.start({ workerTtlMs: 0 }), /workerTtlMs must be a number of milliseconds > 0/);
});
