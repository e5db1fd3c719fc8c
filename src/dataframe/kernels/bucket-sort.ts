// An output partition of a one-column numeric sort, made without a random gather of the whole
// partition: one most-significant-digit pass moves every row (all its columns) into the bucket of
// its key's top bits, reading the pieces in order and writing a few thousand sequential streams;
// then each bucket (~500-1000 rows, in cache) is sorted by the rest of its keys and its rows are
// put in that order there. The sort it replaced (an LSD radix sort of the keys, then each column
// gathered by the sorted order) read every value from a random place of a 16 MB column: a cache
// and TLB miss a value, ~100 ns on this host, most of the sort's time.

import { Column, type Values } from "../column.js";
import { Part } from "../part.js";
import { leaseScratch } from "../../util/scratch.js";
import { radixArgsort, wordSpan, wordsInto } from "./radix.js";

/** Rows a bucket should hold on average: its columns stay in the first two cache levels while they are put in order. */
const BUCKET_ROWS = 512;
/** Most buckets (top-digit bits): their write streams (a cache line each, per column) stay in cache. */
const MAX_TOP_BITS = 11;
/** Buckets this small are sorted by insertion; bigger ones by the radix sort. */
const INSERTION_MAX = 24;
/** Rows of one sub-bucket past which a bucket is sorted by the radix sort rather than by insertion. */
const SUB_BUCKET_MAX = 32;

/** Whether a column's values move as plain bits (numbers, dates, timestamps without nulls). */
function plain(c: Column): boolean {
  return c.type !== "utf8" && c.type !== "bool" && c.nullCount === 0;
}

function hasNaN(v: ArrayLike<number>): boolean {
  for (let i = 0; i < v.length; i++) if (v[i] !== v[i]) return true;
  return false;
}

/**
 * The pieces joined and sorted by the column `key` (stable; descending when `desc`), when the key
 * is a column of numbers with no missing value (null or NaN); null otherwise (the caller sorts by
 * the general path). Columns that are not plain numbers (strings, booleans, nulls) follow the
 * sorted order by one gather each.
 */
export function bucketSortParts(pieces: readonly Part[], key: string, desc: boolean): Part | null {
  const use = pieces.filter((p) => p.length > 0);
  if (use.length === 0) return null;
  const keyCols = use.map((p) => p.column(key));
  const kc = keyCols[0]!;
  if (kc.type === "utf8" || kc.type === "bool" || keyCols.some((c) => c.nullCount > 0)) return null;
  if ((kc.type === "float32" || kc.type === "float64") && keyCols.some((c) => hasNaN(c.values as ArrayLike<number>)))
    return null;
  const n = use.reduce((s, p) => s + p.length, 0);
  // The keys' sort words and each row's place come from the thread's scratch buffer: fresh, their
  // 24 MB (2M rows) cost page faults and garbage collections on every output partition.
  const lease = leaseScratch();
  try {
    const scratch = lease.take(12 * n);
    const w = new Uint32Array(scratch.buffer, scratch.byteOffset, 2 * n);
    const pos = new Int32Array(scratch.buffer, scratch.byteOffset + 8 * n, n);
    let at = 0;
    for (const c of keyCols) {
      wordsInto(c.values, 0, c.length, desc, w, at);
      at += c.length;
    }
    return sortByBuckets(use, key, w, pos, n, desc);
  } finally {
    lease.release();
  }
}

