// LZ4 block decompression (the format inside Blosc chunks), in JavaScript: Blosc's decoder where
// our WebAssembly (blosc-wasm.c) cannot run. numcodecs' WebAssembly build decodes a 32 MB Blosc
// chunk in ~105 ms here against ~8 ms for C-Blosc in NumPy's process (an unoptimised build, and
// copies of whole chunks between JavaScript and WebAssembly memory); this loop writes straight
// into the destination.
// Format: https://github.com/lz4/lz4/blob/dev/doc/lz4_Block_format.md

import { FormatError } from "../../errors.js";

/**
 * Decodes the LZ4 block `src[start, end)` into `dst` from `at`, which must have room for exactly
 * `expected` bytes; returns the number of bytes written, which must be `expected`.
 */
export function lz4DecodeBlock(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  at: number,
  expected: number,
): number {
  const sv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const dv = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  const limit = at + expected;
  let sp = start;
  let dp = at;
  while (sp < end) {
    const token = src[sp++]!;
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (sp >= end) throw corrupt("a literal length is cut off");
        b = src[sp++]!;
        lit += b;
      } while (b === 255);
    }
    if (lit > 0) {
      if (sp + lit > end || dp + lit > limit) throw corrupt("a literal run goes past the end");
      if (lit <= 32) {
        let i = 0;
        for (; i + 4 <= lit; i += 4) dv.setUint32(dp + i, sv.getUint32(sp + i, true), true);
        for (; i < lit; i++) dst[dp + i] = src[sp + i]!;
      } else {
        dst.set(src.subarray(sp, sp + lit), dp);
      }
      sp += lit;
      dp += lit;
    }
    if (sp >= end) break; // the last sequence has literals only
    if (sp + 2 > end) throw corrupt("a match offset is cut off");
    const offset = src[sp]! | (src[sp + 1]! << 8);
    sp += 2;
    let len = token & 15;
    if (len === 15) {
      let b: number;
      do {
        if (sp >= end) throw corrupt("a match length is cut off");
        b = src[sp++]!;
        len += b;
      } while (b === 255);
    }
    len += 4;
    let m = dp - offset;
    if (offset === 0 || m < at) throw corrupt("a match points before the start");
    if (dp + len > limit) throw corrupt("a match goes past the end");
    if (offset >= len && len > 64) {
      dst.copyWithin(dp, m, m + len);
      dp += len;
    } else if (len > 32 && offset < len) {
      // A repeated pattern (Blosc's exponent-byte stream is one byte repeated a whole block long):
      // one byte is a fill; a longer pattern is laid down once, then doubled by whole periods.
      if (offset === 1) dst.fill(dst[m]!, dp, dp + len);
      else {
        let done = 0;
        while (done < len) {
          const n = Math.min(offset + done, len - done);
          dst.copyWithin(dp + done, m, m + n);
          done += n;
        }
      }
      dp += len;
    } else if (offset >= 4) {
      // Four bytes at a time: each read lies wholly before the write position.
      const stop = dp + len;
      for (; dp + 4 <= stop; dp += 4, m += 4) dv.setUint32(dp, dv.getUint32(m, true), true);
      while (dp < stop) dst[dp++] = dst[m++]!;
    } else {
      for (let i = 0; i < len; i++) dst[dp++] = dst[m++]!;
    }
  }
  return dp - at;
}

function corrupt(what: string): FormatError {
  return new FormatError(`corrupt LZ4 data: ${what} (a truncated or damaged chunk)`);
}

// ---- compression (LZ4's fast greedy parse: a hash of the next four bytes finds an earlier match) ----

/** Entries of the match table: 2^14 positions (64 KiB), as LZ4's default. */
const HASH_LOG = 14;
/** The format's end rules: the last match starts at least 12 bytes before the end, and the last 5 bytes are literals. */
const MF_LIMIT = 12;
const LAST_LITERALS = 5;
const MAX_OFFSET = 65535;
/** After this many misses in a row the search steps faster through incompressible data (LZ4's acceleration). */
const SKIP_TRIGGER = 6;

const table = new Int32Array(1 << HASH_LOG);

/**
 * Compresses `src[start, end)` into `dst` from `at`, using at most `room` bytes; returns the bytes
 * written, or -1 when the result would not fit (the caller then stores the bytes as they are).
 */
export function lz4EncodeBlock(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  at: number,
  room: number,
): number {
  const sv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const limit = at + room;
  let op = at;
  let anchor = start;

  const emit = (litEnd: number, offset: number, matchLen: number): boolean => {
    const lit = litEnd - anchor;
    // token, literal length bytes, literals, offset, match length bytes
    const need =
      1 +
      (lit >= 15 ? 1 + Math.floor((lit - 15) / 255) : 0) +
      lit +
      (matchLen ? 2 + (matchLen - 4 >= 15 ? 1 + Math.floor((matchLen - 19) / 255) : 0) : 0);
    if (op + need > limit) return false;
    const tokenAt = op++;
    let token = Math.min(lit, 15) << 4;
    if (lit >= 15) {
      let r = lit - 15;
      for (; r >= 255; r -= 255) dst[op++] = 255;
      dst[op++] = r;
    }
    dst.set(src.subarray(anchor, litEnd), op);
    op += lit;
    if (matchLen) {
      dst[op++] = offset & 0xff;
      dst[op++] = offset >>> 8;
      const m = matchLen - 4;
      token |= Math.min(m, 15);
      if (m >= 15) {
        let r = m - 15;
        for (; r >= 255; r -= 255) dst[op++] = 255;
        dst[op++] = r;
      }
    }
    dst[tokenAt] = token;
    return true;
  };

  if (end - start > MF_LIMIT) {
    table.fill(-1);
    const mflimit = end - MF_LIMIT;
    const matchLimit = end - LAST_LITERALS;
    let ip = start;
    let misses = 0;
    while (ip < mflimit) {
      const seq = sv.getUint32(ip, true);
      const h = Math.imul(seq, 2654435761) >>> (32 - HASH_LOG);
      let ref = table[h]!;
      table[h] = ip;
      if (ref < start || ip - ref > MAX_OFFSET || sv.getUint32(ref, true) !== seq) {
        ip += 1 + (misses++ >> SKIP_TRIGGER);
        continue;
      }
      misses = 0;
      while (ip > anchor && ref > start && src[ip - 1] === src[ref - 1]) {
        ip--;
        ref--;
      }
      let len = 4;
      while (ip + len < matchLimit && src[ip + len] === src[ref + len]) len++;
      if (!emit(ip, ip - ref, len)) return -1;
      ip += len;
      anchor = ip;
      if (ip < mflimit) table[Math.imul(sv.getUint32(ip - 2, true), 2654435761) >>> (32 - HASH_LOG)] = ip - 2;
    }
  }
  if (!emit(end, 0, 0)) return -1;
  return op - at;
}
