// The range split of sortValues and setIndex: each row of a partition to the piece of the output
// partition whose range of sort keys holds it (the number of bounds at or before it), every
// column carried, rows in order within a piece.

import { Column, type Values } from "../column.js";
import { Part } from "../part.js";
import { leaseScratch } from "../../util/scratch.js";
import { scatter, wordsInto } from "./radix.js";
import { compare, sortKeys, wordsOf, wordy } from "./sort.js";
import { isMissing } from "./verbs.js";

/** The partition's rows by the range of `bounds` they fall in: piece j holds rows r with bounds[j-1] ≤ r < bounds[j]. */
export function rangeSplit(part: Part, by: readonly string[], ascending: readonly boolean[], bounds: Part): Part[] {
  const k = bounds.length + 1;
  const counts = new Int32Array(k);
  if (by.length === 1 && wordy(part.column(by[0]!))) {
    // Targets, places and the keys' words in the thread's scratch buffer (16 bytes a row, fresh
    // on every split otherwise: page faults and collections); the pieces are fresh memory.
    const n = part.length;
    const lease = leaseScratch();
    try {
      const scratch = lease.take(16 * n);
      const rw = new Uint32Array(scratch.buffer, scratch.byteOffset, 2 * n);
      const target = new Int32Array(scratch.buffer, scratch.byteOffset + 8 * n, n);
      const pos = new Int32Array(scratch.buffer, scratch.byteOffset + 12 * n, n);
      numberTargets(part.column(by[0]!), bounds.column(by[0]!), ascending[0] === false, target, counts, rw);
      return piecesOf(part, target, counts, pos);
    } finally {
      lease.release();
    }
  }
  const target = new Int32Array(part.length);
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
function numberTargets(
  c: Column,
  b: Column,
  desc: boolean,
  target: Int32Array,
  counts: Int32Array,
  rw: Uint32Array,
): void {
  const nb = b.length;
  const bw = wordsOf(b, null, desc); // bounds are never missing (sortBounds leaves those out)
  wordsInto(c.values, 0, c.length, desc, rw, 0);
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
function piecesOf(
  part: Part,
  target: Int32Array,
  counts: Int32Array,
  pos: Int32Array = new Int32Array(part.length),
): Part[] {
  const k = counts.length;
  const n = part.length;
  const start = new Int32Array(k + 1);
  for (let j = 0; j < k; j++) start[j + 1] = start[j]! + counts[j]!;
  const at = start.slice(0, k);
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
