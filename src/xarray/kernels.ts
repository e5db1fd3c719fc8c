// What runs on workers for grouped operations (groupby): a first step per block that folds each
// position into its group's running totals (only the groups the block holds), a step that merges
// such partials, and a last one that lays the groups out along the group dimension; and grouped
// arithmetic, where each row of a block meets its group's row of another array (an anomaly).
// One pass over each block, as flox's "map-reduce" does for xarray.

import { registerBuiltin, type BuiltinFn } from "../graph/builtins.js";
import { storesOf, type TaskContext } from "../task-context.js";
import { ArgumentError } from "../errors.js";
import { promote, type DType } from "../array/dtype.js";
import { runProgram, simpleProgram, type BinaryOp, type Expr } from "../array/kernels/expr.js";
import { allocateUninitialized, cStrides, NDArray } from "../array/ndarray.js";
import {
  addCount,
  addInto,
  extremeRun,
  mergeExtremes,
  mergeMoments,
  mergeProducts,
  mergeSums,
  prodRun,
  runsOf,
  squaresRun,
  sumRun,
} from "./group-loops.js";

export type GroupOp = "sum" | "mean" | "min" | "max" | "count" | "var" | "std" | "prod";

/** Per group present in some blocks: running totals for each position of the other dimensions. */
export interface GroupPartial {
  /** Group numbers, ascending. */
  groups: number[];
  /** Positions per group (the other dimensions, flattened). */
  inner: number;
  /**
   * Non-missing values per group and position; or null where every position of group i took the
   * same number, `rows[i]` (sums of data without NaN: half the partial to send and merge).
   */
  n: Float64Array | null;
  /** With `n` null: the number of values each group's positions took. */
  rows?: number[];
  /** The sum, product, minimum or maximum, or (var, std) the mean. */
  v: Float64Array;
  /** var and std: the sum of squared deviations from the mean. */
  m2?: Float64Array;
}

/** A partial's counts as an array, one per group and position. */
export function partialCounts(p: GroupPartial): Float64Array {
  if (p.n) return p.n;
  const n = new Float64Array(p.groups.length * p.inner);
  p.rows!.forEach((r, i) => n.fill(r, i * p.inner, (i + 1) * p.inner));
  return n;
}

/** The folds whose partials may carry a count per group (`rows`) instead of per position. */
const SUMS = new Set<GroupOp>(["sum", "mean", "count"]);

export interface GroupChunkSpec {
  op: GroupOp;
  /** The grouped axis of the block. */
  axis: number;
  /** The group of each position along the axis, in this block. */
  codes: number[];
  skipna: boolean;
}

const IDENTITY: Record<GroupOp, number> = { sum: 0, mean: 0, count: 0, prod: 1, min: NaN, max: NaN, var: 0, std: 0 };

/** Rows (positions along the grouped axis) as one contiguous float64-readable view: [rows, inner]. */
function rowsOf(block: NDArray, axis: number): { data: ArrayLike<number>; rows: number; inner: number } {
  const order = [axis, ...block.shape.map((_, k) => k).filter((k) => k !== axis)];
  const t = block.transpose(order).contiguous();
  const rows = block.shape[axis]!;
  const inner = rows === 0 ? 0 : t.size / rows;
  return { data: t.data.subarray(t.offset, t.offset + t.size), rows, inner };
}

/**
 * Folds each row of a block into its group's running totals. The rows of a group are taken a run
 * at a time and a tile of positions at a time, each position's rows in order, so every total is
 * the same sequence of adds (or products, comparisons) as folding row by row: the bits of the
 * fused read's sums (xarray/zarr-group.ts) and of any earlier version of this loop.
 */
