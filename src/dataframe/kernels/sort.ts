// Sorting partitions and cutting them by ranges of the sort keys: a total order over rows (per
// column ascending or descending, nulls and NaN last whatever the direction, as pandas'
// na_position="last"), used for the stable sort of a partition, for the samples the divisions are
// chosen from, and for sending each row to the output partition whose range holds it.

import { ArgumentError } from "../../errors.js";
import { Column } from "../column.js";
import { Part } from "../part.js";
import { isMissing } from "./verbs.js";

/** A column as comparable values: numbers, bigints (64-bit types, exactly) or strings, and which rows are missing. */
interface SortKey {
  v: ArrayLike<number | bigint | string | null>;
  miss: Uint8Array;
  desc: boolean;
}

function sortKeys(part: Part, by: readonly string[], ascending: readonly boolean[]): SortKey[] {
  return by.map((name, j) => {
    const c: Column = part.column(name);
    const miss = new Uint8Array(part.length);
    for (let i = 0; i < part.length; i++) if (isMissing(c, i)) miss[i] = 1;
    let v: ArrayLike<number | bigint | string | null>;
    if (c.type === "utf8") v = c.strings();
    else if (c.type === "bool")
      v = Array.from({ length: c.length }, (_, i) => ((c.values[i >> 3] as number) >> (i & 7)) & 1);
    else v = c.values as ArrayLike<number | bigint>;
    return { v, miss, desc: ascending[j] === false };
  });
}

/** Compares row a of `ka` with row b of `kb`: negative when a comes first. */
function compare(ka: SortKey[], a: number, kb: SortKey[], b: number): number {
  for (let j = 0; j < ka.length; j++) {
    const x = ka[j]!;
    const y = kb[j]!;
    const ma = x.miss[a]!;
    const mb = y.miss[b]!;
    if (ma || mb) {
      if (ma && mb) continue;
      return ma ? 1 : -1; // missing last, in either direction
    }
    const va = x.v[a]!;
    const vb = y.v[b]!;
    if (va === vb) continue;
    const r = va < vb ? -1 : 1;
    return x.desc ? -r : r;
  }
  return 0;
}

/** The row order that sorts the partition (stable: equal rows keep their order). */
export function sortOrder(part: Part, by: readonly string[], ascending: readonly boolean[]): Int32Array {
  const k = sortKeys(part, by, ascending);
  if (k.length === 1) return sortOne(k[0]!);
  const idx = Array.from({ length: part.length }, (_, i) => i);
  idx.sort((a, b) => compare(k, a, k, b) || a - b);
  return Int32Array.from(idx);
}

/** One column: the rows with values sorted by a comparator that reads them directly, then the missing ones in order. */
function sortOne(key: SortKey): Int32Array {
  const { v, miss } = key;
  const s = key.desc ? -1 : 1;
  const valid: number[] = [];
  const missing: number[] = [];
  for (let i = 0; i < miss.length; i++) (miss[i] ? missing : valid).push(i);
  if (ArrayBuffer.isView(v) && valid.length > RADIX_MIN_ROWS) {
    const out = new Int32Array(miss.length);
    const words =
      v instanceof BigInt64Array || v instanceof BigUint64Array
        ? bigWords(v, valid, key.desc)
        : floatWords(v as ArrayLike<number>, valid, key.desc);
    out.set(radixArgsort(words, valid));
    out.set(missing, valid.length);
    return out;
  }
  valid.sort((a, b) => {
    const x = v[a]!;
    const y = v[b]!;
    return x < y ? -s : x > y ? s : a - b;
  });
  const out = new Int32Array(miss.length);
  out.set(valid);
  out.set(missing, valid.length);
  return out;
}

/** Rows ordered by the columns (ascending unless told; nulls last), stable. */
export function sortPart(part: Part, by: readonly string[], ascending: readonly boolean[] = by.map(() => true)): Part {
  return part.take(sortOrder(part, by, ascending));
}

/** Below this many rows a comparator sort is as quick as the radix sort's four counting passes. */
const RADIX_MIN_ROWS = 2048;

