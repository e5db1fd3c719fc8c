// `readParquet(…).filter(expr).len()` as one counting scan per row group (src/dataframe/count-fuse.ts,
// src/dataframe/io/parquet-count.ts): the counts against what pyarrow wrote and reads back
// (test/fixtures/dataframe/pages: every type, nulls across pages, dictionaries falling back to
// PLAIN, pages v1 and v2, Snappy, zstd and none) and against the general path (read, filter,
// take, length: `{ fuse: false }`); only the filter's column is read; broken pages are named
// errors either way; with live Python, files in other encodings and codecs against pyarrow's count.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parquetMetadata } from "hyparquet";
import * as dd from "../../node/dataframe.js";
import { FormatError, RemoteError } from "../../node/index.js";
import { resolveScheduler, type GraphScheduler, type PreparedGraph } from "../../src/graph/collection.js";
import type { RowExpr } from "../../src/dataframe/frame.js";
import { countScanStats } from "../../src/dataframe/io/parquet-count.js";
import { Task } from "../../src/graph/task.js";
import { openStore, registerStoreScheme, type ByteRange } from "../../src/io/store.js";
import { startCluster, type TestCluster } from "../helpers/cluster.js";
import { fixture } from "./helpers.js";

const sync = { scheduler: "sync" } as const;
const unfused = { scheduler: "sync", fuse: false } as const;
const expected = JSON.parse(readFileSync(fixture("pages/expected.json"), "utf8")) as Record<string, unknown[]>;
const FILES = ["v1-snappy", "v2-zstd", "v2-plain"];

let c: TestCluster;
let tmp: string;
before(async () => {
  c = await startCluster({ workers: 2 });
  tmp = mkdtempSync(join(tmpdir(), "meshwork-df-count-"));
});
after(async () => {
  await c[Symbol.asyncDispose]();
  rmSync(tmp, { recursive: true, force: true });
});

/** A value of expected.json as the expression sees it: numbers (dates in epoch ms), NaN for null. */
function seen(column: string, v: unknown): number {
  if (v === null) return NaN;
  if (column === "day") return (v as number) * 86_400_000;
  if (column === "ns") return Number(v) / 1e6;
  return Number(v);
}

/** Filters on one column (the counting scan), each with the same test in plain JavaScript over expected.json. */
const ONE_COLUMN: { column: string; expr: RowExpr; test: (x: number) => boolean; params?: Record<string, unknown> }[] =
  [
    { column: "i8", expr: (d) => d.i8 > 3, test: (x) => x > 3 },
    // Null is NaN to the expression: NaN !== 5 holds, so null rows count, as they are kept by filter.
    { column: "i8", expr: (d) => d.i8 !== 5, test: (x) => x !== 5 },
    { column: "u16", expr: (d) => d.u16 % 3 === 0, test: (x) => x % 3 === 0 },
    { column: "u32", expr: (d) => d.u32 > 2e9, test: (x) => x > 2e9 },
    {
      column: "i32",
      expr: (d) => {
        return d.i32 < 0;
      },
      test: (x) => x < 0,
    },
    { column: "i64", expr: (d) => d.i64 > 0, test: (x) => x > 0 },
    { column: "u64", expr: (d) => d.u64 > 4e18, test: (x) => x > 4e18 },
    { column: "f32", expr: (d) => d.f32 > 0.5, test: (x) => x > 0.5 },
    { column: "f64", expr: (d, $) => d.f64 > $.t, test: (x) => x > 1000, params: { t: 1000 } },
    { column: "f64", expr: (d) => d.f64 !== d.f64, test: (x) => x !== x },
    { column: "day", expr: (d) => d.day > Date.UTC(2023, 0, 1), test: (x) => x > Date.UTC(2023, 0, 1) },
    { column: "ms", expr: (d) => d.ms > 1e12, test: (x) => x > 1e12 },
    { column: "ns", expr: (d) => d.ns > Date.UTC(2060, 0, 1), test: (x) => x > Date.UTC(2060, 0, 1) },
  ];