export function groupChunk(spec: GroupChunkSpec, block: NDArray): GroupPartial {
  const { data, rows, inner } = rowsOf(block, spec.axis);
  if (spec.codes.length !== rows)
    throw new ArgumentError(`group codes for ${spec.codes.length} rows, the block has ${rows}`);
  const groups = [...new Set(spec.codes)].sort((a, b) => a - b);
  const slot = new Map(groups.map((g, i) => [g, i]));
  const n = new Float64Array(groups.length * inner);
  const v = new Float64Array(groups.length * inner).fill(IDENTITY[spec.op]);
  const skip = spec.skipna;
  const runs = runsOf(spec.codes, slot);
  let skipped = 0;
  for (const run of runs) {
    const base = run.slot * inner;
    switch (spec.op) {
      case "sum":
      case "mean":
      case "count":
      case "var":
      case "std":
        skipped += sumRun(data, run, inner, base, v, n, skip);
        break;
      case "prod":
        prodRun(data, run, inner, base, v, n, skip);
        break;
      case "min":
      case "max":
        extremeRun(data, run, inner, base, v, n, skip, spec.op === "max");
        break;
    }
  }
  if (SUMS.has(spec.op) && skipped === 0) {
    // No NaN left out: each group's positions took its rows.
    const perGroup = new Array<number>(groups.length).fill(0);
    for (const run of runs) perGroup[run.slot] = perGroup[run.slot]! + run.end - run.start;
    return { groups, inner, n: null, rows: perGroup, v };
  }
  const out: GroupPartial = { groups, inner, n, v };
  if (spec.op === "var" || spec.op === "std") {
    // v holds sums: make them means, then the squared deviations from them.
    for (let k = 0; k < v.length; k++) v[k] = n[k]! > 0 ? v[k]! / n[k]! : 0;
    const m2 = new Float64Array(v.length);
    for (const run of runs) squaresRun(data, run, inner, run.slot * inner, v, m2, skip);
    out.m2 = m2;
  }
  return out;
}

/**
 * Merges partials of the same positions (from blocks along the grouped axis), each group's totals
 * folded in the partials' order with one loop per op.
 */
export function groupCombine(op: GroupOp, ...parts: GroupPartial[]): GroupPartial {
  if (parts.length === 1) return parts[0]!;
  const inner = parts[0]!.inner;
  const groups = [...new Set(parts.flatMap((p) => p.groups))].sort((a, b) => a - b);
  const slot = new Map(groups.map((g, i) => [g, i]));
  // Counts per group while every partial has them so (sums of data without NaN), else per position.
  const uniform = SUMS.has(op) && parts.every((p) => p.n === null);
  const n = uniform ? null : new Float64Array(groups.length * inner);
  const rows = uniform ? new Array<number>(groups.length).fill(0) : undefined;
  const v = new Float64Array(groups.length * inner).fill(IDENTITY[op]);
  const m2 = op === "var" || op === "std" ? new Float64Array(groups.length * inner) : undefined;
  for (const p of parts) {
    p.groups.forEach((g, i) => {
      const to = slot.get(g)! * inner;
      const from = i * inner;
      switch (op) {
        case "sum":
        case "mean":
        case "count":
          if (rows) {
            addInto(v, to, p.v, from, inner);
            rows[slot.get(g)!] = rows[slot.get(g)!]! + p.rows![i]!;
          } else if (p.n) mergeSums(v, n!, to, p.v, p.n, from, inner);
          else {
            addInto(v, to, p.v, from, inner);
            addCount(n!, to, p.rows![i]!, inner);
          }
          break;
        case "prod":
          mergeProducts(v, n!, to, p.v, partialCounts(p), from, inner);
          break;
        case "min":
        case "max":
          mergeExtremes(v, n!, to, p.v, partialCounts(p), from, inner, op === "max");
          break;
        case "var":
        case "std":
          mergeMoments(v, n!, m2!, to, p.v, partialCounts(p), p.m2!, from, inner);
          break;
      }
    });
  }
  if (rows) return { groups, inner, n: null, rows, v };
  return m2 ? { groups, inner, n, v, m2 } : { groups, inner, n, v };
}

