// What runs on workers for grouped operations (groupby): a first step per block that folds each
// position into its group's running totals (only the groups the block holds), a step that merges
// such partials, and a last one that lays the groups out along the group dimension; and grouped
// arithmetic, where each row of a block meets its group's row of another array (an anomaly).
// One pass over each block, as flox's "map-reduce" does for xarray.

import { registerBuiltin, type BuiltinFn } from "../graph/builtins.js";
import { ArgumentError } from "../errors.js";
import { promote, STORAGE, type DType } from "../array/dtype.js";
import { runProgram, simpleProgram, type BinaryOp, type Expr } from "../array/kernels/expr.js";
import { allocate, cStrides, NDArray } from "../array/ndarray.js";

export type GroupOp = "sum" | "mean" | "min" | "max" | "count" | "var" | "std" | "prod";

/** Per group present in some blocks: running totals for each position of the other dimensions. */
export interface GroupPartial {
  /** Group numbers, ascending. */
  groups: number[];
  /** Positions per group (the other dimensions, flattened). */
  inner: number;
  /** Non-missing values per group and position. */
  n: Float64Array;
  /** The sum, product, minimum or maximum, or (var, std) the mean. */
  v: Float64Array;
  /** var and std: the sum of squared deviations from the mean. */
  m2?: Float64Array;
}

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

