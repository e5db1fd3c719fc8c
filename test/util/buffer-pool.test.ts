// The block storage pool: storage a worker dropped is reused for the next block of the same size,
// but only when nothing else can still see it. In this thread, the functions directly; on a
// cluster, arrays whose blocks are freed and reused while others are held must keep their values.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  bufferPoolStats,
  clearBufferPool,
  dropBuffers,
  exposeBuffers,
  holdBuffers,
  POOL_MIN_BYTES,
  takeBuffer,
} from "../../src/internal.js";
import * as mw from "../../node/array.js";
import { startCluster } from "../helpers/cluster.js";

const SIZE = POOL_MIN_BYTES * 2;

test("the pool, in this thread", async (t) => {
  t.afterEach(() => clearBufferPool());

  await t.test("a dropped buffer that only one value held is taken again, zeroed when asked", () => {
    const a = takeBuffer(SIZE, true);
    new Float64Array(a).fill(7);
    const value = { block: new Float64Array(a) };
    holdBuffers(value);
    dropBuffers(value);
    const before = bufferPoolStats().reused;
    const b = takeBuffer(SIZE, true);
    assert.equal(b, a, "the same storage comes back");
    assert.equal(bufferPoolStats().reused, before + 1);
    assert.ok(
      new Float64Array(b).every((x) => x === 0),
      "zeroed",
    );
    holdBuffers([b]);
    dropBuffers([b]);
    const c = takeBuffer(SIZE, false);
    assert.equal(c, a);
  });

  await t.test(
    "a buffer two stored values reach (a block and a view of it) comes back only when both are dropped",
    () => {
      const a = takeBuffer(SIZE, false);
      const block = new Float64Array(a);
      const view = { v: new Float64Array(a, 8, 10) };
      holdBuffers(block);
      holdBuffers(view);
      dropBuffers(block);
      assert.notEqual(takeBuffer(SIZE, false), a, "the view still holds it");
      dropBuffers(view);
      assert.equal(takeBuffer(SIZE, false), a);
    },
  );

  await t.test("several views in one value count once", () => {
    const a = takeBuffer(SIZE, false);
    const value = [new Uint8Array(a), new Uint8Array(a, 1), { deep: new Map([["k", new Set([new Int32Array(a)])]]) }];
    holdBuffers(value);
    dropBuffers(value);
    assert.equal(takeBuffer(SIZE, false), a);
  });

  await t.test("exposed storage (given to a user's function, sent away) is never reused", () => {
    const a = takeBuffer(SIZE, false);
    const value = { x: new Float32Array(a) };
    holdBuffers(value);
    exposeBuffers(value);
    dropBuffers(value);
    assert.notEqual(takeBuffer(SIZE, false), a);
  });

  await t.test("storage not allocated here, small storage, and storage never counted as held are not pooled", () => {
    const foreign = new ArrayBuffer(SIZE);
    holdBuffers(foreign);
    dropBuffers(foreign);
    assert.notEqual(takeBuffer(SIZE, false), foreign);
    const small = takeBuffer(1024, false);
    holdBuffers(small);
    dropBuffers(small);
    assert.notEqual(takeBuffer(1024, false), small);
    const uncounted = takeBuffer(SIZE, false);
    dropBuffers(uncounted); // dropped without having been held: someone else may have it
    assert.notEqual(takeBuffer(SIZE, false), uncounted);
  });

  await t.test("a detached buffer (transferred away while pooled) is skipped", () => {
    const a = takeBuffer(SIZE, false);
    holdBuffers(a);
    dropBuffers(a);
    structuredClone(a, { transfer: [a] });
    assert.equal(a.byteLength, 0);
    const b = takeBuffer(SIZE, false);
    assert.notEqual(b, a);
    assert.equal(b.byteLength, SIZE);
  });
});

/** The pool's counters of every worker (the pool is per thread; the workers run the built code). */
async function workerStats(
  client: import("../../node/index.js").Client,
): Promise<{ reused: number; returned: number }> {
  const url = new URL("../../dist/src/util/buffer-pool.js", import.meta.url).href;
  const total = { reused: 0, returned: 0 };
  for (const w of await client.workers()) {
    const s = (await client
      .with({ workers: [w.id], pure: false })
      .submit(async (u: string) => (await import(u)).bufferPoolStats(), url)) as typeof total;
    total.reused += s.reused;
    total.returned += s.returned;
  }
  return total;
}

test("on a cluster, reused storage never changes a value still held", async (t) => {
  await using c = await startCluster({ workers: 2 });
  const scheduler = { scheduler: c.client };
  const sync = { scheduler: "sync" } as const;
  // Blocks of 2 MiB (float64 512 × 512): big enough to be pooled.
  const chunks = [512, 512];
  const x = mw.random([2048, 2048], { chunks, seed: 3 });
  const held = await x.persist(scheduler);
  const expected = await x.compute(sync);
  const before = await workerStats(c.client);

  await t.test("views of held blocks, dropped, leave the blocks held (their storage is not reused)", async () => {
    // A reshape that keeps blocks whole is a view of each block, stored under its own key.
    const part = await held.reshape([4, 512, 2048]).persist(scheduler);
    assert.deepEqual(part.chunksize, [1, 512, 512]);
    part.release();
    await held.sum().compute(scheduler); // a round trip: the frees have arrived
  });

  await t.test("computations that free and reuse blocks as they go agree with this thread", async () => {
    for (let round = 0; round < 4; round++) {
      const y = x
        .add(round)
        .mul(held.T)
        .sub(mw.normal([2048, 2048], { chunks, seed: round }))
        .mean({ axis: 0 });
      assert.deepEqual(await y.compute(scheduler), await y.compute(sync), `round ${round}`);
    }
  });

  await t.test("a block a user's function kept is never given to another block", async () => {
    const kept = x.add(5).mapBlocks(function keep(b) {
      const g = globalThis as { keptBlocks?: { block: typeof b; sample: number[] }[] };
      const sample = Array.from({ length: 16 }, (_, i) => b.data[i * 997]!);
      (g.keptBlocks ??= []).push({ block: b, sample });
      return b.copy();
    });
    await kept.sum().compute(scheduler);
    // New random blocks of the same size (x's own are held, so computing x makes none).
    for (let round = 0; round < 3; round++)
      await mw
        .random([2048, 2048], { chunks, seed: 100 + round })
        .mul(2)
        .sum()
        .compute(scheduler);
    const check = held.mapBlocks(function unchanged(b) {
      const g = globalThis as { keptBlocks?: { block: typeof b; sample: number[] }[] };
      for (const k of g.keptBlocks ?? []) {
        k.sample.forEach((v, i) => {
          if (k.block.data[i * 997] !== v) throw new Error("a block a task kept was overwritten");
        });
      }
      return b;
    });
    await check.compute(scheduler);
  });

  await t.test("the held blocks kept their values, and storage was reused (the tests above exercised it)", async () => {
    assert.deepEqual(await held.compute(scheduler), expected);
    const after = await workerStats(c.client);
    assert.ok(after.reused - before.reused >= 10, `blocks reused: ${after.reused - before.reused}`);
  });
});
