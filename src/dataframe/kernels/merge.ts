// A join of one partition with a whole small table (the broadcast side): the small side's rows are
// hashed by key once per task, and each row of the partition looks its key up. Inner and left, in
// the partition's row order (pandas' order for these joins). Null keys never match (pandas matches
// NaN with NaN; SQL and dask's shuffle joins do not: we follow SQL).

import { Column } from "../column.js";
import { Part } from "../part.js";
import { findGroups } from "./groups.js";

export interface MergeSpec {
  how: "inner" | "left";
  leftOn: string[];
  rightOn: string[];
  /** Output names for the left's columns and the right's (key columns of the right dropped when named alike). */
  leftNames: string[];
  rightColumns: string[];
  rightNames: string[];
}

export function mergeParts(left: Part, right: Part, spec: MergeSpec): Part {
  // Group ids over both sides at once, so equal keys get one id whatever side they are on.
  const lk = left.select(spec.leftOn);
  const rk = new Part(spec.leftOn, spec.rightOn.map((n) => right.column(n)), right.length);
  const both = Part.concat([rk, lk]); // right rows first: row r of the right side is row r here, left row i is right.length + i
  const g = findGroups(both, spec.leftOn);
  // Right rows per group, as a linked list (head per group, next per row).
  const head = new Int32Array(g.count).fill(-1);
  const next = new Int32Array(right.length).fill(-1);
  for (let r = right.length - 1; r >= 0; r--) {
    const k = g.ids[r]!;
    if (k < 0) continue;
    next[r] = head[k]!;
    head[k] = r;
  }
  const li: number[] = [];
  const ri: number[] = [];
  for (let i = 0; i < left.length; i++) {
    const k = g.ids[right.length + i]!;
    let r = k < 0 ? -1 : head[k]!;
    if (r === -1) {
      if (spec.how === "left") {
        li.push(i);
        ri.push(-1);
      }
      continue;
    }
    for (; r !== -1; r = next[r]!) {
      li.push(i);
      ri.push(r);
    }
  }
  const L = Int32Array.from(li);
  const cols: Column[] = left.columns.map((c) => c.take(L));
  const R = Int32Array.from(ri);
  const anyMissing = R.includes(-1);
  for (const name of spec.rightColumns) {
    const c = right.column(name);
    cols.push(anyMissing ? takeWithNulls(c, R) : c.take(R));
  }
  return new Part([...spec.leftNames, ...spec.rightNames], cols, L.length);
}

/** Rows `idx` of `c`, null where the index is -1. */
function takeWithNulls(c: Column, idx: Int32Array): Column {
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
