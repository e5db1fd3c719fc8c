// The chunked array: a lazy n-d array cut into blocks, each block one task's result. It is a
// collection (compute, persist) and, like dask.array, feels like NumPy: operations build a task
// graph and return new arrays at once; nothing runs until compute.

import {
  COLLECTION,
  computeWith,
  persistWith,
  release,
  type Collection,
  type CollectionParts,
  type ComputeOptions,
} from "../graph/collection.js";
import { LayeredGraph, Task, type GraphNode } from "../graph/task.js";
import { blockIndices, offsets, type Chunks, type ChunksSpec } from "./chunks.js";
import { itemSize, type DType } from "./dtype.js";
import { astype, binary, clip, transpose, unary, type ArrayLike } from "./elementwise.js";
import type { Index } from "./indexing.js";
import { dot, matmul, tensordot } from "./linalg.js";
import { rechunk } from "./rechunk.js";
import {
  argReduce,
  moments,
  nanMean,
  reduce,
  type ArgOptions,
  type ReduceOptions,
  type VarOptions,
} from "./reductions.js";
import { mapBlocks, reshape, slice, type MapBlocksOptions } from "./shape.js";
import { K } from "./kernels/register.js";
import type { NDArray } from "./ndarray.js";
import type { Delayed } from "../graph/delayed.js";
import { toDelayed } from "./block-values.js";
import {
  finalizeBlocks,
  nestKeys,
  type ArrayValue,
  type BooleanArray,
  type FullArgOptions,
  type FullReduceOptions,
  type FullVarOptions,
  type NumberArray,
} from "./result.js";

export class ChunkedArray implements Collection<ArrayValue> {
  readonly shape: readonly number[];

  /** @internal Arrays are made by the functions of meshwork/array and by operations on arrays. */
  constructor(
    readonly graph: LayeredGraph,
    /** The name of its blocks' keys (`name[i,j]`). */
    readonly name: string,
    /** Block sizes along each axis. */
    readonly chunks: Chunks,
    readonly dtype: DType,
  ) {
    this.chunks = Object.freeze(chunks.map((c) => Object.freeze([...c])));
    this.shape = Object.freeze(this.chunks.map((c) => c.reduce((a, b) => a + b, 0)));
  }

  get ndim(): number {
    return this.shape.length;
  }

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** Blocks along each axis. */
  get numblocks(): number[] {
    return this.chunks.map((c) => c.length);
  }

  /** The largest block's shape. */
  get chunksize(): number[] {
    return this.chunks.map((c) => Math.max(0, ...c));
  }

  /** Bytes of the whole array once computed. */
  get nbytes(): number {
    return this.size * itemSize(this.dtype);
  }

  /** Tasks in its graph (before optimization). */
  get taskCount(): number {
    return this.graph.size;
  }

  /** The key of one block. */
  key(index: readonly number[]): string {
    return `${this.name}[${index.join(",")}]`;
  }

  /** Every block's key, in row-major order of the blocks. */
  keys(): string[] {
    return blockIndices(this.numblocks).map((i) => this.key(i));
  }

  /** Where each block starts along each axis. */
  get offsets(): number[][] {
    return this.chunks.map(offsets);
  }

  [COLLECTION](): CollectionParts<ArrayValue> {
    const nd = this.ndim;
    const numblocks = this.numblocks;
    const keys = this.keys();
    return {
      graph: this.graph,
      keys,
      finalize: (values) => finalizeBlocks(values as NDArray[], numblocks, nd),
      finalizeTask: () => new Task(K.finalize, [nestKeys(keys, numblocks), nd]),
      rebuild: (held) => {
        const layer = new Map<string, GraphNode>();
        for (const k of keys) layer.set(k, held.get(k)!);
        return new ChunkedArray(LayeredGraph.of(`held-${this.name}`, layer), this.name, this.chunks, this.dtype);
      },
    };
  }

