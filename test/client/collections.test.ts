// Collections on a Client: client.compute gives futures (the value is assembled on a worker),
// client.persist gives the collection back held on the cluster, intermediate results are freed as
// soon as nothing needs them, failures leave the cluster working, and closing the client settles
// every compute still pending.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fromArray, NDArray } from "../../node/array.js";
import {
  ArgumentError,
  ClientClosedError,
  ClosureError,
  delayed,
  Future,
  FutureNode,
  RemoteError,
  type Client,
} from "../../src/internal.js";
import { useCluster } from "../helpers/cluster.js";

const inc = delayed((x: number) => x + 1, { name: "inc" });
const add = delayed((x: number, y: number) => x + y, { name: "add" });
const block = delayed((n: number) => new Float64Array(n).fill(1), { name: "block" }); // 800 kB for 100,000: fetched, not inlined
const total = delayed((b: Float64Array) => b.reduce((s, x) => s + x, 0), { name: "total" });

/** Results the scheduler knows the workers hold: how many, and their bytes. */
async function held(client: Client): Promise<{ keys: number; bytes: number }> {
  // Releases made this turn go out at the end of it; let them, so the answer comes after them.
  await Promise.resolve();
  const workers = await client.workers();
  return { keys: workers.reduce((n, w) => n + w.tasks.inMemory, 0), bytes: workers.reduce((n, w) => n + w.memory, 0) };
}

/** How many times the cluster started running `key`. */
async function runs(client: Client, key: string): Promise<number> {
  return (await client.story(key)).filter((e) => e.finish === "processing").length;
}

describe("collections on a client", () => {
  const c = useCluster({ workers: 2 });

  test("client.compute(delayed) gives a Future for its value", async () => {
    const f = c.client.compute(add(inc(1), inc(2)));
    assert.ok(f instanceof Future, String(f));
    assert.equal(await f, 5);
    assert.equal(f.status, "finished");
    f.release();
  });

  test("client.compute([a, b]) gives a future per collection, in order; a task they share runs once", async () => {
    const base = inc(10);
    const fs = c.client.compute([inc(base), add(base, base)]);
    assert.equal(fs.length, 2);
    assert.deepEqual(await c.client.gather(fs), [12, 22]);
    assert.equal(await runs(c.client, base.key), 1);
    assert.deepEqual(c.client.compute([]), []);
    for (const f of fs) f.release();
  });

  test("client.compute of a chunked array assembles its blocks on a worker into one value", async () => {
    const x = fromArray(
      [
        [1, 2],
        [3, 4],
      ],
      { chunks: 1 },
    );
    const f = c.client.compute(x.add(x.T));
    const v = await f;
    assert.ok(v instanceof NDArray, String(v));
    assert.deepEqual(v.toArray(), [
      [2, 5],
      [5, 8],
    ]);
    f.release();
  });

  test("client.persist gives the collection back over results held on the cluster; later graphs reuse them", async () => {
    const b = block(1000);
    const kept = await c.client.persist(b);
    const node = kept.graph.flatten().get(kept.key);
    assert.ok(node instanceof FutureNode, String(node));
    assert.equal(await total(kept).compute(), 1000);
    assert.equal(await total(kept).compute({ scheduler: "sync" }), 1000, "this thread fetches the held result");
    assert.equal(await runs(c.client, b.key), 1);
    assert.equal((await held(c.client)).keys, 1, "only the persisted result is held");
    (node.future as Future).release();
    assert.deepEqual(await held(c.client), { keys: 0, bytes: 0 });
  });

  test("a value persisted in this thread goes to the cluster with the graph", async () => {
    const here = await inc(1).persist({ scheduler: "sync" });
    const f = c.client.compute(add(here, delayed(10)));
    assert.equal(await f, 12);
    f.release();
  });

  test("after compute, intermediate results are freed on the workers; a computed result lives as long as its future", async () => {
    const sum = total(block(100_000));
    assert.equal(await sum.compute(), 100_000);
    assert.deepEqual(await held(c.client), { keys: 0, bytes: 0 }, "nothing is kept after compute");

    const f = c.client.compute(sum);
    assert.equal(await f, 100_000);
    const during = await held(c.client);
    assert.equal(during.keys, 1, "the result only: the 800 kB block it came from is freed");
    assert.ok(during.bytes < 1000, `${during.bytes} bytes held`);
    f.release();
    assert.deepEqual(await held(c.client), { keys: 0, bytes: 0 });
  });

  test("a compute whose task fails rejects with the remote error, holds nothing, and leaves the cluster working", async () => {
    const bad = inc(
      delayed(function fails(b: Float64Array) {
        throw new RangeError(`no good: ${b.length}`);
      })(block(100_000)),
    );
    const err = await bad.compute().then(
      () => assert.fail("should reject"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof RemoteError && err.remoteName === "RangeError", String(err));
    assert.match(err.remoteStack ?? "", /at fails/);
    const f = c.client.compute(bad);
    assert.ok((await f.exception()) instanceof RemoteError, "the future holds the error");
    f.release();
    assert.deepEqual(await held(c.client), { keys: 0, bytes: 0 });
    assert.equal(await add(inc(1), 1).compute(), 3);
  });

  test("bad input is an ArgumentError, and nothing is sent", async () => {
    assert.throws(
      () => c.client.compute(42 as never),
      (e: unknown) => e instanceof ArgumentError && /takes collections/.test(e.message),
    );
    assert.throws(
      () => c.client.compute([inc(1), {} as never]),
      (e: unknown) => e instanceof ArgumentError && /item 1/.test(e.message),
    );
    await assert.rejects(
      c.client.persist(42 as never),
      (e: unknown) => e instanceof ArgumentError && /persist takes a collection/.test(e.message),
    );
    const offset = 5;
    const first = block(100_000);
    assert.throws(() => c.client.compute(inc(delayed((b: Float64Array) => b.length + offset)(first))), ClosureError);
    const other = await c.connect();
    try {
      const theirs = await other.persist(inc(1));
      await assert.rejects(
        inc(theirs).compute({ scheduler: c.client }),
        (e: unknown) => e instanceof ArgumentError && /another client/.test(e.message),
      );
    } finally {
      await other.close();
    }
    assert.deepEqual(await held(c.client), { keys: 0, bytes: 0 });
  });

  test("closing the client mid-compute rejects every pending compute and persist with ClientClosedError", async () => {
    const other = await c.connect();
    const slow = delayed(async (x: number) => {
      await new Promise((r) => setTimeout(r, 100));
      return x;
    })(1);
    const pending = [
      slow.compute({ scheduler: other }),
      other.compute(slow).result(),
      other.persist(inc(slow)),
      inc(slow).persist({ scheduler: other }),
    ];
    await other.workers(); // the graph has reached the scheduler
    await other.close();
    const outcomes = await Promise.allSettled(pending);
    for (const o of outcomes)
      assert.ok(
        o.status === "rejected" && o.reason instanceof ClientClosedError,
        String(o.status === "rejected" ? o.reason : "fulfilled"),
      );
    await assert.rejects(inc(1).compute({ scheduler: other }), ClientClosedError);
    assert.throws(() => other.compute(inc(1)), ClientClosedError);
    assert.equal(await add(inc(1), 1).compute({ scheduler: c.client }), 3, "the cluster goes on");
  });
});
