// A flat column chunk's pages decoded straight into a Column's buffers: the common case of Parquet
// files (a top-level column, required or optional, PLAIN or dictionary-encoded, data pages v1 or
// v2) without hyparquet's general path, which builds a JavaScript value per row (a string, a
// BigInt, a slot in a plain array for nullable columns) and then meshwork copied them back into
// typed arrays. Numbers are copied as bytes, dictionary indices gathered into the output, strings
// stay UTF-8 bytes and offsets. Anything else (nested columns, booleans, INT96, delta and
// byte-stream-split encodings) is left to hyparquet: decodeFlatChunk returns null for it.
// The page loop itself, walkPages, is parquet-walk.ts, shared with the counting scan
// (parquet-count.ts), which looks at each page's values where they lie instead of gathering them.

import type { ColumnMetaData, Compressors, SchemaElement } from "hyparquet";
import { FormatError } from "../../errors.js";
import { Column, type Values } from "../column.js";
import { storageOf, type DType } from "../dtypes.js";
import { plainValues, readDictionary, readHybrid, WIDTH, type Dictionary } from "./parquet-encodings.js";
import { Unsupported, walkPages, type DataPage } from "./parquet-walk.js";

export { Unsupported, walkPages, type DataPage } from "./parquet-walk.js";

const ENCODINGS = new Set(["PLAIN", "PLAIN_DICTIONARY", "RLE_DICTIONARY", "RLE", "BIT_PACKED"]);

/** Whether decodeFlatChunk handles a column chunk, from the footer alone. */
export function flatChunkSupported(element: SchemaElement, meta: ColumnMetaData, type: DType): boolean {
  if (type === "bool") return false;
  if (!(meta.type in WIDTH) || meta.path_in_schema.length !== 1) return false;
  if (element.repetition_type === "REPEATED") return false;
  if ((meta.type === "BYTE_ARRAY") !== (type === "utf8")) return false;
  return meta.encodings.every((e) => ENCODINGS.has(e));
}

/** Dictionary indices of a page, in a buffer reused per thread. */
let indices = new Int32Array(0);

/** A dictionary-encoded page's indices (`present` of them), checked against the dictionary's size. */
export function pageIndices(page: DataPage, dict: Dictionary | null, where: string): Int32Array {
  if (!dict) throw new Unsupported(); // a dictionary page before the chunk's stated start (some writers): hyparquet finds it
  const bitWidth = page.bytes[page.at];
  if (bitWidth === undefined) throw new FormatError(`${where}: a dictionary-encoded page ends before its indices`);
  if (bitWidth > 24) throw new Unsupported(); // more than 16M dictionary entries
  if (indices.length < page.present) indices = new Int32Array(page.present);
  const ix = indices.subarray(0, page.present);
  if (bitWidth) readHybrid(page.bytes, page.at + 1, page.bytes.byteLength, bitWidth, ix, page.present, where);
  else ix.fill(0);
  for (let k = 0; k < ix.length; k++)
    if (ix[k]! >= dict.size || ix[k]! < 0)
      throw new FormatError(`${where}: a dictionary index ${ix[k]} past the dictionary's ${dict.size} values`);
  return ix;
}

/**
 * A page of numbers into `out` from index `base`, each value at its row (rows that are null are
 * left as they were). `out` is of the column's storage type.
 */
