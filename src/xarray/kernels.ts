// What runs on workers for grouped operations (groupby): a first step per block that folds each
// position into its group's running totals (only the groups the block holds), a step that merges
// such partials, and a last one that lays the groups out along the group dimension; and grouped
// arithmetic, where each row of a block meets its group's row of another array (an anomaly).
// One pass over each block, as flox's "map-reduce" does for xarray.

import { registerBuiltin, type BuiltinFn } from "../graph/builtins.js";
import { ArgumentError } from "../errors.js";
import { promote, type DType } from "../array/dtype.js";
import { runProgram, simpleProgram, type BinaryOp, type Expr } from "../array/kernels/expr.js";
import { allocateUninitialized, cStrides, NDArray } from "../array/ndarray.js";

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
 * Positions along the other dimensions taken at a time by the grouped loops: a tile's running
 * totals (two float64 arrays, 32 kB) stay in the L1 cache while each row of a run passes over it.
 */
const TILE = 2048;

/** Consecutive rows of one group (a time series' month is ~30 rows in a row): rows [start, end) of slot `slot`. */
interface Run {
  start: number;
  end: number;
  slot: number;
}

function runsOf(codes: readonly number[], slot: Map<number, number>): Run[] {
  const runs: Run[] = [];
  for (let r = 0; r < codes.length; r++) {
    const s = slot.get(codes[r]!)!;
    const last = runs[runs.length - 1];
    if (last && last.slot === s && last.end === r) last.end = r + 1;
    else runs.push({ start: r, end: r + 1, slot: s });
  }
  return runs;
}

/**
 * Folds each row of a block into its group's running totals. The rows of a group are taken a run
 * at a time and a tile of positions at a time, each position's rows in order, so every total is
 * the same sequence of adds (or products, comparisons) as folding row by row: the bits of the
 * fused read's sums (xarray/zarr-group.ts) and of any earlier version of this loop.
 */
