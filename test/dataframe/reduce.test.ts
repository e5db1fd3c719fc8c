// Reductions, groupby, valueCounts, dropDuplicates and the broadcast join, as trees of tasks,
// against what pandas computes on the same files; what is not there yet says so.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import * as dd from "../../node/dataframe.js";
import { SchemaError } from "../../node/index.js";
import { useCluster } from "../helpers/cluster.js";
import { assertColumns, assertTable, columnsOf, expected, expectedTable, fixture, rowSet } from "./helpers.js";

const sync = { scheduler: "sync" } as const;
const c = useCluster({ workers: 2 });
let trips: dd.DataFrame;
let vendors: dd.DataFrame;
before(async () => {
  trips = await dd.readParquet(fixture("trips"));
  vendors = await dd.readParquet(fixture("vendors.parquet"));
});

const close = (a: unknown, b: unknown) =>
  a === b || (typeof a === "number" && typeof b === "number" && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)));

describe("whole-frame reductions skip nulls and NaN, as pandas", () => {
  const want = expected["reductions"] as Record<string, Record<string, unknown>>;
  for (const agg of ["sum", "mean", "count", "min", "max", "var", "std", "nunique"] as const) {
    test(`${agg}`, async () => {
      const cols = Object.keys(want[agg]!);
      // A tree three levels deep (10 partitions, 2 at a time) on the cluster; the default tree here.
      const onCluster = await trips[agg]({ columns: cols, splitEvery: 2 }).compute({ scheduler: c.client });
      const here = await trips[agg]({ columns: cols }).compute(sync);
      for (const col of cols) {
        const w = want[agg]![col];
        for (const [where, got] of [
          ["cluster", onCluster],
          ["sync", here],
        ] as const) {
          const v = got[col] instanceof Date ? (got[col] as Date).getTime() : got[col];
          assert.ok(close(v, w), `${agg}(${col}) on ${where}: ${String(v)}, pandas ${String(w)}`);
        }
      }
    });
  }

  test("the default columns: numeric ones for sums and moments, every column for count, min, max and nunique", async () => {
    assert.deepEqual(Object.keys(await trips.sum().compute(sync)), [
      "vendor",
      "distance",
      "fare",
      "passengers",
      "flag",
    ]);
    assert.deepEqual(Object.keys(await trips.count().compute(sync)), trips.columns);
    assert.throws(() => trips.mean({ columns: ["zone"] }), /cannot take the mean of column "zone" of type utf8/);
  });

  test("describe gives pandas' count, mean, std, min, quartiles and max of the numeric columns", async () => {
    const t = columnsOf(await trips.describe().compute({ scheduler: c.client }));
    assert.deepEqual(t["statistic"], ["count", "mean", "std", "min", "25%", "50%", "75%", "max"]);
    const want = expected["describe"] as Record<string, number[]>;
    const all = expectedTable("all").values;
    for (const col of Object.keys(want)) {
      // pandas' quantile: linear interpolation between the order statistics around (n - 1) q.
      const v = (all[col] as (number | null)[])
        .filter((x): x is number => x !== null && !Number.isNaN(x))
        .sort((a, b) => a - b);
      const q = (p: number) => {
        const r = (v.length - 1) * p;
        const lo = Math.floor(r);
        return lo + 1 < v.length ? v[lo]! + (r - lo) * (v[lo + 1]! - v[lo]!) : v[lo]!;
      };
      const [count, mean, std, min, max] = want[col]!;
      const pandas = [count, mean, std, min, q(0.25), q(0.5), q(0.75), max];
      assert.ok(
        t[col]!.every((x, i) => close(x, pandas[i])),
        `${col}: ${t[col]} vs ${pandas}`,
      );
    }
  });

  test("describe's quartiles from sketches: exact up to 4096 values a partition, within a sketch step past that", async () => {
    const n = 50_000;
    const values = Array.from({ length: n }, (_, i) => ({ x: ((i * 7919) % n) / n }));
    for (const npartitions of [20, 2]) {
      const t = columnsOf(
        await dd
          .fromRecords(values, { npartitions, dtypes: { x: "float64" } })
          .describe()
          .compute({ scheduler: "sync" }),
      );
      const exact = [0.25, 0.5, 0.75].map((p) => ((n - 1) * p) / n); // the values are 0, 1/n … (n-1)/n
      const got = (t["x"] as number[]).slice(4, 7);
      const tol = npartitions === 20 ? 1e-12 : 2 / 4096;
      got.forEach((g, j) => assert.ok(Math.abs(g - exact[j]!) <= tol, `${npartitions} partitions: ${got} vs ${exact}`));
    }
  });
});

