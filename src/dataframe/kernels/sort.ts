// Sorting partitions: a total order over rows (per column ascending or descending, nulls and NaN
// last whatever the direction, as pandas' na_position="last"), used for the stable sort of a
// partition, for the samples the divisions are chosen from, and (range-split.ts) for sending each
// row to the output partition whose range holds it.

import { ArgumentError } from "../../errors.js";
import { Column } from "../column.js";
import { Part } from "../part.js";
import { bucketSortParts } from "./bucket-sort.js";
import { leaseScratch } from "../../util/scratch.js";
import { bigWords, floatWords, radixArgsort, wordsInto } from "./radix.js";
import { isMissing } from "./verbs.js";

/** A column as comparable values: numbers, bigints (64-bit types, exactly) or strings, and which rows are missing. */
export interface SortKey {
  v: ArrayLike<number | bigint | string | null>;
  miss: Uint8Array;
  desc: boolean;
}

export function sortKeys(part: Part, by: readonly string[], ascending: readonly boolean[]): SortKey[] {
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
export function compare(ka: SortKey[], a: number, kb: SortKey[], b: number): number {
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
export function wordy(c: Column): boolean {
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
export function wordsOf(c: Column, rows: Int32Array | null, desc: boolean): Uint32Array {
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
  const lease = leaseScratch(); // the words in the thread's scratch buffer, not 16 MB of fresh memory a partition
  try {
    const bytes = lease.take(8 * c.length);
    const w = new Uint32Array(bytes.buffer, bytes.byteOffset, 2 * c.length);
    wordsInto(c.values, 0, c.length, desc, w, 0);
    return wordEnds(c, w);
  } finally {
    lease.release();
  }
}

/** numberEnds over the column's words `w`. */
function wordEnds(c: Column, w: Uint32Array): [number, number] {
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