/**
 * The values of `rows` (numbers up to 32-bit ints, and floats) as 64-bit words that sort as
 * unsigned integers: the float64 bits with negative numbers' bits flipped and positive ones' sign
 * bit set; all flipped for descending. Two 32-bit words a row, low first.
 */
function floatWords(v: ArrayLike<number>, rows: number[], desc: boolean): Uint32Array {
  const n = rows.length;
  const f = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = v[rows[i]!]!;
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
function bigWords(v: BigInt64Array | BigUint64Array, rows: number[], desc: boolean): Uint32Array {
  const n = rows.length;
  const src = new Uint32Array(v.buffer, v.byteOffset, v.length * 2);
  const w = new Uint32Array(2 * n);
  const sign = v instanceof BigInt64Array ? 0x80000000 : 0;
  const flip = desc ? 0xffffffff : 0;
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    w[2 * i] = (src[2 * r]! ^ flip) >>> 0;
    w[2 * i + 1] = (src[2 * r + 1]! ^ sign ^ flip) >>> 0;
  }
  return w;
}

/** Bits of a radix digit: 2048 buckets, whose counters and write positions stay in cache. */
const DIGIT_BITS = 11;
const PASSES = Math.ceil(64 / DIGIT_BITS);

/** Digit `p` (least significant first) of the 64-bit word (lo, hi). */
function digitOf(lo: number, hi: number, p: number): number {
  const at = p * DIGIT_BITS;
  if (at + DIGIT_BITS <= 32) return (lo >>> at) & 0x7ff;
  if (at >= 32) return (hi >>> (at - 32)) & 0x7ff;
  return ((lo >>> at) | (hi << (32 - at))) & 0x7ff;
}

/**
 * The rows `rows` ordered by their words (floatWords, bigWords): a least-significant-digit radix
 * sort of 11-bit digits that carries the words along with the rows, so every pass reads in order
 * (the 16-bit digits it replaced gathered each row's word from a random place: cache misses); the
 * counts of every pass come from one read, and passes whose digit is the same for every row are
 * skipped. Stable, as each pass is.
 */
function radixArgsort(w: Uint32Array, rows: number[]): Int32Array {
  const n = rows.length;
  let lo = new Uint32Array(n);
  let hi = new Uint32Array(n);
  let idx = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    lo[i] = w[2 * i]!;
    hi[i] = w[2 * i + 1]!;
    idx[i] = rows[i]!;
  }
  const counts = new Int32Array(PASSES << DIGIT_BITS);
  for (let i = 0; i < n; i++)
    for (let p = 0; p < PASSES; p++) counts[(p << DIGIT_BITS) + digitOf(lo[i]!, hi[i]!, p)]!++;
  let lo2 = new Uint32Array(n);
  let hi2 = new Uint32Array(n);
  let idx2 = new Int32Array(n);
  for (let p = 0; p < PASSES; p++) {
    const base = p << DIGIT_BITS;
    if (counts[base + digitOf(lo[0]!, hi[0]!, p)] === n) continue; // every row has this digit
    let sum = 0;
    for (let d = 0; d < 1 << DIGIT_BITS; d++) {
      const c = counts[base + d]!;
      counts[base + d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const l = lo[i]!;
      const h = hi[i]!;
      const at = counts[base + digitOf(l, h, p)]!++;
      lo2[at] = l;
      hi2[at] = h;
      idx2[at] = idx[i]!;
    }
    [lo, lo2] = [lo2, lo];
    [hi, hi2] = [hi2, hi];
    [idx, idx2] = [idx2, idx];
  }
  return idx;
}

/** Partitions joined and sorted (an output partition of sortValues). */
export function sortParts(parts: Part | Part[], by: readonly string[], ascending: readonly boolean[]): Part {
  return sortPart(Array.isArray(parts) ? Part.concat(parts) : parts, by, ascending);
}

/** Name of the weight column of a sample: rows of the partition each sample row stands for. */
export const WEIGHT = "\u0000weight";

/**
 * Up to `count` rows of the sort columns, evenly spaced through the partition as it is (a linear
 * pass: no sort), plus its first row in the sort order and its last whose first column is not
 * missing (the ends of the divisions), each standing for its share of the partition's rows.
 */