export interface GroupFinalizeSpec {
  op: GroupOp;
  /** Every group, in the order of the result's group dimension. */
  ngroups: number;
  /** The other dimensions' shape in this block, in order, and where the group axis goes. */
  innerShape: number[];
  axis: number;
  dtype: DType;
  ddof: number;
}

/** The result block: the group axis (all groups) at `axis`, the other dimensions around it. */
export function groupFinalize(spec: GroupFinalizeSpec, p: GroupPartial): NDArray {
  const inner = p.inner;
  const out = new Float64Array(spec.ngroups * inner).fill(
    spec.op === "count" || spec.op === "sum" ? 0 : spec.op === "prod" ? 1 : NaN,
  );
  p.groups.forEach((g, i) => finalizeGroup(spec, p, i * inner, out, g * inner, inner));
  const rowsFirst = new NDArray("float64", [spec.ngroups, ...spec.innerShape], out);
  if (spec.axis === 0 && spec.dtype === "float64") return rowsFirst;
  const order = [...Array(spec.innerShape.length + 1).keys()].slice(1);
  order.splice(spec.axis, 0, 0);
  const placed = rowsFirst.transpose(order);
  const result = new NDArray(spec.dtype, placed.shape, allocateUninitialized(spec.dtype, placed.size));
  runProgram(
    simpleProgram(
      placed.ndim,
      spec.dtype === "float64"
        ? { op: "in", o: 0, dt: "float64" }
        : { op: "cast", a: { op: "in", o: 0, dt: "float64" }, dt: spec.dtype },
      1,
    ),
    [placed],
    result,
  );
  return result;
}

/** One group's results from its totals (`inner` of them from `from`), written from `to`. */
function finalizeGroup(
  spec: GroupFinalizeSpec,
  p: GroupPartial,
  from: number,
  out: Float64Array,
  to: number,
  inner: number,
): void {
  const d = from - to;
  const v = p.v;
  if (!p.n) {
    // One count for the whole group.
    const c = p.rows![from / inner]!;
    if (spec.op === "count") out.fill(c, to, to + inner);
    else if (spec.op === "mean") for (let k = to; k < to + inner; k++) out[k] = c > 0 ? v[k + d]! / c : NaN;
    else for (let k = to; k < to + inner; k++) out[k] = v[k + d]!;
    return;
  }
  const n = p.n;
  switch (spec.op) {
    case "count":
      for (let k = to; k < to + inner; k++) out[k] = n[k + d]!;
      break;
    case "mean":
      for (let k = to; k < to + inner; k++) {
        const c = n[k + d]!;
        out[k] = c > 0 ? v[k + d]! / c : NaN;
      }
      break;
    case "var":
    case "std": {
      const m2 = p.m2!;
      const sqrt = spec.op === "std";
      for (let k = to; k < to + inner; k++) {
        const c = n[k + d]!;
        const dof = c - spec.ddof;
        const r = c > 0 && dof > 0 ? m2[k + d]! / dof : NaN;
        out[k] = sqrt ? Math.sqrt(r) : r;
      }
      break;
    }
    default:
      for (let k = to; k < to + inner; k++) out[k] = v[k + d]!;
  }
}

export interface GroupBinarySpec {
  op: BinaryOp;
  axis: number;
  /** For each row of the block, the row of the other array (its group's position). */
  rows: number[];
  dtype: DType;
}

/**
 * out[row] = block[row] op other[rows[row]] along the grouped axis; `other` broadcasts over the
 * rest. One elementwise program per run of rows that meet the same row of `other` (a month's days:
 * ~30 rows), not one per row.
 */
