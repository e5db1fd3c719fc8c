// asCompleted and wait: futures in completion order, add() while iterating, batches, timeouts.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ArgumentError, asCompleted, RemoteError, TimeoutError, wait, type Future } from "../../node/index.js";
import { startCluster } from "../helpers/cluster.js";

const sleepThen = async (ms: number) => {
  await new Promise((r) => setTimeout(r, ms));
  return ms;
};

describe("asCompleted", () => {
  test("yields futures in the order they finish, not the order given", async () => {
    await using c = await startCluster({ workers: 3 });
    const fs = c.client.map(sleepThen, [300, 10, 150]);
    const order: number[] = [];
    for await (const f of asCompleted(fs)) order.push(await f);
    assert.deepEqual(order, [10, 150, 300]);
  });

  test("add() accepts futures while iterating, and the loop waits for them", async () => {
    await using c = await startCluster();
    const inc = (x: number) => x + 1;
    const ac = asCompleted(c.client.map(inc, [0, 100, 200]));
    const seen: number[] = [];
    for await (const f of ac) {
      const x = await f;
      seen.push(x);
      if (x % 100 < 5) ac.add(c.client.submit(inc, x));
    }
    assert.deepEqual(
      seen.sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 101, 102, 103, 104, 105, 201, 202, 203, 204, 205],
    );
    assert.equal(ac.count, 0);
  });

  test("a search keeps N futures in flight and ends when no more are added", async () => {
    await using c = await startCluster();
    const step = (x: number) => (x * 7 + 3) % 1000;
    const ac = asCompleted(c.client.map(step, [1, 2, 3, 4]));
    let submitted = 4;
    let maxInFlight = 0;
    for await (const f of ac) {
      maxInFlight = Math.max(maxInFlight, ac.count + 1);
      if (submitted < 40) {
        ac.add(c.client.submit(step, await f));
        submitted++;
      }
    }
    assert.equal(submitted, 40);
    assert.ok(maxInFlight <= 4, `never more than 4 in flight (saw ${maxInFlight})`);
  });

  test("withResults yields [future, result] pairs and throws the first task error", async () => {
    await using c = await startCluster();
    const pairs: [Future<number>, number][] = [];
    for await (const pair of asCompleted(
      c.client.map((x: number) => x * 3, [1, 2]),
      { withResults: true },
    ))
      pairs.push(pair);
    assert.deepEqual(pairs.map(([, v]) => v).sort(), [3, 6]);
    const failing = c.client.submit((x: number) => {
      throw new Error(`nope ${x}`);
    }, 1);
    await assert.rejects(async () => {
      for await (const pair of asCompleted([failing], { withResults: true })) void pair;
    }, RemoteError);
  });

  test("batches() yields everything finished since the last batch", async () => {
    await using c = await startCluster();
    const fs = c.client.map((x: number) => x, [1, 2, 3, 4, 5, 6]);
    await Promise.all(fs.map((f) => f.settled()));
    const batches: number[] = [];
    for await (const batch of asCompleted(fs).batches()) batches.push(batch.length);
    assert.deepEqual(batches, [6], "all six were done, so they come as one batch");
  });

  test("concurrent next() calls each get a future; none is left hanging", async () => {
    await using c = await startCluster();
    const ac = asCompleted(c.client.map(sleepThen, [30, 60]));
    const [a, b] = await Promise.all([ac.next(), ac.next()]);
    assert.equal(a.done, false);
    assert.equal(b.done, false);
    assert.deepEqual((await ac.next()).done, true);
  });

  test("batches() with results loses no good result to an error in the same batch", async () => {
    await using c = await startCluster();
    const good = c.client.map((x: number) => x * 10, [1, 2, 3]);
    const bad = c.client.submit(() => {
      throw new Error("bad one");
    });
    await Promise.all([...good, bad].map((f) => f.settled()));
    const batches = asCompleted([...good, bad], { withResults: true }).batches();
    const seen: number[] = [];
    let errors = 0;
    // Keep asking after the error: every good result must still come, in some batch.
    for (;;) {
      try {
        const r = await batches.next();
        if (r.done) break;
        for (const [, v] of r.value) seen.push(v as number);
      } catch (err) {
        assert.match(String(err), /bad one/);
        errors++;
      }
    }
    assert.equal(errors, 1);
    assert.deepEqual(
      seen.sort((x, y) => x - y),
      [10, 20, 30],
    );
  });

  test("break stops the iteration; add() rejects what is not a future", async () => {
    await using c = await startCluster();
    const ac = asCompleted(c.client.map((x: number) => x, [1, 2, 3]));
    let n = 0;
    for await (const f of ac) {
      void f;
      n++;
      break;
    }
    assert.equal(n, 1);
    assert.throws(() => ac.add(5 as never), ArgumentError);
  });
});

describe("wait", () => {
  test("ALL_COMPLETED waits for every future; FIRST_COMPLETED for one", async () => {
    await using c = await startCluster({ workers: 2 });
    const fs = c.client.map(sleepThen, [20, 400]);
    const first = await wait(fs, { returnWhen: "FIRST_COMPLETED" });
    assert.equal(first.done.size, 1);
    assert.equal(await [...first.done][0], 20);
    assert.equal(first.notDone.size, 1);
    const all = await wait(fs);
    assert.equal(all.done.size, 2);
    assert.equal(all.notDone.size, 0);
  });

  test("a timeout rejects with TimeoutError whose stack points at the wait", async () => {
    await using c = await startCluster({ workers: 1 });
    const f = c.client.submit(sleepThen, 1000);
    const err = await wait([f], { timeout: 50 }).then(
      () => assert.fail("should time out"),
      (e: unknown) => e as TimeoutError,
    );
    assert.ok(err instanceof TimeoutError);
    assert.match(err.stack ?? "", /as-completed\.test\.ts/);
  });

  test("failed futures count as done", async () => {
    await using c = await startCluster();
    const bad = c.client.submit(() => {
      throw new Error("x");
    });
    const { done } = await wait([bad]);
    assert.equal(done.size, 1);
    assert.equal(bad.status, "error");
  });

  test("bad arguments are ArgumentErrors; an infinite timeout means no limit", async () => {
    await assert.rejects(wait([1 as never]), ArgumentError);
    await assert.rejects(wait([], { returnWhen: "SOMETIMES" as never }), ArgumentError);
    await assert.rejects(wait([], { timeout: -1 }), /timeout must be a number of milliseconds/);
    await assert.rejects(wait([], { timeout: Number.NaN }), ArgumentError);
    await using c = await startCluster({ workers: 1 });
    const f = c.client.submit(sleepThen, 50);
    const { done } = await wait([f], { timeout: Infinity });
    assert.equal(done.size, 1);
  });
});
