// Reductions as the generated loops write them: how each op folds a value into a running total,
// its identity, how two partial totals merge, and the code that declares, folds, merges and stores
// the running totals (loops.ts lays the loops out around them).

import type { ReduceOp } from "./expr.js";

/** Reductions that skip NaN values: each value is tested, and only one that is not NaN is folded. */
type SkippingOp = "nansum" | "nanprod" | "count";
/** Reductions folded by one expression per value. */
type ExprOp = Exclude<ReduceOp, SkippingOp>;

/**
 * How a reduction folds a value `v` into its running total `acc`, as code (`v` and `acc` are
 * variable names, so repeating them costs nothing).
 */
const COMBINE: Record<ExprOp, (acc: string, v: string) => string> = {
  sum: (acc, v) => `${acc} + ${v}`,
  prod: (acc, v) => `${acc} * ${v}`,
  min: (acc, v) => `((${v} < ${acc} || ${v} !== ${v}) ? ${v} : ${acc})`,
  max: (acc, v) => `((${v} > ${acc} || ${v} !== ${v}) ? ${v} : ${acc})`,
  any: (acc, v) => `((${acc} !== 0 || ${v} !== 0) ? 1 : 0)`,
  all: (acc, v) => `((${acc} !== 0 && ${v} !== 0) ? 1 : 0)`,
  // NaN is the identity (nothing seen yet): any value replaces it, and a NaN never replaces a value.
  nanmin: (acc, v) => `((${v} < ${acc} || ${acc} !== ${acc}) ? ${v} : ${acc})`,
  nanmax: (acc, v) => `((${v} > ${acc} || ${acc} !== ${acc}) ? ${v} : ${acc})`,
};

/**
 * How a NaN-skipping reduction folds a value known not to be NaN. A skipped value leaves the total
 * as it was, which has the same bits as NumPy's replacing it by 0 (or 1) first: a total that starts
 * from +0 is never -0. Without NaN in the data, nansum adds exactly what sum adds, in the same order.
 */
const SKIPPING: Record<SkippingOp, (acc: string, v: string) => string> = {
  nansum: (acc, v) => `${acc} + ${v}`,
  nanprod: (acc, v) => `${acc} * ${v}`,
  count: (acc) => `${acc} + 1`,
};

export const isSkipping = (op: ReduceOp): op is SkippingOp => op in SKIPPING;

export const REDUCE_IDENTITY: Record<ReduceOp, number> = {
  sum: 0,
  prod: 1,
  min: Infinity,
  max: -Infinity,
  any: 0,
  all: 1,
  nansum: 0,
  nanprod: 1,
  nanmin: NaN,
  nanmax: NaN,
  count: 0,
};

/**
 * How two partial totals of a reduction merge: the op that reduces partials (the loops' running
 * totals at the end of a row, and the tree's later steps). Folding a partial in again as a value
 * is wrong for three ops: a count would count the partial as one element, and nansum / nanprod
 * would skip a partial that is NaN because the block held inf and -inf (or 0 and inf), where
 * NumPy's answer is NaN.
 */
export const MERGE: Record<ReduceOp, ExprOp> = {
  sum: "sum",
  prod: "prod",
  min: "min",
  max: "max",
  any: "any",
  all: "all",
  nansum: "sum",
  nanprod: "prod",
  nanmin: "nanmin",
  nanmax: "nanmax",
  count: "sum",
};

/**
 * A reduction as the loops write it: the op, and whether the values that are not NaN are also
 * counted into a second output (`cnt`, laid out as `out`), so nanmean and nanvar get their sum and
 * their count in one pass. Every running total `t` then has a twin `tn` holding its count. Only a
 * NaN-skipping op counts (the test that skips a value is the one that counts it).
 */
export interface LoopReduce {
  op: ReduceOp;
  counted: boolean;
}

/** Running totals of an innermost reduction, combined at the end of the row. */
export const ACCUMULATORS = 8;
export const ACC = [...Array(ACCUMULATORS).keys()];
export const accName = (a: number): string => (a === 0 ? "acc" : `acc${a}`);

/** Declares the running totals: the first starts from the output so far (at index `at`), the rest from the identity. */
export function accumulators(reduce: LoopReduce, at: string): string {
  const rest = ACC.slice(1);
  const totals = `${load(reduce, "acc", at)} ${rest.map((a) => `let ${accName(a)} = ${REDUCE_IDENTITY[reduce.op]};`).join(" ")}`;
  return reduce.counted ? `${totals} ${rest.map((a) => `let ${accName(a)}n = 0;`).join(" ")}` : totals;
}