export function groupBinary(spec: GroupBinarySpec, block: NDArray, other: NDArray): NDArray {
  const shape = [...block.shape];
  const axis = spec.axis;
  const rows = shape[axis]!;
  if (spec.rows.length !== rows)
    throw new ArgumentError(`other array's rows for ${spec.rows.length} rows, the block has ${rows}`);
  // Every element is written: storage recycled from dropped blocks where the worker has some.
  const out = new NDArray(
    spec.dtype,
    shape,
    allocateUninitialized(
      spec.dtype,
      shape.reduce((a, b) => a * b, 1),
    ),
    cStrides(shape),
  );
  const a = block.dtype;
  const b = other.dtype;
  const t = promote(a, b);
  const comparison = ["eq", "ne", "lt", "le", "gt", "ge"].includes(spec.op);
  const at = (o: number, dt: DType): Expr =>
    dt === t ? { op: "in", o, dt } : { op: "cast", a: { op: "in", o, dt }, dt: t };
  const expr: Expr = { op: "bin", f: spec.op, a: at(0, a), b: at(1, b), dt: comparison ? "bool" : t };
  const program = simpleProgram(
    shape.length,
    spec.dtype === expr.dt ? expr : { op: "cast", a: expr, dt: spec.dtype },
    2,
  );
  for (let start = 0; start < rows; ) {
    const row = spec.rows[start]!;
    let end = start + 1;
    while (end < rows && spec.rows[end] === row) end++;
    runProgram(
      program,
      [rowsAlong(block, axis, start, end), rowsAlong(other, axis, row, row + 1)],
      rowsAlong(out, axis, start, end),
    );
    start = end;
  }
  return out;
}

/** A view of `a`'s positions [start, end) along `axis`. */
function rowsAlong(a: NDArray, axis: number, start: number, end: number): NDArray {
  const shape = [...a.shape];
  shape[axis] = end - start;
  return new NDArray(a.dtype, shape, a.data, [...a.strides], a.offset + start * a.strides[axis]!);
}

/** Builtin names. */
export const XK = {
  groupChunk: "xarray.group-chunk",
  groupCombine: "xarray.group-combine",
  groupFinalize: "xarray.group-finalize",
  groupBinary: "xarray.group-binary",
  /** A Zarr read and the grouped fold of it, fused (zarr-group-fuse.ts, zarr-group.ts). */
  groupChunkZarr: "xarray.zarr-group-chunk",
  /** A Zarr read and grouped arithmetic on it, fused (zarr-group-fuse.ts, zarr-group.ts). */
  groupBinaryZarr: "xarray.zarr-group-binary",
  /** The same, and an elementwise program over each row of it (zarr-group-fuse.ts, zarr-group.ts). */
  groupBinaryZarrProgram: "xarray.zarr-group-binary-program",
} as const;

registerBuiltin(XK.groupChunk, groupChunk as BuiltinFn);
registerBuiltin(XK.groupCombine, groupCombine as BuiltinFn);
registerBuiltin(XK.groupFinalize, groupFinalize as BuiltinFn);
registerBuiltin(XK.groupBinary, groupBinary as BuiltinFn);
// Loaded on a worker's first use, with the io code under it (a tab's bundle keeps io apart); they
// read through the running worker's stores (`this`: the task's context, task-context.ts).
registerBuiltin(XK.groupChunkZarr, async function (this: TaskContext | undefined, spec: GroupChunkSpec, read: never) {
  const stores = storesOf(this);
  return (await import("./zarr-group.js")).readZarrGroups(spec, read, stores);
} as unknown as BuiltinFn);
registerBuiltin(XK.groupBinaryZarr, async function (
  this: TaskContext | undefined,
  spec: GroupBinarySpec,
  read: never,
  other: NDArray,
) {
  const stores = storesOf(this);
  return (await import("./zarr-group.js")).readZarrGroupBinary(spec, read, other, stores);
} as unknown as BuiltinFn);
registerBuiltin(XK.groupBinaryZarrProgram, async function (
  this: TaskContext | undefined,
  spec: GroupBinarySpec,
  read: never,
  other: NDArray,
  program: never,
) {
  const stores = storesOf(this);
  return (await import("./zarr-group.js")).readZarrGroupBinaryProgram(spec, read, other, program, stores);
} as unknown as BuiltinFn);
