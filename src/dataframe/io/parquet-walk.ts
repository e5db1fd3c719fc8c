// The page loop of a flat Parquet column chunk: page headers read, pages decompressed into a
// buffer reused per thread, definition levels read, and each data page handed on with the row it
// starts at. Decoding into a Column (parquet-pages.ts) and the counting scan (parquet-count.ts) run on it.

import type { ColumnMetaData, CompressionCodec, Compressors } from "hyparquet";
import { parquetHeader } from "hyparquet/src/column.js";
import { decompressPage } from "hyparquet/src/datapage.js";
import { FormatError } from "../../errors.js";
import { levelsAllOnes, readHybrid } from "./parquet-encodings.js";
import { snappyInto } from "./snappy.js";

/** Not decoded here (an encoding met in a page that the chunk's metadata did not list): the caller falls back to hyparquet. */
export class Unsupported extends Error {}

/**
 * Pages are decompressed into one buffer per thread, reused page after page (decoding is
 * synchronous, and every consumer copies or has finished with a page before the next one), so a
 * chunk costs no allocation per page and the page stays in cache while it is read. Pages past
 * this size get a buffer of their own rather than keeping a huge one alive.
 */
const MAX_SCRATCH = 16 * 1024 * 1024;
let scratch = new Uint8Array(0);

function scratchBytes(n: number): Uint8Array {
  if (n > MAX_SCRATCH) return new Uint8Array(n);
  if (scratch.length < n) scratch = new Uint8Array(Math.max(n, Math.min(MAX_SCRATCH, 2 * scratch.length)));
  return scratch.subarray(0, n);
}

/**
 * Snappy pages that shrank by less than this fraction are mostly literals (numbers that do not
 * compress): meshwork's decoder copies them in bulk (snappy.ts). Pages that compressed well are
 * mostly short back-references, which hysnappy's WebAssembly loop does faster than JavaScript.
 */
const SNAPPY_LITERAL_SHARE = 0.8;

function decompress(body: Uint8Array, size: number, codec: CompressionCodec, compressors: Compressors): Uint8Array {
  if (codec === "UNCOMPRESSED") {
    if (body.length !== size) throw new FormatError(`an uncompressed page holds ${body.length} bytes, not ${size}`);
    return body;
  }
  if (codec === "SNAPPY" && body.length >= SNAPPY_LITERAL_SHARE * size) {
    const out = scratchBytes(size);
    snappyInto(body, out);
    return out;
  }
  return decompressPage(body, size, codec, compressors);
}

/** One data page as walkPages hands it on (its bytes may be reused once the callback returns). */
export interface DataPage {
  /** The page's bytes, decompressed. */
  bytes: Uint8Array;
  /** Where its values start in `bytes` (after the v1 definition levels). */
  at: number;
  /** Rows in the page, null or not. */
  n: number;
  /** Values the page holds (rows not null). */
  present: number;
  /** Definition levels (1: a value) of the rows when some are null, else null. */
  defs: Int32Array | null;
  encoding: "PLAIN" | "DICTIONARY";
}

/**
 * Walks a column chunk's pages (its bytes from the dictionary page or first data page on) of
 * `rows` rows: the dictionary to `onDictionary`, each data page, with the row it starts at, to
 * `onPage`. Throws Unsupported for what only hyparquet decodes, FormatError for a broken chunk.
 */
export function walkPages(
  chunk: Uint8Array,
  rows: number,
  optional: boolean,
  meta: ColumnMetaData,
  compressors: Compressors,
  where: string,
  onDictionary: (bytes: Uint8Array, n: number) => void,
  onPage: (page: DataPage, row: number) => void,
): void {
  let row = 0;
  const reader = { view: new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength), offset: 0 };
  let defs = new Int32Array(0);
  while (row < rows) {
    if (reader.offset >= chunk.byteLength)
      throw new FormatError(`${where}: the column chunk ends after ${row} of ${rows} rows`);
    const header = parquetHeader(reader);
    const body = chunk.subarray(reader.offset, reader.offset + header.compressed_page_size);
    if (body.length < header.compressed_page_size)
      throw new FormatError(`${where}: the column chunk ends after ${row} of ${rows} rows, inside a page`);
    reader.offset += header.compressed_page_size;
    if (header.type === "DICTIONARY_PAGE") {
      const n = header.dictionary_page_header!.num_values;
      onDictionary(decompress(body, header.uncompressed_page_size, meta.codec, compressors), n);
      continue;
    }
    if (header.type !== "DATA_PAGE" && header.type !== "DATA_PAGE_V2") continue; // index pages
    let bytes: Uint8Array;
    let n: number;
    let encoding: string;
    let v2defs: Uint8Array | null = null;
    if (header.type === "DATA_PAGE") {
      const h = header.data_page_header!;
      n = h.num_values;
      encoding = h.encoding;
      if (optional && h.definition_level_encoding !== "RLE") throw new Unsupported();
      bytes = decompress(body, header.uncompressed_page_size, meta.codec, compressors);
    } else {
      const h = header.data_page_header_v2!;
      n = h.num_values;
      encoding = h.encoding;
      if (h.repetition_levels_byte_length) throw new Unsupported();
      const levels = h.definition_levels_byte_length;
      v2defs = body.subarray(0, levels);
      const rest = body.subarray(levels);
      bytes =
        h.is_compressed === false
          ? rest
          : decompress(rest, header.uncompressed_page_size - levels, meta.codec, compressors);
    }
    if (row + n > rows) throw new FormatError(`${where}: the pages hold more than the row group's ${rows} rows`);
    if (encoding !== "PLAIN" && encoding !== "PLAIN_DICTIONARY" && encoding !== "RLE_DICTIONARY")
      throw new Unsupported();

    // Definition levels (max level 1): which of the page's rows have a value.
    let at = 0;
    let present = n;
    if (optional) {
      // v1: a 4-byte length, then the levels; v2: the levels apart, before the compressed values.
      let levels = v2defs;
      let from = 0;
      if (levels === null) {
        if (bytes.length < 4) throw new FormatError(`${where}: a data page ends before its definition levels`);
        const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
        if (4 + len > bytes.length) throw new FormatError(`${where}: a data page's definition levels run past it`);
        levels = bytes;
        from = 4;
        at = 4 + len;
      }
      const to = v2defs === null ? at : levels.length;
      if (!levelsAllOnes(levels, from, to, n)) {
        if (defs.length < n) defs = new Int32Array(n);
        present = readHybrid(levels, from, to, 1, defs.subarray(0, n), n, where);
        if (present > n) throw new FormatError(`${where}: a page's definition levels are not 0 or 1`);
      }
    }
    onPage(
      {
        bytes,
        at,
        n,
        present,
        defs: present < n ? defs : null,
        encoding: encoding === "PLAIN" ? "PLAIN" : "DICTIONARY",
      },
      row,
    );
    row += n;
  }
}
