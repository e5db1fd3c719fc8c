// Row-wise verbs against pandas on the same files, on this thread and on a cluster; row
// expressions compiled to loops over columns; null semantics; what a bad expression says.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { tableFromArrays } from "@uwdata/flechette";
import * as dd from "../../node/dataframe.js";
import { ClosureError, ColumnError, RemoteError } from "../../node/index.js";
import { describeExpr } from "../../src/dataframe/expr.js";
import { loopSource } from "../../src/dataframe/kernels/expr-run.js";
import { Part } from "../../src/dataframe/part.js";
import { columnFrom } from "../../src/dataframe/column.js";
import { useCluster } from "../helpers/cluster.js";
import { assertColumns, assertTable, columnsOf, expected, expectedTable, fixture } from "./helpers.js";

const sync = { scheduler: "sync" } as const;
const c = useCluster({ workers: 2 });
let trips: dd.DataFrame;
before(async () => {
  trips = await dd.readParquet(fixture("trips"));
});

describe("filter and assign", () => {
  test("filter keeps pandas' rows (NaN distances fail the comparison, as in pandas)", async () => {
    const long = trips.filter((d) => d.distance > 10);
    assertTable(await long.compute(sync), "filter_distance_gt_10", "sync");
    assertTable(await long.compute({ scheduler: c.client }), "filter_distance_gt_10", "cluster");
  });

  test("assign derives columns as pandas does: float division, int64 arithmetic with nulls kept", async () => {
    const long = trips
      .filter((d) => d.distance > 10)
      .assign({ perMile: (d) => d.fare / d.distance, pax2: (d) => d.passengers * 2 });
    assert.equal(long.dtypes["perMile"], "float64");
    assert.equal(long.dtypes["pax2"], "int64");
    const t = await long.compute({ scheduler: c.client });
    assertTable(t, "assign", "assign");
    assert.equal(t.getChild("pax2")!.type.typeId, 2, "int64 stays an integer column");
  });

  test("constants from params, strings, booleans and Dates; each expression sees the columns assigned before it", async () => {
    const t = await trips
      .assign(
        {
          fee: (d, $) => d.fare * $.rate,
          expensive: (d) => d.fare > 20,
          label: (d) => `${d.zone}/${d.vendor}`,
          source: "taxi",
          day2: (d) => new Date(d.day + 86_400_000),
        },
        { params: { rate: 0.1 } },
      )
      .assign({ feeDoubled: (d) => d.fee * 2 })
      .head(600, sync);
    const cols = columnsOf(t);
    const fare = expectedTable("all").values["fare"] as number[];
    assert.ok(cols["fee"]!.every((v, i) => Math.abs((v as number) - fare[i]! * 0.1) < 1e-12));
    assert.ok(cols["feeDoubled"]!.every((v, i) => Math.abs((v as number) - fare[i]! * 0.2) < 1e-12));
    assert.deepEqual(
      cols["expensive"],
      fare.map((f) => f > 20),
    );
    assert.equal(cols["source"]![5], "taxi");
    const zone = expectedTable("all").values["zone"]!;
    assert.equal(cols["label"]![0], `${zone[0]}/${expectedTable("all").values["vendor"]![0]}`);
    assert.equal(cols["day2"]![0], (expectedTable("all").values["day"]![0] as number) + 86_400_000);
  });

  test("block bodies, columns named with spaces, Math and other standard globals", async () => {
    const df = dd.fromRecords([
      { "fare amount": 10, n: 4 },
      { "fare amount": 3, n: 9 },
    ]);
    const t = columnsOf(
      await df
        .assign({
          tier: (d) => {
            const f = d["fare amount"];
            if (f > 5) return "high";
            return "low";
          },
          root: (d) => Math.sqrt(d.n),
        })
        .filter((d) => Number.isFinite(d.root))
        .compute({ scheduler: c.client }),
    );
    assert.deepEqual(t["tier"], ["high", "low"]);
    assert.deepEqual(t["root"], [2, 3]);
  });

  test("an expression becomes one loop over the columns it reads: typed-array reads, no object per row", () => {
    const part = new Part(
      ["fare", "distance", "zone"],
      [columnFrom("float64", [10, 20]), columnFrom("float64", [1, null]), columnFrom("utf8", ["a", "b"])],
    );
    const spec = describeExpr((d: { fare: number; distance: number }) => d.fare / d.distance, "test", part.schema);
    assert.deepEqual(spec.columns, ["fare", "distance"]);
    const src = loopSource(part, spec, "num");
    assert.match(src, /for \(let i = 0; i < n; i\+\+\) \{/);
    assert.match(src, /const __mw_c0 = a0\[i\];/, "a column without nulls is read straight from its Float64Array");
    assert.match(
      src,
      /const __mw_c1 = \(\(m1\[i >> 3\] >> \(i & 7\)\) & 1 \? a1\[i\] : NaN\);/,
      "a column with nulls reads NaN where its validity bit is 0",
    );
    assert.doesNotMatch(
      src.slice(src.indexOf("for (")),
      /\{\s*\w+\s*:|new |\[\s*\]/,
      "nothing is allocated inside the loop",
    );
    assert.doesNotMatch(src, /zone|s2/, "columns the expression does not read are not touched");
  });
});

describe("nulls, as pandas treats them", () => {
  const df = dd.fromRecords(
    [
      { x: 1.5, n: 2, s: "a", b: true },
      { x: null, n: null, s: null, b: null },
      { x: NaN, n: 3, s: "c", b: false },
    ],
    { dtypes: { x: "float64", n: "int32", s: "utf8", b: "bool" } },
  );

  test("arithmetic with a missing value is missing; comparisons with it are false; != is true", async () => {
    const t = columnsOf(
      await df
        .assign({ y: (d) => d.x + d.n, gt: (d) => d.x > 0, ne: (d) => d.n !== 2, eqs: (d) => d.s === "a" })
        .compute(sync),
    );
    assert.deepEqual(t["y"], [3.5, null, null]);
    assert.deepEqual(t["gt"], [true, false, false]);
    assert.deepEqual(t["ne"], [false, true, true]);
    assert.deepEqual(t["eqs"], [true, false, false]);
  });

  test("filter drops rows where the expression is null, NaN or false; a null boolean column is not true", async () => {
    assert.deepEqual(columnsOf(await df.filter((d) => d.b).compute(sync))["s"], ["a"]);
    assert.deepEqual(columnsOf(await df.filter((d) => d.x * 2).compute(sync))["s"], ["a"]);
    assert.deepEqual(columnsOf(await df.filter((d) => d.s !== null).compute(sync))["s"], ["a", "c"]);
  });

  test("fillna, dropna and astype as pandas (NaN in a float column counts as missing)", async () => {
    assert.deepEqual(columnsOf(await df.fillna({ x: 0, s: "?" }).compute(sync)), {
      x: [1.5, 0, 0],
      n: [2, null, 3],
      s: ["a", "?", "c"],
      b: [true, null, false],
    });
    assert.deepEqual(columnsOf(await df.fillna(7).compute(sync))["n"], [2, 7, 3]);
    assert.equal((await df.dropna().compute(sync)).numRows, 1);
    assert.equal((await df.dropna({ subset: ["n"] }).compute(sync)).numRows, 2);
    assert.equal((await df.dropna({ how: "all" }).compute(sync)).numRows, 2, "the second row is missing everywhere");
    const a = await df.fillna({ n: 0 }).astype({ n: "float32", s: "utf8", b: "int8" }).compute(sync);
    assert.deepEqual(columnsOf(a)["n"], [2, 0, 3]);
    assert.deepEqual(columnsOf(a)["b"], [1, null, 0]);
    // A null stays null (an int64 column holds nulls); NaN has no integer.
    await assert.rejects(
      df.astype({ x: "int64" }).compute(sync),
      /column "x" row 2 is NaN, which cannot be a int64 \(fillna first\)/,
    );
  });

  test("on the fixtures: dropna and fillna count what pandas counts", async () => {
    assert.equal(await trips.dropna().len({ scheduler: c.client }), expected["dropna_any"]);
    assert.equal(await trips.dropna({ subset: ["distance"] }).len(sync), expected["dropna_distance"]);
    const s = (
      await trips
        .fillna({ distance: 0 })
        .sum({ columns: ["distance"] })
        .compute(sync)
    )["distance"] as number;
    assert.ok(Math.abs(s - (expected["fillna_distance_sum"] as number)) < 1e-6);
  });
});

describe("select, drop, rename, mapPartitions", () => {
  test("select and drop keep columns in order; rename renames; unknown names list the columns there are", async () => {
    const t = await trips.select(["fare", "vendor"]).rename({ fare: "price" }).compute(sync);
    assert.deepEqual(t.names, ["price", "vendor"]);
    assertColumns(
      columnsOf(t),
      { price: expectedTable("all").values["fare"]!, vendor: expectedTable("all").values["vendor"]! },
      "select+rename",
    );
    assert.deepEqual(trips.drop(["zone", "day"]).columns, [
      "vendor",
      "distance",
      "fare",
      "passengers",
      "pickup",
      "flag",
    ]);
    assert.throws(
      () => trips.select(["fare", "tip"]),
      (e: Error) =>
        e instanceof ColumnError &&
        /no column "tip" in select; the columns are "vendor", "zone", "distance"/.test(e.message),
    );
  });

  test("mapPartitions runs a function on each partition's Arrow table where it is (returning a table or { column: values }); its schema is learnt from an empty table", async () => {
    const counts = trips.mapPartitions((t, k: number) => ({ rows: Int32Array.of(t.numRows * k) }), { args: [10] });
    assert.deepEqual(counts.dtypes, { rows: "int32" });
    const rows = columnsOf(await counts.compute({ scheduler: c.client }))["rows"] as number[];
    assert.deepEqual(rows, [500, 500, 500, 500, 500, 500, 500, 500, 2000, 0]);
  });

  test("a function that throws fails the compute with the remote error, and the cluster goes on serving", async () => {
    const bad = trips.mapPartitions((t) => {
      if (t.numRows > 100) throw new RangeError(`too many rows: ${t.numRows}`);
      return t;
    });
    await assert.rejects(
      bad.compute({ scheduler: c.client }),
      (e: Error) => e instanceof RemoteError && e.remoteName === "RangeError" && /too many rows: 200/.test(e.message),
    );
    assert.equal(await c.client.submit((x: number) => x * 2, 21), 42);
  });
});

describe("bad expressions are named before anything runs", () => {
  test("a missing column names it and lists the columns there are", () => {
    assert.throws(
      () => trips.filter((d) => d.distnce > 10),
      (e: Error) =>
        e instanceof ColumnError &&
        e.code === "COLUMN" &&
        (e as ColumnError).missing[0] === "distnce" &&
        /the columns are "vendor", "zone", "distance", "fare", "passengers", "pickup", "flag", "day"/.test(e.message),
    );
    assert.throws(() => trips.assign({ y: (d) => d.fare + d.tip }), /no column "tip" in assign y/);
  });

  test("a value from outside the expression must come as a param", () => {
    const limit = 10;
    assert.throws(
      () => trips.filter((d) => d.distance > limit),
      (e: Error) =>
        e instanceof ClosureError && /refers to `limit` from outside it.*\{ params: \{ limit \} \}/.test(e.message),
    );
    assert.throws(() => trips.filter((d) => Object.keys(d).length > 0), /can only be used to read columns/);
    assert.throws(() => trips.filter((d) => d[String(1)]), /columns are read as d\.name or d\["name"\]/);
  });

  test("a missing column inside a partition (a function that dropped it) is a ColumnError from the worker", async () => {
    const dropped = dd
      .fromArrow(tableFromArrays({ a: [1, 2] }))
      .mapPartitions(() => ({ b: [1] }), { meta: { a: "float64" } });
    await assert.rejects(
      dropped.filter((d) => d.a > 1).compute({ scheduler: c.client }),
      (e: Error) =>
        e instanceof RemoteError &&
        e.remoteName === "ColumnError" &&
        /no column "a".*the columns are "b"/.test(e.message),
    );
    await assert.rejects(dropped.filter((d) => d.a > 1).compute(sync), ColumnError);
  });
});

describe("dates and timestamps", () => {
  test("fillna, min and max keep a date column's days and a timestamp's unit (ns included)", async () => {
    const day = Date.UTC(2021, 5, 1);
    const df = dd.fromRecords(
      [
        { g: 1, d: new Date(day), t: 1_000n },
        { g: 1, d: null, t: null },
        { g: 2, d: null, t: 5n },
      ],
      { dtypes: { d: "date32", t: "timestamp[ns]" } },
    );
    const filled = columnsOf(await df.fillna({ d: new Date(day + 86_400_000) }).compute(sync));
    assert.deepEqual(filled["d"], [day, day + 86_400_000, day + 86_400_000]);
    const t = await df.fillna({ t: new Date(3) }).compute(sync);
    assert.deepEqual(
      Array.from({ length: 3 }, (_, i) => t.getChild("t")!.data[0]!.values[i]),
      [1_000n, 3_000_000n, 5n],
      "nanoseconds kept; the fill of 3 ms is 3,000,000 ns",
    );
    const g = columnsOf(
      await df
        .groupby("g")
        .agg({ d: ["min", "max"], t: "max" })
        .compute(sync),
    );
    assert.deepEqual(g["d_min"], [day, null]);
    assert.deepEqual(g["d_max"], [day, null]);
  });
});
