// A flat column chunk's pages decoded straight into a Column's buffers: the common case of Parquet
// files (a top-level column, required or optional, PLAIN or dictionary-encoded, data pages v1 or
// v2) without hyparquet's general path, which builds a JavaScript value per row (a string, a
// BigInt, a slot in a plain array for nullable columns) and then meshwork copied them back into
// typed arrays. Numbers are copied as bytes, dictionary indices gathered into the output, strings
// stay UTF-8 bytes and offsets. Anything else (nested columns, booleans, INT96, delta and
// byte-stream-split encodings) is left to hyparquet: decodeFlatChunk returns null for it.

import type { ColumnMetaData, Compressors, SchemaElement } from "hyparquet";
import { parquetHeader } from "hyparquet/src/column.js";
import { decompressPage } from "hyparquet/src/datapage.js";
import { FormatError } from "../../errors.js";
import { Column, type Values } from "../column.js";
import { storageOf, type DType } from "../dtypes.js";

/** Physical types decoded here, with their width in bytes (BYTE_ARRAY: variable). */
const WIDTH: Record<string, number> = { INT32: 4, INT64: 8, FLOAT: 4, DOUBLE: 8, BYTE_ARRAY: 0 };
const ENCODINGS = new Set(["PLAIN", "PLAIN_DICTIONARY", "RLE_DICTIONARY", "RLE", "BIT_PACKED"]);

/** Not decoded here (an encoding met in a page that the chunk's metadata did not list): the caller falls back to hyparquet. */
class Unsupported extends Error {}

/** Whether decodeFlatChunk handles a column chunk, from the footer alone. */
export function flatChunkSupported(element: SchemaElement, meta: ColumnMetaData, type: DType): boolean {
  if (type === "bool") return false;
  if (!(meta.type in WIDTH) || meta.path_in_schema.length !== 1) return false;
  if (element.repetition_type === "REPEATED") return false;
  if ((meta.type === "BYTE_ARRAY") !== (type === "utf8")) return false;
  return meta.encodings.every((e) => ENCODINGS.has(e));
}

/** A dictionary page's values: typed values for numbers; bytes and offsets for strings. */
interface Dictionary {
  values: Values | null;
  bytes: Uint8Array | null;
  offsets: Int32Array | null;
  size: number;
}

/** Grows a string column's byte buffer as values arrive. */
class ByteSink {
  bytes: Uint8Array;
  length = 0;
  constructor(guess: number) {
    this.bytes = new Uint8Array(Math.max(1024, guess));
  }
  reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
}

/**
 * Decodes one column chunk (its bytes, from the dictionary page or first data page on) of `rows`
 * rows into a Column of `type`; null when a page needs what only hyparquet decodes.
 */
export function decodeFlatChunk(
  chunk: Uint8Array,
  rows: number,
  element: SchemaElement,
  meta: ColumnMetaData,
  type: DType,
  compressors: Compressors,
  where: string,
): Column | null {
  try {
    return decode(chunk, rows, element, meta, type, compressors, where);
  } catch (err) {
    if (err instanceof Unsupported) return null;
    throw err;
  }
}

