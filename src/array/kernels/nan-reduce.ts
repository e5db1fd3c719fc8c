// The steps of the NaN-skipping reductions that carry a count per position: nanmean (a sum and a
// count) and nanvar / nanstd (moments whose n differs from one position to the next). nansum,
// nanprod, nanmin, nanmax and count need none of this: they are ordinary programs (reduce.ts).

import { ArgumentError } from "../../errors.js";
import type { DType } from "../dtype.js";
import { allocate, NDArray } from "../ndarray.js";
import type { BlockGrid } from "./blocks.js";
import { input, runCounted, runProgram, simpleProgram, type Expr, type SumCount } from "./expr.js";
import { cast, combine, flattenGrid, foldGrid, squeeze } from "./reduce.js";

/**
 * The totals and the counts of a grid of partials, each summed along `axes`. Counts that are one
 * number for every position (a view with all strides 0: the fused Zarr read's, from data without
 * NaN) stay one number: they are summed as numbers (exact, whole numbers) and go on as such a view,
 * a few bytes on the wire, instead of arrays as big as the totals.
 */
export function sumCountCombine(grid: unknown, ndim: number, axes: number[]): SumCount {
  const s = combine(
    "sum",
    mapGrid(grid, ndim, (p: SumCount) => p.s),
    ndim,
    axes,
  );
  const counts = flattenGrid(grid, ndim).map((p) => (p as SumCount).n);
  if (counts.every(isUniform)) {
    let total = 0;
    for (const n of counts) total += n.data[n.offset] as number;
    return { s, n: uniform(s.shape, total) };
  }
  return {
    s,
    n: combine(
      "sum",
      mapGrid(grid, ndim, (p: SumCount) => p.n),
      ndim,
      axes,
    ),
  };
}

/** Whether every element of `a` is its first one's storage (all strides 0). */
function isUniform(a: NDArray): boolean {
  return a.size > 0 && a.strides.every((st) => st === 0);
}

/** A float64 array of `shape` whose every element is `value`: one element of storage. */
export function uniform(shape: readonly number[], value: number): NDArray {
  return new NDArray(
    "float64",
    shape,
    Float64Array.of(value),
    shape.map(() => 0),
  );
}

export interface NanMeanSpec {
  ndim: number;
  axes: number[];
  dtype: DType;
  keepdims: boolean;
}

const ratio: Expr = { op: "bin", f: "div", a: input(0, "float64"), b: input(1, "float64"), dt: "float64" };

/** nanmean's last step: total / count, which is 0 / 0 = NaN where every value was NaN (as NumPy). */
export function nanMeanAggregate(spec: NanMeanSpec, grid: unknown): NDArray {
  const { s, n } = sumCountCombine(grid, spec.ndim, spec.axes);
  const r = cast(runProgram(simpleProgram(spec.ndim, ratio, 2), [s, n]), spec.dtype);
  return spec.keepdims ? r : squeeze(r, spec.axes);
}

// ---- nanvar and nanstd ----

/** Per position: how many values were not NaN, their mean (NaN for none) and sum of squared deviations. */
export interface NanMoments {
  n: NDArray;
  mean: NDArray;
  m2: NDArray;
}

/**
 * A block's moments over `axes`, skipping NaN: the sum and the count in one pass, then the squared
 * deviations from the mean. Deviations are dropped where the value is NaN, not where the deviation
 * is (inf - inf is NaN and stays in, as NumPy's nanvar keeps it). Without NaN these are the bits of
 * momentsChunk's (the same operations in the same order).
 */
