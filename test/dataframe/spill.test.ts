// A shuffle of more data than the workers may hold: partitions report their bytes (their buffers),
// so the workers' memory accounting sees them, spills pieces to disk and the shuffle finishes with
// every row where it belongs.

import assert from "node:assert/strict";
import { test } from "node:test";
import * as dd from "../../node/dataframe.js";
import { measure } from "../../src/internal.js";
import { Part } from "../../src/dataframe/part.js";
import { columnFrom } from "../../src/dataframe/column.js";
import { startCluster } from "../helpers/cluster.js";
import { linkInfo } from "../../src/scheduler/queries.js";
import { within } from "../helpers/within.js";

const MB = 1_000_000;

test("a Part's measured size is its buffers' bytes (what the memory limits count)", () => {
  const p = new Part(["k", "s"], [columnFrom("int64", [1, 2, null]), columnFrom("utf8", ["a", "bcd", null])]);
  assert.equal(p.nbytes, 3 * 8 + 1 + 4 + 1 + 16);
  const m = measure(p);
  assert.ok(m >= p.nbytes && m < p.nbytes + 400, `measured ${m} for ${p.nbytes} bytes of buffers`);
});

test("a hash shuffle and a sort of ~38 MB on two workers limited to 8 MB each spill and finish, every key in one partition, every row in order", {
  timeout: 180_000,
}, async () => {
  await using c = await startCluster({ workers: 2, memoryLimit: "8MB", heartbeatMs: 50 });
  const ROWS = 200_000;
  const KEYS = 5000;
  // 16 partitions of 200k rows (int32 key, float64 value, int32 row: 3.2 MB each), made on the workers.
  const seeds = dd.fromRecords(
    Array.from({ length: 16 }, (_, i) => ({ seed: i })),
    { npartitions: 16, dtypes: { seed: "int32" } },
  );
  const gen = seeds.mapPartitions(
    (t: { getChild(n: string): { at(i: number): number } }, rows: number, keys: number) => {
      const seed = t.getChild("seed").at(0);
      const k = new Int32Array(rows);
      const v = new Float64Array(rows);
      const r = new Int32Array(rows);
      for (let i = 0; i < rows; i++) {
        k[i] = (i * 7919 + seed * 104729) % keys;
        v[i] = seed + i / rows;
        r[i] = seed * rows + i;
      }
      return { k, v, r };
    },
    { args: [ROWS, KEYS], meta: { k: "int32", v: "float64", r: "int32" } },
  );
  const shuffled = gen.shuffle("k", { npartitions: 12 });
  const held = await within(shuffled.persist({ scheduler: c.client }), 150_000, "the shuffle");
  const info = await c.client.workers();
  const spilled = info.reduce((s, w) => s + w.spilled, 0);
  assert.ok(spilled > 10 * MB, `spilled ${spilled} bytes (held ${info.map((w) => w.memory).join(", ")})`);
  // The pieces went from worker to worker (about half of them cross), not through the client.
  await new Promise((r) => setTimeout(r, 200)); // a heartbeat with the links
  const moved = linkInfo(c.cluster.scheduler.state).reduce((n, l) => n + l.bytes, 0);
  assert.ok(moved > 8 * MB, `moved between workers: ${moved} bytes`);
  // Each output partition's distinct keys: together every key exactly once (no key in two partitions).
  const summary = held.mapPartitions(
    (t: { numRows: number; getChild(n: string): { at(i: number): number } }) => {
      const keys = new Set<number>();
      for (let i = 0; i < t.numRows; i++) keys.add(t.getChild("k").at(i));
      return { keys: Int32Array.from(keys) };
    },
    { meta: { keys: "int32" } },
  );
  const table = await within(summary.compute({ scheduler: c.client }), 60_000, "the summary");
  const keys = table.getChild("keys")!.toArray() as Int32Array;
  assert.equal(keys.length, KEYS, "every key once: no key in two partitions");
  // No row lost or doubled.
  assert.equal(new Set(keys).size, KEYS);
  assert.equal(await held.len({ scheduler: c.client }), 16 * ROWS);
  const n = 16 * ROWS;
  assert.equal((await held.sum({ columns: ["r"] }).compute({ scheduler: c.client }))["r"], (n * (n - 1)) / 2);
  // A sort of the same rows under the same limits (a range shuffle): in order, nothing lost.
  const sorted = await within(
    held.sortValues("r", { npartitions: 12, scheduler: c.client }),
    60_000,
    "the sort's sample",
  );
  const sortedHeld = await within(sorted.persist({ scheduler: c.client }), 150_000, "the sort");
  held.release();
  const firstLast = sortedHeld.mapPartitions(
    (t: { numRows: number; getChild(n: string): { at(i: number): number } }) => {
      let ordered = true;
      for (let i = 1; i < t.numRows; i++) if (t.getChild("r").at(i - 1) > t.getChild("r").at(i)) ordered = false;
      return {
        first: [t.numRows ? t.getChild("r").at(0) : -1],
        last: [t.numRows ? t.getChild("r").at(t.numRows - 1) : -1],
        n: [t.numRows],
        ordered: [ordered],
      };
    },
    { meta: { first: "int32", last: "int32", n: "int32", ordered: "bool" } },
  );
  const ends = (await firstLast.compute({ scheduler: c.client })).toArray() as {
    first: number;
    last: number;
    n: number;
    ordered: boolean;
  }[];
  assert.equal(
    ends.reduce((s, e) => s + e.n, 0),
    n,
  );
  assert.ok(
    ends.every((e) => e.ordered),
    "each partition sorted",
  );
  const nonEmpty = ends.filter((e) => e.n > 0);
  assert.equal(nonEmpty[0]!.first, 0);
  assert.equal(nonEmpty.at(-1)!.last, n - 1);
  for (let j = 1; j < nonEmpty.length; j++)
    assert.equal(nonEmpty[j]!.first, nonEmpty[j - 1]!.last + 1, "partitions follow each other with no row between");
  sortedHeld.release();
});
