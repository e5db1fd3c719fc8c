// Reductions as trees, as in dask.array: a first step per block, then groups of partial results
// combined level by level until one per output block is left, then a last step that gives the
// result its dtype and shape. The first step of sum-like reductions is an elementwise program, so
// it fuses with the elementwise work that feeds it (x.add(x.T).mean(…) reads each block once).

import { ArgumentError } from "../errors.js";
import { LayeredGraph, Task, TaskRef, type GraphNode } from "../graph/task.js";
import { blockIndices, offsets } from "./chunks.js";
import { ChunkedArray } from "./core.js";
import { tokenName } from "./names.js";
import { isFloat, meanType, sumType, type DType } from "./dtype.js";
import type { Program, ReduceOp } from "./kernels/expr.js";
import { MERGE } from "./kernels/folds.js";
import type { NanMeanSpec, NanMomentsAggregateSpec } from "./kernels/nan-reduce.js";
import { K } from "./kernels/register.js";
import type { AggregateSpec, ArgAggregateSpec, MomentsAggregateSpec } from "./kernels/reduce.js";
import { normalizeAxes } from "./ndarray.js";

export interface ReduceOptions {
  /** The axis or axes to reduce (negative counts from the end); default all. */
  axis?: number | readonly number[] | null;
  /** Keep reduced axes as length 1. Default false. */
  keepdims?: boolean;
  /**
   * How many partial results one task combines (default 16, as Dask's `split_every`); with
   * several axes reduced, its root per axis.
   */
  splitEvery?: number;
}

export const DEFAULT_SPLIT_EVERY = 16;

function reducedAxes(a: ChunkedArray, axis: ReduceOptions["axis"]): number[] {
  if (axis === undefined || axis === null) return [...Array(a.ndim).keys()];
  const list = typeof axis === "number" ? [axis] : [...axis];
  return normalizeAxes(list, a.ndim).sort((x, y) => x - y);
}

function checkOptions(o: ReduceOptions): void {
  if (typeof o !== "object" || o === null)
    throw new ArgumentError(`reduction options must be an object like { axis: 0 }, got ${String(o)}`);
  if (o.splitEvery !== undefined && !(Number.isInteger(o.splitEvery) && o.splitEvery >= 2))
    throw new ArgumentError(`splitEvery must be a whole number ≥ 2, got ${o.splitEvery}`);
}

/**
 * Builds the tree. `first(blockIndex)` makes the first-step task of a block; `combineTask(grid)`
 * and `lastTask(grid)` make tasks from a nested grid of TaskRefs (reduced axes hold the group,
 * kept axes one entry).
 */
function tree(
  a: ChunkedArray,
  op: string,
  axes: number[],
  keepdims: boolean,
  dtype: DType,
  options: ReduceOptions,
  first: (idx: number[]) => Task,
  combineTask: (grid: unknown) => Task,
  lastTask: (grid: unknown) => Task,
  extra: unknown[] = [],
): ChunkedArray {
  const nd = a.ndim;
  const split = Math.max(2, Math.floor((options.splitEvery ?? DEFAULT_SPLIT_EVERY) ** (1 / Math.max(1, axes.length))));
  const name = tokenName(op, axes, keepdims, split, ...extra, a.name);
  const layer = new Map<string, GraphNode>();
  const outChunks = a.chunks
    .map((c, k) => (axes.includes(k) ? [1] : [...c]))
    .filter((_, k) => keepdims || !axes.includes(k));
  const out = new ChunkedArray(LayeredGraph.merge([a.graph], name, layer), name, outChunks, dtype);

  // Level 0: one partial per block.
  let level = 0;
  let grid = a.numblocks;
  const levelKey =
    (l: number) =>
    (idx: number[]): string =>
      `${name}-l${l}[${idx.join(",")}]`;
  let keyOf = levelKey(0);
  for (const idx of blockIndices(grid)) layer.set(keyOf(idx), first(idx));

  const groupGrid = (idx: number[], from: number[], prevKey: (i: number[]) => string): unknown => {
    // For output position idx (in the coarser grid), the nested grid of finer partials it covers.
    const build = (axis: number, prefix: number[]): unknown => {
      if (axis === nd) return new TaskRef(prevKey(prefix));
      if (!axes.includes(axis)) return [build(axis + 1, [...prefix, idx[axis]!])];
      const lo = idx[axis]! * split;
      const hi = Math.min(from[axis]!, lo + split);
      const out: unknown[] = [];
      for (let b = lo; b < hi; b++) out.push(build(axis + 1, [...prefix, b]));
      return out;
    };
    return build(0, []);
  };

  // Middle levels: combine groups until every reduced axis fits in one last group.
  while (axes.some((k) => grid[k]! > split)) {
    const prevKey = keyOf;
    const from = grid;
    keyOf = levelKey(++level);
    grid = grid.map((n, k) => (axes.includes(k) ? Math.ceil(n / split) : n));
    for (const idx of blockIndices(grid)) layer.set(keyOf(idx), combineTask(groupGrid(idx, from, prevKey)));
  }
  // Last step: one task per output block, over all remaining partials along the reduced axes.
  const prevKey = keyOf;
  const from = grid;
  const lastGrid = grid.map((n, k) => (axes.includes(k) ? 1 : n));
  for (const idx of blockIndices(lastGrid)) {
    const g = (() => {
      const build = (axis: number, prefix: number[]): unknown => {
        if (axis === nd) return new TaskRef(prevKey(prefix));
        if (!axes.includes(axis)) return [build(axis + 1, [...prefix, idx[axis]!])];
        return Array.from({ length: from[axis]! }, (_, b) => build(axis + 1, [...prefix, b]));
      };
      return build(0, []);
    })();
    const outIdx = idx.filter((_, k) => keepdims || !axes.includes(k));
    layer.set(out.key(outIdx), lastTask(g));
  }
  return out;
}

