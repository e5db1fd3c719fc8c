// A variable: an array with a name for each dimension, its attributes and how it was stored. The
// array is a lazy ChunkedArray, or an NDArray once computed; every operation works on the lazy
// form, so a computed variable used again simply becomes one block.

import { ArgumentError, LabelError } from "../errors.js";
import { ChunkedArray } from "../array/core.js";
import { fromArray } from "../array/creation.js";
import type { NDArray } from "../array/ndarray.js";
import type { DType } from "../array/dtype.js";
import type { SliceSpec } from "../array/indexing.js";

export type ArrayData = ChunkedArray | NDArray;

/** What `isel` takes per dimension: a position (drops the dimension) or a range of positions. */
export type Position = number | SliceSpec | string;

export class Variable {
  readonly dims: readonly string[];
  readonly attrs: Readonly<Record<string, unknown>>;
  readonly encoding: Readonly<Record<string, unknown>>;

  constructor(
    dims: readonly string[],
    readonly data: ArrayData,
    attrs: Record<string, unknown> = {},
    encoding: Record<string, unknown> = {},
  ) {
    if (dims.length !== data.shape.length)
      throw new ArgumentError(
        `dims [${dims.join(", ")}] name ${dims.length} dimensions, the data has ${data.shape.length}`,
      );
    if (new Set(dims).size !== dims.length)
      throw new ArgumentError(`dimension names must be different, got [${dims.join(", ")}]`);
    this.dims = Object.freeze([...dims]);
    this.attrs = Object.freeze({ ...attrs });
    this.encoding = Object.freeze({ ...encoding });
  }

  get shape(): readonly number[] {
    return this.data.shape;
  }

  get dtype(): DType {
    return this.data.dtype;
  }

  get isLazy(): boolean {
    return this.data instanceof ChunkedArray;
  }

  /** Sizes by dimension name. */
  get sizes(): Record<string, number> {
    return Object.fromEntries(this.dims.map((d, i) => [d, this.shape[i]!]));
  }

  /** The data as a lazy array (a computed one becomes one block). */
  lazy(): ChunkedArray {
    return this.data instanceof ChunkedArray
      ? this.data
      : fromArray(this.data, { chunks: this.data.ndim === 0 ? [] : this.data.shape.map(() => -1) });
  }

  axis(dim: string): number {
    const i = this.dims.indexOf(dim);
    if (i < 0)
      throw new LabelError(
        `no dimension "${dim}" here; the dimensions are ${this.dims.map((d) => `"${d}"`).join(", ") || "(none)"}`,
      );
    return i;
  }

  with(
    data: ArrayData,
    dims: readonly string[] = this.dims,
    attrs: Record<string, unknown> = { ...this.attrs },
  ): Variable {
    return new Variable(dims, data, attrs, { ...this.encoding });
  }

  /** Positions along dimensions; an integer drops its dimension. */
  isel(indexers: Readonly<Record<string, Position>>): Variable {
    const index = this.dims.map((d) => (d in indexers ? indexers[d]! : null));
    if (index.every((i) => i === null)) return this;
    const dims = this.dims.filter((d) => typeof indexers[d] !== "number");
    const data = this.data instanceof ChunkedArray ? this.data.slice(...index) : this.data.slice(...index);
    return this.with(data, dims);
  }

  /** Dimensions in a new order (`...` in the list stands for the others, in their order). */
  transpose(order: readonly string[]): Variable {
    const perm = order.map((d) => this.axis(d));
    if (perm.every((p, i) => p === i)) return this;
    return this.with(this.data.transpose(perm), order);
  }

  /**
   * The data with its axes in the order of `dims` (a superset of this variable's dims), length-1
   * axes where it has none, ready to broadcast against arrays over `dims`.
   */
  expandTo(dims: readonly string[]): ChunkedArray {
    const mine = dims.filter((d) => this.dims.includes(d));
    let x = this.transpose(mine).lazy();
    if (mine.length === dims.length) return x;
    const shape = dims.map((d) => (this.dims.includes(d) ? this.shape[this.axis(d)]! : 1));
    x = x.reshape(shape);
    return x;
  }
}

/** Resolves `...` in a list of dimension names against all of them. */
export function expandEllipsis(order: readonly string[], all: readonly string[]): string[] {
  const i = order.indexOf("...");
  if (i < 0) {
    const missing = all.filter((d) => !order.includes(d));
    if (missing.length > 0 || order.length !== all.length)
      throw new ArgumentError(
        `transpose needs every dimension once (or "..." for the rest): got [${order.join(", ")}], the dimensions are [${all.join(", ")}]`,
      );
    return [...order];
  }
  const named = order.filter((d) => d !== "...");
  for (const d of named)
    if (!all.includes(d)) throw new LabelError(`no dimension "${d}"; the dimensions are [${all.join(", ")}]`);
  const rest = all.filter((d) => !named.includes(d));
  return [...order.slice(0, i), ...rest, ...order.slice(i + 1)];
}
