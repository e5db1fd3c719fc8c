// LocalCluster: starts a scheduler and worker threads in this process; close() leaves nothing
// running, so a script that closes its cluster exits by itself.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ArgumentError, Client, LocalCluster } from "../../node/index.js";
import { expectNoLeaks, resourceCounts } from "../helpers/cluster.js";
import { runNode } from "../helpers/run.js";
import { waitFor } from "../helpers/wait-for.js";

test("a script that starts and closes a cluster exits by itself, promptly", async () => {
  const r = await runNode(["--import", "tsx", "test/fixtures/start-and-close.ts"], 20_000);
  assert.equal(r.timedOut, false, `the process did not exit by itself: ${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /result 42\nclosed/);
});

test("start with 0 workers, then add some; workers lists them; close is idempotent", async () => {
  const baseline = resourceCounts();
  const cluster = await LocalCluster.start({ workers: 0 });
  const client = await Client.connect(cluster.address);
  const f = client.submit((x: number) => x + 1, 1);
  await new Promise((r) => setTimeout(r, 50)); // a fixed wait: what is asserted is that nothing runs it
  assert.equal(f.status, "pending", "no worker yet: the task waits");
  const w = await cluster.addWorker();
  assert.equal(await f, 2);
  assert.deepEqual(
    cluster.workers.map((x) => x.workerId),
    [w.workerId],
  );
  await client.close();
  await cluster.close();
  await cluster.close();
  await expectNoLeaks(baseline);
});

test("bad options are ArgumentErrors", async () => {
  await assert.rejects(LocalCluster.start({ workers: -1 }), ArgumentError);
  await assert.rejects(LocalCluster.start({ workers: 1, memoryLimit: "lots" }), /cannot read "lots" as a size/);
  await assert.rejects(Client.connect(42 as never), ArgumentError);
});

test("killWorker ends a worker abruptly; the scheduler notices and keeps going", async () => {
  const cluster = await LocalCluster.start({ workers: 2 });
  const client = await Client.connect(cluster.address);
  try {
    const [a] = cluster.workers;
    await cluster.killWorker(a!.workerId);
    await assert.rejects(cluster.killWorker("worker-nope"), /no worker worker-nope/);
    await waitFor(async () => (await client.workers()).length === 1, { timeout: 10_000, message: "one worker left" });
    assert.equal((await client.workers()).length, 1);
    assert.equal(await client.submit((x: number) => x * 3, 3), 9);
  } finally {
    await client.close();
    await cluster.close();
  }
});

test("worker n is thread n, run after run: threads join in the order of their names, and clients do not take worker numbers", async () => {
  for (let run = 0; run < 3; run++) {
    const cluster = await LocalCluster.start({ workers: 4 });
    const client = await Client.connect(cluster.address); // client-1: numbered apart from the workers
    try {
      const pairs = (w: { name: string; id: string }) => `${w.name}=${w.id}`;
      const expected = ["thread-1=worker-1", "thread-2=worker-2", "thread-3=worker-3", "thread-4=worker-4"];
      assert.deepEqual(
        cluster.workers.map((w) => pairs({ name: w.name, id: w.workerId })).sort(),
        expected,
        `run ${run}`,
      );
      assert.deepEqual((await client.workers()).map(pairs).sort(), expected, `run ${run}, as the scheduler lists them`);
      // Added later, after a client joined, and two at once: still paired.
      const more = await Promise.all([cluster.addWorker(), cluster.addWorker()]);
      assert.deepEqual(more.map((w) => pairs({ name: w.name, id: w.workerId })).sort(), [
        "thread-5=worker-5",
        "thread-6=worker-6",
      ]);
    } finally {
      await client.close();
      await cluster.close();
    }
  }
});
