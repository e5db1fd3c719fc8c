// Parquet's value encodings that readParquet decodes itself (parquet-pages.ts, parquet-count.ts):
// the RLE / bit-packed hybrid of levels and dictionary indices, PLAIN fixed-width values, and
// dictionary pages.

import { FormatError } from "../../errors.js";
import type { Values } from "../column.js";
import { storageOf, type DType } from "../dtypes.js";

/** Physical types decoded here, with their width in bytes (BYTE_ARRAY: variable). */
export const WIDTH: Record<string, number> = { INT32: 4, INT64: 8, FLOAT: 4, DOUBLE: 8, BYTE_ARRAY: 0 };

/** A dictionary page's values: typed values for numbers; bytes and offsets for strings. */
export interface Dictionary {
  values: Values | null;
  bytes: Uint8Array | null;
  offsets: Int32Array | null;
  size: number;
}

/**
 * Parquet's RLE / bit-packed hybrid (definition levels, dictionary indices) of `count` values of
 * `bitWidth` ≤ 24 bits from `buf[pos, end)` into `out`. Its own loop rather than hyparquet's, which
 * every array type goes through (and so runs slowly, megamorphic); here always an Int32Array.
 * Returns the sum of the values (for definition levels: how many rows have a value), counted as
 * they are decoded rather than in a second pass.
 */
export function readHybrid(
  buf: Uint8Array,
  pos: number,
  end: number,
  bitWidth: number,
  out: Int32Array,
  count: number,
  where: string,
): number {
  const byteWidth = (bitWidth + 7) >> 3;
  const mask = (1 << bitWidth) - 1;
  let seen = 0;
  let sum = 0;
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
        const v = acc & mask;
        out[seen++] = v;
        sum += v;
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
      sum += v * (upto - seen);
      seen = upto;
    }
  }
  return sum;
}

/**
 * Whether 1-bit levels at `buf[pos, end)` start with one run of 1s covering `count` values (every
 * row of a page has a value: the usual page of a nullable column without nulls), so that they
 * need no decoding.
 */
export function levelsAllOnes(buf: Uint8Array, pos: number, end: number, count: number): boolean {
  let header = 0;
  let shift = 0;
  let b: number;
  do {
    if (pos >= end) return false;
    b = buf[pos++]!;
    header += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80 && shift < 35);
  return header % 2 === 0 && header / 2 >= count && pos < end && buf[pos] === 1;
}

/** `count` PLAIN values of a fixed-width physical type from `page` at byte `at`, as a typed array (copied: pages need not be aligned). */
export function plainValues(page: Uint8Array, at: number, count: number, physical: string): Values {
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

export function readDictionary(page: Uint8Array, n: number, physical: string, width: number, type: DType): Dictionary {
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