function decode(
  chunk: Uint8Array,
  rows: number,
  element: SchemaElement,
  meta: ColumnMetaData,
  type: DType,
  compressors: Compressors,
  where: string,
): Column {
  const physical = meta.type;
  const width = WIDTH[physical]!;
  const optional = element.repetition_type === "OPTIONAL";
  const isString = physical === "BYTE_ARRAY";
  const Ctor = storageOf(type);
  // Numbers: the output's storage, and whether a page's bytes copy straight into it (same width).
  const out = isString ? null : (new Ctor(rows) as Values);
  const sameWidth = !isString && Ctor.BYTES_PER_ELEMENT === width;
  const outBytes = out ? new Uint8Array(out.buffer, out.byteOffset, out.byteLength) : null;
  const sink = isString ? new ByteSink(Number(meta.total_uncompressed_size ?? 0)) : null;
  const offsets = isString ? new Int32Array(rows + 1) : null;
  // Strings: while every page is dictionary-encoded, only each row's code (-1 where null); the
  // column gathers its bytes when first asked for (grouping by it never asks). A PLAIN page (the
  // writer's fallback past its dictionary's size) gathers the rows before it and ends this.
  let codes = isString ? new Int32Array(rows) : null;
  let validity: Uint8Array | null = null;
  let nulls = 0;
  let dict: Dictionary | null = null;
  let row = 0;
  const reader = { view: new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength), offset: 0 };
  let defs = new Int32Array(0);
  let idx = new Int32Array(0);

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
      const page = decompressPage(body, header.uncompressed_page_size, meta.codec, compressors);
      dict = readDictionary(page, n, physical, width, type);
      continue;
    }
    if (header.type !== "DATA_PAGE" && header.type !== "DATA_PAGE_V2") continue; // index pages
    let page: Uint8Array;
    let n: number;
    let encoding: string;
    let defAt = 0; // where the definition levels start in `page`, or -1 for v2 (given apart)
    let v2defs: Uint8Array | null = null;
    if (header.type === "DATA_PAGE") {
      const h = header.data_page_header!;
      n = h.num_values;
      encoding = h.encoding;
      if (optional && h.definition_level_encoding !== "RLE") throw new Unsupported();
      page = decompressPage(body, header.uncompressed_page_size, meta.codec, compressors);
    } else {
      const h = header.data_page_header_v2!;
      n = h.num_values;
      encoding = h.encoding;
      if (h.repetition_levels_byte_length) throw new Unsupported();
      const levels = h.definition_levels_byte_length;
      v2defs = body.subarray(0, levels);
      const rest = body.subarray(levels);
      page =
        h.is_compressed === false
          ? rest
          : decompressPage(rest, header.uncompressed_page_size - levels, meta.codec, compressors);
      defAt = -1;
    }
    if (row + n > rows) throw new FormatError(`${where}: the pages hold more than the row group's ${rows} rows`);
    const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
    const pr = { view, offset: 0 };

    // Definition levels (max level 1): which of the page's rows have a value.
    let present = n;
    if (optional) {
      if (defs.length < n) defs = new Int32Array(n);
      const d = defs.subarray(0, n);
      if (defAt === 0) {
        // v1: a 4-byte length, then the levels.
        const len = view.getUint32(0, true);
        readHybrid(page, 4, 4 + len, 1, d, n, where);
        pr.offset = 4 + len;
      } else readHybrid(v2defs!, 0, v2defs!.length, 1, d, n, where);
      present = 0;
      for (let i = 0; i < n; i++) present += d[i]!;
      if (present < n) {
        if (validity === null) {
          validity = new Uint8Array((rows + 7) >> 3);
          for (let i = 0; i < row; i++) validity[i >> 3]! |= 1 << (i & 7);
        }
        nulls += n - present;
      }
    }
    const dense = present === n;
    if (validity !== null)
      for (let i = 0; i < n; i++) if (dense || defs[i]) validity[(row + i) >> 3]! |= 1 << ((row + i) & 7);

    if (encoding === "PLAIN") {
      if (isString) {
        if (codes !== null) {
          if (dict) gatherCodes(codes, row, dict, sink!, offsets!);
          codes = null;
        }
        // 4-byte little-endian length, then the bytes, for each present value.
        let p = pr.offset;
        for (let i = 0; i < n; i++) {
          if (dense || defs[i]) {
            const len = view.getUint32(p, true);
            p += 4;
            sink!.reserve(len);
            sink!.bytes.set(page.subarray(p, p + len), sink!.length);
            sink!.length += len;
            p += len;
          }
          offsets![row + i + 1] = sink!.length;
        }
      } else if (dense && sameWidth) {
        outBytes!.set(page.subarray(pr.offset, pr.offset + n * width), row * width);
      } else {
        const src = plainValues(page, pr.offset, present, physical);
        let k = 0;
        for (let i = 0; i < n; i++) if (dense || defs[i]) (out as Float64Array)[row + i] = src[k++] as number;
      }
    } else if (encoding === "PLAIN_DICTIONARY" || encoding === "RLE_DICTIONARY") {
      if (!dict) throw new Unsupported(); // a dictionary page before the chunk's stated start (some writers): hyparquet finds it
      const bitWidth = view.getUint8(pr.offset++);
      // A string chunk's page without nulls is decoded straight into its rows' codes.
      const direct = isString && codes !== null && dense;
      if (!direct && idx.length < present) idx = new Int32Array(present);
      const ix = direct ? codes!.subarray(row, row + n) : idx.subarray(0, present);
      if (bitWidth > 24) throw new Unsupported(); // more than 16M dictionary entries
      if (bitWidth) readHybrid(page, pr.offset, page.byteLength, bitWidth, ix, present, where);
      else ix.fill(0);
      for (let k = 0; k < present; k++)
        if (ix[k]! >= dict.size || ix[k]! < 0)
          throw new FormatError(`${where}: a dictionary index ${ix[k]} past the dictionary's ${dict.size} values`);
      if (direct) {
        // The codes are in place.
      } else if (isString && codes !== null) {
        let k = 0;
        for (let i = 0; i < n; i++) codes[row + i] = dense || defs[i] ? ix[k++]! : -1;
      } else if (isString) {
        const db = dict.bytes!;
        const dof = dict.offsets!;
        let k = 0;
        for (let i = 0; i < n; i++) {
          if (dense || defs[i]) {
            const j = ix[k++]!;
            const a = dof[j]!;
            const len = dof[j + 1]! - a;
            sink!.reserve(len);
            const b = sink!.bytes;
            let q = sink!.length;
            if (len < 16) for (let t = 0; t < len; t++) b[q++] = db[a + t]!;
            else b.set(db.subarray(a, a + len), q);
            sink!.length += len;
          }
          offsets![row + i + 1] = sink!.length;
        }
      } else {
        const dv = dict.values as Float64Array;
        const o = out as Float64Array;
        if (dense) for (let i = 0; i < n; i++) o[row + i] = dv[ix[i]!]!;
        else {
          let k = 0;
          for (let i = 0; i < n; i++) if (defs[i]) o[row + i] = dv[ix[k++]!]!;
        }
      }
    } else {
      throw new Unsupported();
    }
    row += n;
  }
  if (isString && codes !== null && dict !== null)
    return Column.fromDictionary(
      rows,
      { codes, bytes: dict.bytes!, offsets: dict.offsets!, size: dict.size },
      validity,
      nulls,
    );
  if (isString) return new Column("utf8", rows, sink!.bytes.slice(0, sink!.length), validity, nulls, offsets);
  return new Column(type, rows, out!, validity, nulls);
}

