// Grouped sums and counts straight from a dictionary-coded key (a low-cardinality string column
// from Parquet): statistics summed per code, then the codes gathered into groups; and the one
// count-and-sum loop both this path and the general one run.

import { Column } from "../column.js";
import { Part } from "../part.js";
import { SEP, statsOf, type AggPlan, type Partial } from "./aggregate.js";
import { findStringGroups } from "./string-groups.js";

/**
 * The partial of counts, sums and means grouped by one string column read as dictionary codes
 * (a low-cardinality key from Parquet): the statistics are summed per code straight from the
 * codes, one pass per column and no group id per row, then the codes are gathered into groups (equal
 * entries are one group; groups in order of first appearance, as findGroups gives them). Null
 * when the plan needs more (min, max, variances, nunique) or the key has no codes.
 */
export function partialByCodes(part: Part, plan: AggPlan): Partial | null {
  if (plan.keys.length !== 1) return null;
  const key = part.column(plan.keys[0]!);
  const d = key.dictionary;
  if (d === null || key.type !== "utf8") return null;
  // Per column its counts and sums ("size" is the rows', counted below).
  const stats = [...statsOf(plan)]
    .map(([column, st]) => [column, new Set([...st].filter((x) => x !== "size"))] as const)
    .filter(([, st]) => st.size > 0);
  for (const [column, st] of stats) {
    const v = part.column(column).values;
    if (column === plan.keys[0] || part.column(column).type === "bool") return null;
    if (![...st].every((x) => x === "n" || x === "sum")) return null;
    if (!(v instanceof Float64Array || v instanceof Float32Array || v instanceof Int32Array)) return null;
  }
  if (plan.outputs.some((o) => o.agg === "nunique")) return null;
  const D = d.size;
  const codes = d.codes;
  // Each code's first row: usually every entry is met within the first rows.
  const firstRow = new Int32Array(D).fill(-1);
  let seen = 0;
  for (let i = 0; i < codes.length && seen < D; i++) {
    const c = codes[i]!;
    if (c >= 0 && firstRow[c]! < 0) {
      firstRow[c] = i;
      seen++;
    }
  }
  // Entries into groups: equal entries together, groups ordered by their first row.
  const value = findStringGroups(D, d.bytes, d.offsets, null, false).ids;
  const valueFirst = new Int32Array(D).fill(-1);
  for (let e = 0; e < D; e++) {
    const r = firstRow[e]!;
    const v = value[e]!;
    if (r >= 0 && (valueFirst[v]! < 0 || r < valueFirst[v]!)) valueFirst[v] = r;
  }
  const order = Array.from(valueFirst.keys())
    .filter((v) => valueFirst[v]! >= 0)
    .sort((a, b) => valueFirst[a]! - valueFirst[b]!);
  const G = order.length;
  const groupOfValue = new Int32Array(D).fill(-1);
  order.forEach((v, g) => (groupOfValue[v] = g));
  const groupOf = Int32Array.from(value, (v) => groupOfValue[v]!);
  const first = Int32Array.from(order, (v) => valueFirst[v]!);
  const names = [...plan.keys];
  const cols = [key.take(first)];
  const toGroups = (perCode: Float64Array): Column => {
    const out = new Float64Array(G);
    for (let e = 0; e < D; e++) if (groupOf[e]! >= 0) out[groupOf[e]!]! += perCode[e]!;
    return new Column("float64", G, out, null, 0);
  };
  for (const [column, st] of stats) {
    const c = part.column(column);
    const n = new Float64Array(D);
    const sum = new Float64Array(D);
    countAndSum(c.values as Float64Array, c.validity, codes, n, sum);
    if (st.has("n")) {
      names.push(`${column}${SEP}n`);
      cols.push(toGroups(n));
    }
    if (st.has("sum")) {
      names.push(`${column}${SEP}sum`);
      cols.push(toGroups(sum));
    }
  }
  if (plan.outputs.some((o) => o.agg === "size")) {
    const size = new Float64Array(D);
    for (let i = 0; i < codes.length; i++) if (codes[i]! >= 0) size[codes[i]!]!++;
    names.push(`${SEP}size`);
    cols.push(toGroups(size));
  }
  return { part: new Part(names, cols, G), distinct: {} };
}

/** Per group (ids, -1 left out): how many values are present and their sum; NaN is missing, as are rows whose validity bit is 0. */
export function countAndSum(
  v: Float64Array,
  validity: Uint8Array | null,
  ids: Int32Array,
  n: Float64Array,
  sum: Float64Array,
): void {
  for (let i = 0; i < v.length; i++) {
    const k = ids[i]!;
    const x = v[i]!;
    if (k < 0 || x !== x || (validity !== null && ((validity[i >> 3]! >> (i & 7)) & 1) === 0)) continue;
    n[k]!++;
    sum[k]! += x;
  }
}
