// Memory limits on a real cluster: results spill to a temporary directory and come back right, a
// worker whose memory is full pauses and its tasks run elsewhere, and nothing is left on disk.

import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { test } from "node:test";
import { startCluster } from "../helpers/cluster.js";
import { within } from "../helpers/within.js";
import { waitFor } from "../helpers/wait-for.js";

const MB = 1_000_000;
const spillDirs = () => readdirSync(tmpdir()).filter((d) => d.startsWith("meshwork-spill-"));

test("results over 60 % of the memory limit spill to disk, come back right, and the directory goes with the worker", {
  timeout: 60_000,
}, async () => {
  const before = new Set(spillDirs());
  {
    await using c = await startCluster({ workers: 1, memoryLimit: "40MB", heartbeatMs: 50 });
    const block = (i: number) => new Float64Array(1_000_000).fill(i); // 8 MB
    const fs = c.client.map(
      block,
      Array.from({ length: 10 }, (_, i) => i),
    );
    await within(c.client.gather(fs.slice(9)), 20_000, "the blocks");
    // A heartbeat that reports all ten blocks and the spills.
    const [info] = await waitFor(
      async () => {
        const ws = await c.client.workers();
        return ws[0]!.memory === 80 * MB && ws[0]!.spilled >= 56 * MB && ws;
      },
      { message: "a heartbeat with the ten blocks" },
    );
    assert.equal(info!.memory, 80 * MB);
    assert.ok(info!.spilled >= 56 * MB, `spilled ${info!.spilled}`); // at most 24 MB (60 %) stay in memory
    const mine = spillDirs().filter((d) => !before.has(d));
    assert.equal(mine.length, 1);
    assert.ok(readdirSync(`${tmpdir()}/${mine[0]}`).length >= 7);
    // Spilled blocks are read back for the client and for tasks that need them.
    const firsts = (await c.client.gather(fs)).map((a) => a[999_999]);
    assert.deepEqual(
      firsts,
      Array.from({ length: 10 }, (_, i) => i),
    );
    const sum = c.client.submit((...xs: Float64Array[]) => xs.reduce((s, x) => s + x[0]!, 0), ...fs);
    assert.equal(await sum.result(), 45);
  }
  assert.deepEqual(
    spillDirs().filter((d) => !before.has(d)),
    [],
    "spill directories left behind",
  );
});

test("a worker over 80 % of its limit pauses: new tasks go to the other worker, and it resumes when freed", {
  timeout: 60_000,
}, async () => {
  await using c = await startCluster({ workers: 2, memoryLimit: "10MB", heartbeatMs: 50 });
  const [a, b] = c.cluster.workers;
  // 9 MB on a: too big to spill below the 6 MB target, so a pauses.
  const big = c.client.with({ workers: [a!.workerId] }).submit((n: number) => new Uint8Array(n), 9 * MB);
  await big;
  await waitFor(async () => (await c.client.workers()).find((w) => w.id === a!.workerId)!.paused, {
    message: "a heartbeat saying a paused",
  });
  let info = await c.client.workers();
  assert.equal(info.find((w) => w.id === a!.workerId)!.paused, true);
  const small = c.client.map(
    (i: number) => i + 1,
    Array.from({ length: 20 }, (_, i) => i),
  );
  assert.deepEqual(
    await within(c.client.gather(small), 10_000, "tasks while a is paused"),
    Array.from({ length: 20 }, (_, i) => i + 1),
  );
  info = await c.client.workers();
  assert.equal(info.find((w) => w.id === a!.workerId)!.tasks.done, 1, "the paused worker ran nothing more");
  assert.equal(info.find((w) => w.id === b!.workerId)!.tasks.done, 20);
  big.release();
  await waitFor(async () => !(await c.client.workers()).find((w) => w.id === a!.workerId)!.paused, {
    timeout: 5_000,
    interval: 50,
    message: "resuming",
  });
});
