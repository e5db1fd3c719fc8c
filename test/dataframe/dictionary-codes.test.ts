// String columns read as dictionary codes (parquet-pages.ts → Column.fromDictionary) and what uses
// them: grouping by codes (string-groups.ts' findDictionaryGroups), the partial of counts and sums
// by codes (aggregate.ts' partialByCodes), and the read fused into its consumer (fuse.ts). Each
// fast path is compared with the general one on the same rows: pyarrow's files with nulls,
// dictionaries that fall back to PLAIN part way, and a dictionary with repeated entries.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { parquetMetadata } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import * as dd from "../../node/dataframe.js";
import { Column, type DictionaryCodes } from "../../src/dataframe/column.js";
import { decodeFlatChunk } from "../../src/dataframe/io/parquet-pages.js";
import { parquetColumns, RAW_PARSERS } from "../../src/dataframe/io/parquet-meta.js";
import { partialAgg, type AggPlan } from "../../src/dataframe/kernels/aggregate.js";
import { findGroups } from "../../src/dataframe/kernels/groups.js";
import { Part } from "../../src/dataframe/part.js";
import { DF } from "../../src/dataframe/register.js";
import { Task } from "../../src/graph/task.js";
import { optimize } from "../../src/graph/optimize.js";
import { columnsOf, fixture } from "./helpers.js";

/** Row group `g` of a pages fixture, every column decoded by the page decoder. */
function rowGroup(file: string, g: number): Part {
  const bytes = new Uint8Array(readFileSync(fixture(`pages/${file}.parquet`)));
  const meta = parquetMetadata(bytes.buffer, { parsers: RAW_PARSERS });
  const types = new Map(parquetColumns(meta).map((c) => [c.name, c.type]));
  const rg = meta.row_groups[g]!;
  const names: string[] = [];
  const cols: Column[] = [];
  for (const cc of rg.columns) {
    const cm = cc.meta_data!;
    const name = cm.path_in_schema[0]!;
    const el = meta.schema.find((e) => e.name === name)!;
    const start = Number(cm.dictionary_page_offset ?? cm.data_page_offset);
    const chunk = bytes.subarray(start, start + Number(cm.total_compressed_size));
    const type = types.get(name) as Parameters<typeof decodeFlatChunk>[4];
    names.push(name);
    cols.push(decodeFlatChunk(chunk, Number(rg.num_rows), el, cm, type, compressors, name)!);
  }
  return new Part(names, cols);
}

/** The same column as bytes and offsets only (the general path's input). */
function plain(c: Column): Column {
  return new Column(c.type, c.length, c.values, c.validity, c.nullCount, c.offsets);
}

function withPlainKey(p: Part, key: string): Part {
  return new Part(
    p.names,
    p.columns.map((c, j) => (p.names[j] === key ? plain(c) : c)),
  );
}

const PLAN: AggPlan = {
  keys: ["low"],
  keyTypes: ["utf8"],
  sort: false,
  outputs: [
    { name: "f64", column: "f64", type: "float64", agg: "mean" },
    { name: "f32", column: "f32", type: "float32", agg: "sum" },
    { name: "i32", column: "i32", type: "int32", agg: "count" },
    { name: "size", column: "low", type: "utf8", agg: "size" },
  ],
};

function partialColumns(p: Part): Record<string, unknown[]> {
  return Object.fromEntries(
    p.names.map((n, j) => [n, Array.from({ length: p.length }, (_, i) => p.columns[j]!.raw(i))]),
  );
}

