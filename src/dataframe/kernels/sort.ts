// Sorting partitions and cutting them by ranges of the sort keys: a total order over rows (per
// column ascending or descending, nulls and NaN last whatever the direction, as pandas'
// na_position="last"), used for the stable sort of a partition, for the samples the divisions are
// chosen from, and for sending each row to the output partition whose range holds it.

import { ArgumentError } from "../../errors.js";
import { Column, type Values } from "../column.js";
import { Part } from "../part.js";
import { bucketSortParts } from "./bucket-sort.js";
import { bigWords, floatWords, radixArgsort, scatter } from "./radix.js";
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
  if (by.length === 1) {
    const fast = sortNumbers(part.column(by[0]!), ascending[0] === false);
    if (fast) return fast;
  }
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

/** Whether a column sorts by its words (numbers, dates, timestamps: not strings or booleans). */
function wordy(c: Column): boolean {
  return c.type !== "utf8" && c.type !== "bool";
}

/** The rows of a column that are not missing (null, or NaN in floats), and those that are; null for the first when none is. */
function presentRows(c: Column): { valid: Int32Array | null; missing: Int32Array } {
  const float = c.type === "float32" || c.type === "float64";
  if (c.nullCount === 0 && !float) return { valid: null, missing: new Int32Array(0) };
  const valid = new Int32Array(c.length);
  const missing: number[] = [];
  let k = 0;
  for (let i = 0; i < c.length; i++) {
    if (isMissing(c, i)) missing.push(i);
    else valid[k++] = i;
  }
  if (missing.length === 0) return { valid: null, missing: new Int32Array(0) };
  return { valid: valid.slice(0, k), missing: Int32Array.from(missing) };
}

/** Words (two a row, low first) that sort as unsigned 64-bit integers in the order of the column's values at `rows` (all rows when null). */
function wordsOf(c: Column, rows: Int32Array | null, desc: boolean): Uint32Array {
  const v = c.values;
  return v instanceof BigInt64Array || v instanceof BigUint64Array
    ? bigWords(v, rows, desc)
    : floatWords(v as ArrayLike<number>, rows, desc);
}

/** One column of numbers by a radix sort of its words (missing rows last, in order); null when the column is not of numbers or too short to gain. */
function sortNumbers(c: Column, desc: boolean): Int32Array | null {
  if (!wordy(c) || c.length <= RADIX_MIN_ROWS) return null;
  const { valid, missing } = presentRows(c);
  const nValid = valid === null ? c.length : valid.length;
  if (nValid <= RADIX_MIN_ROWS) return null;
  const out = new Int32Array(c.length);
  out.set(radixArgsort(wordsOf(c, valid, desc), valid));
  out.set(missing, nValid);
  return out;
}

/** Rows ordered by the columns (ascending unless told; nulls last), stable. */
export function sortPart(part: Part, by: readonly string[], ascending: readonly boolean[] = by.map(() => true)): Part {
  return part.take(sortOrder(part, by, ascending));
}

/** Below this many rows a comparator sort is as quick as the radix sort's four counting passes. */
const RADIX_MIN_ROWS = 2048;

/** Partitions joined and sorted (an output partition of sortValues). */
export function sortParts(parts: Part | Part[], by: readonly string[], ascending: readonly boolean[]): Part {
  const list = Array.isArray(parts) ? parts : [parts];
  if (by.length === 1 && list.reduce((s, p) => s + p.length, 0) > RADIX_MIN_ROWS) {
    const fast = bucketSortParts(list, by[0]!, ascending[0] === false);
    if (fast) return fast;
  }
  return sortPart(Part.concat(list), by, ascending);
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
  let lo = 0;
  let hi = -1;
  if (by.length === 1 && wordy(keys.columns[0]!)) [lo, hi] = numberEnds(keys.columns[0]!, ascending[0] === false);
  else {
    const k = sortKeys(keys, by, ascending);
    const first = k[0]!;
    for (let i = 1; i < n; i++) if (compare(k, i, k, lo) < 0) lo = i;
    for (let i = 0; i < n; i++) if (first.miss[i] === 0 && (hi < 0 || compare(k, i, k, hi) > 0)) hi = i;
  }
  const picks = new Set<number>([lo]);
  if (hi >= 0) picks.add(hi);
  const m = Math.min(n, count);
  for (let s = 0; s < m; s++) picks.add(Math.floor(((s + 0.5) * n) / m));
  const rows = Int32Array.from(picks);
  const w = new Float64Array(rows.length).fill(n / rows.length);
  return keys.take(rows).with(WEIGHT, new Column("float64", rows.length, w, null, 0));
}

/**
 * For one column of numbers, by their sort words: the first row in the sort order (the first
 * missing row when all are missing), and the first of the last present rows (-1 when none is).
 */
