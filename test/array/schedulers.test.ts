// Both schedulers give identical results: a battery of array operations (every dtype, reductions,
// slicing with negative steps, reshape, contractions, random numbers, NaN and -0, empty arrays)
// computed on a cluster of worker threads and on this thread must agree bit for bit. Also
// client.compute (a future) and persist, on either. One cluster for the whole file: starting one
// costs ~100 ms.

import assert from "node:assert/strict";
import { test } from "node:test";
import * as mw from "../../node/array.js";
import { startCluster } from "../helpers/cluster.js";
import { assertArrayEqual, assertSameBits, chunkedOf, DTYPES, makeRef, sample } from "./reference.js";

const sync = { scheduler: "sync" } as const;

/** Named arrays covering the operations; each is computed by both schedulers. */
function battery(): [string, mw.ChunkedArray][] {
  const out: [string, mw.ChunkedArray][] = [];
  const add = (name: string, x: mw.ChunkedArray) => out.push([name, x]);
  const xs = new Map(DTYPES.map((d, i) => [d, chunkedOf(sample(d, [9, 7], 100 + i), [5, 4])]));
  const row = new Map(DTYPES.map((d, i) => [d, chunkedOf(sample(d, [7], 200 + i), [5])]));
  for (const d of DTYPES) {
    const x = xs.get(d)!;
    const other = DTYPES[(DTYPES.indexOf(d) + 3) % DTYPES.length]!;
    const y = row.get(other)!;
    add(`${d} + ${other} (broadcast, recut)`, x.add(y));
    add(`${d} * ${other}`, x.mul(y));
    add(`${d} / ${other}`, x.div(y));
    add(`${d} ** ${other}`, x.pow(y));
    add(`maximum(${d}, ${other})`, x.maximum(y));
    add(`${d} >= ${other}`, x.ge(y));
    add(`${d} + 3, * 2.5`, x.add(3).mul(2.5));
    add(`sqrt(${d})`, x.sqrt());
    add(`exp(${d})`, x.exp());
    add(`abs(${d})`, x.abs());
    if (d !== "bool") add(`-${d}`, x.neg());
    add(`${d} as int8`, x.astype("int8"));
    add(`${d} as float32`, x.astype("float32"));
    add(`${d} as bool`, x.astype("bool"));
    add(`where(${d} > 1, ${d}, ${other})`, mw.where(x.gt(1), x, y));
    add(`clip(${d})`, x.clip(0, 100));
    add(`${d}.T`, x.T);
    add(`sum ${d}`, x.sum());
    add(`sum ${d} axis 0`, x.sum({ axis: 0 }));
    add(`prod ${d} axis 1`, x.prod({ axis: 1, keepdims: true }));
    add(`mean ${d}`, x.mean({ axis: -1 }));
    add(`min ${d}`, x.min({ axis: 0 }));
    add(`max ${d}`, x.max());
    add(`any ${d}`, x.any({ axis: 1 }));
    add(`all ${d}`, x.all());
    add(`var ${d}`, x.var({ axis: 0 }));
    add(`std ${d} ddof 1`, x.std({ ddof: 1 }));
    add(`argmin ${d}`, x.argmin());
    add(`argmax ${d} axis 1`, x.argmax({ axis: 1 }));
    add(`${d} sliced`, x.slice("::-2", "5:0:-3"));
    add(`${d} matmul`, x.matmul(x.T));
  }
  const f = xs.get("float64")!;
  const i = xs.get("int16")!;
  add("slice to a scalar", f.slice(-1, 2));
  add("slices of slices", f.slice("1:", "::-1").slice("::3"));
  add("reshape", f.rechunk([3, -1]).reshape([3, 21]));
  add("reshape after transpose", i.T.rechunk([2, -1]).reshape([-1]));
  add(
    "rechunk",
    f.rechunk([
      [2, 7],
      [1, 1, 5],
    ]),
  );
  add("concatenate", mw.concatenate([f, i, f.slice("2:2")], 0));
  add("stack", mw.stack([f, i, f], -1));
  add("tensordot", mw.tensordot(f.reshape([9, 7]), i.T, [[0], [1]]));
  add("dot 3-d", f.rechunk([3, -1]).reshape([3, 3, 7]).dot(i.T));
  add(
    "int32 matmul wraps",
    mw.full([2, 3], 2147483647, { dtype: "int32", chunks: 1 }).matmul(mw.full([3, 2], -2147483647, { dtype: "int32" })),
  );
  add(
    "fused chain with transpose",
    f
      .add(f.slice("0:7").T.rechunk([3, 4]).slice("::-1").sum({ axis: 0 }))
      .sin()
      .mul(f.gt(0)),
  );
  add("NaN and -0", mw.fromArray([NaN, -0, 0, -Infinity, 1]).mul(-0));
  add("-0 fill", mw.full([3], -0, { chunks: 2 }));
  add("arange", mw.arange(0.1, 3, 0.3, { chunks: 4 }));
  add("linspace", mw.linspace(-1, 1, 11, { chunks: 3 }));
  add("random", mw.random([20, 10], { seed: 9, chunks: [7, 6] }));
  add("normal float32", mw.normal([30], { seed: 10, dtype: "float32", chunks: 8, loc: 1, scale: 2 }));
  add("uniform", mw.uniform([5, 5, 5], { seed: 11, low: -3, high: 3, chunks: 2 }));
  add("empty", mw.zeros([0, 4], { chunks: [1, 3] }).add(mw.ones([4], { chunks: 1 })));
  add("empty reduction", mw.zeros([3, 0], { chunks: 2 }).sum({ axis: 1 }));
  add(
    "0-d",
    mw
      .full([], 2.5)
      .mul(mw.fromArray([1, 2]))
      .sum(),
  );
  add(
    "mapBlocks",
    i.mapBlocks(function negateRows(b) {
      const c = b.copy();
      for (let k = 0; k < c.data.length; k++) c.data[k] = -c.data[k]! + k;
      return c;
    }),
  );
  return out;
}

