// Reading and writing files: Parquet planned from footers and read by byte range (only the
// requested columns, row groups skipped by statistics), CSV cut into blocks on line boundaries,
// bad input named (file and line, schema, encoding) through compute with the cluster still
// serving; files written by meshwork read back by meshwork, pandas/pyarrow and DuckDB.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";
import { parquetMetadata } from "hyparquet";
import { readFileSync } from "node:fs";
import * as dd from "../../node/dataframe.js";
import { FormatError, ParseError, RemoteError, SchemaError } from "../../node/index.js";
import { openStore, registerStoreScheme, type ByteRange } from "../../src/io/store.js";
import { useCluster } from "../helpers/cluster.js";
import { assertColumns, assertTable, columnsOf, expected, expectedTable, fixture } from "./helpers.js";

const sync = { scheduler: "sync" } as const;
const c = useCluster({ workers: 2 });
let tmp: string;
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), "meshwork-df-"));
});
after(async () => {
  rmSync(tmp, { recursive: true, force: true });
});

// A store that counts what is read: count:///path is the file store at file:///path.
const reads: { key: string; range: ByteRange | undefined }[] = [];
registerStoreScheme("count:", (root) => {
  const inner = openStore(root.href.replace(/^count:/, "file:"));
  return {
    url: root.href,
    get: (key, range, into) => (reads.push({ key, range }), inner.get(key, range, into)),
    set: (key, bytes) => inner.set(key, bytes),
    size: (key) => inner.size!(key),
    list: (prefix) => inner.list!(prefix),
  };
});

describe("readParquet", () => {
  test("reads only the requested columns' byte ranges of each row group", async () => {
    const file = fixture("trips/part-0.parquet");
    const size = readFileSync(file).length;
    const meta = parquetMetadata(readFileSync(file).buffer as ArrayBuffer);
    const fareBytes = meta.row_groups.reduce(
      (s, rg) =>
        s +
        Number(rg.columns.find((col) => col.meta_data!.path_in_schema[0] === "fare")!.meta_data!.total_compressed_size),
      0,
    );
    const df = await dd.readParquet(`count://${file}`, { columns: ["fare"] });
    reads.length = 0;
    const t = await df.compute(sync);
    assert.deepEqual(columnsOf(t)["fare"], expectedTable("all").values["fare"]!.slice(0, 200));
    // Footer reads end at the end of the file; the rest are the column chunks read.
    const data = reads
      .filter((r) => r.range && r.range.offset + r.range.length !== size)
      .reduce((s, r) => s + r.range!.length, 0);
    assert.equal(data, fareBytes, `read ${data} bytes of column chunks; fare's chunks are ${fareBytes} of ${size}`);
  });

  test("filters skip row groups by their min/max statistics, and rows are filtered exactly", async () => {
    const df = await dd.readParquet(fixture("trips"), { filters: [["distance", ">", 10]] });
    // part-1's row groups 1 and 2 hold only trips of at most 9 miles: never read.
    assert.equal(df.npartitions, 8);
    assertTable(await df.compute({ scheduler: c.client }), "filter_distance_gt_10", "filters");
    const all = await dd.readParquet(fixture("trips"));
    const either = await dd.readParquet(fixture("trips"), {
      columns: ["vendor", "fare"],
      filters: [
        [["vendor", "==", 4]],
        [
          ["fare", ">", 40],
          ["zone", "in", ["north", "south"]],
        ],
      ],
    });
    const same = all
      .filter((d) => d.vendor === 4 || (d.fare > 40 && (d.zone === "north" || d.zone === "south")))
      .select(["vendor", "fare"]);
    assert.deepEqual(columnsOf(await either.compute(sync)), columnsOf(await same.compute(sync)));
    const dated = await dd.readParquet(fixture("trips"), {
      filters: [["pickup", "<", new Date("2020-01-15T00:00:00Z")]],
    });
    const early = columnsOf(await dated.compute(sync))["pickup"] as number[];
    assert.ok(early.length > 0 && early.every((t) => t < Date.UTC(2020, 0, 15)));
    assert.equal(
      early.length,
      (expectedTable("all").values["pickup"] as number[]).filter((t) => t < Date.UTC(2020, 0, 15)).length,
    );
  });

  test("files whose schemas differ are a SchemaError naming both files", async () => {
    await assert.rejects(
      dd.readParquet(fixture("bad/mixed")),
      (e: Error) =>
        e instanceof SchemaError && /column "vendor" is utf8 in .*b\.parquet but int32 in .*a\.parquet/.test(e.message),
    );
    await assert.rejects(
      dd.readParquet(fixture("trips"), { columns: ["fare", "tip"] }),
      /no column "tip" in file:.*part-0\.parquet; the columns are "vendor"/,
    );
  });

  test("a page in an encoding the reader lacks is a FormatError through compute; the cluster goes on serving", async () => {
    const df = await dd.readParquet(fixture("bad/bit-packed.parquet"));
    await assert.rejects(
      df.compute({ scheduler: c.client }),
      (e: Error) =>
        e instanceof RemoteError &&
        e.remoteName === "FormatError" &&
        /bit-packed\.parquet, row group 0: a page is encoded with BIT_PACKED/.test(e.message),
    );
    await assert.rejects(df.compute(sync), FormatError);
    const trips = await dd.readParquet(fixture("trips"));
    assert.equal(await trips.len({ scheduler: c.client }), 600);
  });
});

