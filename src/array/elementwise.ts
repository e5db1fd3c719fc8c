// Elementwise operations on chunked arrays, with NumPy's broadcasting and type rules. Each builds
// one task per output block running an expression program; chains of them fuse into one program
// when the graph is optimized. Arrays cut differently are first recut to a common cutting.

import { ArgumentError } from "../errors.js";
import { LayeredGraph, Task, TaskRef, type GraphNode } from "../graph/task.js";
import { blockIndices, refine, sameChunks } from "./chunks.js";
import { ChunkedArray } from "./core.js";
import { tokenName } from "./names.js";
import {
  checkDType,
  divType,
  floatFor,
  intRange,
  isInteger,
  promote,
  promoteScalar,
  scalarType,
  STORAGE,
  type DType,
} from "./dtype.js";
import type { BinaryOp, Expr, Operand, Program, UnaryOp } from "./kernels/expr.js";
import { K } from "./kernels/register.js";
import { rechunk } from "./rechunk.js";

/** What an elementwise operation takes: an array, or a plain number or boolean. */
export type ArrayLike = ChunkedArray | number | boolean;

/** An argument while an expression is built: its expression, and for a plain value the value itself. */
interface Term {
  expr: Expr;
  scalar?: number | boolean;
}

/** A number as a value of `dt` (wrapped, rounded or truncated as storing it would). */
function asType(v: number | boolean, dt: DType): number {
  const n = typeof v === "boolean" ? (v ? 1 : 0) : v;
  if (dt === "bool") return n !== 0 ? 1 : 0;
  if (dt === "float64") return n;
  const store = new STORAGE[dt](1);
  store[0] = n;
  return store[0]!;
}

function castTo(e: Expr, dt: DType): Expr {
  return e.dt === dt ? e : { op: "cast", a: e, dt };
}

/** The type two terms are computed in (plain numbers are weak, as in NumPy 2). */
function commonType(a: Term, b: Term): DType {
  if (a.scalar !== undefined && b.scalar !== undefined) return promote(a.expr.dt, b.expr.dt);
  if (a.scalar !== undefined) return promoteScalar(b.expr.dt, a.scalar);
  if (b.scalar !== undefined) return promoteScalar(a.expr.dt, b.scalar);
  return promote(a.expr.dt, b.expr.dt);
}

/**
 * Whether a plain integer lies outside integer type `dt`. A weak scalar takes the array's type
 * (NumPy 2), so uint8 with -1 would silently become uint8 with 255: NumPy 2 refuses that in
 * arithmetic (OverflowError) and compares exactly, and so do we.
 */
function outOfRange(v: number | boolean | undefined, dt: DType): v is number {
  if (typeof v !== "number" || !Number.isInteger(v) || !isInteger(dt)) return false;
  const [lo, hi] = intRange(dt);
  return v < lo || v > hi;
}

/** A term at type `dt` (a constant is converted when the program is built, not per element). */
function at(t: Term, dt: DType, consts: number[]): Expr {
  if (t.scalar === undefined) return castTo(t.expr, dt);
  if (outOfRange(t.scalar, dt)) {
    throw new ArgumentError(
      `the number ${t.scalar} is out of bounds for ${dt} (NumPy 2 refuses it too); convert the array with astype() first`,
    );
  }
  return { op: "const", slot: consts.push(asType(t.scalar, dt)) - 1, dt };
}

const COMPARISONS = new Set<BinaryOp>(["eq", "ne", "lt", "le", "gt", "ge"]);

function binaryExpr(f: BinaryOp, a: Term, b: Term, consts: number[]): Expr {
  let t = commonType(a, b);
  if (COMPARISONS.has(f)) {
    // float64 holds every integer type's values and the number exactly, so the answer is exact.
    if (outOfRange(a.scalar, t) || outOfRange(b.scalar, t)) t = "float64";
    return { op: "bin", f, a: at(a, t, consts), b: at(b, t, consts), dt: "bool" };
  }
  if (f === "div") {
    const r = divType(t);
    return { op: "bin", f, a: at(a, r, consts), b: at(b, r, consts), dt: r };
  }
  if (t === "bool") {
    if (f === "sub")
      throw new ArgumentError(
        "subtracting bool arrays is not supported (NumPy refuses it too); use ne() for exclusive or, or astype() first",
      );
    if (f === "pow") t = "int8";
  }
  return { op: "bin", f, a: at(a, t, consts), b: at(b, t, consts), dt: t };
}

