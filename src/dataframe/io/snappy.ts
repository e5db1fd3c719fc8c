// Snappy decompression (https://github.com/google/snappy/blob/main/format_description.txt) into a
// buffer the caller gives, for Parquet pages. hyparquet-compressors' decoder (hysnappy, WebAssembly)
// copies each page into the module's memory, decodes with a byte-at-a-time memcpy and slices the
// result out again; hyparquet's own JavaScript one copies literals byte by byte. Pages of numbers
// that do not compress (measurements, prices, ids) are almost all literals, so here long literals
// and long back-references are single bulk copies (TypedArray set / copyWithin), short ones loops,
// and the output is the caller's buffer (a reused scratch page, or the column itself): a page
// costs about one memcpy. Measured in docs/BENCHMARKS.md (dataframe section).

import { FormatError } from "../../errors.js";

/** Literals and copies at least this long are one bulk copy; shorter ones a loop (the call costs more than it saves). */
const BULK = 24;

/** The uncompressed length a Snappy block says it holds (its leading varint), and where its tags start. */
export function snappyLength(input: Uint8Array): { length: number; start: number } {
  let length = 0;
  let shift = 0;
  let pos = 0;
  for (;;) {
    if (pos >= input.length || shift > 28)
      throw new FormatError("a Snappy block's length header is cut short or too long");
    const b = input[pos++]!;
    length += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (b < 0x80) break;
  }
  return { length, start: pos };
}

/**
 * Decompresses a Snappy block into `out`, which must be exactly as long as the block says
 * (FormatError otherwise, and for any tag that reads or writes out of bounds).
 */
export function snappyInto(input: Uint8Array, out: Uint8Array): void {
  const { length, start } = snappyLength(input);
  if (length !== out.length)
    throw new FormatError(`a Snappy block holds ${length} bytes where ${out.length} were expected`);
  const end = input.length;
  let pos = start;
  let at = 0;
  while (pos < end) {
    const c = input[pos++]!;
    const kind = c & 3;
    if (kind === 0) {
      let len = (c >>> 2) + 1;
      if (len > 60) {
        const bytes = len - 60;
        if (pos + bytes > end) throw new FormatError("a Snappy literal's length is cut short");
        len = 0;
        for (let k = 0; k < bytes; k++) len += input[pos + k]! * 2 ** (8 * k);
        len += 1;
        pos += bytes;
      }
      if (pos + len > end || at + len > length)
        throw new FormatError(`a Snappy literal of ${len} bytes runs past the ${pos + len > end ? "input" : "output"}`);
      if (len >= BULK) out.set(input.subarray(pos, pos + len), at);
      else for (let k = 0; k < len; k++) out[at + k] = input[pos + k]!;
      pos += len;
      at += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (pos >= end) throw new FormatError("a Snappy copy is cut short");
      len = ((c >>> 2) & 7) + 4;
      offset = ((c >>> 5) << 8) | input[pos++]!;
    } else if (kind === 2) {
      if (pos + 2 > end) throw new FormatError("a Snappy copy is cut short");
      len = (c >>> 2) + 1;
      offset = input[pos]! | (input[pos + 1]! << 8);
      pos += 2;
    } else {
      if (pos + 4 > end) throw new FormatError("a Snappy copy is cut short");
      len = (c >>> 2) + 1;
      offset = (input[pos]! | (input[pos + 1]! << 8) | (input[pos + 2]! << 16)) + input[pos + 3]! * 2 ** 24;
      pos += 4;
    }
    if (offset === 0 || offset > at)
      throw new FormatError(`a Snappy copy refers ${offset} bytes back, from byte ${at}`);
    if (at + len > length) throw new FormatError(`a Snappy copy of ${len} bytes runs past the output`);
    const from = at - offset;
    // An overlapping copy (offset < len) repeats the last `offset` bytes: byte by byte, in order.
    if (len >= BULK && offset >= len) out.copyWithin(at, from, from + len);
    else for (let k = 0; k < len; k++) out[at + k] = out[from + k]!;
    at += len;
  }
  if (at !== length) throw new FormatError(`a Snappy block ends after ${at} of its ${length} bytes`);
}
