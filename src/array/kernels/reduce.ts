// The later steps of tree reductions. The first step of sum, prod, min, max, any and all is an
// elementwise program with a reduction (so it fuses with the elementwise work before it); its
// partial results are float64 blocks with the reduced axes kept as length 1. These kernels join
// a group of partials and reduce again, and the last one gives the result its dtype and shape.
// Moments (for var and std) and arg-reductions carry more than one number per position.

import { ArgumentError } from "../../errors.js";
import type { DType } from "../dtype.js";
import { allocate, NDArray, sizeOf } from "../ndarray.js";
import { assemble, type BlockGrid } from "./blocks.js";
import { assign, input, runProgram, simpleProgram, type Expr, type ReduceOp } from "./expr.js";

/** Reduces a grid of partials (float64) over `axes`, keeping them as length 1. */
export function combine(op: ReduceOp, grid: BlockGrid, ndim: number, axes: number[]): NDArray {
  const joined = assemble(grid, ndim);
  return runProgram(simpleProgram(ndim, input(0, "float64"), 1, [], { op, axes }), [joined]);
}

/** Drops `axes` (each of length 1) from a block's shape: a view. */
export function squeeze(block: NDArray, axes: number[]): NDArray {
  const shape = block.shape.filter((_, k) => !axes.includes(k));
  const strides = block.strides.filter((_, k) => !axes.includes(k));
  return new NDArray(block.dtype, shape, block.data, strides, block.offset);
}

/** `block` converted to `dtype` (no copy when it already is). */
export function cast(block: NDArray, dtype: DType): NDArray {
  if (block.dtype === dtype) return block;
  const out = new NDArray(dtype, block.shape, allocate(dtype, block.size));
  assign(out, block);
  return out;
}

const divideByConst: Expr = {
  op: "bin",
  f: "div",
  a: { op: "in", o: 0, dt: "float64" },
  b: { op: "const", slot: 0, dt: "float64" },
  dt: "float64",
};

export interface AggregateSpec {
  op: ReduceOp | "mean";
  ndim: number;
  axes: number[];
  dtype: DType;
  keepdims: boolean;
  /** mean: the number of elements each result averages. */
  count?: number;
}

/** The last step: combine, divide (mean), cast to the result's dtype, drop the axes unless kept. */
export function aggregate(spec: AggregateSpec, grid: BlockGrid): NDArray {
  let r = combine(spec.op === "mean" ? "sum" : spec.op, grid, spec.ndim, spec.axes);
  if (spec.op === "mean") {
    const n = spec.count ?? 0;
    r = runProgram(simpleProgram(spec.ndim, divideByConst, 1, [n]), [r]);
  }
  r = cast(r, spec.dtype);
  return spec.keepdims ? r : squeeze(r, spec.axes);
}

// ---- moments: var and std ----

/** Per position: how many elements, their mean and the sum of squared deviations (Chan et al.). */
export interface Moments {
  n: number;
  mean: NDArray;
  m2: NDArray;
}

export function momentsChunk(block: NDArray, axes: number[]): Moments {
  let n = 1;
  for (const a of axes) n *= block.shape[a]!;
  const nd = block.ndim;
  const x = input(0, block.dtype);
  const asF64: Expr = block.dtype === "float64" ? x : { op: "cast", a: x, dt: "float64" };
  const sum = runProgram(simpleProgram(nd, asF64, 1, [], { op: "sum", axes }), [block]);
  const mean = n === 0 ? sum : runProgram(simpleProgram(nd, divideByConst, 1, [n]), [sum]);
  const d: Expr = { op: "bin", f: "sub", a: asF64, b: input(1, "float64"), dt: "float64" };
  const m2 = runProgram(
    simpleProgram(nd, { op: "bin", f: "mul", a: d, b: d, dt: "float64" }, 2, [], { op: "sum", axes }),
    [block, mean],
  );
  return { n, mean, m2 };
}

/** Merges moments along `axes` of a grid of them (pairwise, in grid order). */
export function momentsCombine(grid: unknown, ndim: number): Moments {
  return foldGrid(grid as Moments, ndim, mergeMoments);
}

