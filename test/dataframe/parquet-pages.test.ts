// readParquet's page decoder (src/dataframe/io/parquet-pages.ts) against what pyarrow wrote and
// reads back (test/fixtures/dataframe/make_pages.py): every type it decodes, in small pages, with
// nulls across pages, dictionaries falling back to PLAIN mid-chunk, pages v1 and v2, three codecs.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { parquetMetadata } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import * as dd from "../../node/dataframe.js";
import { FormatError } from "../../node/index.js";
import type { Column } from "../../src/dataframe/column.js";
import { decodeFlatChunk, flatChunkSupported } from "../../src/dataframe/io/parquet-pages.js";
import { parquetColumns, RAW_PARSERS } from "../../src/dataframe/io/parquet-meta.js";
import { columnsOf, fixture } from "./helpers.js";

const expected = JSON.parse(readFileSync(fixture("pages/expected.json"), "utf8")) as Record<string, unknown[]>;
const FILES = ["v1-snappy", "v2-zstd", "v2-plain"];

/** A value as expected.json spells it: integers past 2^53 as strings, the rest as JSON numbers and strings. */
function spelled(c: Column, i: number): unknown {
  const v = c.raw(i);
  if (typeof v === "bigint") return v > 2n ** 53n || v < -(2n ** 53n) ? String(v) : Number(v);
  return v;
}

function chunksOf(name: string) {
  const bytes = new Uint8Array(readFileSync(fixture(`pages/${name}.parquet`)));
  const meta = parquetMetadata(bytes.buffer, { parsers: RAW_PARSERS });
  const types = new Map(parquetColumns(meta).map((c) => [c.name, c.type]));
  return { bytes, meta, types };
}

describe("the Parquet page decoder", () => {
  for (const name of FILES) {
    test(`decodes every column of ${name} as pyarrow reads it, without hyparquet's general path`, () => {
      const { bytes, meta, types } = chunksOf(name);
      let row = 0;
      for (const rg of meta.row_groups) {
        const rows = Number(rg.num_rows);
        for (const cc of rg.columns) {
          const cm = cc.meta_data!;
          const col = cm.path_in_schema[0]!;
          const el = meta.schema.find((e) => e.name === col)!;
          const type = types.get(col) as Parameters<typeof decodeFlatChunk>[4];
          assert.ok(flatChunkSupported(el, cm, type), `${name} ${col}: the decoder takes it`);
          const start = Number(cm.dictionary_page_offset ?? cm.data_page_offset);
          const chunk = bytes.subarray(start, start + Number(cm.total_compressed_size));
          const c = decodeFlatChunk(chunk, rows, el, cm, type, compressors, `${name} ${col}`);
          assert.ok(c, `${name} ${col}: decoded here, not left to hyparquet`);
          assert.equal(c.length, rows);
          const want = expected[col]!.slice(row, row + rows);
          assert.equal(c.nullCount, want.filter((v) => v === null).length, `${name} ${col}: nulls`);
          for (let i = 0; i < rows; i++) assert.deepEqual(spelled(c, i), want[i], `${name} ${col} row ${row + i}`);
        }
        row += rows;
      }
    });
  }

  test("readParquet gives the same table whichever way the pages were written", async () => {
    // (64-bit integers past 2^53 are compared above; Arrow's tables give them as Numbers here.)
    const columns = ["i8", "u16", "u32", "i32", "f32", "f64", "low", "high", "day", "ms"];
    const tables = await Promise.all(
      FILES.map(async (f) =>
        columnsOf(
          await (await dd.readParquet(fixture(`pages/${f}.parquet`), { columns })).compute({ scheduler: "sync" }),
        ),
      ),
    );
    for (const t of tables.slice(1)) assert.deepEqual(t, tables[0]);
    assert.deepEqual(tables[0]!["high"], expected["high"]);
  });

  test("a chunk cut short is a FormatError naming the column and the rows it held", () => {
    const { bytes, meta, types } = chunksOf("v2-plain");
    const cm = meta.row_groups[0]!.columns.find((c) => c.meta_data!.path_in_schema[0] === "f64")!.meta_data!;
    const el = meta.schema.find((e) => e.name === "f64")!;
    const start = Number(cm.data_page_offset);
    const chunk = bytes.subarray(start, start + Math.floor(Number(cm.total_compressed_size) / 2));
    assert.throws(
      () =>
        decodeFlatChunk(
          chunk,
          Number(meta.row_groups[0]!.num_rows),
          el,
          cm,
          types.get("f64") as "float64",
          compressors,
          'f.parquet, row group 0, column "f64"',
        ),
      (e: Error) =>
        e instanceof FormatError && /column "f64": the column chunk ends after \d+ of 600 rows/.test(e.message),
    );
  });
});
