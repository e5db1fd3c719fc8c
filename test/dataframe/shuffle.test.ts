// Shuffles: joins of every `how` (broadcast and hash-shuffled), sortValues and setIndex by sampled
// divisions, repartition, against what pandas computes on the same files (make_fixtures.py), on
// sync, threads and a cluster alike; bad input as named errors.

import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import * as dd from "../../node/dataframe.js";
import { ArgumentError, ColumnError, SchemaError } from "../../node/index.js";
import { useCluster } from "../helpers/cluster.js";
import { Part } from "../../src/dataframe/part.js";
import { columnFrom } from "../../src/dataframe/column.js";
import { hashRows } from "../../src/dataframe/kernels/groups.js";
import { sortOrder } from "../../src/dataframe/kernels/sort.js";
import { assertColumns, columnsOf, expectedTable, fixture, rowSet } from "./helpers.js";

const sync = { scheduler: "sync" } as const;
const threads = { scheduler: "threads" } as const;
const c = useCluster({ workers: 2 });
let L: dd.DataFrame;
let R: dd.DataFrame;
before(async () => {
  L = await dd.readParquet(fixture("shuffle/left"));
  R = await dd.readParquet(fixture("shuffle/right"));
});

/** The table on sync, threads and the cluster; all three must be identical (same rows, same order). */
async function onAll(df: dd.DataFrame): Promise<Record<string, unknown[]>> {
  const here = columnsOf(await df.compute(sync));
  assert.deepEqual(columnsOf(await df.compute(threads)), here, "threads differ from sync");
  assert.deepEqual(columnsOf(await df.compute({ scheduler: c.client })), here, "the cluster differs from sync");
  return here;
}

const KEYS: Record<string, string[]> = { k: ["k"], s: ["s"], d: ["d"], ks: ["k", "s"] };

describe("hashing keys for the shuffle", () => {
  test("equal values hash alike whatever their type; null and NaN are one key; several keys mix in order", () => {
    const vals = [1, 2, null, 2 ** 40, -3];
    const hashes = (["int32", "int64", "float64", "uint64"] as const).map((t) => {
      const safe =
        t === "int32"
          ? vals.map((v) => (v === 2 ** 40 ? 7 : v))
          : t === "uint64"
            ? vals.map((v) => (v === -3 ? 9 : v))
            : vals;
      return Array.from(hashRows(new Part(["k"], [columnFrom(t, safe)]), ["k"]));
    });
    for (const i of [0, 1, 2])
      assert.ok(
        hashes.every((h) => h[i] === hashes[0]![i]),
        `value ${vals[i]} hashes alike in every type`,
      );
    assert.equal(hashes[1]![3], hashes[2]![3]);
    const nan = hashRows(new Part(["k"], [columnFrom("float64", [NaN, null])]), ["k"]);
    assert.equal(nan[0], nan[1]);
    const two = new Part(["a", "b"], [columnFrom("utf8", ["x", "y", "x"]), columnFrom("utf8", ["y", "x", "y"])]);
    const h = hashRows(two, ["a", "b"]);
    assert.notEqual(h[0], h[1], "(x, y) and (y, x) differ");
    assert.equal(h[0], h[2]);
    assert.notEqual(
      new Set(
        Array.from(
          hashRows(
            new Part(
              ["k"],
              [
                columnFrom(
                  "int32",
                  Array.from({ length: 1000 }, (_, i) => i),
                ),
              ],
            ),
            ["k"],
          ),
          (x) => x % 16,
        ),
      ).size,
      1,
    );
  });
});