test("the distributed client and this thread give identical results", async (t) => {
  await using c = await startCluster({ workers: 2 });
  const { client } = c;

  await t.test("every operation of the battery, bit for bit (NaN and -0 included)", async () => {
    const named = battery();
    const arrays = named.map(([, x]) => x);
    const local = (await mw.computeWith(sync, arrays)) as mw.ArrayValue[];
    const remote = (await mw.computeWith({ scheduler: client }, arrays)) as mw.ArrayValue[];
    named.forEach(([name], k) => assertSameBits(remote[k]!, local[k]!, name));
    // The battery is not vacuous: values of every dtype and several shapes came back.
    assert.ok(named.length >= 250, `${named.length} operations`);
    assert.deepEqual(
      new Set(local.filter((v) => v instanceof mw.NDArray).map((v) => (v as mw.NDArray).dtype)),
      new Set(DTYPES),
    );
  });

  await t.test("with a client connected, compute uses it by default and agrees with this thread", async () => {
    const x = mw.random([40, 30], { seed: 3, chunks: [16, 16] });
    const sq = x.slice("0:30");
    const y = sq.add(sq.T).mean({ axis: 0 });
    assertSameBits(await y.compute(), await y.compute(sync));
  });

  await t.test("client.compute gives a future of the assembled value", async () => {
    const xr = sample("int8", [6, 5], 1);
    const x = chunkedOf(xr, [4, 2]);
    const fut = client.compute(x.add(1).T);
    assertSameBits(await fut, await x.add(1).T.compute(sync));
    const [s, m] = client.compute([x.sum(), x.astype("float32").std({ axis: 0 })]);
    assertSameBits((await s!) as number, (await x.sum().compute(sync)) as number);
    assertSameBits((await m!) as mw.NDArray, (await x.astype("float32").std({ axis: 0 }).compute(sync)) as mw.NDArray);
    assert.equal(await client.compute(mw.full([], 4, { dtype: "uint8" })), 4, "a 0-d array's future gives its element");
  });

  await t.test("an array persisted on the cluster computes the same on the cluster and on this thread", async () => {
    const x = mw.normal([12, 9], { seed: 4, chunks: [5, 4] });
    const p = await x.persist({ scheduler: client });
    assert.deepEqual(p.chunks, x.chunks);
    const expected = await x.mul(3).sum({ axis: 1 }).compute(sync);
    assertSameBits(await p.mul(3).sum({ axis: 1 }).compute({ scheduler: client }), expected);
    assertSameBits(await p.mul(3).sum({ axis: 1 }).compute(sync), expected);
    const q = await client.persist(x.slice("::-1"));
    assertSameBits(await q.compute({ scheduler: client }), await x.slice("::-1").compute(sync));
  });

  await t.test("an array persisted on this thread computes the same on the cluster", async () => {
    const x = mw.arange(30, undefined, undefined, { chunks: 12 }).reshape([5, 6]).astype("uint16");
    const p = await x.persist(sync);
    assertSameBits(await p.pow(3).compute({ scheduler: client }), await x.pow(3).compute(sync));
    assertArrayEqual(
      await p.compute({ scheduler: client }),
      makeRef(
        "uint16",
        [5, 6],
        Array.from({ length: 30 }, (_, k) => k),
      ),
    );
  });

  await t.test("a failing block rejects on the cluster as on this thread", async () => {
    const x = mw.ones([4], { chunks: 2 }).mapBlocks(function broken() {
      throw new RangeError("this block is broken");
    });
    await assert.rejects(x.compute({ scheduler: client }), /this block is broken/);
    await assert.rejects(x.compute(sync), /this block is broken/);
  });
});

test("the threads scheduler (a pool of worker threads of this process) agrees with this thread", async (t) => {
  const threads = { scheduler: "threads" } as const;

  await t.test("every operation of the battery, bit for bit", async () => {
    const named = battery();
    const arrays = named.map(([, x]) => x);
    const local = (await mw.computeWith(sync, arrays)) as mw.ArrayValue[];
    const pooled = (await mw.computeWith(threads, arrays)) as mw.ArrayValue[];
    named.forEach(([name], k) => assertSameBits(pooled[k]!, local[k]!, name));
  });

  await t.test("persist on the pool keeps the array's shape and chunks; it computes the same anywhere", async () => {
    const x = mw.normal([12, 9], { seed: 5, chunks: [5, 4] });
    const p = await x.persist(threads);
    assert.deepEqual(p.chunks, x.chunks);
    // The pool has closed by now (nothing running): the persisted blocks live in this process.
    const expected = await x.sum({ axis: 0 }).compute(sync);
    assertSameBits(await p.sum({ axis: 0 }).compute(sync), expected);
    assertSameBits(await p.sum({ axis: 0 }).compute(threads), expected);
  });

  await t.test("a failing block rejects, and the pool works for the next computation", async () => {
    const x = mw.ones([4], { chunks: 2 }).mapBlocks(function broken() {
      throw new RangeError("this block is broken");
    });
    await assert.rejects(x.compute(threads), /this block is broken/);
    assert.equal(await mw.arange(10, undefined, undefined, { chunks: 3 }).sum().compute(threads), 45);
  });
});
