// What computing a chunked array gives: its blocks assembled into one NDArray (a number or boolean
// when it has no dimensions), and the types that say so, so a full reduction computes to `number`.

import type { ComputeOptions, Valued } from "../graph/collection.js";
import { TaskRef } from "../graph/task.js";
import type { ChunkedArray } from "./core.js";
import { assemble, type BlockGrid } from "./kernels/blocks.js";
import type { NDArray } from "./ndarray.js";
import type { ArgOptions, ReduceOptions, VarOptions } from "./reductions.js";

/** What computing a chunked array gives: an NDArray, or a number (or boolean) for a 0-d array. */
export type ArrayValue = NDArray | number | boolean;

/**
 * A chunked array with no dimensions whose value is a number: what a reduction over every axis
 * gives (`x.sum()`, `x.mean()`, `x.argmax()` …). Computing it is typed `number`; it is a
 * ChunkedArray like any other.
 */
export type NumberArray = { compute(options?: ComputeOptions): Promise<number> } & Valued<number> & ChunkedArray;

/** A chunked array with no dimensions whose value is true or false (`x.any()`, `x.all()`). */
export type BooleanArray = { compute(options?: ComputeOptions): Promise<boolean> } & Valued<boolean> & ChunkedArray;

/** Options of a reduction over every axis, without keepdims: the result has no dimensions. */
export type FullReduceOptions = ReduceOptions & { axis?: null | undefined; keepdims?: false | undefined };
/** As FullReduceOptions, for var and std. */
export type FullVarOptions = VarOptions & { axis?: null | undefined; keepdims?: false | undefined };
/** As FullReduceOptions, for argmin and argmax. */
export type FullArgOptions = ArgOptions & { axis?: null | undefined; keepdims?: false | undefined };

/** Keys in a nested grid (arrays `numblocks.length` deep) of TaskRefs. */
export function nestKeys(keys: readonly string[], numblocks: readonly number[]): unknown {
  let pos = 0;
  const build = (axis: number): unknown => {
    if (axis === numblocks.length) return new TaskRef(keys[pos++]!);
    return Array.from({ length: numblocks[axis]! }, () => build(axis + 1));
  };
  return build(0);
}

export function finalizeBlocks(values: NDArray[], numblocks: readonly number[], nd: number): ArrayValue {
  if (nd === 0) {
    const v = values[0]!;
    return v.item();
  }
  let pos = 0;
  const build = (axis: number): unknown => {
    if (axis === nd) return values[pos++]!;
    return Array.from({ length: numblocks[axis]! }, () => build(axis + 1));
  };
  return assemble(build(0) as BlockGrid, nd);
}
