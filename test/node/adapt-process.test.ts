// `meshwork worker --adapt MIN:MAX`: the scheduler grows a worker process's threads while work
// queues and retires them (gracefully, keeping results) when idle, down to MIN.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Client, Scheduler } from "../../node/index.js";
import { startNode } from "../helpers/process.js";
import { within } from "../helpers/within.js";
import { waitFor } from "../helpers/wait-for.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cli = "dist/node/cli.js";

test("a worker process started with --adapt 1:3 grows to 3 threads with the work and back to 1 when idle", {
  timeout: 90_000,
}, async () => {
  const scheduler = await Scheduler.start({
    address: "ws://127.0.0.1:0",
    token: "c",
    workerToken: "w",
    adapt: { intervalMs: 100, targetDurationMs: 200, wait: 3 },
  });
  try {
    await using proc = startNode([cli, "worker", scheduler.address, "--token", "w", "--adapt", "1:3"]);
    await proc.waitFor(/1 thread\(s\) joined .* \(adapting between 1 and 3\)/);
    await using client = await Client.connect(scheduler.address, { token: "c" });
    const busy = (i: number) => {
      const end = performance.now() + 50;
      while (performance.now() < end);
      return i * 2;
    };
    const fs = client.map(
      busy,
      Array.from({ length: 80 }, (_, i) => i),
    );
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, scheduler.state.workers.size)), 20);
    try {
      assert.deepEqual(
        await within(client.gather(fs), 60_000, "the tasks"),
        Array.from({ length: 80 }, (_, i) => i * 2),
      );
    } finally {
      clearInterval(watch);
    }
    assert.equal(most, 3, "grew to the process's maximum");
    await waitFor(() => scheduler.state.workers.size <= 1, {
      timeout: 20_000,
      interval: 50,
      message: "shrinking to the minimum",
    });
    await sleep(500); // a fixed wait: what is asserted is that it does not shrink further
    assert.equal(scheduler.state.workers.size, 1, "never below the minimum");
    // The results of the retired threads moved to the one left: nothing was computed twice.
    assert.deepEqual(
      await client.gather(fs),
      Array.from({ length: 80 }, (_, i) => i * 2),
    );
    for (const f of fs.slice(0, 10))
      assert.equal(scheduler.state.storyOf(f.key).filter((e) => e.finish === "processing").length, 1);
  } finally {
    await scheduler.close();
  }
});

test("meshwork worker refuses a malformed --adapt", async () => {
  for (const bad of ["3", "0:2", "4:2", "a:b"]) {
    await using proc = startNode([cli, "worker", "ws://127.0.0.1:1", "--adapt", bad]);
    assert.equal(await proc.exited, 2, bad);
    assert.match(proc.output(), /--adapt/);
  }
});
