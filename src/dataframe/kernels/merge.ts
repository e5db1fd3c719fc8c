// A join of two partitions: the side that is looked up is chained by the hash of its keys (hashRows,
// the shuffle's hash), and the other side's rows are walked in order, each comparing keys along
// its chain. Used whole by the
// broadcast join (one side is all of a small frame) and bucket by bucket by the hash-shuffle join.
// Null keys match null keys (NaN is null), as pandas does; SQL would not.

import { Column } from "../column.js";
import { Part } from "../part.js";
import { hashRows, mix32 } from "./groups.js";
import { isMissing } from "./verbs.js";

export type JoinHow = "inner" | "left" | "right" | "outer";

export interface MergeSpec {
  how: JoinHow;
  leftOn: string[];
  rightOn: string[];
  /** Output names for the left's columns and the right's (key columns of the right dropped when named alike). */
  leftNames: string[];
  rightColumns: string[];
  rightNames: string[];
}

/**
 * Rows of the join: for inner/left/outer the left's rows in order, each followed by its matches in
 * the right's order (outer then adds the right's unmatched rows, in order); for right, the right's
 * rows in order with their matches in the left's order (pandas' orders for one partition).
 */
export function mergeParts(leftIn: Part | Part[], rightIn: Part | Part[], spec: MergeSpec): Part {
  const left = Array.isArray(leftIn) ? Part.concat(leftIn) : leftIn;
  const right = Array.isArray(rightIn) ? Part.concat(rightIn) : rightIn;
  const pairs = new RowPairs(Math.max(left.length, right.length));
  if (!joinOneKey(left, right, spec, pairs)) {
    if (spec.how === "right") {
      // The left side is looked up; the right's rows walked in order.
      const look = new KeyTable(left, spec.leftOn);
      const probe = new KeyCols(right, spec.rightOn);
      const ph = hashRows(right, spec.rightOn);
      for (let r = 0; r < right.length; r++) {
        let found = false;
        for (let i = look.first(ph[r]!); i !== -1; i = look.next[i]!) {
          if (!look.matches(i, ph[r]!, probe, r)) continue;
          pairs.push(i, r);
          found = true;
        }
        if (!found) {
          pairs.push(-1, r);
        }
      }
    } else {
      const look = new KeyTable(right, spec.rightOn);
      const probe = new KeyCols(left, spec.leftOn);
      const ph = hashRows(left, spec.leftOn);
      const matched = spec.how === "outer" ? new Uint8Array(right.length) : null;
      for (let i = 0; i < left.length; i++) {
        let found = false;
        for (let r = look.first(ph[i]!); r !== -1; r = look.next[r]!) {
          if (!look.matches(r, ph[i]!, probe, i)) continue;
          pairs.push(i, r);
          found = true;
          if (matched) matched[r] = 1;
        }
        if (!found && spec.how !== "inner") {
          pairs.push(i, -1);
        }
      }
      if (matched) {
        for (let r = 0; r < right.length; r++) {
          if (matched[r] === 0) {
            pairs.push(-1, r);
          }
        }
      }
    }
  }
  const L = pairs.left.subarray(0, pairs.length);
  const R = pairs.right.subarray(0, pairs.length);
  const sameKeys = spec.leftOn.every((n, k) => n === spec.rightOn[k]);
  // Every left row once, in order (an inner or left join whose keys each match one row): the
  // left's columns as they are, no gather.
  const leftAsIs = L.length === left.length && isIdentity(L);
  const cols: Column[] = left.names.map((name) => {
    if (leftAsIs) return left.column(name);
    const k = sameKeys ? spec.leftOn.indexOf(name) : -1;
    // A shared key column holds the right's key where the row has no left side (pandas' coalesced key).
    if (k >= 0 && L.includes(-1)) return coalesce(left.column(name), L, right.column(spec.rightOn[k]!), R);
    return takeWithNulls(left.column(name), L);
  });
  for (const name of spec.rightColumns) cols.push(takeWithNulls(right.column(name), R));
  return new Part([...spec.leftNames, ...spec.rightNames], cols, L.length);
}

/**
 * The join on one integer key (32- or 64-bit, timestamps and dates too) without nulls on either side,
 * the common case, in the same row order as the general path: an open-addressing table over the
 * looked-up side's keys, read as 32-bit words (no hash arrays, no BigInt per row), equal keys
 * chained in row order. Returns false, doing nothing, for other keys.
 */