describe("sorting a partition", () => {
  test("big numeric columns (the radix sort) order as a stable comparator sort does: up and down, nulls and NaN last, -0 as 0, infinities", () => {
    let x = 17;
    const rand = () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 4294967296;
    const cases: [string, () => unknown][] = [
      ["float64", () => (rand() < 0.05 ? null : rand() < 0.1 ? NaN : Math.round((rand() - 0.5) * 100) / 4)],
      ["float64", () => [-0, 0, Infinity, -Infinity, 1e-310, -1e-310][Math.floor(rand() * 6)]],
      ["int32", () => (rand() < 0.05 ? null : Math.floor((rand() - 0.5) * 200))],
      ["uint32", () => Math.floor(rand() * 4e9)],
      ["date32", () => Math.floor(rand() * 1e4) * 864e5],
    ];
    for (const [type, gen] of cases) {
      const p = new Part(["x"], [columnFrom(type as "float64", Array.from({ length: 20_000 }, gen))]);
      const c = p.columns[0]!;
      const miss = (i: number) => !c.isValid(i) || Number.isNaN(c.values[i] as number);
      for (const asc of [true, false]) {
        const want = Array.from({ length: p.length }, (_, i) => i).sort((a, b) => {
          const ma = miss(a);
          const mb = miss(b);
          if (ma || mb) return ma && mb ? a - b : ma ? 1 : -1;
          const va = c.values[a] as number;
          const vb = c.values[b] as number;
          return va === vb ? a - b : (va < vb ? -1 : 1) * (asc ? 1 : -1);
        });
        assert.deepEqual(Array.from(sortOrder(p, ["x"], [asc])), want, `${type} ${asc ? "up" : "down"}`);
      }
    }
  });
});

describe("the fixtures", () => {
  test("have what the joins need: an empty partition, keys spread unevenly, nulls in every key", async () => {
    assert.equal(L.npartitions, 6);
    assert.equal(R.npartitions, 2);
    assert.deepEqual(await lengths(L), [35, 35, 0, 35, 35, 20]);
    const all = expectedTable("shuffle_left").values;
    for (const k of ["k", "s", "d"]) assert.ok(all[k]!.includes(null), `left ${k} has nulls`);
    assert.ok(all["k"]!.filter((v) => v === 1).length > 60, "k = 1 is about half the rows");
  });
});

describe("merge, hash-shuffled, every how, matches pandas", () => {
  for (const how of ["inner", "left", "right", "outer"] as const) {
    for (const [name, on] of Object.entries(KEYS)) {
      test(`${how} on ${on.join(", ")}`, async () => {
        const m = L.merge(R, { on, how, broadcast: false, npartitions: 16 });
        assert.equal(m.npartitions, 16);
        const got = await onAll(m);
        const want = expectedTable(`merge_${how}_${name}`).values;
        const cols = [...on, "li", "ri"];
        // Shuffle joins give rows by bucket (as dask): the same rows as pandas, in another order.
        assert.deepEqual(rowSet(got, cols), rowSet(want, cols));
      });
    }
  }

  test("outer on k: every column as pandas (the key taken from the right where the left has no row; suffixes)", async () => {
    const got = await onAll(L.merge(R, { on: "k", how: "outer", broadcast: false }));
    const want = expectedTable("merge_outer_k_all");
    assert.deepEqual(Object.keys(got), want.columns);
    assert.deepEqual(rowSet(got, want.columns), rowSet(want.values, want.columns));
  });

  test("leftOn/rightOn, outer: both key columns kept, nulls on the side without the row", async () => {
    const got = await onAll(
      L.merge(R, { leftOn: "li", rightOn: "ri", how: "outer", broadcast: false, npartitions: 3 }),
    );
    const want = expectedTable("merge_outer_li_ri");
    assert.deepEqual(Object.keys(got), want.columns);
    assert.deepEqual(rowSet(got, want.columns), rowSet(want.values, want.columns));
  });

  test("buckets that receive nothing give empty partitions, and the pieces are tasks of their own", async () => {
    const m = L.merge(R, { on: "k", how: "inner", broadcast: false, npartitions: 16 });
    // Split, piece and bucket tasks on both sides, and a join per bucket.
    assert.equal(m.taskCount, L.taskCount + R.taskCount + (6 + 6 * 16 + 16) + (2 + 2 * 16 + 16) + 16);
    const n = await lengths(m);
    assert.ok(
      n.filter((x) => x === 0).length >= 6,
      `at most 9 distinct keys (nulls one of them) in 16 buckets: ${n.join(" ")}`,
    );
    assert.equal(
      n.reduce((a, b) => a + b, 0),
      expectedTable("merge_inner_k").values["li"]!.length,
    );
  });
});