/** bucketSortParts with the keys' words `w` (two a row) and room for each row's place (`pos`). */
function sortByBuckets(
  use: readonly Part[],
  key: string,
  w: Uint32Array,
  pos: Int32Array,
  n: number,
  desc: boolean,
): Part {
  const first = use[0]!;
  const names = first.names;
  // The span of the keys, and the top digit: the bits of (word - min) at `shift` and up.
  const { minLo, minHi, bits } = wordSpan(w, 0, n);
  const topBits = Math.min(bits, MAX_TOP_BITS, Math.max(1, Math.ceil(Math.log2(n / BUCKET_ROWS))));
  const shift = bits - topBits;
  const buckets = 1 << topBits;
  const mask = buckets - 1;

  // Each row's bucket (in pos, for now), then where it goes (stable: rows of a bucket keep their order).
  const digit = pos;
  const start = new Int32Array(buckets + 1);
  for (let i = 0; i < n; i++) {
    const lw = w[2 * i]!;
    const l = (lw - minLo) >>> 0;
    const h = (w[2 * i + 1]! - minHi - (lw < minLo ? 1 : 0)) >>> 0;
    const d = (shift >= 32 ? h >>> (shift - 32) : shift === 0 ? l : (l >>> shift) | (h << (32 - shift))) & mask;
    digit[i] = d;
    start[d + 1]!++;
  }
  for (let d = 0; d < buckets; d++) start[d + 1]! += start[d]!;
  const at = start.slice(0, buckets);
  for (let i = 0; i < n; i++) pos[i] = at[digit[i]!]!++;

  // Every plain column, and the key's words, moved to their bucket; other columns follow the row numbers.
  const out: (Values | null)[] = names.map((name) => {
    const cols = use.map((p) => p.column(name));
    return cols.every(plain)
      ? scatterPieces(
          cols.map((c) => c.values),
          pos,
          n,
        )
      : null;
  });
  const rows = out.includes(null) ? (scatterPieces([identity(n)], pos, n) as Int32Array) : null;

  // Each bucket in order by the rest of its keys (every key of a bucket has the same top digit).
  if (shift > 0) {
    const keys = out[names.indexOf(key)]!;
    const moving = [...out.filter((v): v is Values => v !== null), ...(rows ? [rows] : [])];
    const most = maxBucket(start, buckets);
    const scratch = new Int32Array(2 * most);
    const bw = new Uint32Array(2 * most);
    const order = new Int32Array(most);
    const sub = new Uint16Array(most);
    const counts = new Int32Array((1 << MAX_TOP_BITS) + 1);
    for (let b = 0; b < buckets; b++) {
      const s = start[b]!;
      const m = start[b + 1]! - s;
      if (m < 2) continue;
      wordsInto(keys, s, m, desc, bw, 0);
      const o = bucketOrder(bw, 0, m, order, sub, counts);
      if (o === null) continue;
      for (const v of moving) permuteRange(v, s, m, o, scratch);
    }
  }

  const columns = names.map((name, j) => {
    const v = out[j];
    const type = first.columns[j]!.type;
    if (v) return new Column(type, n, v, null, 0);
    return Column.concat(use.map((p) => p.column(name))).take(rows as Int32Array);
  });
  return new Part(names, columns, n);
}

function identity(n: number): Int32Array {
  const r = new Int32Array(n);
  for (let i = 0; i < n; i++) r[i] = i;
  return r;
}

function maxBucket(start: Int32Array, buckets: number): number {
  let m = 0;
  for (let b = 0; b < buckets; b++) m = Math.max(m, start[b + 1]! - start[b]!);
  return m;
}

/** Whether word a comes after word b (rows of `w`). */
function after(w: Uint32Array, a: number, b: number): boolean {
  const ha = w[2 * a + 1]!;
  const hb = w[2 * b + 1]!;
  return ha > hb || (ha === hb && w[2 * a]! > w[2 * b]!);
}

/**
 * The stable order (row numbers within the bucket) of the m words at row s of `w`, or null when
 * they are in order already. The rows go by a digit of the bucket's next bits into about as many
 * sub-buckets as rows (a counting pass, in cache), after which an insertion sort has only the
 * few rows sharing a sub-bucket to order. A sub-bucket of many rows (keys crowding in a narrow
 * range) sends the bucket to the LSD radix sort instead, so no input makes it quadratic.
 */
function bucketOrder(
  w: Uint32Array,
  s: number,
  m: number,
  order: Int32Array,
  sub: Uint16Array,
  counts: Int32Array,
): Int32Array | null {
  let inOrder = true;
  for (let i = s + 1; i < s + m; i++)
    if (after(w, i - 1, i)) {
      inOrder = false;
      break;
    }
  if (inOrder) return null;
  const o = order.subarray(0, m);
  if (m <= INSERTION_MAX) {
    for (let i = 0; i < m; i++) o[i] = i;
    insertionSort(w, s, o, 0, m);
    return o;
  }
  // The bucket's span: its keys share their top digit, so the span is below the digit's bits.
  const { minLo, minHi, bits } = wordSpan(w, s, s + m);
  const subBits = Math.min(bits, MAX_TOP_BITS, 32 - Math.clz32(m));
  const shift = bits - subBits;
  const nsub = 1 << subBits;
  const mask = nsub - 1;
  counts.fill(0, 0, nsub + 1);
  for (let i = 0; i < m; i++) {
    const lw = w[2 * (s + i)]!;
    const l = (lw - minLo) >>> 0;
    const h = (w[2 * (s + i) + 1]! - minHi - (lw < minLo ? 1 : 0)) >>> 0;
    const d = (shift >= 32 ? h >>> (shift - 32) : shift === 0 ? l : (l >>> shift) | (h << (32 - shift))) & mask;
    sub[i] = d;
    counts[d + 1]!++;
  }
  let crowded = false;
  for (let d = 0; d < nsub; d++) {
    if (counts[d + 1]! > SUB_BUCKET_MAX) crowded = true;
    counts[d + 1]! += counts[d]!;
  }
  if (crowded && shift > 0) return radixArgsort(w.subarray(2 * s, 2 * (s + m)), null);
  for (let i = 0; i < m; i++) o[counts[sub[i]!]!++] = i;
  if (shift > 0) insertionSort(w, s, o, 0, m);
  return o;
}