function unaryExpr(f: UnaryOp, a: Expr): Expr {
  if (f === "neg" || f === "abs" || f === "sign") {
    if (f === "neg" && a.dt === "bool")
      throw new ArgumentError(
        "negating a bool array is not supported (NumPy refuses it too); use eq(false) for logical not",
      );
    if (f === "sign" && a.dt === "bool")
      throw new ArgumentError(
        "sign of a bool array is not supported (NumPy refuses it too); convert it with astype() first",
      );
    return { op: "un", f, a, dt: a.dt };
  }
  // Every value of an integer or bool array is finite and not NaN, as in NumPy.
  if (f === "isfinite" || f === "isnan") return { op: "un", f, a, dt: "bool" };
  const t = floatFor(a.dt);
  return { op: "un", f, a: castTo(a, t), dt: t };
}

/**
 * Builds the elementwise result of `args` (arrays and plain values): the arrays are broadcast
 * together, recut to common blocks, and each output block gets one task running `build`'s
 * expression over the arrays' blocks.
 */
export function elementwise(
  op: string,
  args: readonly ArrayLike[],
  build: (terms: Term[], consts: number[]) => Expr,
  extra: unknown[] = [],
): ChunkedArray {
  const arrays: ChunkedArray[] = [];
  const terms: Term[] = [];
  args.forEach((v, i) => {
    if (v instanceof ChunkedArray) {
      terms.push({ expr: { op: "in", o: arrays.push(v) - 1, dt: v.dtype } });
    } else if (typeof v === "number" || typeof v === "boolean") {
      terms.push({ expr: { op: "const", slot: -1, dt: typeof v === "boolean" ? "bool" : scalarType(v) }, scalar: v });
    } else {
      throw new ArgumentError(
        `argument ${i + 1} of ${op} must be a chunked array, a number or a boolean, got ${v === null ? "null" : typeof v}`,
      );
    }
  });
  if (arrays.length === 0) throw new ArgumentError(`${op} needs at least one array`);
  const consts: number[] = [];
  const expr = build(terms, consts);
  return blockwiseExpr(op, arrays, expr, consts, extra);
}

/** One task per output block running `expr` over the blocks of `arrays` (broadcast and recut to match). */
export function blockwiseExpr(
  op: string,
  arrays: ChunkedArray[],
  expr: Expr,
  consts: number[],
  extra: unknown[] = [],
  operandAxes?: (number[] | undefined)[],
): ChunkedArray {
  const ndim = Math.max(...arrays.map((a) => a.ndim));
  const shape = new Array<number>(ndim).fill(1);
  for (const a of arrays) {
    a.shape.forEach((d, k) => {
      const axis = ndim - a.ndim + k;
      if (d === 1) return;
      if (shape[axis] === 1) shape[axis] = d;
      else if (shape[axis] !== d)
        throw new ArgumentError(
          `shapes ${arrays.map((x) => `[${x.shape.join(", ")}]`).join(" and ")} cannot be broadcast together`,
        );
    });
  }
  // Per output axis: the blocks every full-length input agrees on.
  const chunks: number[][] = shape.map((d, axis) => {
    let common: number[] | null = null;
    for (const a of arrays) {
      const k = axis - (ndim - a.ndim);
      if (k < 0 || a.shape[k] !== d || d === 1) continue;
      common = common ? refine(common, a.chunks[k]!) : [...a.chunks[k]!];
    }
    return common ?? [d];
  });
  const inputs = arrays.map((a) => {
    const want = a.shape.map((d, k) =>
      d === shape[ndim - a.ndim + k] && d !== 1 ? chunks[ndim - a.ndim + k]! : [...a.chunks[k]!],
    );
    return sameChunks(a.chunks, want) ? a : rechunk(a, want);
  });
  const operands: Operand[] = inputs.map((a, i) => ({ input: i, nd: a.ndim, axes: operandAxes?.[i] }));
  const program: Program = { ndim, expr, operands, consts };
  const name = tokenName(op, program, ...extra, ...inputs.map((a) => a.name));
  const layer = new Map<string, GraphNode>();
  const out = new ChunkedArray(
    LayeredGraph.merge(
      inputs.map((a) => a.graph),
      name,
      layer,
    ),
    name,
    chunks,
    expr.dt,
  );
  for (const idx of blockIndices(out.numblocks)) {
    // A length-1 axis has one block, which every output block along that axis reads (broadcast).
    const refs = inputs.map((a) => new TaskRef(a.key(a.shape.map((d, k) => (d === 1 ? 0 : idx[ndim - a.ndim + k]!)))));
    layer.set(out.key(idx), new Task(K.expr, [program, ...refs]));
  }
  return out;
}