/** Rows per partition. */
async function lengths(df: dd.DataFrame): Promise<number[]> {
  return Promise.all(Array.from({ length: df.npartitions }, (_, j) => df.partitions([j]).len(sync)));
}

describe("merge, broadcast: pandas' rows in pandas' order", () => {
  for (const how of ["inner", "left"] as const) {
    test(`${how} with a small right side (all of it sent to every left task)`, async () => {
      for (const [name, on] of Object.entries(KEYS)) {
        const m = L.merge(R, { on, how });
        assert.equal(m.npartitions, L.npartitions, "one join task per left partition");
        const got = await onAll(m);
        assertColumns(got, expectedTable(`merge_${how}_${name}`).values, `${how} on ${on}`);
      }
    });
  }
  test("right with a small left side: the left is broadcast, rows in the right's order", async () => {
    for (const [name, on] of Object.entries(KEYS)) {
      const m = R.merge(L, { on, how: "left" }); // as a right join seen from the other side
      const r = L.merge(R, { on, how: "right", broadcast: true });
      assert.equal(r.npartitions, R.npartitions, "one join task per right partition");
      const got = await onAll(r);
      assertColumns(got, expectedTable(`merge_right_${name}`).values, `right on ${on}`);
      assert.ok(m.npartitions > 0);
    }
  });
  test("outer cannot broadcast: asking is an ArgumentError, leaving it out shuffles", () => {
    assert.throws(
      () => L.merge(R, { on: "k", how: "outer", broadcast: true }),
      (e: Error) => e instanceof ArgumentError && /how: "outer" cannot broadcast a side/.test(e.message),
    );
    assert.equal(L.merge(R, { on: "k", how: "outer" }).npartitions, 6);
  });
});

describe("shuffle: one stage, refused past MAX_SHUFFLE_PIECES", () => {
  test("400 partitions into 300 would be 120,000 piece tasks: an ArgumentError saying to repartition first", () => {
    const many = dd.fromRecords(
      Array.from({ length: 400 }, (_, i) => ({ k: i })),
      { npartitions: 400, dtypes: { k: "int32" } },
    );
    assert.equal(dd.MAX_SHUFFLE_PIECES, 100_000);
    assert.throws(
      () => many.shuffle("k", { npartitions: 300 }),
      (e: Error) =>
        e instanceof ArgumentError &&
        /400 partitions into 300 make 120000 pieces, more than the 100000 \(MAX_SHUFFLE_PIECES\).*repartition to fewer/.test(
          e.message,
        ),
    );
    assert.equal(many.shuffle("k", { npartitions: 200 }).npartitions, 200);
    assert.throws(
      () => many.shuffle("nope"),
      (e: Error) => e instanceof ColumnError && /no column "nope" in shuffle/.test(e.message),
    );
  });
});

describe("merge: bad input", () => {
  test("keys of different types are a SchemaError naming both, for shuffle joins too", () => {
    const bad = R.astype({ k: "float64" });
    assert.throws(
      () => L.merge(bad, { on: "k", how: "outer" }),
      (e: Error) => e instanceof SchemaError && /left "k" is int64, right "k" is float64/.test(e.message),
    );
  });
  test("an unknown how and a missing key column say what there is", () => {
    assert.throws(
      () => L.merge(R, { on: "k", how: "cross" as "inner" }),
      (e: Error) => e instanceof ArgumentError && /"inner", "left", "right" or "outer", got "cross"/.test(e.message),
    );
    assert.throws(
      () => L.merge(R, { on: "nope", how: "outer" }),
      (e: Error) => e instanceof ColumnError && /nope/.test(e.message) && /"k", "s", "d", "lv", "li"/.test(e.message),
    );
    assert.throws(
      () => L.merge(R, { on: "k", how: "outer", npartitions: 0 }),
      (e: Error) => e instanceof ArgumentError && /npartitions must be a whole number ≥ 1, got 0/.test(e.message),
    );
  });
});