describe("groupby", () => {
  const spec = {
    fare: ["mean", "max", "sum"],
    distance: "count",
    zone: "nunique",
    passengers: "std",
    pickup: "min",
  } as const;
  const rename = (t: Record<string, unknown[]>) => ({
    ...t,
    passengers_std: t["passengers"]!,
    pickup_min: t["pickup"]!,
  });

  test("agg by one key matches pandas, sorted by the key; keys spread unevenly (vendor 4 has a handful of rows)", async () => {
    const g = trips.groupby("vendor").agg(spec as unknown as dd.AggSpec);
    assert.deepEqual(g.columns, [
      "vendor",
      "fare_mean",
      "fare_max",
      "fare_sum",
      "distance",
      "zone",
      "passengers",
      "pickup",
    ]);
    assert.deepEqual(g.dtypes, {
      vendor: "int32",
      fare_mean: "float64",
      fare_max: "float64",
      fare_sum: "float64",
      distance: "int64",
      zone: "int64",
      passengers: "float64",
      pickup: "timestamp[ms]",
    });
    const want = expectedTable("groupby_vendor").values;
    assertColumns(rename(columnsOf(await g.compute({ scheduler: c.client }))), want, "cluster");
    assertColumns(rename(columnsOf(await g.compute(sync))), want, "sync");
    assertColumns(rename(columnsOf(await g.compute({ scheduler: "threads" }))), want, "threads");
  });

  test("by two keys, rows with a null key left out (pandas' dropna)", async () => {
    const g = await trips.groupby(["vendor", "zone"]).agg({ fare: "sum" }).compute({ scheduler: c.client });
    const s = await trips.groupby(["vendor", "zone"]).size().compute(sync);
    const want = expectedTable("groupby_vendor_zone").values;
    assertColumns(columnsOf(g), { vendor: want["vendor"]!, zone: want["zone"]!, fare: want["fare"]! }, "two keys");
    assertColumns(columnsOf(s), { size: want["n"]! }, "size");
  });

  test("splitOut spreads the groups over several output partitions; together they are pandas' groups", async () => {
    const g = trips.groupby(["vendor", "zone"]).agg({ fare: "sum" }, { splitOut: 3, splitEvery: 3 });
    assert.equal(g.npartitions, 3);
    const got = columnsOf(await g.compute({ scheduler: c.client }));
    const want = expectedTable("groupby_vendor_zone").values;
    // The same rows as pandas' (each group once: it lives in exactly one output partition).
    assert.deepEqual(
      rowSet(got, ["vendor", "zone", "fare"]),
      rowSet(want as Record<string, unknown[]>, ["vendor", "zone", "fare"]),
    );
  });

  test("shortcuts: sum, mean, count, min, max, var, std, nunique over every other column that fits", async () => {
    const t = columnsOf(await trips.select(["vendor", "fare"]).groupby("vendor").mean().compute(sync));
    assertColumns(
      t,
      {
        vendor: expectedTable("groupby_vendor").values["vendor"]!,
        fare: expectedTable("groupby_vendor").values["fare_mean"]!,
      },
      "mean()",
    );
    assert.deepEqual(trips.groupby("vendor").sum().columns, ["vendor", "distance", "fare", "passengers", "flag"]);
    assert.throws(
      () => trips.groupby("vendor").agg({ zone: "mean" }),
      /cannot take the mean of column "zone" of type utf8/,
    );
    assert.throws(
      () => trips.groupby("vendor").agg({ fare: "median" as never }),
      /unknown aggregation "median" for "fare"; the aggregations are count, size, sum, mean, min, max, var, std, nunique/,
    );
    assert.throws(() => trips.groupby("vendr"), /no column "vendr" in groupby/);
  });
});

