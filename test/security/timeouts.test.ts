// Workers that hold work hostage (issue 20, Build 6), over real sockets: a tab-token peer that
// takes tasks and never answers (while its connection stays open) has them taken back after the
// scheduler's default timeout for untrusted workers, and a peer that ignores steal-requests loses
// its queue. Honest work finishes right in both cases.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { WorkerGroup } from "../../node/hosts/worker-group.js";
import { Hostile } from "./hostile.js";
import { TAB, useGuardedCluster, WORKER } from "./cluster.js";
import { waitFor } from "../helpers/wait-for.js";

describe("workers that hold work hostage", () => {
  const c = useGuardedCluster({ scheduler: { untrustedTaskTimeoutMs: 800, stealAnswerTimeoutMs: 1_000 } });

  /** A tab-token peer that claims 8 threads and answers nothing; counts the tasks it is sent. */
  async function silent(name: string, from: string): Promise<{ h: Hostile; got: () => number }> {
    const h = await Hostile.open(c.scheduler.address, from);
    h.hello("worker", TAB, {
      worker: {
        address: `ws://127.0.0.1:${20_000 + Math.floor(Math.random() * 30_000)}`,
        kind: "browser",
        nthreads: 8,
        memoryLimit: 0,
        resources: {},
        name,
      },
    });
    assert.equal((await h.next())?.op, "welcome");
    let got = 0;
    void (async () => {
      while (h.isOpen) {
        const m = (await h.next(500)) as { op: string } | null;
        if (m?.op === "compute-task") got++;
      }
    })();
    return { h, got: () => got };
  }

  test("tasks a tab takes and never answers are taken back after the untrusted default timeout and finish elsewhere", async () => {
    const hostage = await silent("hostage-taker", "127.0.7.1");
    const xs = Array.from({ length: 30 }, (_, i) => i);
    const futures = c.client.map((x: number) => x + 1, xs, { pure: false });
    await waitFor(() => hostage.got() > 0, { message: "tasks sent to the silent tab" });
    assert.ok(hostage.got() > 0, "the silent tab was sent tasks");
    const workers = new WorkerGroup({
      scheduler: c.scheduler.address,
      listen: "ws://127.0.0.1:0",
      kind: "node",
      namePrefix: "honest",
      token: WORKER,
      logLevel: "silent",
    });
    try {
      await workers.grow(1);
      assert.deepEqual(
        await Promise.all(futures),
        xs.map((x) => x + 1),
      );
      assert.equal(hostage.h.isOpen, true, "it was not disconnected, only relieved of its tasks");
    } finally {
      hostage.h.close();
      await workers.close();
    }
  });

  test("a per-task timeout takes a task back from a trusted worker that sits on it", async () => {
    // A peer with the worker token (trusted: no default timeout) that takes tasks and never answers.
    const h = await Hostile.open(c.scheduler.address, "127.0.7.2");
    h.hello("worker", WORKER, {
      worker: { address: "ws://127.0.0.1:1", kind: "node", nthreads: 1, memoryLimit: 0, resources: {}, name: "sitter" },
    });
    assert.equal((await h.next())?.op, "welcome");
    const f = c.client.with({ timeout: 500, pure: false }).submit((x: number) => x * 2, 21);
    for (;;) {
      const m = (await h.next(3000)) as { op: string } | null;
      assert.ok(m, "the sitter was sent the task");
      if (m.op === "compute-task") break;
    }
    const workers = new WorkerGroup({
      scheduler: c.scheduler.address,
      listen: "ws://127.0.0.1:0",
      kind: "node",
      namePrefix: "after",
      token: WORKER,
      logLevel: "silent",
    });
    try {
      await workers.grow(1);
      assert.equal(await f, 42);
      const story = await c.client.story(f.key);
      assert.ok(
        story.some((e) => /timeout of 500 ms on sitter/.test(e.note ?? "")),
        JSON.stringify(story),
      );
    } finally {
      h.close();
      await workers.close();
    }
  });

  test("a worker that ignores steal-requests loses its queue to an idle worker, keeps its connection, and the job finishes right", async () => {
    // A peer with the worker token (trusted: no default timeout) that takes tasks and answers nothing, steal-requests included.
    const h = await Hostile.open(c.scheduler.address, "127.0.7.3");
    h.hello("worker", WORKER, {
      worker: { address: "ws://127.0.0.1:2", kind: "node", nthreads: 1, memoryLimit: 0, resources: {}, name: "sloth" },
    });
    assert.equal((await h.next())?.op, "welcome");
    let tasks = 0;
    let steals = 0;
    const reading = (async () => {
      while (h.isOpen) {
        const m = (await h.next(500)) as { op: string } | null;
        if (m?.op === "compute-task") tasks++;
        if (m?.op === "steal-request") steals++;
      }
    })();
    const xs = Array.from({ length: 20 }, (_, i) => i);
    // A named function: its tasks are a group of their own, whose cost the scheduler has not learned
    // (1 ms each), so the sloth's queue of 20 is worth stealing from. As "lambda" they took the cost
    // the earlier tests' tasks taught it (about 0.11 ms: a queue of 2.2 ms, just over the 2 ms a
    // steal must gain); a little quicker, no steal was asked, and the test failed once.
    const sevenTimes = (x: number) => x * 7;
    const futures = c.client.map(sevenTimes, xs, { pure: false });
    await waitFor(() => tasks >= xs.length, { message: () => `all ${xs.length} tasks sent to the sloth (${tasks})` });
    const workers = new WorkerGroup({
      scheduler: c.scheduler.address,
      listen: "ws://127.0.0.1:0",
      kind: "node",
      namePrefix: "thief",
      token: WORKER,
      logLevel: "silent",
    });
    try {
      await workers.grow(1);
      assert.deepEqual(
        await Promise.all(futures),
        xs.map((x) => x * 7),
      );
      assert.ok(steals > 0, "the idle worker's arrival made the scheduler ask the sloth for tasks back");
      assert.equal(h.isOpen, true, "it was not disconnected, only relieved of its queue");
      const story = await c.client.story(futures[xs.length - 1]!.key);
      assert.ok(
        story.some((e) => /sloth did not answer a steal-request within 1000 ms/.test(e.note ?? "")),
        JSON.stringify(story),
      );
    } finally {
      h.close();
      await reading;
      await workers.close();
    }
  });
});