function mergeMoments(a: Moments, b: Moments): Moments {
  if (a.n === 0) return b;
  if (b.n === 0) return a;
  const n = a.n + b.n;
  const mean = new NDArray("float64", a.mean.shape, allocate("float64", a.mean.size));
  const m2 = new NDArray("float64", a.m2.shape, allocate("float64", a.m2.size));
  const am = a.mean.contiguous().toTypedArray();
  const bm = b.mean.contiguous().toTypedArray();
  const a2 = a.m2.contiguous().toTypedArray();
  const b2 = b.m2.contiguous().toTypedArray();
  const om = mean.data;
  const o2 = m2.data;
  const wb = b.n / n;
  const w = (a.n * b.n) / n;
  for (let i = 0; i < om.length; i++) {
    const delta = bm[i]! - am[i]!;
    om[i] = am[i]! + delta * wb;
    o2[i] = a2[i]! + b2[i]! + delta * delta * w;
  }
  return { n, mean, m2 };
}

export interface MomentsAggregateSpec {
  ndim: number;
  axes: number[];
  dtype: DType;
  keepdims: boolean;
  ddof: number;
  sqrt: boolean;
}

/**
 * var = m2 / max(n - ddof, 0), std its square root. When n - ddof reaches 0 that is inf, or NaN
 * where m2 is 0 (constant or no data), as NumPy's and Dask's.
 */
export function momentsAggregate(spec: MomentsAggregateSpec, grid: unknown): NDArray {
  const m = momentsCombine(grid, spec.ndim);
  const div = Math.max(m.n - spec.ddof, 0);
  const out = new NDArray("float64", m.m2.shape, allocate("float64", m.m2.size));
  const src = m.m2.contiguous().toTypedArray();
  for (let i = 0; i < src.length; i++) {
    const v = src[i]! / div;
    out.data[i] = spec.sqrt ? Math.sqrt(v) : v;
  }
  const r = cast(out, spec.dtype);
  return spec.keepdims ? r : squeeze(r, spec.axes);
}

// ---- argmin and argmax ----

/** Per position: the extreme value and its index along the axis (or in the flattened array). */
export interface ArgPartial {
  v: NDArray;
  i: NDArray;
}

export interface ArgChunkSpec {
  op: "argmin" | "argmax";
  /** The axis reduced, or null for the flattened array. */
  axis: number | null;
  /** Where the block starts in the whole array, and the whole array's shape (for flat indices). */
  start: number[];
  shape: number[];
}

/** Whether value `v` at a later index beats the current best `b` (NaN wins and stays, as in NumPy). */
function beats(op: "argmin" | "argmax", v: number, b: number): boolean {
  if (b !== b) return false;
  if (v !== v) return true;
  return op === "argmin" ? v < b : v > b;
}

export function argChunk(spec: ArgChunkSpec, block: NDArray): ArgPartial {
  const nd = block.ndim;
  if (spec.axis === null) {
    // Flat: one value and one index for the block, the index in the whole array's row-major order.
    let best = NaN;
    let bestAt = -1;
    const flat = block.contiguous().toTypedArray();
    for (let j = 0; j < flat.length; j++) {
      const v = flat[j]!;
      if (bestAt < 0 || beats(spec.op, v, best)) {
        best = v;
        bestAt = j;
      }
    }
    let global = 0;
    if (bestAt >= 0) {
      let rest = bestAt;
      const local = new Array<number>(nd).fill(0);
      for (let a = nd - 1; a >= 0; a--) {
        local[a] = rest % block.shape[a]!;
        rest = Math.floor(rest / block.shape[a]!);
      }
      let stride = 1;
      for (let a = nd - 1; a >= 0; a--) {
        global += (spec.start[a]! + local[a]!) * stride;
        stride *= spec.shape[a]!;
      }
    }
    return { v: scalarBlock(bestAt < 0 ? NaN : best), i: scalarBlock(bestAt < 0 ? -1 : global) };
  }
  const axis = spec.axis;
  // Move the axis last and walk rows of it.
  const order = [...Array(nd).keys()].filter((a) => a !== axis).concat([axis]);
  const moved = block.transpose(order).contiguous();
  const len = block.shape[axis]!;
  const outShape = block.shape.map((d, k) => (k === axis ? 1 : d));
  const rows = sizeOf(outShape);
  const v = new Float64Array(rows);
  const idx = new Float64Array(rows);
  const data = moved.toTypedArray();
  if (len === 0) {
    // A block with nothing along the axis (concatenate makes them): no candidate, which the
    // combining step knows by the index -1 (as for the flat case), not a NaN that would win.
    return {
      v: new NDArray("float64", outShape, new Float64Array(rows).fill(NaN)),
      i: new NDArray("float64", outShape, new Float64Array(rows).fill(-1)),
    };
  }
  for (let r = 0; r < rows; r++) {
    let best = data[r * len]!;
    let at = 0;
    for (let j = 1; j < len; j++) {
      const x = data[r * len + j]!;
      if (beats(spec.op, x, best)) {
        best = x;
        at = j;
      }
    }
    v[r] = best;
    idx[r] = at + spec.start[axis]!;
  }
  return { v: new NDArray("float64", outShape, v), i: new NDArray("float64", outShape, idx) };
}