export function groupChunk(spec: GroupChunkSpec, block: NDArray): GroupPartial {
  const { data, rows, inner } = rowsOf(block, spec.axis);
  if (spec.codes.length !== rows) throw new ArgumentError(`group codes for ${spec.codes.length} rows, the block has ${rows}`);
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

// Each run's loop indexes the totals by k = base + j and the row's values by rowAt + k, with no
// counter carried from one loop into the next (V8 compiles such loops slower: kernels/loops.ts).

/**
 * Sums (and counts) of a run. Every row is counted first and a skipped NaN uncounted, and rows go
 * four at a time: `v + x0 + x1 + x2 + x3` is the same four adds in the same order as row by row,
 * and when it is not NaN no value was NaN (a NaN makes any sum NaN); otherwise the four are folded
 * one by one. 0.85 ns a value against 2.1 for one row at a time (one read and write of the total
 * per row).
 */
function sumRun(data: ArrayLike<number>, run: Run, inner: number, base: number, v: Float64Array, n: Float64Array, skip: boolean): number {
  const len = run.end - run.start;
  let skipped = 0;
  const split = run.start + (len & ~3);
  for (let j0 = 0; j0 < inner; j0 += TILE) {
    const k0 = base + j0;
    const k1 = base + Math.min(inner, j0 + TILE);
    for (let k = k0; k < k1; k++) n[k] = n[k]! + len;
    for (let r = run.start; r < split; r += 4) {
      const a0 = r * inner - base;
      const a1 = a0 + inner;
      const a2 = a1 + inner;
      const a3 = a2 + inner;
      for (let k = k0; k < k1; k++) {
        const x0 = data[a0 + k]!;
        const x1 = data[a1 + k]!;
        const x2 = data[a2 + k]!;
        const x3 = data[a3 + k]!;
        const g = v[k]! + x0 + x1 + x2 + x3;
        if (g === g || !skip) v[k] = g;
        else {
          let t = v[k]!;
          const c = n[k]!;
          let left = 0;
          if (x0 === x0) t += x0;
          else left++;
          if (x1 === x1) t += x1;
          else left++;
          if (x2 === x2) t += x2;
          else left++;
          if (x3 === x3) t += x3;
          else left++;
          v[k] = t;
          n[k] = c - left;
          skipped += left;
        }
      }
    }
    for (let r = split; r < run.end; r++) {
      const rowAt = r * inner - base;
      for (let k = k0; k < k1; k++) {
        const x = data[rowAt + k]!;
        if (x === x || !skip) v[k] = v[k]! + x;
        else {
          n[k] = n[k]! - 1;
          skipped++;
        }
      }
    }
  }
  return skipped;
}

function prodRun(data: ArrayLike<number>, run: Run, inner: number, base: number, v: Float64Array, n: Float64Array, skip: boolean): void {
  const len = run.end - run.start;
  for (let j0 = 0; j0 < inner; j0 += TILE) {
    const k0 = base + j0;
    const k1 = base + Math.min(inner, j0 + TILE);
    for (let k = k0; k < k1; k++) n[k] = n[k]! + len;
    for (let r = run.start; r < run.end; r++) {
      const rowAt = r * inner - base;
      for (let k = k0; k < k1; k++) {
        const x = data[rowAt + k]!;
        if (x === x || !skip) v[k] = v[k]! * x;
        else n[k] = n[k]! - 1;
      }
    }
  }
}

/** Minimum or maximum of a run; n counts the values, and is -Infinity where a NaN not skipped sticks. */
function extremeRun(data: ArrayLike<number>, run: Run, inner: number, base: number, v: Float64Array, n: Float64Array, skip: boolean, max: boolean): void {
  for (let j0 = 0; j0 < inner; j0 += TILE) {
    const k0 = base + j0;
    const k1 = base + Math.min(inner, j0 + TILE);
    for (let r = run.start; r < run.end; r++) {
      const rowAt = r * inner - base;
      for (let k = k0; k < k1; k++) {
        const x = data[rowAt + k]!;
        if (x !== x) {
          if (!skip) {
            // A NaN, not skipped: it sticks (n marks it).
            v[k] = NaN;
            n[k] = -Infinity;
          }
          continue;
        }
        if (n[k]! < 0) continue;
        const a = v[k]!;
        if (a !== a || (max ? x > a : x < a)) v[k] = x;
        n[k] = n[k]! + 1;
      }
    }
  }
}

/** Squared deviations of a run's values from their group's mean (var and std's second pass). */
function squaresRun(data: ArrayLike<number>, run: Run, inner: number, base: number, mean: Float64Array, m2: Float64Array, skip: boolean): void {
  for (let j0 = 0; j0 < inner; j0 += TILE) {
    const k0 = base + j0;
    const k1 = base + Math.min(inner, j0 + TILE);
    for (let r = run.start; r < run.end; r++) {
      const rowAt = r * inner - base;
      for (let k = k0; k < k1; k++) {
        const x = data[rowAt + k]!;
        if (x === x || !skip) {
          const d = x - mean[k]!;
          m2[k] = m2[k]! + d * d;
        }
      }
    }
  }
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

function addInto(v: Float64Array, to: number, pv: Float64Array, from: number, inner: number): void {
  const d = from - to;
  for (let a = to; a < to + inner; a++) v[a] = v[a]! + pv[a + d]!;
}

function addCount(n: Float64Array, to: number, count: number, inner: number): void {
  for (let a = to; a < to + inner; a++) n[a] = n[a]! + count;
}

function mergeSums(v: Float64Array, n: Float64Array, to: number, pv: Float64Array, pn: Float64Array, from: number, inner: number): void {
  const d = from - to;
  for (let a = to; a < to + inner; a++) {
    v[a] = v[a]! + pv[a + d]!;
    n[a] = n[a]! + pn[a + d]!;
  }
}

function mergeProducts(v: Float64Array, n: Float64Array, to: number, pv: Float64Array, pn: Float64Array, from: number, inner: number): void {
  const d = from - to;
  for (let a = to; a < to + inner; a++) {
    v[a] = v[a]! * pv[a + d]!;
    n[a] = n[a]! + pn[a + d]!;
  }
}

/** A NaN that stuck (n < 0) stays; otherwise the smaller or larger value, NaN meaning none yet. */
function mergeExtremes(v: Float64Array, n: Float64Array, to: number, pv: Float64Array, pn: Float64Array, from: number, inner: number, max: boolean): void {
  const d = from - to;
  for (let a = to; a < to + inner; a++) {
    if (n[a]! < 0) continue;
    const nb = pn[a + d]!;
    if (nb < 0) {
      v[a] = NaN;
      n[a] = -Infinity;
      continue;
    }
    const x = pv[a + d]!;
    const cur = v[a]!;
    if (x === x && (cur !== cur || (max ? x > cur : x < cur))) v[a] = x;
    n[a] = n[a]! + nb;
  }
}

/** Chan et al.'s merge of two (n, mean, m2). */
function mergeMoments(v: Float64Array, n: Float64Array, m2: Float64Array, to: number, pv: Float64Array, pn: Float64Array, pm2: Float64Array, from: number, inner: number): void {
  const d = from - to;
  for (let a = to; a < to + inner; a++) {
    const b = a + d;
    const na = n[a]!;
    const nb = pn[b]!;
    if (nb === 0) continue;
    if (na === 0) {
      n[a] = nb;
      v[a] = pv[b]!;
      m2[a] = pm2[b]!;
      continue;
    }
    const total = na + nb;
    const delta = pv[b]! - v[a]!;
    v[a] = v[a]! + (delta * nb) / total;
    m2[a] = m2[a]! + pm2[b]! + (delta * delta * na * nb) / total;
    n[a] = total;
  }
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
  const out = new Float64Array(spec.ngroups * inner).fill(spec.op === "count" || spec.op === "sum" ? 0 : spec.op === "prod" ? 1 : NaN);
  p.groups.forEach((g, i) => finalizeGroup(spec, p, i * inner, out, g * inner, inner));
  const rowsFirst = new NDArray("float64", [spec.ngroups, ...spec.innerShape], out);
  if (spec.axis === 0 && spec.dtype === "float64") return rowsFirst;
  const order = [...Array(spec.innerShape.length + 1).keys()].slice(1);
  order.splice(spec.axis, 0, 0);
  const placed = rowsFirst.transpose(order);
  const result = new NDArray(spec.dtype, placed.shape, allocateUninitialized(spec.dtype, placed.size));
  runProgram(simpleProgram(placed.ndim, spec.dtype === "float64" ? { op: "in", o: 0, dt: "float64" } : { op: "cast", a: { op: "in", o: 0, dt: "float64" }, dt: spec.dtype }, 1), [placed], result);
  return result;
}

/** One group's results from its totals (`inner` of them from `from`), written from `to`. */
function finalizeGroup(spec: GroupFinalizeSpec, p: GroupPartial, from: number, out: Float64Array, to: number, inner: number): void {
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
  if (spec.rows.length !== rows) throw new ArgumentError(`other array's rows for ${spec.rows.length} rows, the block has ${rows}`);
  // Every element is written: storage recycled from dropped blocks where the worker has some.
  const out = new NDArray(spec.dtype, shape, allocateUninitialized(spec.dtype, shape.reduce((a, b) => a * b, 1)), cStrides(shape));
  const a = block.dtype;
  const b = other.dtype;
  const t = promote(a, b);
  const comparison = ["eq", "ne", "lt", "le", "gt", "ge"].includes(spec.op);
  const at = (o: number, dt: DType): Expr => (dt === t ? { op: "in", o, dt } : { op: "cast", a: { op: "in", o, dt }, dt: t });
  const expr: Expr = { op: "bin", f: spec.op, a: at(0, a), b: at(1, b), dt: comparison ? "bool" : t };
  const program = simpleProgram(shape.length, spec.dtype === expr.dt ? expr : { op: "cast", a: expr, dt: spec.dtype }, 2);
  for (let start = 0; start < rows; ) {
    const row = spec.rows[start]!;
    let end = start + 1;
    while (end < rows && spec.rows[end] === row) end++;
    runProgram(program, [rowsAlong(block, axis, start, end), rowsAlong(other, axis, row, row + 1)], rowsAlong(out, axis, start, end));
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
// Loaded on a worker's first use, with the io code under it (a tab's bundle keeps io apart).
registerBuiltin(XK.groupChunkZarr, (async (spec: GroupChunkSpec, read: never) => (await import("./zarr-group.js")).readZarrGroups(spec, read)) as BuiltinFn);
registerBuiltin(XK.groupBinaryZarr, (async (spec: GroupBinarySpec, read: never, other: NDArray) => (await import("./zarr-group.js")).readZarrGroupBinary(spec, read, other)) as BuiltinFn);
registerBuiltin(XK.groupBinaryZarrProgram, (async (spec: GroupBinarySpec, read: never, other: NDArray, program: never) => (await import("./zarr-group.js")).readZarrGroupBinaryProgram(spec, read, other, program)) as BuiltinFn);