const SIMPLE = {
  sum: { op: "sum", dtype: sumType },
  prod: { op: "prod", dtype: sumType },
  min: { op: "min", dtype: (d) => d },
  max: { op: "max", dtype: (d) => d },
  any: { op: "any", dtype: () => "bool" },
  all: { op: "all", dtype: () => "bool" },
  mean: { op: "mean", dtype: meanType },
  nansum: { op: "nansum", dtype: sumType },
  nanprod: { op: "nanprod", dtype: sumType },
  nanmin: { op: "nanmin", dtype: (d) => d },
  nanmax: { op: "nanmax", dtype: (d) => d },
  // float64, the type of x.eq(x).sum(): NumPy's count is int64, whose stand-in here is float64
  // (dtype.ts), exact far beyond any array's size, where int32 would stop at 2^31 elements.
  count: { op: "count", dtype: () => "float64" },
} satisfies Record<string, { op: ReduceOp | "mean"; dtype: (d: DType) => DType }>;

/**
 * What a NaN-skipping reduction is on a type that cannot hold NaN: the plain one, which gives the
 * same values faster and shares its tasks (NumPy's nan* do the same for integers).
 */
const PLAIN: Partial<Record<keyof typeof SIMPLE, keyof typeof SIMPLE>> = {
  nansum: "sum",
  nanprod: "prod",
  nanmin: "min",
  nanmax: "max",
};

const NUMPY_NAME: Partial<Record<ReduceOp | "mean", string>> = {
  min: "minimum",
  max: "maximum",
  nanmin: "fmin",
  nanmax: "fmax",
};

/** sum, prod, min, max, any, all, mean, and nansum, nanprod, nanmin, nanmax and count. */
export function reduce(a: ChunkedArray, which: keyof typeof SIMPLE, options: ReduceOptions = {}): ChunkedArray {
  checkOptions(options);
  const axes = reducedAxes(a, options.axis);
  const count = axes.reduce((p, k) => p * a.shape[k]!, 1);
  const numpyName = NUMPY_NAME[SIMPLE[which].op];
  if (numpyName && count === 0) {
    throw new ArgumentError(
      `${which} of an empty selection has no value (NumPy: zero-size array to reduction operation ${numpyName} which has no identity)`,
    );
  }
  const plain = PLAIN[which];
  if (plain && !isFloat(a.dtype)) return reduce(a, plain, options);
  const { op, dtype: typeOf } = SIMPLE[which];
  const keepdims = options.keepdims ?? false;
  const chunkOp: ReduceOp = op === "mean" ? "sum" : op;
  // Partials are merged by MERGE's op: a count's partials are summed, not counted again.
  const mergeOp = MERGE[chunkOp];
  const nd = a.ndim;
  const program: Program = {
    ndim: nd,
    expr: { op: "in", o: 0, dt: a.dtype },
    operands: [{ input: 0, nd }],
    consts: [],
    reduce: { op: chunkOp, axes },
  };
  const dtype = typeOf(a.dtype);
  const spec: AggregateSpec = { op: op === "mean" ? "mean" : mergeOp, ndim: nd, axes, dtype, keepdims, count };
  return tree(
    a,
    which,
    axes,
    keepdims,
    dtype,
    options,
    (idx) => new Task(K.expr, [program, new TaskRef(a.key(idx))]),
    (grid) => new Task(K.combine, [mergeOp, grid, nd, axes]),
    (grid) => new Task(K.aggregate, [spec, grid]),
  );
}

/**
 * The mean of the values that are not NaN. Each block's first step is one counting program (a sum
 * and a count per position in one pass, fused with the elementwise work before it); the counts
 * are summed with the sums, and the last step divides. Types that cannot hold NaN take `mean`.
 */