function joinOneKey(left: Part, right: Part, spec: MergeSpec, pairs: RowPairs): boolean {
  if (spec.leftOn.length !== 1) return false;
  const lc = left.column(spec.leftOn[0]!);
  const rc = right.column(spec.rightOn[0]!);
  const words = (c: Column): Int32Array | null =>
    c.nullCount > 0
      ? null
      : c.values instanceof BigInt64Array || c.values instanceof BigUint64Array
        ? new Int32Array(c.values.buffer, c.values.byteOffset, c.length * 2)
        : c.values instanceof Int32Array || c.values instanceof Uint32Array
          ? new Int32Array(c.values.buffer, c.values.byteOffset, c.length)
          : null;
  const lw = words(lc);
  const rw = words(rc);
  if (!lw || !rw || lc.type !== rc.type) return false;
  const K = lw.length === lc.length ? 1 : 2;
  const byRight = spec.how === "right";
  const [lookCol, lookW, probeW, nLook, nProbe] = byRight
    ? [lc, lw, rw, left.length, right.length]
    : [rc, rw, lw, right.length, left.length];
  const t = keyTableOf(lookCol, lookW, K);
  const { slots, next, mask } = t;
  const matched = spec.how === "outer" ? new Uint8Array(nLook) : null;
  const keepUnmatched = spec.how !== "inner";
  for (let i = 0; i < nProbe; i++) {
    const lo = K === 1 ? probeW[i]! : probeW[2 * i]!;
    const hi = K === 1 ? 0 : probeW[2 * i + 1]!;
    let s = mix32((lo ^ mix32(hi >>> 0)) >>> 0) & mask;
    let r = -1;
    let last = -1;
    for (;;) {
      const row = slots[4 * s]!;
      if (row === -1) break;
      if (slots[4 * s + 2] === lo && slots[4 * s + 3] === hi) {
        r = row;
        last = slots[4 * s + 1]!;
        break;
      }
      s = (s + 1) & mask;
    }
    if (r === -1) {
      if (keepUnmatched) byRight ? pairs.push(-1, i) : pairs.push(i, -1);
      continue;
    }
    // One row with this key (the common case) needs no look at the chain.
    for (;;) {
      if (byRight) pairs.push(r, i);
      else pairs.push(i, r);
      if (matched) matched[r] = 1;
      if (r === last) break;
      r = next[r]!;
    }
  }
  if (matched) for (let r = 0; r < nLook; r++) if (matched[r] === 0) pairs.push(-1, r);
  return true;
}

/** A looked-up side's key table: 16-byte slots (first row, last row, the key's two 32-bit words; row -1: empty) and a chain of equal keys in row order. */
interface KeyTableOne {
  slots: Int32Array;
  next: Int32Array;
  mask: number;
}

/**
 * The key table of a column, made once per column: a broadcast join's small side is the same
 * column for every partition of the other side that the worker joins, so it is hashed once.
 */
const keyTables = new WeakMap<Column, KeyTableOne>();

function keyTableOf(c: Column, w: Int32Array, K: number): KeyTableOne {
  const had = keyTables.get(c);
  if (had) return had;
  const n = c.length;
  let size = 16;
  while (size < n * 2) size *= 2;
  const mask = size - 1;
  const slots = new Int32Array(size * 4).fill(-1);
  const next = new Int32Array(n).fill(-1);
  for (let r = 0; r < n; r++) {
    const lo = K === 1 ? w[r]! : w[2 * r]!;
    const hi = K === 1 ? 0 : w[2 * r + 1]!;
    let s = mix32((lo ^ mix32(hi >>> 0)) >>> 0) & mask;
    for (;;) {
      const row = slots[4 * s]!;
      if (row === -1) {
        slots[4 * s] = r;
        slots[4 * s + 1] = r;
        slots[4 * s + 2] = lo;
        slots[4 * s + 3] = hi;
        break;
      }
      if (slots[4 * s + 2] === lo && slots[4 * s + 3] === hi) {
        next[slots[4 * s + 1]!] = r;
        slots[4 * s + 1] = r;
        break;
      }
      s = (s + 1) & mask;
    }
  }
  const t = { slots, next, mask };
  keyTables.set(c, t);
  return t;
}

/** The joined rows: pairs of row numbers (left, right; -1 for none), in growing typed arrays. */
class RowPairs {
  left: Int32Array;
  right: Int32Array;
  length = 0;
  constructor(guess: number) {
    this.left = new Int32Array(Math.max(16, guess));
    this.right = new Int32Array(Math.max(16, guess));
  }
  push(l: number, r: number): void {
    if (this.length === this.left.length) {
      const a = new Int32Array(this.length * 2);
      a.set(this.left);
      this.left = a;
      const b = new Int32Array(this.length * 2);
      b.set(this.right);
      this.right = b;
    }
    this.left[this.length] = l;
    this.right[this.length++] = r;
  }
}