  /** Computes the array: an NDArray (a number or boolean when it has no dimensions). */
  async compute(options?: ComputeOptions): Promise<ArrayValue> {
    const [v] = await computeWith(options, [this] as const);
    return v as ArrayValue;
  }

  /** Computes the blocks and keeps them where they were computed; the returned array is backed by them. */
  async persist(options?: ComputeOptions): Promise<ChunkedArray> {
    const [v] = await persistWith(options, [this] as const);
    return v as ChunkedArray;
  }

  // ---- elementwise (NumPy broadcasting and type rules; plain numbers and booleans are welcome) ----

  add(other: ArrayLike): ChunkedArray {
    return binary("add", this, other);
  }
  sub(other: ArrayLike): ChunkedArray {
    return binary("sub", this, other);
  }
  mul(other: ArrayLike): ChunkedArray {
    return binary("mul", this, other);
  }
  /** True division (integers give float64, as in NumPy). */
  div(other: ArrayLike): ChunkedArray {
    return binary("div", this, other);
  }
  pow(other: ArrayLike): ChunkedArray {
    return binary("pow", this, other);
  }
  /** Elementwise larger of the two (NaN wins, as NumPy's maximum). */
  maximum(other: ArrayLike): ChunkedArray {
    return binary("maximum", this, other);
  }
  minimum(other: ArrayLike): ChunkedArray {
    return binary("minimum", this, other);
  }
  eq(other: ArrayLike): ChunkedArray {
    return binary("eq", this, other);
  }
  ne(other: ArrayLike): ChunkedArray {
    return binary("ne", this, other);
  }
  lt(other: ArrayLike): ChunkedArray {
    return binary("lt", this, other);
  }
  le(other: ArrayLike): ChunkedArray {
    return binary("le", this, other);
  }
  gt(other: ArrayLike): ChunkedArray {
    return binary("gt", this, other);
  }
  ge(other: ArrayLike): ChunkedArray {
    return binary("ge", this, other);
  }
  neg(): ChunkedArray {
    return unary("neg", this);
  }
  abs(): ChunkedArray {
    return unary("abs", this);
  }
  exp(): ChunkedArray {
    return unary("exp", this);
  }
  log(): ChunkedArray {
    return unary("log", this);
  }
  sqrt(): ChunkedArray {
    return unary("sqrt", this);
  }
  sin(): ChunkedArray {
    return unary("sin", this);
  }
  cos(): ChunkedArray {
    return unary("cos", this);
  }
  /** log(1 + x), exact for x near 0. */
  log1p(): ChunkedArray {
    return unary("log1p", this);
  }
  /** e^x - 1, exact for x near 0. */
  expm1(): ChunkedArray {
    return unary("expm1", this);
  }
  /** The logistic function 1 / (1 + e^-x) (SciPy's expit): no overflow for any x; NaN stays NaN. A float type, as exp's. */
  sigmoid(): ChunkedArray {
    return unary("sigmoid", this);
  }
  /** -1, 0 or 1 by the sign of each value, NaN for NaN (NumPy's sign: sign(-0) is 0); the array's dtype. bool arrays are refused. */
  sign(): ChunkedArray {
    return unary("sign", this);
  }
  /** Whether each value is neither NaN nor infinite (bool; always true for integer and bool arrays). */
  isfinite(): ChunkedArray {
    return unary("isfinite", this);
  }
  /** Whether each value is NaN (bool; always false for integer and bool arrays). */
  isnan(): ChunkedArray {
    return unary("isnan", this);
  }
  /** Limits values to [min, max]; either may be null. */
  clip(min: ArrayLike | null, max: ArrayLike | null = null): ChunkedArray {
    return clip(this, min, max);
  }
  /** The values converted to another dtype (floats to integers truncate; out-of-range integers wrap). */
  astype(dtype: DType): ChunkedArray {
    return astype(this, dtype);
  }

  // ---- shape ----

