// Futures on a real local cluster (worker threads): submit, map, gather, dependencies, the Future
// API, per-task options, scatter, release of results nobody holds.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Future } from "../../node/index.js";
import { startCluster } from "../helpers/cluster.js";
import { waitFor } from "../helpers/wait-for.js";

describe("submit, map and gather", () => {
  test("submit → await gives the result; sync and async functions both work", async () => {
    await using c = await startCluster();
    assert.equal(await c.client.submit((x: number) => x + 1, 10), 11);
    const slow = c.client.submit(async (x: number) => {
      await new Promise((r) => setTimeout(r, 20));
      return x * 2;
    }, 21);
    assert.equal(await slow, 42);
  });

  test("map → gather returns results in the order of the items", async () => {
    await using c = await startCluster();
    const fs = c.client.map((x: number) => x * x, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(await c.client.gather(fs), [1, 4, 9, 16, 25, 36, 49, 64]);
  });

  test("a future passed as an argument, also nested in arrays and objects, becomes its value", async () => {
    await using c = await startCluster();
    const a = c.client.submit((x: number) => x + 1, 1);
    const b = c.client.submit((x: number) => x * 10, 2);
    const sum = c.client.submit((p: { a: number; list: number[] }) => p.a + p.list.reduce((s, v) => s + v, 0), {
      a,
      list: [b, b, 3],
    });
    assert.equal(await sum, 2 + 20 + 20 + 3);
  });

  test("results move between workers: a task runs where its input is not", async () => {
    await using c = await startCluster();
    const workers = await c.client.workers();
    assert.equal(workers.length, 2);
    const [w1, w2] = workers.map((w) => w.id);
    const big = c.client.with({ workers: w1! }).submit((n: number) => new Float64Array(n).fill(1.5), 100_000);
    const total = c.client.with({ workers: w2! }).submit((x: Float64Array) => x.reduce((s, v) => s + v, 0), big);
    assert.equal(await total, 150_000);
    const after = await c.client.workers();
    assert.ok(after.find((w) => w.id === w2)!.tasks.inMemory >= 2, "w2 holds a copy of the input and its own result");
  });

  test("typed arrays keep their type through a task and back", async () => {
    await using c = await startCluster();
    const f = c.client.submit((a: Int16Array) => a.map((v) => v * 2), new Int16Array([1, -2, 3]));
    const out = await f;
    assert.ok(out instanceof Int16Array);
    assert.deepEqual([...out], [2, -4, 6]);
  });

  test("a chain of dependent tasks computes in order", async () => {
    await using c = await startCluster();
    let f: Future<number> = c.client.submit((x: number) => x + 1, 0);
    for (let i = 0; i < 200; i++) f = c.client.submit((x: number) => x + 1, f);
    assert.equal(await f, 201);
  });
});

describe("the Future API", () => {
  test("status, done(), result(), exception() and key", async () => {
    await using c = await startCluster();
    const f = c.client.submit(async (x: number) => {
      await new Promise((r) => setTimeout(r, 50));
      return x;
    }, 7);
    assert.equal(f.status, "pending");
    assert.equal(f.done(), false);
    assert.equal(typeof f.key, "string");
    assert.equal(await f.result(), 7);
    assert.equal(f.status, "finished");
    assert.equal(f.done(), true);
    assert.equal(await f.exception(), undefined);
  });

  test("pure tasks with the same function and arguments share a key; pure: false does not", async () => {
    await using c = await startCluster();
    const add = (a: number, b: number) => a + b;
    const f1 = c.client.submit(add, 1, 2);
    const f2 = c.client.submit(add, 1, 2);
    const f3 = c.client.submit(add, 2, 1);
    assert.equal(f1.key, f2.key);
    assert.notEqual(f1.key, f3.key);
    const g1 = c.client.with({ pure: false }).submit(add, 1, 2);
    const g2 = c.client.with({ pure: false }).submit(add, 1, 2);
    assert.notEqual(g1.key, g2.key);
    assert.deepEqual(await c.client.gather([f1, f2, f3, g1, g2]), [3, 3, 3, 3, 3]);
  });

  test("an explicit key names the task", async () => {
    await using c = await startCluster();
    const f = c.client.with({ key: "my-task" }).submit((x: number) => x, 5);
    assert.equal(f.key, "my-task");
    assert.equal(await f, 5);
    const story = await c.client.story("my-task");
    assert.deepEqual(
      story.map((e) => `${e.start}>${e.finish}`),
      ["released>waiting", "waiting>processing", "processing>memory"],
    );
  });

  test("priority: higher-priority tasks queued on a busy worker run first", async () => {
    await using c = await startCluster({ workers: 1 });
    // A blocking task occupies the only worker while the others queue up behind it.
    const block = c.client.with({ pure: false }).submit(() => {
      const until = Date.now() + 150;
      while (Date.now() < until);
      return Date.now();
    });
    const stamp = (tag: number) => [tag, performance.timeOrigin + performance.now()];
    const low = c.client.with({ priority: 0, pure: false }).map(stamp, [1, 2, 3]);
    const high = c.client.with({ priority: 10, pure: false }).map(stamp, [4, 5, 6]);
    await block;
    const lowT = (await c.client.gather(low)).map((x) => x[1]!);
    const highT = (await c.client.gather(high)).map((x) => x[1]!);
    assert.ok(Math.max(...highT) <= Math.min(...lowT), `high-priority tasks ran first (high ${highT}, low ${lowT})`);
  });

  test("worker restrictions pin a task; resources pick workers that offer them", async () => {
    await using c = await startCluster({ workers: 2, resources: { slots: 1 } });
    const [w1] = await c.client.workers();
    const pinned = c.client.with({ workers: [w1!.name], pure: false }).map((x: number) => x, [1, 2, 3, 4]);
    await c.client.gather(pinned);
    const info = await c.client.workers();
    assert.equal(info.find((w) => w.id === w1!.id)!.tasks.done, 4, "all four ran on the pinned worker");
    const needs = c.client.with({ resources: { slots: 1 } }).submit((x: number) => x * 3, 3);
    assert.equal(await needs, 9);
  });

  test("a task needing a resource no worker has waits until one joins", async () => {
    await using c = await startCluster({ workers: 1 });
    const f = c.client.with({ resources: { gpu: 1 } }).submit((x: number) => x + 1, 1);
    await waitFor(async () => (await c.client.story(f.key)).some((e) => e.finish === "no-worker"), {
      message: "the task to wait for a worker with a gpu",
    });
    assert.equal(f.status, "pending");
    assert.deepEqual(
      (await c.client.story(f.key)).map((e) => e.finish),
      ["waiting", "no-worker"],
    );
  });
});

describe("scatter and workers()", () => {
  test("scatter sends data to workers and returns futures usable as arguments", async () => {
    await using c = await startCluster();
    const [a, b] = (await c.client.scatter<unknown>([new Float64Array([1, 2, 3]), { n: 4 }])) as [
      Future<Float64Array>,
      Future<{ n: number }>,
    ];
    assert.ok(a instanceof Future && b instanceof Future);
    assert.equal(a.status, "finished");
    const f = c.client.submit((x: Float64Array, o: { n: number }) => x.reduce((s, v) => s + v, 0) * o.n, a, b);
    assert.equal(await f, 24);
    const [one] = await c.client.scatter(["just one value"]);
    assert.ok(one instanceof Future, "the array form gives futures, also for a single value");
    assert.equal(await one, "just one value");
  });

  test("scatter of a single value (not an array) is refused, saying how to scatter one", async () => {
    await using c = await startCluster();
    await assert.rejects(c.client.scatter("x" as never), /const \[f\] = await client.scatter\(\[value\]\)/);
  });

  test("scatter with broadcast puts a copy on every worker", async () => {
    await using c = await startCluster({ workers: 3 });
    await c.client.scatter([new Uint8Array(1000)], { broadcast: true });
    const info = await c.client.workers();
    assert.deepEqual(
      info.map((w) => w.memory >= 1000),
      [true, true, true],
    );
  });

  test("workers() reports id, kind, tasks and memory", async () => {
    await using c = await startCluster({ workers: 2 });
    await c.client.gather(c.client.map((n: number) => new Uint8Array(n), [5000, 5001]));
    const info = await c.client.workers();
    assert.equal(info.length, 2);
    for (const w of info) {
      assert.equal(w.kind, "thread");
      assert.match(w.id, /^worker-/);
      assert.equal(typeof w.address, "string");
    }
    assert.equal(
      info.reduce((s, w) => s + w.tasks.done, 0),
      2,
    );
    assert.ok(info.reduce((s, w) => s + w.memory, 0) >= 10_000);
  });
});

describe("results the client receives are its own", () => {
  test("mutating a large result after await does not change the cluster's copy", async () => {
    await using c = await startCluster();
    const f = c.client.submit((n: number) => new Float64Array(n).fill(1), 100_000); // 800 KB: shared between workers, not with clients
    const mine = await f;
    mine[0] = 1000;
    mine.sort();
    const sum = c.client.submit((a: Float64Array) => a.reduce((s, v) => s + v, 0), f);
    assert.equal(await sum, 100_000);
    assert.equal((await f)[0], 1, "awaiting again gives the cluster's unchanged copy");
  });

  test("a quick result is not held back by a long task queued behind it on the same worker", async () => {
    await using c = await startCluster({ workers: 1 });
    const quick = c.client.with({ pure: false }).submit(() => 1);
    const long = c.client.with({ pure: false }).submit(() => {
      const until = Date.now() + 1000;
      while (Date.now() < until);
      return 2;
    });
    const t = performance.now();
    await quick;
    const quickMs = performance.now() - t;
    await long;
    assert.ok(quickMs < 500, `the quick result arrived after ${quickMs.toFixed(0)} ms, not when the long task ended`);
  });
});

describe("releasing results", () => {
  test("release() of the last future for a key frees its result on the workers", async () => {
    await using c = await startCluster();
    const f = c.client.submit((n: number) => new Uint8Array(n), 200_000);
    await f;
    const held = async () => (await c.client.workers()).reduce((s, w) => s + w.memory, 0);
    assert.ok((await held()) >= 200_000);
    f.release();
    await waitFor(async () => (await held()) === 0, { message: "the result is freed" });
  });

  test("a garbage-collected future releases its result", {
    skip: typeof globalThis.gc !== "function" && "run with --expose-gc",
  }, async () => {
    await using c = await startCluster();
    const held = async () => (await c.client.workers()).reduce((s, w) => s + w.memory, 0);
    await (async () => {
      const f = c.client.submit((n: number) => new Uint8Array(n), 300_000);
      await f;
    })();
    assert.ok((await held()) >= 300_000);
    await waitFor(
      async () => {
        globalThis.gc!();
        await new Promise((r) => setTimeout(r, 10));
        return (await held()) === 0;
      },
      { message: "the result is freed after its future is collected" },
    );
  });

  test("a result another future still needs as input is kept until that task is done", async () => {
    await using c = await startCluster();
    const a = c.client.submit((n: number) => new Uint8Array(n).fill(2), 100_000);
    const b = c.client.submit(async (x: Uint8Array) => {
      await new Promise((r) => setTimeout(r, 100));
      return x[0]! + 1;
    }, a);
    a.release();
    assert.equal(await b, 3);
  });
});
