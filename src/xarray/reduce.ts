// Reductions by dimension name. Floats skip missing values by default (xarray's skipna), with the
// arrays' NaN-skipping reductions; integers and booleans have no missing values to skip.

import { ArgumentError, LabelError } from "../errors.js";
import type { ChunkedArray } from "../array/core.js";
import { isFloat } from "../array/dtype.js";
import type { Variable } from "./variable.js";

export type ReduceName = "sum" | "prod" | "mean" | "min" | "max" | "var" | "std" | "count";

export interface ReduceOptions {
  /** The dimension or dimensions to reduce over (default all). */
  dim?: string | readonly string[];
  /** Skip NaN (default true for floats, as xarray). */
  skipna?: boolean;
  /** Degrees of freedom subtracted for var and std (default 0). */
  ddof?: number;
  /** Keep the attributes (default false, as xarray). */
  keepAttrs?: boolean;
}

/** The dimensions a reduction is over, checked against `dims`. */
export function reducedDims(dims: readonly string[], dim: ReduceOptions["dim"]): string[] {
  if (dim === undefined) return [...dims];
  const list = typeof dim === "string" ? [dim] : [...dim];
  for (const d of list)
    if (!dims.includes(d))
      throw new LabelError(
        `cannot reduce over "${d}": the dimensions are ${dims.map((x) => `"${x}"`).join(", ") || "(none)"}`,
      );
  return list;
}

/** Reduces a variable's data over named dimensions; returns the lazy result and the dims left. */
export function reduceVariable(
  v: Variable,
  op: ReduceName,
  options: ReduceOptions,
): { data: ChunkedArray; dims: string[] } {
  if (typeof options !== "object" || options === null)
    throw new ArgumentError(`reduction options must be an object like { dim: "time" }, got ${String(options)}`);
  const dims = reducedDims(v.dims, options.dim);
  const axis = dims.map((d) => v.axis(d));
  const x = v.lazy();
  const skipna = options.skipna ?? isFloat(x.dtype);
  const rest = v.dims.filter((d) => !dims.includes(d));
  if (axis.length === 0) return { data: x, dims: rest };
  const o = { axis };
  let data: ChunkedArray;
  if (op === "count") data = x.count(o);
  else if (op === "var" || op === "std")
    data = skipna
      ? x[op === "var" ? "nanvar" : "nanstd"]({ ...o, ddof: options.ddof ?? 0 })
      : x[op]({ ...o, ddof: options.ddof ?? 0 });
  else data = skipna ? x[`nan${op}`](o) : x[op](o);
  return { data, dims: rest };
}