export function sortSample(part: Part, by: readonly string[], ascending: readonly boolean[], count: number): Part {
  const keys = part.select(by);
  const n = keys.length;
  if (n === 0) return keys.with(WEIGHT, new Column("float64", 0, new Float64Array(0), null, 0));
  const k = sortKeys(keys, by, ascending);
  const first = k[0]!;
  let lo = 0;
  let hi = -1;
  for (let i = 1; i < n; i++) if (compare(k, i, k, lo) < 0) lo = i;
  for (let i = 0; i < n; i++) if (first.miss[i] === 0 && (hi < 0 || compare(k, i, k, hi) > 0)) hi = i;
  const picks = new Set<number>([lo]);
  if (hi >= 0) picks.add(hi);
  const m = Math.min(n, count);
  for (let s = 0; s < m; s++) picks.add(Math.floor(((s + 0.5) * n) / m));
  const rows = Int32Array.from(picks);
  const w = new Float64Array(rows.length).fill(n / rows.length);
  return keys.take(rows).with(WEIGHT, new Column("float64", rows.length, w, null, 0));
}

/**
 * Bounds for `k` output partitions from the samples of every partition: the sample rows at
 * weighted quantiles 1/k … (k-1)/k, without repeats, without one equal to the first row, and
 * without rows whose first column is missing (all nulls go to the last partition). Returns the
 * bounds, and the first and last rows whose first column is not missing (for divisions).
 */
export function sortBounds(
  samples: Part[],
  by: readonly string[],
  ascending: readonly boolean[],
  k: number,
): { bounds: Part; first: Part; last: Part } {
  if (!Number.isInteger(k) || k < 1)
    throw new ArgumentError(`sort: the number of partitions must be a whole number ≥ 1, got ${k}`);
  const all = Part.concat(samples);
  const order = sortOrder(all, by, ascending);
  const keys = sortKeys(all, by, ascending);
  const weight = all.column(WEIGHT).values as Float64Array;
  const total = order.reduce((s, i) => s + weight[i]!, 0);
  const first = keys[0]!;
  const valid = Array.from(order).filter((i) => first.miss[i] === 0);
  const chosen: number[] = [];
  let acc = 0;
  let q = 1;
  for (const i of order) {
    acc += weight[i]!;
    while (q < k && acc >= (total * q) / k) {
      q++;
      const prev = chosen.length > 0 ? chosen[chosen.length - 1]! : valid[0];
      if (first.miss[i] === 0 && prev !== undefined && compare(keys, i, keys, prev) > 0) chosen.push(i);
    }
  }
  const pick = (ix: number[]) => all.select([...by]).take(Int32Array.from(ix));
  return { bounds: pick(chosen), first: pick(valid.slice(0, 1)), last: pick(valid.slice(-1)) };
}

/** The partition's rows by the range of `bounds` they fall in: piece j holds rows r with bounds[j-1] ≤ r < bounds[j]. */
export function rangeSplit(part: Part, by: readonly string[], ascending: readonly boolean[], bounds: Part): Part[] {
  const k = bounds.length + 1;
  const kr = sortKeys(part, by, ascending);
  const kb = sortKeys(bounds, by, ascending);
  const target = new Int32Array(part.length);
  const counts = new Int32Array(k);
  for (let i = 0; i < part.length; i++) {
    // The number of bounds at or before row i.
    let lo = 0;
    let hi = bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compare(kb, mid, kr, i) <= 0) lo = mid + 1;
      else hi = mid;
    }
    target[i] = lo;
    counts[lo]!++;
  }
  const idx = Array.from({ length: k }, (_, j) => new Int32Array(counts[j]!));
  const fill = new Int32Array(k);
  for (let i = 0; i < part.length; i++) {
    const j = target[i]!;
    idx[j]![fill[j]!++] = i;
  }
  return idx.map((ix) => part.take(ix));
}

/** The partition cut into `count` pieces of rows as even as can be, in order (repartition to more partitions). */
export function splitRows(part: Part, count: number): Part[] {
  return Array.from({ length: count }, (_, j) =>
    part.slice(Math.floor((j * part.length) / count), Math.floor(((j + 1) * part.length) / count)),
  );
}

/** Bytes of the partition's buffers (repartition by size). */
export function partBytes(part: Part): number {
  return part.nbytes;
}