/** Rows o[from..to) (numbers within the bucket at s) sorted by their words, stably, by insertion. */
function insertionSort(w: Uint32Array, s: number, o: Int32Array, from: number, to: number): void {
  for (let i = from + 1; i < to; i++) {
    const r = o[i]!;
    let j = i;
    while (j > from && after(w, s + o[j - 1]!, s + r)) {
      o[j] = o[j - 1]!;
      j--;
    }
    o[j] = r;
  }
}

/** Values of the pieces, end to end, with value i moved to pos[i] (as bits, in loops of one array type each). */
function scatterPieces(vs: readonly Values[], pos: Int32Array, n: number): Values {
  const v0 = vs[0]!;
  const out = new (v0.constructor as new (n: number) => Values)(n);
  const width = v0.BYTES_PER_ELEMENT;
  let at = 0;
  for (const v of vs) {
    const len = v.length;
    if (width === 8)
      scatterPairs(new Int32Array(v.buffer, v.byteOffset, len * 2), new Int32Array(out.buffer, 0, n * 2), pos, at, len);
    else if (width === 4)
      scatter32(new Int32Array(v.buffer, v.byteOffset, len), new Int32Array(out.buffer, 0, n), pos, at, len);
    else if (width === 2)
      scatter16(new Int16Array(v.buffer, v.byteOffset, len), new Int16Array(out.buffer, 0, n), pos, at, len);
    else scatter8(new Uint8Array(v.buffer, v.byteOffset, len), new Uint8Array(out.buffer, 0, n), pos, at, len);
    at += len;
  }
  return out;
}

function scatterPairs(from: Int32Array, to: Int32Array, pos: Int32Array, at: number, len: number): void {
  for (let i = 0; i < len; i++) {
    const p = pos[at + i]!;
    to[2 * p] = from[2 * i]!;
    to[2 * p + 1] = from[2 * i + 1]!;
  }
}

function scatter32(from: Int32Array, to: Int32Array, pos: Int32Array, at: number, len: number): void {
  for (let i = 0; i < len; i++) to[pos[at + i]!] = from[i]!;
}

function scatter16(from: Int16Array, to: Int16Array, pos: Int32Array, at: number, len: number): void {
  for (let i = 0; i < len; i++) to[pos[at + i]!] = from[i]!;
}

function scatter8(from: Uint8Array, to: Uint8Array, pos: Int32Array, at: number, len: number): void {
  for (let i = 0; i < len; i++) to[pos[at + i]!] = from[i]!;
}

/** Values [s, s + m) of `v` put in `order` (local row numbers), in place, through `scratch`. */
function permuteRange(v: Values, s: number, m: number, order: Int32Array, scratch: Int32Array): void {
  const width = v.BYTES_PER_ELEMENT;
  if (width === 8) {
    const a = new Int32Array(v.buffer, v.byteOffset + 8 * s, 2 * m);
    for (let i = 0; i < m; i++) {
      const o = order[i]!;
      scratch[2 * i] = a[2 * o]!;
      scratch[2 * i + 1] = a[2 * o + 1]!;
    }
    a.set(scratch.subarray(0, 2 * m));
  } else if (width === 4) {
    const a = new Int32Array(v.buffer, v.byteOffset + 4 * s, m);
    for (let i = 0; i < m; i++) scratch[i] = a[order[i]!]!;
    a.set(scratch.subarray(0, m));
  } else {
    // 1- and 2-byte values: through a copy of the range (a few rows; rare in sorts).
    const a =
      width === 2 ? new Int16Array(v.buffer, v.byteOffset + 2 * s, m) : new Uint8Array(v.buffer, v.byteOffset + s, m);
    const copy = a.slice();
    for (let i = 0; i < m; i++) a[i] = copy[order[i]!]!;
  }
}