  /** Axes permuted (reversed by default). */
  transpose(axes?: readonly number[]): ChunkedArray {
    return transpose(this, axes);
  }
  get T(): ChunkedArray {
    return transpose(this);
  }
  /** Another shape with the same elements, where the blocks allow it (one -1 is inferred). */
  reshape(shape: readonly number[]): ChunkedArray {
    return reshape(this, shape);
  }
  /** NumPy basic indexing: `x.slice(0, "1:10:2", "::-1")`, or the whole index as one string `"0, 1:10:2"`. */
  slice(...index: Index[]): ChunkedArray {
    return slice(this, index);
  }
  /** The same array cut into other blocks. */
  rechunk(chunks: ChunksSpec): ChunkedArray {
    return rechunk(this, chunks);
  }
  /**
   * One Delayed per block, in row-major order of the blocks (Dask's `to_delayed()`, raveled): for
   * work on each block that gives something other than an array.
   */
  toDelayed(): Delayed<NDArray>[] {
    return toDelayed(this);
  }
  /** `fn(block)` for every block (also `mapBlocks(fn, [a, b])` for several arrays). */
  mapBlocks(fn: (block: NDArray) => NDArray, options?: MapBlocksOptions): ChunkedArray {
    return mapBlocks(fn as never, [this], options);
  }

  // ---- reductions (trees of tasks) ----

  sum(options?: FullReduceOptions): NumberArray;
  sum(options?: ReduceOptions): ChunkedArray;
  sum(options?: ReduceOptions): ChunkedArray {
    return reduce(this, "sum", options);
  }
  prod(options?: ReduceOptions): ChunkedArray {
    return reduce(this, "prod", options);
  }
  mean(options?: FullReduceOptions): NumberArray;
  mean(options?: ReduceOptions): ChunkedArray;
  mean(options?: ReduceOptions): ChunkedArray {
    return reduce(this, "mean", options);
  }
  min(options?: ReduceOptions): ChunkedArray {
    return reduce(this, "min", options);
  }
  max(options?: ReduceOptions): ChunkedArray {
    return reduce(this, "max", options);
  }
  any(options?: FullReduceOptions): BooleanArray;
  any(options?: ReduceOptions): ChunkedArray;
  any(options?: ReduceOptions): ChunkedArray {
    return reduce(this, "any", options);
  }
  all(options?: FullReduceOptions): BooleanArray;
  all(options?: ReduceOptions): ChunkedArray;
  all(options?: ReduceOptions): ChunkedArray {
    return reduce(this, "all", options);
  }
  var(options?: FullVarOptions): NumberArray;
  var(options?: VarOptions): ChunkedArray;
  var(options?: VarOptions): ChunkedArray {
    return moments(this, false, options);
  }
  std(options?: FullVarOptions): NumberArray;
  std(options?: VarOptions): ChunkedArray;
  std(options?: VarOptions): ChunkedArray {
    return moments(this, true, options);
  }
  argmin(options?: FullArgOptions): NumberArray;
  argmin(options?: ArgOptions): ChunkedArray;
  argmin(options?: ArgOptions): ChunkedArray {
    return argReduce(this, "argmin", options);
  }
  argmax(options?: FullArgOptions): NumberArray;
  argmax(options?: ArgOptions): ChunkedArray;
  argmax(options?: ArgOptions): ChunkedArray {
    return argReduce(this, "argmax", options);
  }

  // ---- reductions that skip NaN (NumPy's nan* family; integer and bool arrays hold no NaN, so
  // for them these are the plain reductions). Options as the plain ones: { axis } (default all
  // axes), { keepdims } (default false), { splitEvery } (default 16). ----