describe("valueCounts and dropDuplicates", () => {
  test("valueCounts: most frequent first, as pandas' value_counts", async () => {
    const v = await trips.valueCounts("zone").compute({ scheduler: c.client });
    assert.deepEqual(v.names, ["zone", "count"]);
    assertTable(v, "value_counts_zone", "valueCounts");
  });

  test("dropDuplicates keeps first occurrences in order, nulls equal to nulls, as pandas", async () => {
    const pairs = trips.select(["vendor", "zone"]);
    assertTable(
      await pairs.dropDuplicates({ splitEvery: 3 }).compute({ scheduler: c.client }),
      "drop_duplicates_vendor_zone",
      "dropDuplicates",
    );
    const byVendor = await trips.dropDuplicates({ subset: ["vendor"] }).compute(sync);
    assert.equal(byVendor.numRows, 4);
    assert.equal(byVendor.names.length, 8, "whole rows are kept");
  });
});

describe("merge (broadcast)", () => {
  test("left and inner joins with a one-partition right side match pandas", async () => {
    const left = trips.select(["vendor", "fare"]);
    assertTable(
      await left.merge(vendors, { on: "vendor", how: "left" }).compute({ scheduler: c.client }),
      "merge_left",
      "left",
    );
    assertTable(await left.merge(vendors, { on: "vendor" }).compute(sync), "merge_inner", "inner");
  });

  test("a right side of several partitions is joined into one and broadcast when asked (or small by its metadata)", async () => {
    const split = dd.fromArrow(await vendors.compute(sync), { npartitions: 2 });
    assert.equal(split.npartitions, 2);
    const m = trips.select(["vendor", "fare"]).merge(split, { on: "vendor", how: "left" });
    assertTable(await m.compute({ scheduler: c.client }), "merge_left", "broadcast of 2 partitions");
  });

  test("suffixes for columns both sides have, leftOn/rightOn keep both keys", async () => {
    const a = dd.fromRecords(
      [
        { k: 1, v: "a" },
        { k: 2, v: "b" },
      ],
      { dtypes: { k: "int32" } },
    );
    const b = dd.fromRecords([{ id: 1, v: "x" }], { dtypes: { id: "int32" } });
    const m = a.merge(b, { leftOn: "k", rightOn: "id", how: "left" });
    assert.deepEqual(m.columns, ["k", "v_x", "id", "v_y"]);
    assert.deepEqual(columnsOf(await m.compute(sync)), { k: [1, 2], v_x: ["a", "b"], id: [1, null], v_y: ["x", null] });
  });

  test("a join on columns of different types is a SchemaError naming both", () => {
    const strKeys = vendors.astype({ vendor: "utf8" });
    assert.throws(
      () => trips.merge(strKeys, { on: "vendor" }),
      (e: Error) =>
        e instanceof SchemaError &&
        /left "vendor" is int32, right "vendor" is utf8; convert one with astype/.test(e.message),
    );
  });

  test("a right side too big to broadcast is hash-shuffled with the left instead; broadcast: true still broadcasts it", async () => {
    const big = dd.fromRecords(
      Array.from({ length: 10 }, (_, i) => ({ vendor: i })),
      { npartitions: 3, dtypes: { vendor: "int32" } },
    );
    // fromRecords knows its size (tiny): broadcast without asking.
    assert.equal(trips.merge(big, { on: "vendor" }).npartitions, trips.npartitions);
    const unknownSize = big.assign({ w: (d) => d.vendor * 2 });
    const want = 600 - (expected["all"] as { values: { vendor: number[] } }).values.vendor.filter((v) => v > 9).length;
    // A left join (an inner one would broadcast the left side, small by its Parquet metadata).
    const shuffled = trips.merge(unknownSize, { on: "vendor", how: "left" });
    const broadcast = trips.merge(unknownSize, { on: "vendor", how: "left", broadcast: true });
    assert.equal(
      shuffled.taskCount - broadcast.taskCount,
      10 + 100 + 10 + 3 + 30 + 10 - 1,
      "split, piece and bucket tasks on both sides instead of joining the right side into one",
    );
    assert.equal(await shuffled.len(sync), 600);
    assert.equal(await broadcast.len(sync), 600);
    assert.equal(await trips.merge(unknownSize, { on: "vendor" }).len(sync), want);
  });
});
