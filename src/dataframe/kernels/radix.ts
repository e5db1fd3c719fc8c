// The radix sort behind one-column numeric sorts (sort.ts): values as 64-bit words that sort as
// unsigned integers, an LSD radix sort of those words carrying the rows along, and moving a
// column's values to new places as bits (the range split's scatter).

import type { Values } from "../column.js";

/**
 * The values of `rows` (numbers up to 32-bit ints, and floats) as 64-bit words that sort as
 * unsigned integers: the float64 bits with negative numbers' bits flipped and positive ones' sign
 * bit set; all flipped for descending. Two 32-bit words a row, low first.
 */
export function floatWords(v: ArrayLike<number>, rows: ArrayLike<number> | null, desc: boolean): Uint32Array {
  const n = rows === null ? v.length : rows.length;
  const f = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = v[rows === null ? i : rows[i]!]!;
    f[i] = x === 0 ? 0 : x; // -0 sorts as 0
  }
  const w = new Uint32Array(f.buffer); // little-endian: w[2i] low word, w[2i + 1] high word
  for (let i = 0; i < n; i++) {
    const hi = w[2 * i + 1]!;
    if (hi & 0x80000000) {
      w[2 * i + 1] = ~hi >>> 0;
      w[2 * i] = ~w[2 * i]! >>> 0;
    } else w[2 * i + 1] = (hi | 0x80000000) >>> 0;
    if (desc) {
      w[2 * i + 1] = ~w[2 * i + 1]! >>> 0;
      w[2 * i] = ~w[2 * i]! >>> 0;
    }
  }
  return w;
}

/** 64-bit integers (int64, uint64, timestamps) of `rows` as words that sort as unsigned integers (signed ones' sign bit flipped; all flipped for descending), read as 32-bit halves: no BigInt per row. */
export function bigWords(
  v: BigInt64Array | BigUint64Array,
  rows: ArrayLike<number> | null,
  desc: boolean,
): Uint32Array {
  const n = rows === null ? v.length : rows.length;
  const src = new Uint32Array(v.buffer, v.byteOffset, v.length * 2);
  const w = new Uint32Array(2 * n);
  const sign = v instanceof BigInt64Array ? 0x80000000 : 0;
  const flip = desc ? 0xffffffff : 0;
  for (let i = 0; i < n; i++) {
    const r = rows === null ? i : rows[i]!;
    w[2 * i] = (src[2 * r]! ^ flip) >>> 0;
    w[2 * i + 1] = (src[2 * r + 1]! ^ sign ^ flip) >>> 0;
  }
  return w;
}

/**
 * The sort words (as floatWords and bigWords make them) of values[from, from + m) written to
 * out[2·at …]: no array of their own (the callers write into scratch memory).
 */
export function wordsInto(v: Values, from: number, m: number, desc: boolean, out: Uint32Array, at: number): void {
  const flip = desc ? 0xffffffff : 0;
  if (v instanceof BigInt64Array || v instanceof BigUint64Array) {
    const src = new Uint32Array(v.buffer, v.byteOffset + 8 * from, 2 * m);
    const sign = v instanceof BigInt64Array ? 0x80000000 : 0;
    for (let i = 0; i < m; i++) {
      out[2 * (at + i)] = (src[2 * i]! ^ flip) >>> 0;
      out[2 * (at + i) + 1] = (src[2 * i + 1]! ^ sign ^ flip) >>> 0;
    }
    return;
  }
  const f = new Float64Array(out.buffer, out.byteOffset + 8 * at, m);
  const nums = v as ArrayLike<number>;
  for (let i = 0; i < m; i++) {
    const x = nums[from + i]!;
    f[i] = x === 0 ? 0 : x; // -0 sorts as 0
  }
  for (let i = at; i < at + m; i++) {
    const hi = out[2 * i + 1]!;
    if (hi & 0x80000000) {
      out[2 * i + 1] = (~hi ^ flip) >>> 0;
      out[2 * i] = (~out[2 * i]! ^ flip) >>> 0;
    } else {
      out[2 * i + 1] = ((hi | 0x80000000) ^ flip) >>> 0;
      out[2 * i] = (out[2 * i]! ^ flip) >>> 0;
    }
  }
}

/** Widest radix digit: 2048 buckets, whose counters and write positions stay in cache. */
const MAX_DIGIT_BITS = 11;

/** The `bits`-bit digit at bit `at` of the 64-bit word (lo, hi). */
function digitOf(lo: number, hi: number, at: number, mask: number): number {
  if (at >= 32) return (hi >>> (at - 32)) & mask;
  if (at === 0) return lo & mask;
  return ((lo >>> at) | (hi << (32 - at))) & mask;
}

/** The smallest key of rows [from, to) of `w` (two words a row: low, high) and how many bits their span takes. */
export interface WordSpan {
  minLo: number;
  minHi: number;
  /** Bits of (largest − smallest): 0 when every key is the same. */
  bits: number;
}

/** The smallest of the 64-bit keys of rows [from, to) (from < to) and the bits their span takes: what a radix pass sorts by. */
export function wordSpan(w: Uint32Array, from: number, to: number): WordSpan {
  let minHi = w[2 * from + 1]!;
  let minLo = w[2 * from]!;
  let maxHi = minHi;
  let maxLo = minLo;
  for (let i = from + 1; i < to; i++) {
    const h = w[2 * i + 1]!;
    const l = w[2 * i]!;
    if (h < minHi || (h === minHi && l < minLo)) {
      minHi = h;
      minLo = l;
    } else if (h > maxHi || (h === maxHi && l > maxLo)) {
      maxHi = h;
      maxLo = l;
    }
  }
  const spanHi = (maxHi - minHi - (maxLo < minLo ? 1 : 0)) >>> 0;
  const spanLo = (maxLo - minLo) >>> 0;
  return { minLo, minHi, bits: spanHi > 0 ? 64 - Math.clz32(spanHi) : 32 - Math.clz32(spanLo) };
}