export function nanMomentsChunk(block: NDArray, axes: number[]): NanMoments {
  const nd = block.ndim;
  const x = input(0, block.dtype);
  const asF64: Expr = block.dtype === "float64" ? x : { op: "cast", a: x, dt: "float64" };
  const { s, n } = runCounted(simpleProgram(nd, asF64, 1, [], { op: "nansum", axes, count: true }), [block]);
  const mean = runProgram(simpleProgram(nd, ratio, 2), [s, n]);
  const d: Expr = { op: "bin", f: "sub", a: asF64, b: input(1, "float64"), dt: "float64" };
  const notNaN: Expr = { op: "bin", f: "eq", a: x, b: x, dt: "bool" };
  const square: Expr = {
    op: "where",
    c: notNaN,
    a: { op: "bin", f: "mul", a: d, b: d, dt: "float64" },
    b: { op: "const", slot: 0, dt: "float64" },
    dt: "float64",
  };
  const m2 = runProgram(simpleProgram(nd, square, 2, [0], { op: "sum", axes }), [block, mean]);
  return { n, mean, m2 };
}

/** Merges moments along `axes` of a grid of them (pairwise, in grid order). */
export function nanMomentsCombine(grid: unknown, ndim: number): NanMoments {
  return foldGrid(grid, ndim, mergeNanMoments);
}

/**
 * Chan et al.'s merge, position by position, each with its own counts; a side with no values gives
 * way to the other. The arithmetic is mergeMoments', so NaN-free data gives var's bits.
 */
function mergeNanMoments(a: NanMoments, b: NanMoments): NanMoments {
  const size = a.n.size;
  const n = new NDArray("float64", a.n.shape, allocate("float64", size));
  const mean = new NDArray("float64", a.mean.shape, allocate("float64", size));
  const m2 = new NDArray("float64", a.m2.shape, allocate("float64", size));
  const an = a.n.contiguous().toTypedArray();
  const bn = b.n.contiguous().toTypedArray();
  const am = a.mean.contiguous().toTypedArray();
  const bm = b.mean.contiguous().toTypedArray();
  const a2 = a.m2.contiguous().toTypedArray();
  const b2 = b.m2.contiguous().toTypedArray();
  const on = n.data;
  const om = mean.data;
  const o2 = m2.data;
  for (let i = 0; i < size; i++) {
    const na = an[i]!;
    const nb = bn[i]!;
    if (na === 0 || nb === 0) {
      const fromB = na === 0;
      on[i] = na + nb;
      om[i] = fromB ? bm[i]! : am[i]!;
      o2[i] = fromB ? b2[i]! : a2[i]!;
      continue;
    }
    const total = na + nb;
    const delta = bm[i]! - am[i]!;
    on[i] = total;
    om[i] = am[i]! + delta * (nb / total);
    o2[i] = a2[i]! + b2[i]! + delta * delta * ((na * nb) / total);
  }
  return { n, mean, m2 };
}

export interface NanMomentsAggregateSpec {
  ndim: number;
  axes: number[];
  dtype: DType;
  keepdims: boolean;
  ddof: number;
  sqrt: boolean;
}

/** nanvar = m2 / (n - ddof), NaN where n - ddof ≤ 0 (NumPy's nanvar; plain var gives inf there); nanstd its root. */
export function nanMomentsAggregate(spec: NanMomentsAggregateSpec, grid: unknown): NDArray {
  const m = nanMomentsCombine(grid, spec.ndim);
  const out = new NDArray("float64", m.m2.shape, allocate("float64", m.m2.size));
  const counts = m.n.contiguous().toTypedArray();
  const src = m.m2.contiguous().toTypedArray();
  for (let i = 0; i < src.length; i++) {
    const dof = counts[i]! - spec.ddof;
    const v = dof > 0 ? src[i]! / dof : NaN;
    out.data[i] = spec.sqrt ? Math.sqrt(v) : v;
  }
  const r = cast(out, spec.dtype);
  return spec.keepdims ? r : squeeze(r, spec.axes);
}

// ---- grids ----

/** A nested grid (`depth` levels of arrays) with `f` applied to each leaf. */
function mapGrid<T>(grid: unknown, depth: number, f: (leaf: T) => NDArray): BlockGrid {
  if (depth === 0) return f(grid as T);
  if (!Array.isArray(grid)) throw new ArgumentError("malformed grid of partial results");
  return grid.map((g) => mapGrid(g, depth - 1, f));
}
