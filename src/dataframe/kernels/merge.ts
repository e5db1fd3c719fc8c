// A join of two partitions: both sides' keys get one group id per distinct key, the side that is
// looked up is linked per group, and the other side's rows are walked in order. Used whole by the
// broadcast join (one side is all of a small frame) and bucket by bucket by the hash-shuffle join.
// Null keys match null keys (NaN is null), as pandas does; SQL would not.

import { Column } from "../column.js";
import { Part } from "../part.js";
import { findGroups } from "./groups.js";

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
  // Group ids over both sides at once, so equal keys get one id whatever side they are on.
  const lk = left.select(spec.leftOn);
  const rk = new Part(spec.leftOn, spec.rightOn.map((n) => right.column(n)), right.length);
  const g = findGroups(Part.concat([rk, lk]), spec.leftOn, true); // right row r is row r, left row i is row right.length + i
  const rightIds = g.ids.subarray(0, right.length);
  const leftIds = g.ids.subarray(right.length);
  const li: number[] = [];
  const ri: number[] = [];
  if (spec.how === "right") {
    const { head, next } = chains(leftIds, g.count);
    for (let r = 0; r < right.length; r++) {
      let i = head[rightIds[r]!]!;
      if (i === -1) {
        li.push(-1);
        ri.push(r);
      }
      for (; i !== -1; i = next[i]!) {
        li.push(i);
        ri.push(r);
      }
    }
  } else {
    const { head, next } = chains(rightIds, g.count);
    const matched = spec.how === "outer" ? new Uint8Array(right.length) : null;
    for (let i = 0; i < left.length; i++) {
      let r = head[leftIds[i]!]!;
      if (r === -1 && spec.how !== "inner") {
        li.push(i);
        ri.push(-1);
      }
      for (; r !== -1; r = next[r]!) {
        li.push(i);
        ri.push(r);
        if (matched) matched[r] = 1;
      }
    }
    if (matched) {
      for (let r = 0; r < right.length; r++) {
        if (matched[r] === 0) {
          li.push(-1);
          ri.push(r);
        }
      }
    }
  }
  const L = Int32Array.from(li);
  const R = Int32Array.from(ri);
  const sameKeys = spec.leftOn.every((n, k) => n === spec.rightOn[k]);
  const cols: Column[] = left.names.map((name) => {
    const k = sameKeys ? spec.leftOn.indexOf(name) : -1;
    // A shared key column holds the right's key where the row has no left side (pandas' coalesced key).
    if (k >= 0 && L.includes(-1)) return coalesce(left.column(name), L, right.column(spec.rightOn[k]!), R);
    return takeWithNulls(left.column(name), L);
  });
  for (const name of spec.rightColumns) cols.push(takeWithNulls(right.column(name), R));
  return new Part([...spec.leftNames, ...spec.rightNames], cols, L.length);
}

/** Rows of one side per group, as linked lists in row order (head per group, next per row). */
function chains(ids: Int32Array, count: number): { head: Int32Array; next: Int32Array } {
  const head = new Int32Array(count).fill(-1); // every id is ≥ 0: null keys are kept as a group
  const next = new Int32Array(ids.length).fill(-1);
  for (let r = ids.length - 1; r >= 0; r--) {
    const k = ids[r]!;
    next[r] = head[k]!;
    head[k] = r;
  }
  return { head, next };
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