describe("sortValues and setIndex: sampled divisions, a range shuffle, stable sorts with nulls last, as pandas", () => {
  const cases: [string, string | string[], boolean | boolean[]][] = [
    ["k", "k", true],
    ["k_desc", "k", false],
    ["lv", "lv", true],
    ["lv_desc", "lv", false],
    ["s", "s", true],
    ["d", "d", true],
    ["s_k", ["s", "k"], [true, false]],
    ["d_lv", ["d", "lv"], [false, true]],
  ];
  for (const [name, by, ascending] of cases) {
    test(`by ${String(by)} ${JSON.stringify(ascending)}`, async () => {
      for (const npartitions of [1, 4, 9]) {
        const s = await L.sortValues(by, { ascending, npartitions, scheduler: c.client });
        assert.ok(s.npartitions <= npartitions);
        const e = expectedTable(`sort_${name}`);
        assertColumns(await onAll(s), e.values, `sort by ${String(by)} into ${npartitions}`);
      }
    });
  }

  test("an ascending sort by one column knows its divisions: each partition's values lie within its bounds", async () => {
    for (const col of ["k", "lv", "s", "d"]) {
      const s = await L.sortValues(col, { npartitions: 5, ...sync });
      assert.ok(s.divisions, `divisions of ${col}`);
      assert.equal(s.divisions.length, s.npartitions + 1);
      assert.equal(s.index, col);
      const norm = (v: unknown) => (v instanceof Date ? v.getTime() : v) as number | string;
      const div = s.divisions.map(norm);
      for (let i = 1; i < div.length; i++)
        assert.ok(div[i - 1]! <= div[i]!, `divisions of ${col} ascending: ${div.join(", ")}`);
      const parts = await Promise.all(Array.from({ length: s.npartitions }, (_, j) => partition(s, j)));
      parts.forEach((p, j) => {
        const vals = p[col]!.filter((v) => v !== null) as (number | string)[];
        for (const v of vals) {
          assert.ok(v >= div[j]!, `${col} partition ${j}: ${v} below ${div[j]}`);
          assert.ok(
            j === parts.length - 1 ? v <= div[j + 1]! : v < div[j + 1]!,
            `${col} partition ${j}: ${v} past ${div[j + 1]}`,
          );
        }
        if (j < parts.length - 1) assert.ok(!p[col]!.includes(null), "nulls only in the last partition");
      });
      assert.equal(
        parts.reduce((n, p) => n + p[col]!.length, 0),
        160,
      );
    }
    assert.equal((await L.sortValues("k", { ascending: false, ...sync })).divisions, null, "descending: no divisions");
  });

  test("setIndex: sorted by the column, which comes first, with divisions; filter and select keep them, assign does not", async () => {
    const s = await L.setIndex("lv", { npartitions: 4, scheduler: c.client });
    assert.deepEqual(s.columns, ["lv", "k", "s", "d", "li"]);
    assert.equal(s.index, "lv");
    const got = await onAll(s);
    assertColumns(got, expectedTable("sort_lv").values, "setIndex lv");
    assert.deepEqual(s.filter((d) => d.k > 1).divisions, s.divisions);
    assert.deepEqual(s.select(["lv", "li"]).divisions, s.divisions);
    assert.equal(s.select(["li"]).divisions, null);
    assert.equal(s.assign({ lv: (d) => -d.lv }).divisions, null);
    assert.equal(s.rename({ lv: "value" }).index, "value");
    assert.match(String(s), /^mw\.DataFrame<select, npartitions=\d, columns=5, tasks=\d+, sorted by lv>/);
  });

  test("a key most rows share makes fewer partitions than asked (bounds are not repeated)", async () => {
    const ones = L.filter((d) => d.k === 1);
    const s = await ones.sortValues("k", { npartitions: 8, ...sync });
    assert.equal(s.npartitions, 1);
    assert.deepEqual(s.divisions, [1, 1]);
  });

  test("bad input: a missing column lists the columns, ascending must fit", async () => {
    await assert.rejects(
      L.sortValues("nope"),
      (e: Error) => e instanceof ColumnError && /nope/.test(e.message) && /"k", "s", "d", "lv", "li"/.test(e.message),
    );
    await assert.rejects(L.setIndex("nope"), (e: Error) => e instanceof ColumnError && /setIndex/.test(e.message));
    await assert.rejects(
      L.sortValues(["k", "s"], { ascending: [true] }),
      (e: Error) => e instanceof ArgumentError && /one boolean per column \(2\)/.test(e.message),
    );
    await assert.rejects(
      L.sortValues("k", { npartitions: 1.5 }),
      (e: Error) => e instanceof ArgumentError && /npartitions must be a whole number/.test(e.message),
    );
  });
});

