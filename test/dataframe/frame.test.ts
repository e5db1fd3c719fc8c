// The collection: frames planned from Parquet footers compute pandas' table on every scheduler;
// schema, printing, persist, head, len; partitions on the wire as a header plus raw frames; empty
// partitions; frames from Arrow tables and records.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { tableFromArrays, tableToIPC } from "@uwdata/flechette";
import * as dd from "../../node/dataframe.js";
import { deserialize, serialize } from "../../src/internal.js";
import { Part } from "../../src/dataframe/part.js";
import { decodeWire } from "../../src/protocol/wire-classes.js";
import { columnFrom, stringColumn } from "../../src/dataframe/column.js";
import { useCluster } from "../helpers/cluster.js";
import { assertTable, columnsOf, expectedTable, fixture } from "./helpers.js";

const sync = { scheduler: "sync" } as const;
const c = useCluster({ workers: 2 });

describe("a frame over Parquet files", () => {
  test("is planned from the footers, one partition per row group, and computes pandas' table on sync, threads and a cluster", async () => {
    const trips = await dd.readParquet(fixture("trips"));
    // part-0 and part-1: 4 row groups of 50 rows; part-2: one of 200; part-3: one row group of no rows (an empty partition).
    assert.equal(trips.npartitions, 10);
    assert.equal(trips.taskCount, 10);
    const onSync = await trips.compute(sync);
    assertTable(onSync, "all", "sync");
    assertTable(await trips.compute({ scheduler: "threads" }), "all", "threads");
    assertTable(await trips.compute({ scheduler: c.client }), "all", "cluster");
    assert.equal(onSync.numRows, 600);
  });

  test("knows its schema without running anything, and prints columns, types and partitions", async () => {
    const trips = await dd.readParquet(fixture("trips"), {
      columns: ["vendor", "zone", "fare", "pickup", "day", "flag"],
    });
    assert.deepEqual(trips.columns, ["vendor", "zone", "fare", "pickup", "day", "flag"]);
    assert.deepEqual(trips.dtypes, {
      vendor: "int32",
      zone: "utf8",
      fare: "float64",
      pickup: "timestamp[ms]",
      day: "date32",
      flag: "bool",
    });
    const s = String(trips);
    assert.match(s, /^mw\.DataFrame<read-parquet, npartitions=10, columns=6, tasks=10>/);
    assert.match(s, /\n {2}pickup\s+timestamp\[ms\]/);
    assert.match(s, /\n {2}zone\s+utf8/);
  });

  test("persist keeps the partitions on the workers; the persisted frame computes the same table and builds on", async () => {
    const trips = await dd.readParquet(fixture("trips"));
    const held = await trips.persist({ scheduler: c.client });
    assert.equal(held.npartitions, trips.npartitions);
    assert.equal(held.taskCount, trips.npartitions);
    assertTable(await held.compute({ scheduler: c.client }), "all", "persisted");
    assert.equal(
      await held.filter((d) => d.distance > 10).len({ scheduler: c.client }),
      expectedTable("filter_distance_gt_10").values["vendor"]!.length,
    );
    held.release();
  });

  test("head takes the first rows from the first partitions; len counts every row", async () => {
    const trips = await dd.readParquet(fixture("trips"));
    const h = await trips.head(3, sync);
    assert.equal(h.numRows, 3);
    assert.deepEqual(columnsOf(h)["fare"], expectedTable("all").values["fare"]!.slice(0, 3));
    // More rows than the first partition holds: it goes on to the next ones.
    const h2 = await trips.head(120, { scheduler: c.client });
    assert.deepEqual(columnsOf(h2)["fare"], expectedTable("all").values["fare"]!.slice(0, 120));
    assert.equal(await trips.len(sync), 600);
    assert.equal(await trips.len({ scheduler: c.client }), 600);
  });
});

