// readParquet's Snappy decoder (src/dataframe/io/snappy.ts) against the reference's own output:
// blocks compressed by hysnappy (Google's C++ snappy compiled to WebAssembly) and the pages pyarrow
// wrote into the fixtures, decoded by both; broken blocks are FormatErrors, never a read or a
// write past either buffer.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { parquetMetadata } from "hyparquet";
import { parquetHeader } from "hyparquet/src/column.js";
import { snappyCompress, snappyUncompress } from "hysnappy";
import { FormatError } from "../../node/index.js";
import { snappyInto, snappyLength } from "../../src/dataframe/io/snappy.js";
import { fixture } from "./helpers.js";

/** A deterministic generator (xorshift32), so that a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

function decoded(block: Uint8Array): Uint8Array {
  const out = new Uint8Array(snappyLength(block).length);
  snappyInto(block, out);
  return out;
}

describe("Snappy", () => {
  const rnd = random(7);
  const inputs: Record<string, Uint8Array> = {
    empty: new Uint8Array(0),
    "one byte": new Uint8Array([42]),
    // Random bytes do not compress: one long literal (its length in 2 and 3 extra bytes).
    "random 100 kB": Uint8Array.from({ length: 100_000 }, () => (rnd() * 256) | 0),
    // Runs of one byte: copies overlapping their own output (offset 1).
    runs: Uint8Array.from({ length: 50_000 }, (_, i) => (i >> 9) & 0xff),
    // Text: short literals and copies of every offset size.
    text: new TextEncoder().encode(
      Array.from({ length: 4000 }, (_, i) => `row ${i % 97} zone-${(i * 7919) % 1013} naïve café,`).join("\n"),
    ),
    // Doubles as a column of prices: mostly literals with a few repeats.
    doubles: new Uint8Array(Float64Array.from({ length: 20_000 }, (_, i) => (i % 50 === 0 ? 1 : rnd() * 100)).buffer),
    // Repeats far back: copies with 4-byte offsets are rare from the compressor, so longer than 64 kB.
    "far repeats": (() => {
      const block = Uint8Array.from({ length: 70_000 }, () => (rnd() * 256) | 0);
      const out = new Uint8Array(210_000);
      out.set(block, 0);
      out.set(block, 70_000);
      out.set(block, 140_000);
      return out;
    })(),
  };

  for (const [name, input] of Object.entries(inputs)) {
    test(`decodes what the reference compressor wrote: ${name}`, () => {
      const block = snappyCompress(input);
      assert.deepEqual(decoded(block), input);
      // And into part of a larger buffer, as pages are decoded into a reused one.
      const big = new Uint8Array(input.length + 16).fill(0xee);
      snappyInto(block, big.subarray(8, 8 + input.length));
      assert.deepEqual(big.subarray(8, 8 + input.length), input);
      assert.ok(big.subarray(0, 8).every((b) => b === 0xee) && big.subarray(8 + input.length).every((b) => b === 0xee));
    });
  }

  test("decodes every page pyarrow wrote with Snappy as the reference decoder does", () => {
    const bytes = new Uint8Array(readFileSync(fixture("pages/v1-snappy.parquet")));
    const meta = parquetMetadata(bytes.buffer);
    let pages = 0;
    for (const rg of meta.row_groups)
      for (const cc of rg.columns) {
        const cm = cc.meta_data!;
        const start = Number(cm.dictionary_page_offset ?? cm.data_page_offset);
        const end = start + Number(cm.total_compressed_size);
        const reader = { view: new DataView(bytes.buffer, 0, end), offset: start };
        while (reader.offset < end) {
          const h = parquetHeader(reader);
          const body = bytes.subarray(reader.offset, reader.offset + h.compressed_page_size);
          reader.offset += h.compressed_page_size;
          assert.deepEqual(decoded(body), snappyUncompress(body, h.uncompressed_page_size));
          pages++;
        }
      }
    assert.ok(pages > 100, `${pages} pages`);
  });

  test("a block that claims another length, ends early or copies from before its start is a FormatError", () => {
    const input = inputs["text"]!;
    const block = snappyCompress(input);
    assert.throws(() => snappyInto(block, new Uint8Array(input.length - 1)), /holds \d+ bytes where \d+ were expected/);
    assert.throws(() => snappyInto(block.subarray(0, block.length >> 1), new Uint8Array(input.length)), FormatError);
    assert.throws(() => snappyInto(new Uint8Array([0x80]), new Uint8Array(0)), /length header is cut short/);
    // Length 4, then a copy of 4 bytes from 1 back with nothing written yet.
    assert.throws(
      () => snappyInto(new Uint8Array([4, 0b000_000_01, 1]), new Uint8Array(4)),
      /refers 1 bytes back, from byte 0/,
    );
    // Length 2, then a literal of 3 bytes.
    assert.throws(() => snappyInto(new Uint8Array([2, 2 << 2, 1, 2, 3]), new Uint8Array(2)), /runs past the output/);
    // Length 3, then a literal of 3 bytes of which 2 are there.
    assert.throws(() => snappyInto(new Uint8Array([3, 2 << 2, 1, 2]), new Uint8Array(3)), /runs past the input/);
    // A long literal's length bytes cut short.
    assert.throws(() => snappyInto(new Uint8Array([100, 61 << 2, 1]), new Uint8Array(100)), /length is cut short/);
  });
});