describe("readCsv", () => {
  test("blocks split on line boundaries read pandas' rows and types, the header-only file an empty partition", async () => {
    const df = await dd.readCsv(fixture("csv/*.csv"), { blocksize: 2000 });
    assert.ok(df.npartitions > 15, `${df.npartitions} partitions`);
    assert.deepEqual(df.dtypes, {
      vendor: "int64",
      zone: "utf8",
      distance: "float64",
      fare: "float64",
      passengers: "int64",
      pickup: "timestamp[ms]",
      flag: "bool",
    });
    const want = expectedTable("csv").values;
    // pandas reads the files in the order given; the glob sorts them: a, b, empty.
    assertColumns(columnsOf(await df.compute({ scheduler: c.client })), want, "csv blocks");
    assertColumns(
      columnsOf(
        await (await dd.readCsv([fixture("csv/a.csv"), fixture("csv/b.csv")], { blocksize: null })).compute(sync),
      ),
      want,
      "csv whole files",
    );
  });

  test("every line lands in exactly one block, whatever the block size (quotes, CRLF, no final newline)", async () => {
    const lines = [
      "id,name,score",
      ...Array.from({ length: 25 }, (_, i) => `${i},"n, ""${i}""",${i % 3 === 0 ? "" : i / 4}`),
    ];
    for (const [name, text] of [
      ["lf.csv", `${lines.join("\n")}\n`],
      ["crlf.csv", `${lines.join("\r\n")}\r\n`],
      ["open.csv", lines.join("\n")],
    ] as const) {
      writeFileSync(join(tmp, name), text);
      for (const blocksize of [1, 2, 7, 16, 64, 10_000]) {
        const t = columnsOf(await (await dd.readCsv(join(tmp, name), { blocksize })).compute(sync));
        assert.deepEqual(
          t["id"],
          Array.from({ length: 25 }, (_, i) => i),
          `${name} blocksize ${blocksize}`,
        );
        assert.equal(t["name"]![3], 'n, "3"', `${name} blocksize ${blocksize}`);
        assert.deepEqual(t["score"]!.slice(0, 4), [null, 0.25, 0.5, null]);
      }
    }
  });

  test('a malformed row is a ParseError naming the file and line, through compute on a cluster; onBadLines: "skip" drops it', async () => {
    for (const blocksize of [10_000, 9]) {
      const df = await dd.readCsv(fixture("bad/malformed.csv"), { blocksize });
      await assert.rejects(
        df.compute(sync),
        (e: Error) =>
          e instanceof ParseError &&
          e.line === 4 &&
          e.file.endsWith("malformed.csv") &&
          /malformed\.csv, line 4: expected 3 fields, saw 2/.test(e.message),
      );
      await assert.rejects(
        df.compute({ scheduler: c.client }),
        (e: Error) =>
          e instanceof RemoteError &&
          e.remoteName === "ParseError" &&
          /malformed\.csv, line 4: expected 3 fields, saw 2/.test(e.message),
      );
    }
    assert.equal(await c.client.submit((x: number) => x + 1, 41), 42);
    const skipped = await (await dd.readCsv(fixture("bad/malformed.csv"), { onBadLines: "skip" })).compute(sync);
    assert.deepEqual(columnsOf(skipped)["a"], [1, 4, 9]);
  });

  test("a value that does not fit its column's type names the line and how to read it as text", async () => {
    // Inferred from the first 12 bytes ("a,b\n1,2\n3,4"): b is int64 until line 4.
    const inferred = await dd.readCsv(fixture("bad/not-a-number.csv"), { sample: 12 });
    assert.equal(inferred.dtypes["b"], "int64");
    await assert.rejects(
      inferred.compute(sync),
      (e: Error) =>
        e instanceof ParseError &&
        e.line === 4 &&
        /line 4: column "b" is int64 \(inferred from the first file's first rows unless given\), but this row holds "oops"; read it as text with dtypes: \{ "b": "utf8" \}/.test(
          e.message,
        ),
    );
    const asText = await dd.readCsv(fixture("bad/not-a-number.csv"), { sample: 12, dtypes: { b: "utf8" } });
    assert.deepEqual(columnsOf(await asText.compute(sync))["b"], ["2", "4", "oops"]);
  });

  test("files whose headers differ are a SchemaError through compute", async () => {
    const df = await dd.readCsv(fixture("bad/csv-mixed"));
    await assert.rejects(
      df.compute({ scheduler: c.client }),
      (e: Error) =>
        e instanceof RemoteError &&
        e.remoteName === "SchemaError" &&
        /b\.csv has the header x, z; the first file has x, y/.test(e.message),
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

describe("writing", () => {
  test("toParquet and toCsv write one file per partition, where the partitions are; meshwork reads them back as they were", async () => {
    const trips = await dd.readParquet(fixture("trips"));
    const dir = join(tmp, "out-parquet");
    assert.equal(await trips.toParquet(dir, { scheduler: c.client }), 600);
    const back = await dd.readParquet(dir);
    // Ten files; the empty partition's file has no row group, so nine partitions come back.
    assert.equal(back.npartitions, 9);
    assert.deepEqual(back.dtypes, trips.dtypes);
    assertTable(await back.compute(sync), "all", "parquet round trip");
    const csvDir = join(tmp, "out-csv");
    assert.equal(
      await trips.select(["vendor", "zone", "fare", "pickup", "flag"]).toCsv(csvDir, { scheduler: c.client }),
      600,
    );
    const csv = await dd.readCsv(pathToFileURL(csvDir + "/").href);
    assertTable(await csv.compute(sync), "all", "csv round trip", ["zone", "fare", "pickup", "flag"]);
  });

  test("pandas and pyarrow read what meshwork writes (live Python)", async (t) => {
    const py = python();
    if (!py) {
      t.skip("no Python with pandas and pyarrow here (set MESHWORK_PYTHON); skipped");
      return;
    }
    const dir = join(tmp, "for-pandas");
    const trips = await dd.readParquet(fixture("trips"));
    await trips
      .groupby("vendor")
      .agg({ fare: ["sum", "mean"], zone: "nunique" })
      .toParquet(dir, { scheduler: c.client });
    await trips.toParquet(join(dir, "all"), { scheduler: c.client });
    const widths = dd.fromRecords(
      [{ a: -1, b: null, c: 200, d: 60000, e: 4_000_000_000, f: 2n ** 63n, g: 7, h: 0.5 }],
      {
        dtypes: { a: "int8", b: "int16", c: "uint8", d: "uint16", e: "uint32", f: "uint64", g: "int32", h: "float32" },
      },
    );
    await widths.toParquet(join(dir, "widths"), sync);
    const script = `
import json, sys, pandas as pd, pyarrow.parquet as pq
g = pd.read_parquet(sys.argv[1] + "/part.0.parquet")
a = pd.read_parquet(sys.argv[1] + "/all")
s = pq.read_schema(sys.argv[1] + "/all/part.0.parquet")
w = pq.read_table(sys.argv[1] + "/widths")
print(json.dumps({"widths": {f.name: str(f.type) for f in w.schema}, "wvalues": {k: [str(x) for x in v] for k, v in w.to_pydict().items()}, "vendor": g["vendor"].tolist(), "fare_sum": g["fare_sum"].tolist(), "zone": g["zone"].tolist(), "rows": len(a), "fare": float(a["fare"].sum()), "nulls": int(a["zone"].isna().sum()), "types": {f.name: str(f.type) for f in s}}))`;
    const r = spawnSync(py, ["-c", script, dir], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as {
      widths: Record<string, string>;
      wvalues: Record<string, string[]>;
      vendor: number[];
      fare_sum: number[];
      zone: number[];
      rows: number;
      fare: number;
      nulls: number;
      types: Record<string, string>;
    };
    const want = expectedTable("groupby_vendor").values;
    assert.deepEqual(got.vendor, want["vendor"]);
    assert.ok(got.fare_sum.every((v, i) => Math.abs(v - (want["fare_sum"]![i] as number)) < 1e-6));
    assert.deepEqual(got.zone, want["zone"]);
    assert.equal(got.rows, 600);
    assert.ok(
      Math.abs(got.fare - (expected["reductions"] as Record<string, Record<string, number>>)["sum"]!["fare"]!) < 1e-6,
    );
    assert.equal(got.nulls, expectedTable("all").values["zone"]!.filter((z) => z === null).length);
    assert.deepEqual(got.widths, {
      a: "int8",
      b: "int16",
      c: "uint8",
      d: "uint16",
      e: "uint32",
      f: "uint64",
      g: "int32",
      h: "float",
    });
    assert.deepEqual(got.wvalues, {
      a: ["-1"],
      b: ["None"],
      c: ["200"],
      d: ["60000"],
      e: ["4000000000"],
      f: ["9223372036854775808"],
      g: ["7"],
      h: ["0.5"],
    });
    assert.deepEqual(got.types, {
      vendor: "int32",
      zone: "string",
      distance: "double",
      fare: "double",
      passengers: "int64",
      pickup: "timestamp[ms]",
      flag: "bool",
      day: "date32[day]",
    });
  });

  test("DuckDB reads what meshwork writes, Parquet and CSV", async (t) => {
    let duck: typeof import("@duckdb/node-api");
    try {
      duck = await import("@duckdb/node-api");
    } catch (err) {
      t.skip(`@duckdb/node-api does not load here (${(err as Error).message}); skipped`);
      return;
    }
    const trips = await dd.readParquet(fixture("trips"));
    const dir = join(tmp, "for-duckdb");
    await trips.toParquet(join(dir, "pq"), { scheduler: c.client });
    await trips.select(["vendor", "zone", "fare", "pickup"]).toCsv(join(dir, "csv"), { scheduler: c.client });
    const db = await duck.DuckDBInstance.create(":memory:");
    const con = await db.connect();
    try {
      for (const from of [`read_parquet('${dir}/pq/*.parquet')`, `read_csv('${dir}/csv/*.csv')`]) {
        const rows = (
          await con.runAndReadAll(
            `select count(*)::INTEGER as n, sum(fare)::DOUBLE as fare, count(zone)::INTEGER as zones, min(pickup)::VARCHAR as first from ${from}`,
          )
        ).getRowObjects()[0]!;
        assert.equal(rows["n"], 600, from);
        assert.ok(
          Math.abs(
            (rows["fare"] as number) -
              (expected["reductions"] as Record<string, Record<string, number>>)["sum"]!["fare"]!,
          ) < 1e-6,
          from,
        );
        assert.equal(rows["zones"], expectedTable("all").values["zone"]!.filter((z) => z !== null).length, from);
        assert.equal(
          new Date(`${String(rows["first"]).replace(" ", "T")}Z`).getTime(),
          (expected["reductions"] as Record<string, Record<string, number>>)["min"]!["pickup"],
          from,
        );
      }
    } finally {
      con.closeSync();
    }
  });
});