/**
 * The rows `rows` (all when null) ordered by their words (floatWords, bigWords): a
 * least-significant-digit radix sort that carries the words along with the rows, as one record
 * per row (one write stream per digit, not one per array), so every pass reads in order (the
 * 16-bit digits it replaced gathered each row's word from a random place: cache misses). The
 * smallest word is taken from every word first, so only the bits the values span are sorted: a
 * range partition of timestamps spans ~41 bits, four passes of 11-bit digits where the whole words
 * took six (and when they span at most 32 bits, records drop the high word). The counts of every
 * pass come from one read. Stable, as each pass is.
 */
export function radixArgsort(w: Uint32Array, rows: ArrayLike<number> | null): Int32Array {
  const n = w.length >> 1;
  if (n === 0) return new Int32Array(0);
  const { minLo, minHi, bits } = wordSpan(w, 0, n);
  const passes = Math.ceil(bits / MAX_DIGIT_BITS);
  const digit = passes === 0 ? 0 : Math.ceil(bits / passes);
  const mask = (1 << digit) - 1;
  // Records of three words (low, high, row), or two (low, row) when the span fits 32 bits: a pass
  // writes one stream per digit, not three.
  const R = bits > 32 ? 3 : 2;
  let rec = new Uint32Array(R * n);
  for (let i = 0; i < n; i++) {
    const l = w[2 * i]! - minLo;
    rec[R * i] = l >>> 0;
    if (R === 3) rec[R * i + 1] = (w[2 * i + 1]! - minHi - (l < 0 ? 1 : 0)) >>> 0;
    rec[R * i + R - 1] = rows === null ? i : rows[i]!;
  }
  if (passes > 0) {
    const counts = new Int32Array(passes << digit);
    for (let i = 0; i < n; i++) {
      const l = rec[R * i]!;
      const h = R === 3 ? rec[R * i + 1]! : 0;
      for (let p = 0; p < passes; p++) counts[(p << digit) + digitOf(l, h, p * digit, mask)]!++;
    }
    let rec2 = new Uint32Array(R * n);
    for (let p = 0; p < passes; p++) {
      const base = p << digit;
      const at = p * digit;
      if (counts[base + digitOf(rec[0]!, R === 3 ? rec[1]! : 0, at, mask)] === n) continue; // every row has this digit
      let sum = 0;
      for (let d = 0; d <= mask; d++) {
        const c = counts[base + d]!;
        counts[base + d] = sum;
        sum += c;
      }
      if (R === 3) scatterRecords3(rec, rec2, counts, base, at, mask, n);
      else scatterRecords2(rec, rec2, counts, base, at, mask, n);
      [rec, rec2] = [rec2, rec];
    }
  }
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = rec[R * i + R - 1]!;
  return idx;
}

/** One pass over records (low, high, row): each to the next place of its digit. */
function scatterRecords3(
  rec: Uint32Array,
  out: Uint32Array,
  counts: Int32Array,
  base: number,
  at: number,
  mask: number,
  n: number,
): void {
  for (let i = 0; i < n; i++) {
    const l = rec[3 * i]!;
    const h = rec[3 * i + 1]!;
    const to = 3 * counts[base + digitOf(l, h, at, mask)]!++;
    out[to] = l;
    out[to + 1] = h;
    out[to + 2] = rec[3 * i + 2]!;
  }
}

/** One pass over records (low, row), the span within 32 bits. */
function scatterRecords2(
  rec: Uint32Array,
  out: Uint32Array,
  counts: Int32Array,
  base: number,
  at: number,
  mask: number,
  n: number,
): void {
  for (let i = 0; i < n; i++) {
    const l = rec[2 * i]!;
    const to = 2 * counts[base + ((l >>> at) & mask)]!++;
    out[to] = l;
    out[to + 1] = rec[2 * i + 1]!;
  }
}

/** `v` with value i moved to pos[i] (as bits, in loops of one array type each, as Column.take). */
export function scatter(v: Values, pos: Int32Array, n: number): Values {
  const out = new (v.constructor as new (n: number) => Values)(n);
  const w = v.BYTES_PER_ELEMENT;
  if (w === 8)
    scatterPairs(new Int32Array(v.buffer, v.byteOffset, n * 2), new Int32Array(out.buffer, 0, n * 2), pos, n);
  else if (w === 4) scatter32(new Int32Array(v.buffer, v.byteOffset, n), new Int32Array(out.buffer, 0, n), pos, n);
  else if (w === 2) scatter16(new Int16Array(v.buffer, v.byteOffset, n), new Int16Array(out.buffer, 0, n), pos, n);
  else scatter8(new Uint8Array(v.buffer, v.byteOffset, n), new Uint8Array(out.buffer, 0, n), pos, n);
  return out;
}

function scatterPairs(from: Int32Array, to: Int32Array, pos: Int32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const p = pos[i]!;
    to[2 * p] = from[2 * i]!;
    to[2 * p + 1] = from[2 * i + 1]!;
  }
}

function scatter32(from: Int32Array, to: Int32Array, pos: Int32Array, n: number): void {
  for (let i = 0; i < n; i++) to[pos[i]!] = from[i]!;
}

function scatter16(from: Int16Array, to: Int16Array, pos: Int32Array, n: number): void {
  for (let i = 0; i < n; i++) to[pos[i]!] = from[i]!;
}

function scatter8(from: Uint8Array, to: Uint8Array, pos: Int32Array, n: number): void {
  for (let i = 0; i < n; i++) to[pos[i]!] = from[i]!;
}