/** Partition j of a frame, as columns. */
async function partition(df: dd.DataFrame, j: number): Promise<Record<string, unknown[]>> {
  return columnsOf(await df.partitions([j]).compute(sync));
}

describe("repartition", () => {
  test("to fewer and to more partitions: the same rows in the same order, on every scheduler", async () => {
    const want = expectedTable("shuffle_left").values;
    for (const n of [1, 2, 5, 6, 13]) {
      const r = L.repartition({ npartitions: n });
      assert.equal(r.npartitions, n);
      assertColumns(await onAll(r), want, `repartition to ${n}`);
    }
  });
  test("fewer partitions keep the divisions that still fall between partitions", async () => {
    const s = await L.setIndex("li", { npartitions: 8, ...sync });
    const r = s.repartition({ npartitions: 2 });
    assert.deepEqual(r.divisions, [
      s.divisions![0],
      s.divisions![Math.floor(s.npartitions / 2)],
      s.divisions![s.npartitions],
    ]);
    assert.equal(s.repartition({ npartitions: 20 }).divisions, null);
  });
  test("by partitionSize: the sizes measured first, small neighbours joined, big partitions cut; same rows in order", async () => {
    const want = expectedTable("shuffle_left").values;
    const whole = await L.repartition({ partitionSize: "1MB", scheduler: c.client });
    assert.equal(whole.npartitions, 1, "all 160 rows fit in 1 MB");
    assertColumns(await onAll(whole), want, "one partition");
    // ~30 bytes a row (int64, UTF-8 with offsets, date32, float64, int32): 35 rows ≈ 1 kB; 400 bytes cut each into 3.
    const small = await L.repartition({ partitionSize: 400, scheduler: c.client });
    assert.ok(small.npartitions > 6, `${small.npartitions} partitions`);
    const n = await lengths(small);
    assert.ok(
      n.every((x) => x <= 12),
      n.join(" "),
    ); // the empty input between two cut ones stays an empty partition
    assert.equal(
      n.reduce((a, b) => a + b, 0),
      160,
    );
    assertColumns(await onAll(small), want, "partitions of ≤ 400 bytes");
    await assert.rejects(L.repartition({ partitionSize: "lots" }), /cannot read "lots" as a size/);
    assert.throws(
      () => L.repartition({ npartitions: 2, partitionSize: 10 } as never),
      /npartitions or partitionSize, not both/,
    );
  });
  test("bad input", () => {
    assert.throws(
      () => L.repartition({ npartitions: 0 }),
      (e: Error) =>
        e instanceof ArgumentError && /repartition takes \{ npartitions \} as a whole number ≥ 1/.test(e.message),
    );
  });
});