function scalarBlock(x: number): NDArray {
  return new NDArray("float64", [], new Float64Array([x]));
}

/** Whether (v, i) beats the best so far (bv, bi): NaN first, then the extreme, then the smaller index. */
function better(op: "argmin" | "argmax", v: number, i: number, bv: number, bi: number): boolean {
  if (i < 0) return false;
  if (bi < 0) return true;
  const vn = v !== v;
  const bn = bv !== bv;
  if (vn || bn) return vn && (!bn || i < bi);
  if (v === bv) return i < bi;
  return op === "argmin" ? v < bv : v > bv;
}

/** Picks per position the best of the partials (ties go to the smaller index, as NumPy's first occurrence). */
export function argCombine(op: "argmin" | "argmax", grid: unknown, ndim: number): ArgPartial {
  const parts = flattenGrid(grid, ndim) as ArgPartial[];
  const first = parts[0]!;
  const v = first.v.copy();
  const i = first.i.copy();
  const vd = v.data;
  const id = i.data;
  for (let p = 1; p < parts.length; p++) {
    const pv = parts[p]!.v.contiguous().toTypedArray();
    const pi = parts[p]!.i.contiguous().toTypedArray();
    for (let k = 0; k < vd.length; k++) {
      if (better(op, pv[k]!, pi[k]!, vd[k]!, id[k]!)) {
        vd[k] = pv[k]!;
        id[k] = pi[k]!;
      }
    }
  }
  return { v, i };
}

export interface ArgAggregateSpec {
  op: "argmin" | "argmax";
  ndim: number;
  axis: number | null;
  keepdims: boolean;
}

export function argAggregate(spec: ArgAggregateSpec, grid: unknown): NDArray {
  const r = argCombine(spec.op, grid, spec.ndim);
  const idx = cast(r.i, "int32");
  if (spec.axis === null) return spec.keepdims ? idx.reshape(new Array<number>(spec.ndim).fill(1)) : idx;
  return spec.keepdims ? idx : squeeze(idx, [spec.axis]);
}

/** The leaves of a nested grid (`depth` levels of arrays), in grid order. */
export function flattenGrid(grid: unknown, depth: number): unknown[] {
  if (depth === 0) return [grid];
  if (!Array.isArray(grid)) throw new ArgumentError("malformed grid of partial results");
  return grid.flatMap((g) => flattenGrid(g, depth - 1));
}

/** The leaves of a grid of partial results merged pairwise, in grid order: merge(merge(a, b), c) … */
export function foldGrid<T>(grid: unknown, depth: number, merge: (a: T, b: T) => T): T {
  const flat = flattenGrid(grid, depth) as T[];
  if (flat.length === 0) throw new ArgumentError("no partial results to combine");
  let acc = flat[0] as T;
  for (let i = 1; i < flat.length; i++) acc = merge(acc, flat[i] as T);
  return acc;
}