export function numbersInto(
  out: Values,
  base: number,
  page: DataPage,
  dict: Dictionary | null,
  physical: string,
  where: string,
): void {
  const { n, defs } = page;
  const width = WIDTH[physical]!;
  if (page.encoding === "PLAIN") {
    if (defs === null && out.BYTES_PER_ELEMENT === width) {
      const need = n * width;
      if (page.at + need > page.bytes.length)
        throw new FormatError(`${where}: a PLAIN page holds fewer than its ${n} values`);
      new Uint8Array(out.buffer, out.byteOffset + base * width, need).set(page.bytes.subarray(page.at, page.at + need));
      return;
    }
    const src = plainValues(page.bytes, page.at, page.present, physical) as Float64Array;
    const o = out as Float64Array;
    if (defs === null) for (let i = 0; i < n; i++) o[base + i] = src[i]!;
    else {
      let k = 0;
      for (let i = 0; i < n; i++) if (defs[i]) o[base + i] = src[k++]!;
    }
    return;
  }
  const ix = pageIndices(page, dict, where);
  const dv = dict!.values as Float64Array;
  const o = out as Float64Array;
  if (defs === null) for (let i = 0; i < n; i++) o[base + i] = dv[ix[i]!]!;
  else {
    let k = 0;
    for (let i = 0; i < n; i++) if (defs[i]) o[base + i] = dv[ix[k++]!]!;
  }
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
  const isString = physical === "BYTE_ARRAY";
  const out = isString ? null : (new (storageOf(type))(rows) as Values);
  const sink = isString ? new ByteSink(Number(meta.total_uncompressed_size ?? 0)) : null;
  const offsets = isString ? new Int32Array(rows + 1) : null;
  // Strings: while every page is dictionary-encoded, only each row's code (-1 where null); the
  // column gathers its bytes when first asked for (grouping by it never asks). A PLAIN page (the
  // writer's fallback past its dictionary's size) gathers the rows before it and ends this.
  let codes = isString ? new Int32Array(rows) : null;
  let validity: Uint8Array | null = null;
  let nulls = 0;
  let dict: Dictionary | null = null;
  walkPages(
    chunk,
    rows,
    element.repetition_type === "OPTIONAL",
    meta,
    compressors,
    where,
    (bytes, n) => {
      dict = readDictionary(bytes, n, physical, width, type);
    },
    (page, row) => {
      const { n, defs } = page;
      if (defs !== null && validity === null) {
        validity = new Uint8Array((rows + 7) >> 3);
        for (let i = 0; i < row; i++) validity[i >> 3]! |= 1 << (i & 7);
      }
      nulls += n - page.present;
      if (validity !== null) {
        const v: Uint8Array = validity;
        for (let i = 0; i < n; i++) if (defs === null || defs[i]) v[(row + i) >> 3]! |= 1 << ((row + i) & 7);
      }
      if (!isString) numbersInto(out!, row, page, dict, physical, where);
      else if (page.encoding === "PLAIN") {
        if (codes !== null) {
          if (dict) gatherCodes(codes, row, dict, sink!, offsets!);
          codes = null;
        }
        plainStrings(page, row, sink!, offsets!);
      } else if (codes !== null) {
        const ix = pageIndices(page, dict, where);
        const c: Int32Array = codes;
        let k = 0;
        for (let i = 0; i < n; i++) c[row + i] = defs === null || defs[i] ? ix[k++]! : -1;
      } else dictStrings(page, row, pageIndices(page, dict, where), dict!, sink!, offsets!);
    },
  );
  const d = dict as Dictionary | null;
  if (isString && codes !== null && d !== null)
    return Column.fromDictionary(rows, { codes, bytes: d.bytes!, offsets: d.offsets!, size: d.size }, validity, nulls);
  if (isString) return new Column("utf8", rows, sink!.bytes.slice(0, sink!.length), validity, nulls, offsets);
  return new Column(type, rows, out!, validity, nulls);
}

/** A PLAIN page of strings (4-byte little-endian length, then the bytes, for each present value) onto the column's bytes. */
function plainStrings(page: DataPage, row: number, sink: ByteSink, offsets: Int32Array): void {
  const { bytes, n, defs } = page;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = page.at;
  for (let i = 0; i < n; i++) {
    if (defs === null || defs[i]) {
      const len = view.getUint32(p, true);
      p += 4;
      if (p + len > bytes.length) throw new FormatError("a PLAIN page of strings ends inside a value");
      sink.reserve(len);
      sink.bytes.set(bytes.subarray(p, p + len), sink.length);
      sink.length += len;
      p += len;
    }
    offsets[row + i + 1] = sink.length;
  }
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

/** A dictionary-encoded page of strings: each index's bytes copied onto the column's. */
function dictStrings(
  page: DataPage,
  row: number,
  ix: Int32Array,
  dict: Dictionary,
  sink: ByteSink,
  offsets: Int32Array,
): void {
  const { n, defs } = page;
  const db = dict.bytes!;
  const dof = dict.offsets!;
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (defs === null || defs[i]) {
      const j = ix[k++]!;
      const a = dof[j]!;
      const len = dof[j + 1]! - a;
      sink.reserve(len);
      const b = sink.bytes;
      let q = sink.length;
      if (len < 16) for (let t = 0; t < len; t++) b[q++] = db[a + t]!;
      else b.set(db.subarray(a, a + len), q);
      sink.length += len;
    }
    offsets[row + i + 1] = sink.length;
  }
}
