// The pass before fitting: per row block, values X and y must not have (NaN, infinity, targets the
// family does not take), found with where they are, and the column statistics standardisation
// needs (means and sums of squared deviations, merged across blocks by Chan's formula).

import type { NDArray } from "../../array/ndarray.js";
import { rows, vector } from "./blocks.js";
import { FAMILIES, type FamilyName } from "../families.js";

export interface CheckSpec {
  family: FamilyName;
  /**
   * Read X too (default true). Without it only y is checked and X's statistics are left empty:
   * fit.ts skips X when nothing needs its statistics, since the first evaluation, at coefficients
   * 0, is NaN wherever X has a NaN or infinity (x·0 is NaN for both), and finds them for free.
   */
  x?: boolean;
}

/** A block's findings (and, merged, the whole array's). */
export interface BlockCheck {
  rows: number;
  /** How many values of X are NaN or infinite, and the first: [block, row of the whole array, column, value]. */
  badX: number;
  firstBadX: [number, number, number, number] | null;
  /** How many targets the family does not take, and the first: [block, row, value]. */
  badY: number;
  firstBadY: [number, number, number] | null;
  /** Column means and sums of squared deviations from them. */
  mean: Float64Array;
  m2: Float64Array;
  ySum: number;
}

/** The findings of one block; `block` is its position among the row blocks, `rowOffset` its first row. */
export function checkBlock(spec: CheckSpec, x: NDArray, y: NDArray, block: number, rowOffset: number): BlockCheck {
  const [X, xo, n, p] = rows(x);
  const [Y, yo] = vector(y, n);
  const family = FAMILIES[spec.family];
  let badX = 0;
  let firstBadX: BlockCheck["firstBadX"] = null;
  // One pass: sums and sums of squares of x − k, k the block's first row (a shift that keeps the
  // squares from cancelling when a column's mean is large beside its spread).
  const k = new Float64Array(p);
  for (let j = 0; j < p && n > 0; j++) k[j] = Number.isFinite(X[xo + j]!) ? X[xo + j]! : 0;
  const s1 = new Float64Array(p);
  const s2 = new Float64Array(p);
  for (let i = 0, o = xo; i < (spec.x === false ? 0 : n); i++, o += p) {
    for (let j = 0; j < p; j++) {
      const v = X[o + j]!;
      if (v - v !== 0) {
        badX++;
        firstBadX ??= [block, rowOffset + i, j, v];
      }
      const d = v - k[j]!;
      s1[j] = s1[j]! + d;
      s2[j] = s2[j]! + d * d;
    }
  }
  const mean = new Float64Array(p);
  const m2 = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    mean[j] = n > 0 ? k[j]! + s1[j]! / n : 0;
    m2[j] = n > 0 ? Math.max(0, s2[j]! - (s1[j]! * s1[j]!) / n) : 0;
  }
  let badY = 0;
  let firstBadY: BlockCheck["firstBadY"] = null;
  let ySum = 0;
  for (let i = 0; i < n; i++) {
    const v = Y[yo + i]!;
    if (!family.validTarget(v)) {
      badY++;
      firstBadY ??= [block, rowOffset + i, v];
    }
    ySum += v;
  }
  return { rows: n, badX, firstBadX, badY, firstBadY, mean, m2, ySum };
}

/** Merges findings in block order: the first problem stays the first. */
export function combineChecks(...checks: BlockCheck[]): BlockCheck {
  let acc = checks[0]!;
  for (let i = 1; i < checks.length; i++) {
    const b = checks[i]!;
    const n = acc.rows + b.rows;
    const mean = new Float64Array(acc.mean.length);
    const m2 = new Float64Array(acc.mean.length);
    for (let j = 0; j < mean.length; j++) {
      const delta = b.mean[j]! - acc.mean[j]!;
      mean[j] = n > 0 ? acc.mean[j]! + (delta * b.rows) / n : 0;
      m2[j] = acc.m2[j]! + b.m2[j]! + (n > 0 ? (delta * delta * acc.rows * b.rows) / n : 0);
    }
    acc = {
      rows: n,
      badX: acc.badX + b.badX,
      firstBadX: acc.firstBadX ?? b.firstBadX,
      badY: acc.badY + b.badY,
      firstBadY: acc.firstBadY ?? b.firstBadY,
      mean,
      m2,
      ySum: acc.ySum + b.ySum,
    };
  }
  return acc;
}