/** Key columns of a side, for comparing keys row against row (null equals null, NaN is null). */
class KeyCols {
  readonly cols: Column[];
  readonly miss: Uint8Array[];
  /** 64-bit columns' values as pairs of 32-bit halves (compared without making a BigInt per row), else null. */
  readonly halves: (Int32Array | null)[];
  constructor(part: Part, on: readonly string[]) {
    this.cols = on.map((n) => part.column(n));
    this.halves = this.cols.map((c) =>
      c.values instanceof BigInt64Array || c.values instanceof BigUint64Array
        ? new Int32Array(c.values.buffer, c.values.byteOffset, c.length * 2)
        : null,
    );
    this.miss = this.cols.map((c) => {
      const m = new Uint8Array(c.length);
      if (c.nullCount > 0 || c.type === "float32" || c.type === "float64")
        for (let i = 0; i < c.length; i++) if (isMissing(c, i)) m[i] = 1;
      return m;
    });
  }

  /** Whether row a here has the key of row b there. */
  equal(a: number, other: KeyCols, b: number): boolean {
    for (let j = 0; j < this.cols.length; j++) {
      const ma = this.miss[j]![a]!;
      const mb = other.miss[j]![b]!;
      if (ma || mb) {
        if (ma && mb) continue;
        return false;
      }
      const x = this.cols[j]!;
      const y = other.cols[j]!;
      const hx = this.halves[j];
      if (hx) {
        const hy = other.halves[j]!;
        if (hx[2 * a] !== hy[2 * b] || hx[2 * a + 1] !== hy[2 * b + 1]) return false;
      } else if (x.type === "utf8") {
        const xo = x.offsets!;
        const yo = y.offsets!;
        const len = xo[a + 1]! - xo[a]!;
        if (len !== yo[b + 1]! - yo[b]!) return false;
        const xv = x.values as Uint8Array;
        const yv = y.values as Uint8Array;
        for (let t = 0; t < len; t++) if (xv[xo[a]! + t] !== yv[yo[b]! + t]) return false;
      } else if (x.type === "bool") {
        if ((((x.values[a >> 3] as number) >> (a & 7)) & 1) !== (((y.values[b >> 3] as number) >> (b & 7)) & 1))
          return false;
      } else if (x.values[a] !== y.values[b]) return false;
    }
    return true;
  }
}

/**
 * The looked-up side's rows chained by the hash of their key (open hashing: a head per slot, a
 * next per row, rows in order along a chain), so each row of the other side finds its matches in
 * the looked-up side's order.
 */
class KeyTable extends KeyCols {
  readonly hash: Uint32Array;
  readonly head: Int32Array;
  readonly next: Int32Array;
  private readonly mask: number;
  constructor(part: Part, on: readonly string[]) {
    super(part, on);
    this.hash = hashRows(part, on);
    let size = 16;
    while (size < part.length * 2) size *= 2;
    this.mask = size - 1;
    this.head = new Int32Array(size).fill(-1);
    this.next = new Int32Array(part.length).fill(-1);
    for (let r = part.length - 1; r >= 0; r--) {
      const slot = this.hash[r]! & this.mask;
      this.next[r] = this.head[slot]!;
      this.head[slot] = r;
    }
  }

  first(h: number): number {
    return this.head[h & this.mask]!;
  }

  /** Whether row r here is a match for row b of `probe`, whose hash is h. */
  matches(r: number, h: number, probe: KeyCols, b: number): boolean {
    return this.hash[r] === h && this.equal(r, probe, b);
  }
}

/** Whether idx is 0, 1, 2, … */
function isIdentity(idx: Int32Array): boolean {
  for (let i = 0; i < idx.length; i++) if (idx[i] !== i) return false;
  return true;
}

/** Rows `idx` of `c`, null where the index is -1. */
function takeWithNulls(c: Column, idx: Int32Array): Column {
  if (!idx.includes(-1)) return c.take(idx);
  const safe = Int32Array.from(idx, (r) => Math.max(r, 0));
  const taken = c.length > 0 ? c.take(safe) : Column.nulls(c.type, idx.length);
  const validity = new Uint8Array((idx.length + 7) >> 3);
  let nulls = 0;
  for (let k = 0; k < idx.length; k++) {
    if (idx[k]! >= 0 && taken.isValid(k)) validity[k >> 3]! |= 1 << (k & 7);
    else nulls++;
  }
  return new Column(taken.type, idx.length, taken.values, validity, nulls, taken.offsets);
}

/** Row k is `a[ai[k]]` where ai[k] ≥ 0, else `b[bi[k]]`. */
function coalesce(a: Column, ai: Int32Array, b: Column, bi: Int32Array): Column {
  const both = Column.concat([a, b]);
  const idx = Int32Array.from(ai, (i, k) => (i >= 0 ? i : a.length + bi[k]!));
  return both.take(idx);
}