export function nanMean(a: ChunkedArray, options: ReduceOptions = {}): ChunkedArray {
  checkOptions(options);
  if (!isFloat(a.dtype)) return reduce(a, "mean", options);
  const axes = reducedAxes(a, options.axis);
  const keepdims = options.keepdims ?? false;
  const nd = a.ndim;
  const program: Program = {
    ndim: nd,
    expr: { op: "in", o: 0, dt: a.dtype },
    operands: [{ input: 0, nd }],
    consts: [],
    reduce: { op: "nansum", axes, count: true },
  };
  const dtype = meanType(a.dtype);
  const spec: NanMeanSpec = { ndim: nd, axes, dtype, keepdims };
  return tree(
    a,
    "nanmean",
    axes,
    keepdims,
    dtype,
    options,
    (idx) => new Task(K.exprCount, [program, new TaskRef(a.key(idx))]),
    (grid) => new Task(K.sumCountCombine, [grid, nd, axes]),
    (grid) => new Task(K.nanMeanAggregate, [spec, grid]),
  );
}

export interface VarOptions extends ReduceOptions {
  /** Delta degrees of freedom: divide by N - ddof. Default 0 (NumPy's). */
  ddof?: number;
}

/**
 * Variance (sqrt false) or standard deviation (sqrt true), one pass with Chan's merging of
 * moments. With `skipNaN` (nanvar, nanstd) the moments carry a count per position, and every dtype
 * takes that way: where n - ddof ≤ 0 nanvar is NaN, var inf.
 */
export function moments(a: ChunkedArray, sqrt: boolean, options: VarOptions = {}, skipNaN = false): ChunkedArray {
  checkOptions(options);
  const ddof = options.ddof ?? 0;
  if (!Number.isInteger(ddof) || ddof < 0) throw new ArgumentError(`ddof must be a whole number ≥ 0, got ${ddof}`);
  const axes = reducedAxes(a, options.axis);
  const keepdims = options.keepdims ?? false;
  const nd = a.ndim;
  const dtype = meanType(a.dtype);
  const spec: MomentsAggregateSpec & NanMomentsAggregateSpec = { ndim: nd, axes, dtype, keepdims, ddof, sqrt };
  const [chunk, combine, aggregate] = skipNaN
    ? [K.nanMomentsChunk, K.nanMomentsCombine, K.nanMomentsAggregate]
    : [K.momentsChunk, K.momentsCombine, K.momentsAggregate];
  return tree(
    a,
    `${skipNaN ? "nan" : ""}${sqrt ? "std" : "var"}`,
    axes,
    keepdims,
    dtype,
    options,
    (idx) => new Task(chunk, [new TaskRef(a.key(idx)), axes]),
    (grid) => new Task(combine, [grid, nd]),
    (grid) => new Task(aggregate, [spec, grid]),
    [ddof],
  );
}

export interface ArgOptions {
  /** One axis, or null/undefined for the index in the flattened array. */
  axis?: number | null;
  keepdims?: boolean;
  splitEvery?: number;
}

/** argmin / argmax: int32 indices (NumPy: int64) of the first extreme (NaN counts as extreme). */
export function argReduce(a: ChunkedArray, op: "argmin" | "argmax", options: ArgOptions = {}): ChunkedArray {
  checkOptions(options);
  const flat = options.axis === undefined || options.axis === null;
  if (!flat && typeof options.axis !== "number")
    throw new ArgumentError(`${op} takes one axis (a number) or none, got ${JSON.stringify(options.axis)}`);
  const axis = flat ? null : normalizeAxes([options.axis as number], a.ndim)[0]!;
  const axes = flat ? [...Array(a.ndim).keys()] : [axis!];
  const count = axes.reduce((p, k) => p * a.shape[k]!, 1);
  if (count === 0) throw new ArgumentError(`${op} of an empty selection has no index`);
  if (a.size > 2147483647)
    throw new ArgumentError(`${op} returns int32 indices; this array has more elements than int32 can index`);
  const keepdims = options.keepdims ?? false;
  const nd = a.ndim;
  const offs = a.chunks.map(offsets);
  const spec: ArgAggregateSpec = { op, ndim: nd, axis, keepdims };
  return tree(
    a,
    op,
    axes,
    keepdims,
    "int32",
    { splitEvery: options.splitEvery },
    (idx) =>
      new Task(K.argChunk, [
        { op, axis, start: idx.map((b, k) => offs[k]![b]!), shape: [...a.shape] },
        new TaskRef(a.key(idx)),
      ]),
    (grid) => new Task(K.argCombine, [op, grid, nd]),
    (grid) => new Task(K.argAggregate, [spec, grid]),
  );
}