/** A scheduler that runs the graph on this thread and keeps it, to see what the optimizer made. */
function spying(): { scheduler: GraphScheduler; graphs: PreparedGraph[] } {
  const inner = resolveScheduler("sync");
  const graphs: PreparedGraph[] = [];
  return {
    graphs,
    scheduler: {
      computeGraph: (g) => (graphs.push(g), inner.computeGraph(g)),
      persistGraph: (g) => inner.persistGraph(g),
    },
  };
}

function functionsOf(g: PreparedGraph): string[] {
  return [...g.graph.values()].map((n) => (n instanceof Task ? String(n.fn) : n.constructor.name));
}

describe("filter(…).len() over Parquet counts in the scan", () => {
  test("runs as one parquet-count task per row group, and readParquet(…).len() too", async () => {
    const df = await dd.readParquet(fixture("pages/v1-snappy.parquet"), { columns: ["f64", "low"] });
    const spy = spying();
    const n = await df.filter((d) => d.f64 > 0).len({ scheduler: spy.scheduler });
    assert.deepEqual(functionsOf(spy.graphs.at(-1)!), ["df.parquet-count", "df.parquet-count", "df.sum"]);
    assert.equal(n, await df.filter((d) => d.f64 > 0).len(unfused));
    await df.len({ scheduler: spy.scheduler });
    assert.deepEqual(functionsOf(spy.graphs.at(-1)!), ["df.parquet-count", "df.parquet-count", "df.sum"]);
    // A filter over something else than a read counts without making the rows (filter-len).
    await df
      .assign({ g: (d) => d.f64 * 2 })
      .filter((d) => d.g > 0)
      .len({ scheduler: spy.scheduler });
    assert.deepEqual(
      functionsOf(spy.graphs.at(-1)!).filter((f) => f !== "df.parquet-read" && f !== "df.assign"),
      ["df.filter-len", "df.filter-len", "df.sum"],
    );
  });

  for (const file of FILES) {
    test(`counts what pyarrow reads back and what the general path keeps: ${file}, every type`, async () => {
      const df = await dd.readParquet(fixture(`pages/${file}.parquet`));
      const start = countScanStats();
      for (const { column, expr, test: keep, params } of ONE_COLUMN) {
        const want = expected[column]!.filter((v) => keep(seen(column, v))).length;
        const filtered = df.filter(expr, { params });
        const before = countScanStats();
        assert.equal(await filtered.len(sync), want, `${file}: ${String(expr)}`);
        const after = countScanStats();
        // Counted page by page (both row groups), not by the general path.
        assert.equal(after.scans - before.scans, 2, `${file}: ${String(expr)}: scanned`);
        assert.equal(after.general, before.general, `${file}: ${String(expr)}: not the general path`);
        assert.equal(await filtered.len(unfused), want, `${file}: ${String(expr)}, general path`);
      }
      // Pages without nulls are read where they lie; pages with nulls or a dictionary are gathered.
      const end = countScanStats();
      assert.ok(end.pagesGathered > start.pagesGathered);
      if (file === "v2-zstd") assert.ok(end.pagesInPlace > start.pagesInPlace);
      assert.equal(await df.len(sync), 1200);
    });
  }

  test("filters the scan does not count page by page (several columns, strings, no column) count as the general path does", async () => {
    const df = await dd.readParquet(fixture("pages/v2-zstd.parquet"));
    const cases: [RowExpr, number][] = [
      [
        (d) => d.f64 > 0 && d.i8 > 0,
        expected["f64"]!.filter((v, i) => seen("f64", v) > 0 && seen("i8", expected["i8"]![i]) > 0).length,
      ],
      [(d) => d.low === "zone", expected["low"]!.filter((v) => v === "zone").length],
      [
        (d) => d.high?.startsWith("key-1"),
        expected["high"]!.filter((v) => typeof v === "string" && v.startsWith("key-1")).length,
      ],
      [(_d) => true, 1200],
    ];
    for (const [expr, want] of cases) {
      const before = countScanStats().general;
      assert.equal(await df.filter(expr).len(sync), want, String(expr));
      assert.equal(countScanStats().general, before + 2, `${String(expr)}: the general path`);
      assert.equal(await df.filter(expr).len(unfused), want, `${String(expr)}, general path`);
    }
    // dnf filters (rows filtered exactly as they are read) under the expression.
    const pre = await dd.readParquet(fixture("pages/v2-zstd.parquet"), { filters: [["i32", ">", 0]] });
    const want = expected["f64"]!.filter((v, i) => seen("f64", v) > 0 && (expected["i32"]![i] as number) > 0).length;
    assert.equal(await pre.filter((d) => d.f64 > 0).len(sync), want);
    assert.equal(await pre.len(sync), expected["i32"]!.filter((v) => (v as number) > 0).length);
  });

  test("on a cluster, the workers count; the answer is the same", async () => {
    const df = await dd.readParquet([fixture("pages/v1-snappy.parquet"), fixture("pages/v2-plain.parquet")]);
    const want = 2 * expected["f64"]!.filter((v) => seen("f64", v) > 0).length;
    assert.equal(await df.filter((d) => d.f64 > 0).len({ scheduler: c.client }), want);
    assert.equal(await df.len({ scheduler: c.client }), 2400);
  });

  test("reads only the filter's column, and nothing past the footer for a length", async () => {
    const reads: { key: string; range: ByteRange | undefined }[] = [];
    registerStoreScheme("countscan:", (root) => {
      const inner = openStore(root.href.replace(/^countscan:/, "file:"));
      return {
        url: root.href,
        get: (key, range, into) => (reads.push({ key, range }), inner.get(key, range, into)),
        set: (key, bytes) => inner.set(key, bytes),
        size: (key) => inner.size!(key),
      };
    });
    const path = fixture("pages/v1-snappy.parquet");
    const size = readFileSync(path).length;
    const meta = parquetMetadata(new Uint8Array(readFileSync(path)).buffer);
    const df = await dd.readParquet(`countscan://${path}`, { columns: ["i8", "f64", "low"] });
    // What is read besides the footer (a range ending at the file's end).
    const chunkReads = () => reads.filter((r) => !r.range || r.range.offset + r.range.length !== size);
    reads.length = 0;
    await df.filter((d) => d.f64 > 0).len(sync);
    const f64Chunks = meta.row_groups.map((rg) => {
      const cm = rg.columns.find((cc) => cc.meta_data!.path_in_schema[0] === "f64")!.meta_data!;
      return {
        offset: Number(cm.dictionary_page_offset ?? cm.data_page_offset),
        length: Number(cm.total_compressed_size),
      };
    });
    assert.deepEqual(
      chunkReads()
        .map((r) => r.range)
        .sort((a, b) => a!.offset - b!.offset),
      f64Chunks,
    );
    reads.length = 0;
    await df.len(sync);
    assert.deepEqual(chunkReads(), []);
  });

  test("an expression that throws throws as it does in filter, not as a broken file", async () => {
    const df = await dd.readParquet(fixture("pages/v1-snappy.parquet"), { columns: ["f64"] });
    const throwing = df.filter((d, $) => d.f64 > $.lim.x, { params: { lim: null } });
    const before = countScanStats().scans;
    await assert.rejects(throwing.len(sync), (e: Error) => e instanceof TypeError && !(e instanceof FormatError));
    assert.ok(countScanStats().scans > before, "thrown from the counting scan");
    await assert.rejects(throwing.len(unfused), TypeError);
  });

  test("a broken page is a FormatError naming the file, row group and column, fused or not, on the cluster too", async () => {
    const bytes = new Uint8Array(readFileSync(fixture("pages/v1-snappy.parquet")));
    const meta = parquetMetadata(bytes.buffer);
    const cm = meta.row_groups[0]!.columns.find((cc) => cc.meta_data!.path_in_schema[0] === "f64")!.meta_data!;
    const start = Number(cm.dictionary_page_offset ?? cm.data_page_offset);
    const size = Number(cm.total_compressed_size);
    // Garbage over the chunk's second half: past the first page headers, into its pages.
    bytes.fill(0xff, start + (size >> 1), start + size);
    const broken = join(tmp, "broken.parquet");
    writeFileSync(broken, bytes);
    const df = await dd.readParquet(broken, { columns: ["f64"] });
    const named = (e: Error) => /broken\.parquet, row group 0(, column "f64")?: /.test(e.message);
    await assert.rejects(df.filter((d) => d.f64 > 0).len(sync), (e: Error) => e instanceof FormatError && named(e));
    await assert.rejects(df.filter((d) => d.f64 > 0).len(unfused), (e: Error) => e instanceof FormatError && named(e));
    await assert.rejects(
      df.filter((d) => d.f64 > 0).len({ scheduler: c.client }),
      (e: Error) => e instanceof RemoteError && e.remoteName === "FormatError" && named(e),
    );
    // The cluster goes on serving.
    assert.equal(await (await dd.readParquet(fixture("pages/v2-plain.parquet"))).len({ scheduler: c.client }), 1200);
  });
});