/** A Python with pandas and pyarrow, if there is one here. */
function python(): string | null {
  for (const py of [process.env["MESHWORK_PYTHON"], "/opt/dfvenv/bin/python", "/usr/bin/python3"]) {
    if (py && spawnSync(py, ["-c", "import pandas, pyarrow"], { stdio: "ignore" }).status === 0) return py;
  }
  return null;
}

describe("against live pandas, on random frames it writes now", () => {
  test("every merge how and a two-column sort, for three seeds", { timeout: 120_000 }, async (t) => {
    const py = python();
    if (!py) {
      t.skip("no Python with pandas and pyarrow here (set MESHWORK_PYTHON); skipped");
      return;
    }
    const script = `
import json, sys, os, numpy as np, pandas as pd, pyarrow as pa, pyarrow.parquet as pq
d, seed = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(seed)
def frame(n, keys, tag):
    k = pd.array(rng.integers(0, keys, n), dtype="Int64"); k[rng.random(n) < 0.1] = None
    s = pd.array(rng.choice(["x", "y", "zz", "ü"], n), dtype="string"); s[rng.random(n) < 0.1] = None
    return pd.DataFrame({"k": k, "s": s, "v": rng.normal(0, 1, n).round(3), tag: np.arange(n, dtype="int32")})
L, R = frame(int(rng.integers(50, 300)), 30, "li"), frame(int(rng.integers(5, 80)), 40, "ri")
out = {}
for name, f in [("left", L), ("right", R)]:
    os.makedirs(f"{d}/{name}")
    cuts = sorted(rng.integers(0, len(f), 3).tolist())
    for i, (a, b) in enumerate(zip([0] + cuts, cuts + [len(f)])):
        pq.write_table(pa.Table.from_pandas(f.iloc[a:b], preserve_index=False), f"{d}/{name}/part-{i}.parquet")
for how in ["inner", "left", "right", "outer"]:
    m = L.merge(R, on=["k", "s"], how=how)
    out[how] = sorted(json.dumps([None if pd.isna(a) else int(a), None if pd.isna(b) else int(b)], separators=(",", ":")) for a, b in zip(m["li"], m["ri"]))
out["sort"] = [int(x) for x in L.sort_values(["s", "v"], ascending=[False, True], kind="stable")["li"]]
print(json.dumps(out))`;
    for (const seed of [1, 2, 3]) {
      const dir = mkdtempSync(join(tmpdir(), "meshwork-live-pandas-"));
      try {
        const r: SpawnSyncReturns<string> = spawnSync(py, ["-c", script, dir, String(seed)], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        const want = JSON.parse(r.stdout) as Record<string, string[]> & { sort: number[] };
        const left = await dd.readParquet(join(dir, "left"));
        const right = await dd.readParquet(join(dir, "right"));
        for (const how of ["inner", "left", "right", "outer"] as const) {
          for (const broadcast of [false, undefined]) {
            if (broadcast === undefined && how === "outer") continue;
            const got = columnsOf(
              await left
                .merge(right, { on: ["k", "s"], how, broadcast, npartitions: 5 })
                .select(["li", "ri"])
                .compute({ scheduler: c.client }),
            );
            const pairs = got["li"]!.map((a, i) => JSON.stringify([a, got["ri"]![i]])).sort();
            assert.deepEqual(pairs, want[how], `seed ${seed}, ${how}, broadcast ${broadcast}`);
          }
        }
        const sorted = await left.sortValues(["s", "v"], {
          ascending: [false, true],
          npartitions: 3,
          scheduler: c.client,
        });
        assert.deepEqual(
          columnsOf(await sorted.compute({ scheduler: c.client }))["li"],
          want.sort,
          `seed ${seed}: sort`,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