/** The strings of rows [0, end) from their dictionary codes into `sink` and `offsets` (a chunk turning PLAIN after dictionary pages). */
function gatherCodes(codes: Int32Array, end: number, dict: Dictionary, sink: ByteSink, offsets: Int32Array): void {
  const db = dict.bytes!;
  const dof = dict.offsets!;
  for (let i = 0; i < end; i++) {
    const j = codes[i]!;
    if (j >= 0) {
      const len = dof[j + 1]! - dof[j]!;
      sink.reserve(len);
      sink.bytes.set(db.subarray(dof[j]!, dof[j]! + len), sink.length);
      sink.length += len;
    }
    offsets[i + 1] = sink.length;
  }
}

/**
 * Parquet's RLE / bit-packed hybrid (definition levels, dictionary indices) of `count` values of
 * `bitWidth` ≤ 24 bits from `buf[pos, end)` into `out`. Its own loop rather than hyparquet's, which
 * every array type goes through (and so runs slowly, megamorphic); here always an Int32Array.
 */
function readHybrid(
  buf: Uint8Array,
  pos: number,
  end: number,
  bitWidth: number,
  out: Int32Array,
  count: number,
  where: string,
): void {
  const byteWidth = (bitWidth + 7) >> 3;
  const mask = (1 << bitWidth) - 1;
  let seen = 0;
  while (seen < count) {
    if (pos >= end)
      throw new FormatError(`${where}: a run of levels or dictionary indices ends after ${seen} of ${count} values`);
    let header = 0;
    let shift = 0;
    let b: number;
    do {
      b = buf[pos++]!;
      header |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80 && shift < 35);
    if (header & 1) {
      // Bit-packed: groups of 8 values, least significant bits first.
      const groups = header >>> 1;
      const next = pos + groups * bitWidth;
      const n = Math.min(groups * 8, count - seen);
      let acc = 0;
      let bits = 0;
      for (let i = 0; i < n; i++) {
        while (bits < bitWidth) {
          acc |= (pos < end ? buf[pos]! : 0) << bits;
          pos++;
          bits += 8;
        }
        out[seen++] = acc & mask;
        acc >>>= bitWidth;
        bits -= bitWidth;
      }
      pos = next;
    } else {
      const n = header >>> 1;
      let v = 0;
      for (let i = 0; i < byteWidth; i++) v |= buf[pos++]! << (8 * i);
      const upto = Math.min(count, seen + n);
      out.fill(v, seen, upto);
      seen = upto;
    }
  }
}

/** `count` PLAIN values of a fixed-width physical type from `page` at byte `at`, as a typed array (copied: pages need not be aligned). */
function plainValues(page: Uint8Array, at: number, count: number, physical: string): Values {
  const bytes = page.slice(at, at + count * WIDTH[physical]!);
  if (bytes.length < count * WIDTH[physical]!)
    throw new FormatError(`a PLAIN page holds fewer than its ${count} values`);
  switch (physical) {
    case "INT32":
      return new Int32Array(bytes.buffer);
    case "INT64":
      return new BigInt64Array(bytes.buffer);
    case "FLOAT":
      return new Float32Array(bytes.buffer);
    default:
      return new Float64Array(bytes.buffer);
  }
}

function readDictionary(page: Uint8Array, n: number, physical: string, width: number, type: DType): Dictionary {
  if (physical !== "BYTE_ARRAY") {
    const raw = plainValues(page, 0, n, physical);
    // In the output's storage type (an INT32 column may be int8, uint16 …), so that gathers are plain copies.
    const Ctor = storageOf(type);
    // Same width: the same bits (int64 as uint64, int32 as uint32 or date32); narrower ints converted.
    const values =
      Ctor.BYTES_PER_ELEMENT === width
        ? new (Ctor as unknown as new (b: ArrayBufferLike) => Values)(raw.buffer)
        : (Ctor as unknown as { from(a: ArrayLike<unknown>): Values }).from(raw as ArrayLike<unknown>);
    return { values, bytes: null, offsets: null, size: n };
  }
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const offsets = new Int32Array(n + 1);
  let p = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const len = view.getUint32(p, true);
    p += 4 + len;
    total += len;
    offsets[i + 1] = total;
  }
  if (p > page.byteLength) throw new FormatError("a dictionary page ends before its values");
  const bytes = new Uint8Array(total);
  p = 0;
  for (let i = 0; i < n; i++) {
    const len = offsets[i + 1]! - offsets[i]!;
    bytes.set(page.subarray(p + 4, p + 4 + len), offsets[i]!);
    p += 4 + len;
  }
  return { values: null, bytes, offsets, size: n };
}