describe("string columns read as dictionary codes", () => {
  for (const file of ["v1-snappy", "v2-zstd"]) {
    test(`${file}: a dictionary-encoded chunk stays codes, one that falls back to PLAIN does not; both read as pyarrow wrote them`, () => {
      for (const g of [0, 1]) {
        const p = rowGroup(file, g);
        const low = p.column("low");
        assert.ok(low.dictionary, "low: every page dictionary-encoded, so codes");
        assert.ok(low.nullCount > 0, "low has nulls");
        const high = p.column("high");
        assert.equal(high.dictionary, null, "high: its dictionary filled up and fell back to PLAIN");
        // strings() through the dictionary, a gather, and the bytes gathered on first use agree.
        const viaCodes = low.strings();
        const idx = Int32Array.from({ length: 50 }, (_, k) => (k * 7) % low.length);
        const taken = low.take(idx);
        assert.ok(taken.dictionary, "a gather of codes stays codes");
        const bytes = plain(low);
        assert.deepEqual(
          plain(taken).strings(),
          Array.from(idx, (i) => bytes.strings()[i]),
        );
        assert.deepEqual(viaCodes, bytes.strings());
      }
    });

    test(`${file}: groups by codes are the groups by bytes, nulls left out or kept as one group`, () => {
      for (const g of [0, 1]) {
        const p = rowGroup(file, g);
        for (const keep of [false, true]) {
          const fast = findGroups(p, ["low"], keep);
          const slow = findGroups(withPlainKey(p, "low"), ["low"], keep);
          assert.deepEqual(fast.ids, slow.ids);
          assert.deepEqual(fast.first, slow.first);
          assert.equal(fast.count, slow.count);
          assert.deepEqual(fast.keys, slow.keys);
        }
      }
    });

    test(`${file}: the partial of counts, sums and sizes by codes is the general partial`, () => {
      for (const g of [0, 1]) {
        const p = rowGroup(file, g);
        assert.deepEqual(
          partialColumns(partialAgg(p, PLAN).part),
          partialColumns(partialAgg(withPlainKey(p, "low"), PLAN).part),
        );
        // min needs the general path: the same answer either way.
        const withMin: AggPlan = { ...PLAN, outputs: [{ name: "f64", column: "f64", type: "float64", agg: "min" }] };
        assert.deepEqual(
          partialColumns(partialAgg(p, withMin).part),
          partialColumns(partialAgg(withPlainKey(p, "low"), withMin).part),
        );
      }
    });
  }

  test("a dictionary with repeated and unused entries: equal strings are one group, in order of first appearance", () => {
    const enc = new TextEncoder();
    const entries = ["b", "a", "unused", "b", "a"];
    const bytes = enc.encode(entries.join(""));
    const offsets = new Int32Array(entries.length + 1);
    entries.forEach((e, j) => (offsets[j + 1] = offsets[j]! + enc.encode(e).length));
    const codes = Int32Array.from([3, 1, -1, 0, 4, 4, -1, 3, 1]);
    const validity = new Uint8Array(2);
    codes.forEach((c, i) => {
      if (c >= 0) validity[i >> 3]! |= 1 << (i & 7);
    });
    const d: DictionaryCodes = { codes, bytes, offsets, size: entries.length };
    const key = Column.fromDictionary(codes.length, d, validity, 2);
    const v = new Column("float64", codes.length, Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, NaN]), null, 0);
    const part = new Part(["k", "v"], [key, v]);
    const plan: AggPlan = {
      keys: ["k"],
      keyTypes: ["utf8"],
      sort: false,
      outputs: [
        { name: "v", column: "v", type: "float64", agg: "sum" },
        { name: "n", column: "v", type: "float64", agg: "count" },
      ],
    };
    const fast = partialColumns(partialAgg(part, plan).part);
    assert.deepEqual(fast, partialColumns(partialAgg(withPlainKey(part, "k"), plan).part));
    assert.deepEqual(fast["k"], ["b", "a"]);
    assert.deepEqual(fast["v\u0000sum"], [1 + 4 + 8, 2 + 5 + 6]);
    assert.deepEqual(fast["v\u0000n"], [3, 3]); // the NaN is missing
    assert.deepEqual(findGroups(part, ["k"]).ids, Int32Array.from([0, 1, -1, 0, 1, 1, -1, 0, 1]));
  });

  test("a groupby over readParquet reads in the same task as its partial (a join does not); the answers are those of the same rows not read from Parquet", async () => {
    const sync = { scheduler: "sync" as const };
    const df = await dd.readParquet(fixture("pages/v1-snappy.parquet"), { columns: ["low", "f64", "i32"] });
    const grouped = df.groupby("low").agg({ f64: ["mean", "sum"], i32: "count" });
    const g = grouped.graph.flatten();
    const fused = optimize(g, grouped.keys());
    const fns = [...fused.values()].map((t) => (t instanceof Task ? t.fn : null));
    assert.ok(fns.includes(DF.readThen), "the read fused into the partials");
    assert.ok(!fns.includes(DF.parquetRead), "no read left on its own");
    const held = dd.fromArrow(await df.compute(sync), { npartitions: 2 }); // the same rows, not read from Parquet
    const want = columnsOf(
      await held
        .groupby("low")
        .agg({ f64: ["mean", "sum"], i32: "count" })
        .compute(sync),
    );
    assert.deepEqual(columnsOf(await grouped.compute(sync)), want);

    const right = dd.fromRecords(
      ["", "a", "zone", "naïve café"].map((low, i) => ({ low, w: i })),
      { dtypes: { low: "utf8", w: "int32" } },
    );
    const joined = df.merge(right, { on: "low" });
    const jf = optimize(joined.graph.flatten(), joined.keys());
    assert.ok(
      [...jf.values()].some((t) => t instanceof Task && t.fn === DF.parquetRead),
      "a join's read stays a task of its own (placement follows it)",
    );
    const sorted = (t: Record<string, unknown[]>) =>
      t["low"]!.map((_, i) => JSON.stringify(Object.keys(t).map((k) => t[k]![i]))).sort();
    assert.deepEqual(
      sorted(columnsOf(await joined.compute(sync))),
      sorted(columnsOf(await held.merge(right, { on: "low" }).compute(sync))),
    );
  });
});