export function groupChunk(spec: GroupChunkSpec, block: NDArray): GroupPartial {
  const { data, rows, inner } = rowsOf(block, spec.axis);
  if (spec.codes.length !== rows) throw new ArgumentError(`group codes for ${spec.codes.length} rows, the block has ${rows}`);
  const groups = [...new Set(spec.codes)].sort((a, b) => a - b);
  const slot = new Map(groups.map((g, i) => [g, i]));
  const n = new Float64Array(groups.length * inner);
  const v = new Float64Array(groups.length * inner).fill(IDENTITY[spec.op]);
  const skip = spec.skipna;
  for (let r = 0; r < rows; r++) {
    const base = slot.get(spec.codes[r]!)! * inner;
    const row = r * inner;
    switch (spec.op) {
      case "sum":
      case "mean":
      case "count":
      case "var":
      case "std":
        for (let j = 0; j < inner; j++) {
          const x = data[row + j]!;
          if (x === x || !skip) {
            v[base + j] = v[base + j]! + x;
            n[base + j] = n[base + j]! + 1;
          }
        }
        break;
      case "prod":
        for (let j = 0; j < inner; j++) {
          const x = data[row + j]!;
          if (x === x || !skip) {
            v[base + j] = v[base + j]! * x;
            n[base + j] = n[base + j]! + 1;
          }
        }
        break;
      case "min":
      case "max": {
        const max = spec.op === "max";
        for (let j = 0; j < inner; j++) {
          const x = data[row + j]!;
          const k = base + j;
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
        break;
      }
    }
  }
  const out: GroupPartial = { groups, inner, n, v };
  if (spec.op === "var" || spec.op === "std") {
    // v holds sums: make them means, then the squared deviations from them.
    for (let k = 0; k < v.length; k++) v[k] = n[k]! > 0 ? v[k]! / n[k]! : 0;
    const m2 = new Float64Array(v.length);
    for (let r = 0; r < rows; r++) {
      const base = slot.get(spec.codes[r]!)! * inner;
      const row = r * inner;
      for (let j = 0; j < inner; j++) {
        const x = data[row + j]!;
        if (x === x || !skip) {
          const d = x - v[base + j]!;
          m2[base + j] = m2[base + j]! + d * d;
        }
      }
    }
    out.m2 = m2;
  }
  return out;
}

/** Merges partials of the same positions (from blocks along the grouped axis). */
export function groupCombine(op: GroupOp, ...parts: GroupPartial[]): GroupPartial {
  if (parts.length === 1) return parts[0]!;
  const inner = parts[0]!.inner;
  const groups = [...new Set(parts.flatMap((p) => p.groups))].sort((a, b) => a - b);
  const slot = new Map(groups.map((g, i) => [g, i]));
  const n = new Float64Array(groups.length * inner);
  const v = new Float64Array(groups.length * inner).fill(IDENTITY[op]);
  const m2 = op === "var" || op === "std" ? new Float64Array(groups.length * inner) : undefined;
  for (const p of parts) {
    p.groups.forEach((g, i) => {
      const to = slot.get(g)! * inner;
      const from = i * inner;
      for (let j = 0; j < inner; j++) {
        const a = to + j;
        const b = from + j;
        const nb = p.n[b]!;
        switch (op) {
          case "sum":
          case "mean":
          case "count":
            v[a] = v[a]! + p.v[b]!;
            n[a] = n[a]! + nb;
            break;
          case "prod":
            v[a] = v[a]! * p.v[b]!;
            n[a] = n[a]! + nb;
            break;
          case "min":
          case "max": {
            if (n[a]! < 0) break;
            if (nb < 0) {
              v[a] = NaN;
              n[a] = -Infinity;
              break;
            }
            const x = p.v[b]!;
            const cur = v[a]!;
            if (x === x && (cur !== cur || (op === "max" ? x > cur : x < cur))) v[a] = x;
            n[a] = n[a]! + nb;
            break;
          }
          case "var":
          case "std": {
            // Chan et al.'s merge of two (n, mean, m2).
            const na = n[a]!;
            if (nb === 0) break;
            if (na === 0) {
              n[a] = nb;
              v[a] = p.v[b]!;
              m2![a] = p.m2![b]!;
              break;
            }
            const total = na + nb;
            const delta = p.v[b]! - v[a]!;
            v[a] = v[a]! + (delta * nb) / total;
            m2![a] = m2![a]! + p.m2![b]! + (delta * delta * na * nb) / total;
            n[a] = total;
            break;
          }
        }
      }
    });
  }
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
  const out = new Float64Array(spec.ngroups * inner).fill(spec.op === "count" || spec.op === "sum" ? 0 : spec.op === "prod" ? 1 : NaN);
  p.groups.forEach((g, i) => {
    for (let j = 0; j < inner; j++) {
      const k = i * inner + j;
      const n = p.n[k]!;
      let r: number;
      switch (spec.op) {
        case "count":
          r = n;
          break;
        case "mean":
          r = n > 0 ? p.v[k]! / n : NaN;
          break;
        case "var":
        case "std": {
          const d = n - spec.ddof;
          r = n > 0 && d > 0 ? p.m2![k]! / d : NaN;
          if (spec.op === "std") r = Math.sqrt(r);
          break;
        }
        default:
          r = p.v[k]!;
      }
      out[g * inner + j] = r;
    }
  });
  const rowsFirst = new NDArray("float64", [spec.ngroups, ...spec.innerShape], out);
  const order = [...Array(spec.innerShape.length + 1).keys()].slice(1);
  order.splice(spec.axis, 0, 0);
  const placed = rowsFirst.transpose(order);
  const result = new NDArray(spec.dtype, placed.shape, allocate(spec.dtype, placed.size));
  runProgram(simpleProgram(placed.ndim, spec.dtype === "float64" ? { op: "in", o: 0, dt: "float64" } : { op: "cast", a: { op: "in", o: 0, dt: "float64" }, dt: spec.dtype }, 1), [placed], result);
  return result;
}

export interface GroupBinarySpec {
  op: BinaryOp;
  axis: number;
  /** For each row of the block, the row of the other array (its group's position). */
  rows: number[];
  dtype: DType;
}

/** out[row] = block[row] op other[rows[row]] along the grouped axis; `other` broadcasts over the rest. */
export function groupBinary(spec: GroupBinarySpec, block: NDArray, other: NDArray): NDArray {
  const shape = [...block.shape];
  const out = new NDArray(spec.dtype, shape, new STORAGE[spec.dtype](shape.reduce((a, b) => a * b, 1)), cStrides(shape));
  const a = block.dtype;
  const b = other.dtype;
  const t = promote(a, b);
  const comparison = ["eq", "ne", "lt", "le", "gt", "ge"].includes(spec.op);
  const at = (o: number, dt: DType): Expr => (dt === t ? { op: "in", o, dt } : { op: "cast", a: { op: "in", o, dt }, dt: t });
  const expr: Expr = { op: "bin", f: spec.op, a: at(0, a), b: at(1, b), dt: comparison ? "bool" : t };
  const program = simpleProgram(shape.length - 1, spec.dtype === expr.dt ? expr : { op: "cast", a: expr, dt: spec.dtype }, 2);
  const index = (r: number, n: number) => shape.map((_, k) => (k === spec.axis ? r : null)).slice(0, n);
  for (let r = 0; r < shape[spec.axis]!; r++) {
    const src = block.slice(...index(r, shape.length));
    const oth = other.slice(...other.shape.map((_, k) => (k === spec.axis ? spec.rows[r]! : null)));
    runProgram(program, [src, oth], out.slice(...index(r, shape.length)));
  }
  return out;
}

/** Builtin names. */
export const XK = {
  groupChunk: "xarray.group-chunk",
  groupCombine: "xarray.group-combine",
  groupFinalize: "xarray.group-finalize",
  groupBinary: "xarray.group-binary",
} as const;

registerBuiltin(XK.groupChunk, groupChunk as BuiltinFn);
registerBuiltin(XK.groupCombine, groupCombine as BuiltinFn);
registerBuiltin(XK.groupFinalize, groupFinalize as BuiltinFn);
registerBuiltin(XK.groupBinary, groupBinary as BuiltinFn);