// ---- the operations ----

export function binary(f: BinaryOp, a: ArrayLike, b: ArrayLike): ChunkedArray {
  return elementwise(f, [a, b], ([x, y], consts) => binaryExpr(f, x!, y!, consts));
}

export function unary(f: UnaryOp, a: ChunkedArray): ChunkedArray {
  return elementwise(f, [a], ([x]) => unaryExpr(f, x!.expr));
}

export function astype(a: ChunkedArray, dtype: DType): ChunkedArray {
  checkDType(dtype);
  if (dtype === a.dtype) return a;
  return elementwise("astype", [a], ([x]) => castTo(x!.expr, dtype), [dtype]);
}

/** Elements of `a` where `cond` holds, else of `b` (all three broadcast together). */
export function where(cond: ArrayLike, a: ArrayLike, b: ArrayLike): ChunkedArray {
  return elementwise("where", [cond, a, b], ([c, x, y], consts) => {
    const t = commonType(x!, y!);
    const ce = c!.scalar !== undefined ? at(c!, "bool", consts) : c!.expr;
    return { op: "where", c: ce, a: at(x!, t, consts), b: at(y!, t, consts), dt: t };
  });
}

/** Limits the values to [min, max]; either bound may be null (no limit), a number or an array. */
export function clip(a: ChunkedArray, min: ArrayLike | null, max: ArrayLike | null): ChunkedArray {
  if (min === null && max === null) throw new ArgumentError("clip needs a lower or an upper bound");
  const args: ArrayLike[] = [a];
  if (min !== null) args.push(min);
  if (max !== null) args.push(max);
  return elementwise("clip", args, (terms, consts) => {
    let x: Term = terms[0]!;
    let i = 1;
    // A bound beyond an integer type's range limits nothing on that side: clip to the range
    // instead (as NumPy 2.1 does, numpy/numpy#26892) rather than refusing it as arithmetic would.
    const bound = (b: Term): Term => {
      const t = commonType(x, b);
      if (!outOfRange(b.scalar, t)) return b;
      const [lo, hi] = intRange(t);
      return { ...b, scalar: Math.min(Math.max(b.scalar, lo), hi) };
    };
    if (min !== null) x = { expr: binaryExpr("maximum", x, bound(terms[i++]!), consts) };
    if (max !== null) x = { expr: binaryExpr("minimum", x, bound(terms[i++]!), consts) };
    return x.expr;
  });
}

/** The array with its axes permuted (reversed by default): a transposed view of each block. */
export function transpose(a: ChunkedArray, axes?: readonly number[]): ChunkedArray {
  const nd = a.ndim;
  const order = axes ? [...axes].map((x) => (x < 0 ? x + nd : x)) : [...Array(nd).keys()].reverse();
  if (
    order.length !== nd ||
    new Set(order).size !== nd ||
    order.some((x) => !Number.isInteger(x) || x < 0 || x >= nd)
  ) {
    throw new ArgumentError(`axes [${axes?.join(", ")}] must name each of the ${nd} axes once`);
  }
  if (order.every((x, i) => x === i)) return a;
  const name = tokenName("transpose", order, a.name);
  const layer = new Map<string, GraphNode>();
  const chunks = order.map((x) => a.chunks[x]!);
  const out = new ChunkedArray(LayeredGraph.merge([a.graph], name, layer), name, chunks, a.dtype);
  const program: Program = {
    ndim: nd,
    expr: { op: "in", o: 0, dt: a.dtype },
    operands: [{ input: 0, nd, axes: order }],
    consts: [],
  };
  for (const idx of blockIndices(out.numblocks)) {
    const src = new Array<number>(nd);
    order.forEach((x, k) => (src[x] = idx[k]!));
    layer.set(out.key(idx), new Task(K.expr, [program, new TaskRef(a.key(src))]));
  }
  return out;
}