function numberEnds(c: Column, desc: boolean): [number, number] {
  const w = wordsOf(c, null, desc);
  const checkMissing = c.nullCount > 0 || c.type === "float32" || c.type === "float64";
  let lo = -1;
  let hi = -1;
  let loH = 0;
  let loL = 0;
  let hiH = 0;
  let hiL = 0;
  for (let i = 0; i < c.length; i++) {
    if (checkMissing && isMissing(c, i)) continue;
    const h = w[2 * i + 1]!;
    const l = w[2 * i]!;
    if (lo < 0 || h < loH || (h === loH && l < loL)) {
      lo = i;
      loH = h;
      loL = l;
    }
    if (hi < 0 || h > hiH || (h === hiH && l > hiL)) {
      hi = i;
      hiH = h;
      hiL = l;
    }
  }
  return [Math.max(lo, 0), hi];
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
  const target = new Int32Array(part.length);
  const counts = new Int32Array(k);
  if (by.length === 1 && wordy(part.column(by[0]!))) {
    numberTargets(part.column(by[0]!), bounds.column(by[0]!), ascending[0] === false, target, counts);
    return piecesOf(part, target, counts);
  }
  const kr = sortKeys(part, by, ascending);
  const kb = sortKeys(bounds, by, ascending);
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
  return piecesOf(part, target, counts);
}

/** Cells of numberTargets' table: many more than bounds, so most cells hold none and a row needs one look. */
const TARGET_TABLE_BITS = 12;

/**
 * rangeSplit's targets for one column of numbers, by their sort words (no BigInt, no comparator):
 * the number of bounds at or before each row; missing rows after every bound. A table over the top
 * bits of (word - first bound) gives the bounds below each cell, so a row compares itself only
 * with the bounds inside its cell (most cells have none): a binary search per row missed a branch
 * at every step (~5 for 25 pieces).
 */
function numberTargets(c: Column, b: Column, desc: boolean, target: Int32Array, counts: Int32Array): void {
  const nb = b.length;
  const bw = wordsOf(b, null, desc); // bounds are never missing (sortBounds leaves those out)
  const rw = wordsOf(c, null, desc);
  const float = c.type === "float32" || c.type === "float64";
  const checkMissing = c.nullCount > 0 || float;
  if (nb === 0) {
    target.fill(0);
    counts[0] = c.length;
    return;
  }
  // Cell of a word at or past the first bound: the TARGET_TABLE_BITS bits below the span's top of (word - first).
  const fh = bw[1]!;
  const fl = bw[0]!;
  const lastH = bw[2 * nb - 1]!;
  const lastL = bw[2 * nb - 2]!;
  const spanHi = (lastH - fh - (lastL < fl ? 1 : 0)) >>> 0;
  const spanLo = (lastL - fl) >>> 0;
  const bits = spanHi > 0 ? 64 - Math.clz32(spanHi) : 32 - Math.clz32(spanLo);
  const cellBits = Math.min(bits, TARGET_TABLE_BITS);
  const shift = bits - cellBits;
  const cells = 1 << cellBits;
  const cellOf = (h: number, l: number): number => {
    const dl = (l - fl) >>> 0;
    const dh = (h - fh - (l < fl ? 1 : 0)) >>> 0;
    return shift >= 32 ? dh >>> (shift - 32) : shift === 0 ? dl : ((dl >>> shift) | (dh << (32 - shift))) >>> 0;
  };
  // below[d]: bounds whose cell is before d (every bound's cell is < cells: the last bound spans `bits`).
  const below = new Int32Array(cells + 1);
  for (let j = 0; j < nb; j++) below[cellOf(bw[2 * j + 1]!, bw[2 * j]!) + 1]!++;
  for (let d = 0; d < cells; d++) below[d + 1]! += below[d]!;
  for (let i = 0; i < c.length; i++) {
    let t: number;
    if (checkMissing && isMissing(c, i)) t = nb;
    else {
      const h = rw[2 * i + 1]!;
      const l = rw[2 * i]!;
      if (h < fh || (h === fh && l < fl)) t = 0;
      else if (h > lastH || (h === lastH && l >= lastL)) t = nb;
      else {
        const d = cellOf(h, l);
        t = below[d]!;
        const end = below[d + 1]!;
        while (t < end) {
          const bh = bw[2 * t + 1]!;
          if (bh < h || (bh === h && bw[2 * t]! <= l)) t++;
          else break;
        }
      }
    }
    target[i] = t;
    counts[t]!++;
  }
}

/**
 * The partition's rows by target, in order within each piece. Columns of numbers without nulls are
 * scattered once into one buffer laid out piece after piece (each piece a view of it): the
 * partition is read once, where a gather per piece read every cache line of it once per piece.
 * Other columns are gathered piece by piece.
 */
function piecesOf(part: Part, target: Int32Array, counts: Int32Array): Part[] {
  const k = counts.length;
  const n = part.length;
  const start = new Int32Array(k + 1);
  for (let j = 0; j < k; j++) start[j + 1] = start[j]! + counts[j]!;
  const at = start.slice(0, k);
  const pos = new Int32Array(n);
  for (let i = 0; i < n; i++) pos[i] = at[target[i]!]!++;
  let idx: Int32Array[] | null = null;
  const columns = part.columns.map((c) => {
    if (c.validity === null && c.type !== "utf8" && c.type !== "bool") {
      const whole = scatter(c.values, pos, n);
      return (j: number) => new Column(c.type, counts[j]!, whole.subarray(start[j]!, start[j + 1]!) as Values, null, 0);
    }
    if (idx === null) {
      const rows = Array.from({ length: k }, (_, j) => new Int32Array(counts[j]!));
      for (let i = 0; i < n; i++) rows[target[i]!]![pos[i]! - start[target[i]!]!] = i;
      idx = rows;
    }
    const lists = idx;
    return (j: number) => c.take(lists[j]!);
  });
  return Array.from(
    { length: k },
    (_, j) =>
      new Part(
        part.names,
        columns.map((col) => col(j)),
        counts[j]!,
      ),
  );
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