  /** Sum of the values that are not NaN; 0 where all are NaN. Result dtype as `sum`'s (float32 stays, others float64). */
  nansum(options?: FullReduceOptions): NumberArray;
  nansum(options?: ReduceOptions): ChunkedArray;
  nansum(options?: ReduceOptions): ChunkedArray {
    return reduce(this, "nansum", options);
  }
  /** Product of the values that are not NaN; 1 where all are NaN. Result dtype as `prod`'s. */
  nanprod(options?: ReduceOptions): ChunkedArray {
    return reduce(this, "nanprod", options);
  }
  /**
   * Smallest value that is not NaN; NaN where all are NaN (NumPy also warns). The array's dtype.
   * An empty selection throws an ArgumentError, as `min`'s.
   */
  nanmin(options?: ReduceOptions): ChunkedArray {
    return reduce(this, "nanmin", options);
  }
  /** Largest value that is not NaN; NaN where all are NaN. The array's dtype; an empty selection throws. */
  nanmax(options?: ReduceOptions): ChunkedArray {
    return reduce(this, "nanmax", options);
  }
  /**
   * Mean of the values that are not NaN; NaN where all are (or none are selected). float32 for
   * float32, else float64 (as `mean`). One pass over each block: a sum and a count per position.
   */
  nanmean(options?: FullReduceOptions): NumberArray;
  nanmean(options?: ReduceOptions): ChunkedArray;
  nanmean(options?: ReduceOptions): ChunkedArray {
    return nanMean(this, options);
  }
  /**
   * Variance of the values that are not NaN, dividing by count - ddof (`ddof` default 0); NaN where
   * count - ddof ≤ 0, all-NaN positions included (NumPy's nanvar; `var` gives inf there for data
   * that is not constant). float32 for float32, else float64.
   */
  nanvar(options?: FullVarOptions): NumberArray;
  nanvar(options?: VarOptions): ChunkedArray;
  nanvar(options?: VarOptions): ChunkedArray {
    return moments(this, false, options, true);
  }
  /** Square root of `nanvar` (same options, `ddof` default 0; NaN where count - ddof ≤ 0). */
  nanstd(options?: FullVarOptions): NumberArray;
  nanstd(options?: VarOptions): ChunkedArray;
  nanstd(options?: VarOptions): ChunkedArray {
    return moments(this, true, options, true);
  }
  /**
   * How many values are not NaN, per position (NumPy: `np.count_nonzero(~np.isnan(x), axis)`,
   * dask's `nannumel`). float64, the stand-in here for NumPy's int64 (as sums of integers are):
   * exact to 2^53, where int32 would stop at 2^31 elements.
   */
  count(options?: FullReduceOptions): NumberArray;
  count(options?: ReduceOptions): ChunkedArray;
  count(options?: ReduceOptions): ChunkedArray {
    return reduce(this, "count", options);
  }

  // ---- linear algebra ----

  matmul(other: ChunkedArray): ChunkedArray {
    return matmul(this, other);
  }
  dot(other: ChunkedArray): ChunkedArray {
    return dot(this, other);
  }
  tensordot(other: ChunkedArray, axes?: number | [readonly number[], readonly number[]]): ChunkedArray {
    return tensordot(this, other, axes);
  }

  // ---- storage ----

  /**
   * Writes the array to a Zarr store, one chunk per task, and the metadata once (see
   * meshwork/array's `toZarr`): `await x.toZarr("out.zarr", { path: "air2" })`.
   */
  async toZarr(store: string | URL, options?: import("../io/zarr-write.js").ToZarrOptions): Promise<void> {
    const { toZarr } = await import("../io/zarr-write.js");
    return toZarr(this, store, options);
  }

  /** Gives up the blocks a persisted array holds on a cluster (see `release`); it cannot be computed after. */
  release(): void {
    release(this);
  }

  toString(): string {
    return `mw.Array<${this.name.split("-")[0]}, shape=[${this.shape.join(", ")}], dtype=${this.dtype}, chunksize=[${this.chunksize.join(", ")}], blocks=${this.numblocks.reduce((a, b) => a * b, 1)}, tasks=${this.taskCount}>`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}