describe("partitions on the wire", () => {
  test("a partition is a small header plus one frame per column buffer, decoded to the same columns", () => {
    const part = new Part(
      ["x", "s", "b"],
      [
        columnFrom("float64", [1.5, null, 3]),
        stringColumn(["a", null, "ccc"]),
        columnFrom("bool", [true, false, null]),
      ],
    );
    const { payload } = serialize(part);
    // x: values + validity; s: bytes + validity + offsets; b: bits + validity.
    assert.equal(payload.frames.length, 7);
    assert.ok(payload.header.byteLength < 200, `header of ${payload.header.byteLength} bytes`);
    assert.ok(
      payload.frames.some((f) => f.byteLength === 24 && f.buffer === part.column("x").values.buffer),
      "the float64 values go out as they are, not copied into the header",
    );
    const back = deserialize(payload) as Part;
    assert.ok(back instanceof Part);
    assert.deepEqual(back.names, ["x", "s", "b"]);
    assert.deepEqual(
      [0, 1, 2].map((i) => back.column("x").raw(i)),
      [1.5, null, 3],
    );
    assert.deepEqual(back.column("s").strings(), ["a", null, "ccc"]);
    assert.deepEqual(
      [0, 1, 2].map((i) => back.column("b").raw(i)),
      [true, false, null],
    );
  });

  test("a header that claims more rows than its buffers hold is refused by name, not read out of bounds", () => {
    const fields = { n: 1000, names: ["x"], types: ["int32"], cols: [{ v: new Int32Array(3), z: 0 }] };
    assert.throws(() => decodeWire("DFPart", fields), /values do not fit its type int32 and 1000 rows/);
    const strings = { n: 2, names: ["s"], types: ["utf8"], cols: [{ v: new Uint8Array(2), z: 0 }] };
    assert.throws(() => decodeWire("DFPart", strings), /offsets missing or of the wrong length/);
  });
});

describe("empty partitions", () => {
  test("a file without rows, a partition whose rows are all filtered out, and more partitions asked than rows", async () => {
    const empty = await dd.readParquet(fixture("trips/part-3.parquet"));
    assert.equal(empty.npartitions, 1);
    const t = await empty.compute({ scheduler: c.client });
    assert.equal(t.numRows, 0);
    assert.deepEqual(t.names, ["vendor", "zone", "distance", "fare", "passengers", "pickup", "flag", "day"]);
    // part-1's row groups 1 and 2 hold only trips of at most 9 miles: filtered on the workers, they give empty partitions.
    const trips = await dd.readParquet(fixture("trips"));
    const long = trips.filter((d) => d.distance > 10);
    assertTable(await long.compute({ scheduler: c.client }), "filter_distance_gt_10", "filter with empty partitions");
    assert.equal((await long.groupby("vendor").agg({ fare: "sum" }).compute(sync)).numRows, 4);
    const tiny = dd.fromRecords([{ a: 1 }, { a: 2 }], { npartitions: 5 });
    assert.equal(tiny.npartitions, 2);
    const none = dd.fromRecords([{ a: 1 }, { a: 2 }]).filter((d) => d.a > 5);
    const r = await none.compute(sync);
    assert.equal(r.numRows, 0);
    assert.deepEqual(await none.sum().compute(sync), { a: 0 });
    assert.deepEqual(await none.mean().compute(sync), { a: null });
  });
});

describe("frames from memory", () => {
  test("fromArrow takes a flechette table or IPC bytes and cuts it into partitions", async () => {
    const table = tableFromArrays({ x: Float64Array.from([1, 2, 3, 4, 5]), s: ["a", "b", null, "d", "e"] });
    const df = dd.fromArrow(table, { npartitions: 2 });
    assert.equal(df.npartitions, 2);
    assert.deepEqual(df.dtypes, { x: "float64", s: "utf8" });
    const back = columnsOf(await df.compute({ scheduler: c.client }));
    assert.deepEqual(back, { x: [1, 2, 3, 4, 5], s: ["a", "b", null, "d", "e"] });
    const fromBytes = dd.fromArrow(tableToIPC(table, { format: "stream" })!);
    assert.deepEqual(columnsOf(await fromBytes.compute(sync)), back);
  });

  test("fromRecords infers int64, float64, strings, booleans and timestamps, nulls included", async () => {
    const df = dd.fromRecords([
      { i: 1, f: 1.5, s: "x", b: true, t: new Date(Date.UTC(2020, 0, 1)) },
      { i: null, f: 2, s: null, b: null, t: null },
    ]);
    assert.deepEqual(df.dtypes, { i: "int64", f: "float64", s: "utf8", b: "bool", t: "timestamp[ms]" });
    assert.deepEqual(columnsOf(await df.compute(sync)), {
      i: [1, null],
      f: [1.5, 2],
      s: ["x", null],
      b: [true, null],
      t: [Date.UTC(2020, 0, 1), null],
    });
    assert.throws(
      () => dd.fromRecords([{ a: 1 }, { a: "x" }]),
      /holds both int64 and utf8 values; give its type with \{ dtypes \}/,
    );
  });
});