/** Folds `v` into running total `a`. */
export function fold(reduce: LoopReduce, a: number): string {
  return foldInto(reduce, accName(a), "v");
}

/**
 * Folds value `v` into running total `t` (and counts it). A NaN-skipping op tests the value with
 * one branch for both: two conditional expressions (one per total) measured ~1.4× slower.
 */
export function foldInto(reduce: LoopReduce, t: string, v: string): string {
  const op = reduce.op;
  if (!isSkipping(op)) return `${t} = ${COMBINE[op](t, v)};`;
  return `if (${v} === ${v}) { ${t} = ${SKIPPING[op](t, v)};${reduce.counted ? ` ${t}n = ${t}n + 1;` : ""} }`;
}

/**
 * Folds a group of values into their running totals ([total, value] pairs, in order), for the
 * NaN-skipping ops: the group is folded as if none were NaN when a sum of its values says so (a
 * NaN makes any sum NaN), so data without NaN pays one test per group instead of one per value
 * and keeps the straight-line adds of sum; otherwise value by value. With one running total, the
 * group's own total is the test. A group whose sum is NaN without a NaN value (inf and -inf) takes
 * the value-by-value way, which gives the same bits. For [32, 500, 500] float32 summed over axis 0
 * with the count: ~1.1-1.2× sum's time without NaN, against ~1.4× testing each value
 * (bench/nan-reductions.mjs). A counted group that passes the test may be counted in one add
 * (`groupCount`) instead of one per total: by the group's size on one count when the totals all end
 * in one output (the unrolled totals of a row), or by one on a count the caller adds to every
 * total's at the end (a tile's rows).
 */
export function foldGroup(
  reduce: LoopReduce,
  pairs: [string, string][],
  groupCount?: { count: string; by: number },
): string {
  const op = reduce.op as SkippingOp;
  const dense = SKIPPING[op];
  const slow = pairs.map(([t, v]) => foldInto(reduce, t, v)).join(" ");
  const totals = new Set(pairs.map(([t]) => t));
  if (totals.size === 1 && op !== "count") {
    const [t] = totals as Set<string>;
    const g = pairs.reduce((acc, [, v]) => dense(acc, v), t!);
    return `{ const g = ${g}; if (g === g) { ${t} = g;${reduce.counted ? ` ${t}n = ${t}n + ${pairs.length};` : ""} } else { ${slow} } }`;
  }
  const check = pairs.map(([, v]) => v).join(" + ");
  const each = reduce.counted && !groupCount;
  const fast = pairs.map(([t, v]) => `${t} = ${dense(t, v)};${each ? ` ${t}n = ${t}n + 1;` : ""}`).join(" ");
  const once = reduce.counted && groupCount ? ` ${groupCount.count} = ${groupCount.count} + ${groupCount.by};` : "";
  return `{ const g = ${check}; if (g === g) { ${fast}${once} } else { ${slow} } }`;
}

/** An expression's code with its operands renamed for group member `u` (x0 → x0_u). */
export function renamed(body: string, u: number): string {
  return body.replace(/\bx(\d+)\b/g, `x$1_${u}`);
}

/** A running total `t` picked up from the output at index `at`. */
export function load(reduce: LoopReduce, t: string, at: string): string {
  return reduce.counted ? `let ${t} = out[${at}]; let ${t}n = cnt[${at}];` : `let ${t} = out[${at}];`;
}

/** Running total `t` written to the output at index `at`. */
export function store(reduce: LoopReduce, at: string, t: string): string {
  return reduce.counted ? `out[${at}] = ${t}; cnt[${at}] = ${t}n;` : `out[${at}] = ${t};`;
}

/** The running totals merged (by MERGE, not by folding: see there), first to last, written at `at`. */
export function storeTotal(reduce: LoopReduce, at: string): string {
  const merge = COMBINE[MERGE[reduce.op]];
  let t = "acc";
  for (const a of ACC.slice(1)) t = merge(t, accName(a));
  if (!reduce.counted) return `out[${at}] = ${t};`;
  return `out[${at}] = ${t}; cnt[${at}] = ${ACC.map((a) => `${accName(a)}n`).join(" + ")};`;
}