/** A Python with pandas and pyarrow, if there is one here. */
function python(): string | null {
  for (const py of [process.env["MESHWORK_PYTHON"], "/opt/dfvenv/bin/python", "/usr/bin/python3"]) {
    if (py && spawnSync(py, ["-c", "import pandas, pyarrow"], { stdio: "ignore" }).status === 0) return py;
  }
  return null;
}

describe("counting scans of files in other encodings and codecs (live Python)", () => {
  test("the count is pyarrow's, whatever the writer chose", async (t) => {
    const py = python();
    if (!py) {
      t.skip("no Python with pandas and pyarrow here (set MESHWORK_PYTHON); skipped");
      return;
    }
    // Nullable doubles and ints, each way pyarrow writes them; pyarrow.compute counts the rows.
    const script = `
import json, sys, numpy as np, pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
rng = np.random.default_rng(5)
n = 30000
x = rng.normal(10, 5, n)
k = rng.integers(0, 50, n)
mask = rng.random(n) < 0.1
t = pa.table({"x": pa.array(x, mask=mask), "k": pa.array(k, mask=mask[::-1].copy()), "small": pa.array(rng.integers(0, 4, n).astype(np.float64))})
ways = {
  "gzip": dict(compression="gzip"),
  "brotli": dict(compression="brotli", data_page_version="2.0"),
  "lz4": dict(compression="lz4"),
  "none-v1": dict(compression="none", use_dictionary=False),
  "snappy-dict": dict(compression="snappy", data_page_size=4096),
  "byte-stream-split": dict(compression="snappy", use_dictionary=False, column_encoding={"x": "BYTE_STREAM_SPLIT", "small": "BYTE_STREAM_SPLIT"}),
  "delta": dict(compression="zstd", use_dictionary=False, column_encoding={"k": "DELTA_BINARY_PACKED"}),
}
out = {}
for name, kw in ways.items():
  pq.write_table(t, f"{sys.argv[1]}/{name}.parquet", row_group_size=12000, **kw)
  out[name] = {"x": pc.sum(pc.greater(t["x"], 12)).as_py(), "k": pc.sum(pc.less(t["k"], 7)).as_py(), "small": pc.sum(pc.equal(t["small"], 2)).as_py()}
print(json.dumps(out))`;
    const r = spawnSync(py, ["-c", script, tmp], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const want = JSON.parse(r.stdout) as Record<string, { x: number; k: number; small: number }>;
    for (const [name, counts] of Object.entries(want)) {
      const df = await dd.readParquet(join(tmp, `${name}.parquet`));
      assert.equal(df.npartitions, 3);
      assert.equal(await df.filter((d) => d.x > 12).len(sync), counts.x, `${name}: x`);
      assert.equal(await df.filter((d) => d.k < 7).len(sync), counts.k, `${name}: k`);
      assert.equal(await df.filter((d) => d.small === 2).len({ scheduler: c.client }), counts.small, `${name}: small`);
      assert.equal(await df.len(sync), 30000);
    }
  });
});
