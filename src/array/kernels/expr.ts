// Elementwise expressions over n-d blocks, compiled to JavaScript loops. A chain of elementwise
// operations (and transposes, casts, a final reduction) becomes one expression tree, and one
// generated loop runs it over a block: no temporary arrays, one pass over memory, and V8 compiles
// the loop like hand-written code. Every node rounds to its own dtype, so a fused chain gives the
// same bits as the operations run one by one.

import { ArgumentError } from "../../errors.js";
import type { DType } from "../dtype.js";
import { allocate, allocateUninitialized, NDArray } from "../ndarray.js";
import { REDUCE_IDENTITY, type LoopReduce } from "./folds.js";
import { kernelFor } from "./loops.js";
import { warmUp } from "./warm-up.js";

/**
 * Unary functions. log1p and expm1 are exact near 0; sigmoid is 1 / (1 + e^-x), computed without
 * overflow for any x (SciPy's expit); sign is NumPy's (sign(-0) is 0, sign(NaN) is NaN); isfinite
 * and isnan give bool.
 */
export type UnaryOp =
  | "neg"
  | "abs"
  | "exp"
  | "log"
  | "sqrt"
  | "sin"
  | "cos"
  | "log1p"
  | "expm1"
  | "sigmoid"
  | "sign"
  | "isfinite"
  | "isnan";
export type BinaryOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "pow"
  | "maximum"
  | "minimum"
  | "eq"
  | "ne"
  | "lt"
  | "le"
  | "gt"
  | "ge";
/**
 * A reduction's op. The nan* ops skip NaN values (an all-NaN selection gives nansum's 0,
 * nanprod's 1, nanmin's and nanmax's NaN); count counts the values that are not NaN.
 */
export type ReduceOp =
  | "sum"
  | "prod"
  | "min"
  | "max"
  | "any"
  | "all"
  | "nansum"
  | "nanprod"
  | "nanmin"
  | "nanmax"
  | "count";

export type Expr =
  /** Operand `o` (an input block, possibly viewed transposed). */
  | { op: "in"; o: number; dt: DType }
  /** The program's constant in slot `slot` (already a value of `dt`). */
  | { op: "const"; slot: number; dt: DType }
  | { op: "cast"; a: Expr; dt: DType }
  | { op: "un"; f: UnaryOp; a: Expr; dt: DType }
  /** Operands are already of the computation type; `dt` is the result (bool for comparisons). */
  | { op: "bin"; f: BinaryOp; a: Expr; b: Expr; dt: DType }
  | { op: "where"; c: Expr; a: Expr; b: Expr; dt: DType };

/** An input block as the expression sees it: input `input`, transposed by `axes` when given. */
export interface Operand {
  input: number;
  axes?: number[] | undefined;
  /** Dimensions of the input block (known when the graph is built; fusion needs it). */
  nd: number;
}

/** What one elementwise task computes. */
export interface Program {
  /** Dimensions of the result (before any reduction). */
  ndim: number;
  expr: Expr;
  operands: Operand[];
  consts: number[];
  /**
   * Reduce the result over these axes (kept as size 1), accumulating in float64. The result is a
   * float64 block of partial results; the reduction's later steps give it its final dtype. With
   * `count`, the values that are not NaN are also counted in the same pass: run such a program
   * with `runCounted`, which gives both blocks (nanmean's and nanvar's first step).
   */
  reduce?: { op: ReduceOp; axes: number[]; count?: boolean | undefined } | undefined;
}

/** A counted reduction's partial result: the totals and how many values (not NaN) each one took. */
export interface SumCount {
  s: NDArray;
  n: NDArray;
}

/** A program over `inputs` blocks of `ndim` dimensions, each used as is (no transpose). */
export function simpleProgram(
  ndim: number,
  expr: Expr,
  inputs: number,
  consts: number[] = [],
  reduce?: Program["reduce"],
): Program {
  return { ndim, expr, operands: Array.from({ length: inputs }, (_, i) => ({ input: i, nd: ndim })), consts, reduce };
}

export const input = (o: number, dt: DType): Expr => ({ op: "in", o, dt });

// ------------------------------------------------------------------ code for one expression

function wrap(dt: DType, code: string): string {
  switch (dt) {
    case "float64":
      return `(${code})`;
    case "float32":
      return `Math.fround(${code})`;
    case "int32":
      return `((${code}) | 0)`;
    case "uint32":
      return `((${code}) >>> 0)`;
    case "int16":
      return `(((${code}) << 16) >> 16)`;
    case "uint16":
      return `((${code}) & 65535)`;
    case "int8":
      return `(((${code}) << 24) >> 24)`;
    case "uint8":
      return `((${code}) & 255)`;
    case "bool":
      return `((${code}) !== 0 ? 1 : 0)`;
  }
}

const isFloatCode = (dt: DType): boolean => dt === "float64" || dt === "float32";

const isIntType = (dt: DType): boolean => dt !== "float64" && dt !== "float32" && dt !== "bool";

function castCode(from: DType, to: DType, code: string): string {
  if (from === to) return code;
  if (from === "bool" && to !== "bool") return code; // 0 or 1 fit every type
  if (to === "float64") return code;
  if (to === "float32" && (from === "int8" || from === "uint8" || from === "int16" || from === "uint16")) return code;
  return wrap(to, code);
}

function exprCode(e: Expr): string {
  switch (e.op) {
    case "in":
      return `x${e.o}`;
    case "const":
      return `c${e.slot}`;
    case "cast":
      return castCode(e.a.dt, e.dt, exprCode(e.a));
    case "un": {
      const a = exprCode(e.a);
      switch (e.f) {
        case "neg":
          return e.dt === "bool" ? a : wrap(e.dt, `-${a}`);
        case "abs":
          return e.dt === "bool" ? a : wrap(e.dt, `Math.abs(${a})`);
        // Helpers (loops.ts) rather than inline code: the operand's code is then evaluated once.
        case "sigmoid":
          return wrap(e.dt, `sigm(${a})`);
        case "sign":
          return e.dt === "float64" || e.dt === "float32" ? `fsign(${a})` : `isign(${a})`;
        case "isfinite":
          return isFloatCode(e.a.dt) ? `isfin(${a})` : "1";
        case "isnan":
          return isFloatCode(e.a.dt) ? `isnan(${a})` : "0";
        default:
          return wrap(e.dt, `Math.${e.f}(${a})`);
      }
    }
    case "bin": {
      const a = exprCode(e.a);
      const b = exprCode(e.b);
      const t = e.a.dt; // computation type
      switch (e.f) {
        case "add":
          return t === "bool" ? `(${a} | ${b})` : wrap(e.dt, `${a} + ${b}`);
        case "sub":
          return wrap(e.dt, `${a} - ${b}`);
        case "mul":
          if (t === "bool") return `(${a} & ${b})`;
          return t === "int32" || t === "uint32" ? wrap(e.dt, `Math.imul(${a}, ${b})`) : wrap(e.dt, `${a} * ${b}`);
        case "div":
          return wrap(e.dt, `${a} / ${b}`);
        case "pow":
          return isIntType(t) ? wrap(e.dt, `ipow(${a}, ${b})`) : wrap(e.dt, `Math.pow(${a}, ${b})`);
        case "maximum":
          return `fmax(${a}, ${b})`;
        case "minimum":
          return `fmin(${a}, ${b})`;
        case "eq":
          return `(${a} === ${b} ? 1 : 0)`;
        case "ne":
          return `(${a} !== ${b} ? 1 : 0)`;
        case "lt":
          return `(${a} < ${b} ? 1 : 0)`;
        case "le":
          return `(${a} <= ${b} ? 1 : 0)`;
        case "gt":
          return `(${a} > ${b} ? 1 : 0)`;
        case "ge":
          return `(${a} >= ${b} ? 1 : 0)`;
      }
      break;
    }
    case "where":
      return `(${exprCode(e.c)} !== 0 ? ${exprCode(e.a)} : ${exprCode(e.b)})`;
  }
  throw new Error(`unknown expression node ${JSON.stringify(e)}`);
}

// ------------------------------------------------------------------ running a program

/** NumPy broadcasting of shapes (aligned on the right). */
export function broadcastShapes(shapes: readonly (readonly number[])[]): number[] {
  const nd = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(nd).fill(1);
  for (const s of shapes) {
    for (let k = 0; k < s.length; k++) {
      const a = nd - s.length + k;
      const d = s[k]!;
      if (d === 1) continue;
      if (out[a] === 1) out[a] = d;
      else if (out[a] !== d)
        throw new ArgumentError(
          `shapes ${shapes.map((x) => `[${x.join(", ")}]`).join(" and ")} cannot be broadcast together`,
        );
    }
  }
  return out;
}

/** Strides of `a` read as an array of `shape` (broadcast axes step 0). */
function broadcastStrides(a: NDArray, shape: readonly number[]): number[] {
  const nd = shape.length;
  const out = new Array<number>(nd).fill(0);
  for (let k = 0; k < a.ndim; k++) {
    const axis = nd - a.ndim + k;
    out[axis] = a.shape[k] === 1 ? 0 : a.strides[k]!;
  }
  return out;
}

/** Drops size-1 axes and merges neighbours every operand walks as one (the common case becomes 1-d). */
function coalesce(shape: number[], strideSets: number[][]): { shape: number[]; strides: number[][] } {
  const keep = shape.map((_, k) => k).filter((k) => shape[k] !== 1);
  let outShape = keep.map((k) => shape[k]!);
  let sets = strideSets.map((st) => keep.map((k) => st[k]!));
  if (outShape.length === 0) return { shape: [1], strides: strideSets.map(() => [0]) };
  const mergedShape = [outShape[0]!];
  const mergedSets = sets.map((st) => [st[0]!]);
  for (let k = 1; k < outShape.length; k++) {
    const n = outShape[k]!;
    const last = mergedShape.length - 1;
    const canMerge = sets.every((st, i) => mergedSets[i]![last] === st[k]! * n);
    if (canMerge) {
      mergedShape[last] = mergedShape[last]! * n;
      sets.forEach((st, i) => (mergedSets[i]![last] = st[k]!));
    } else {
      mergedShape.push(n);
      sets.forEach((st, i) => mergedSets[i]!.push(st[k]!));
    }
  }
  outShape = mergedShape;
  sets = mergedSets;
  return { shape: outShape, strides: sets };
}

/**
 * Runs `program` on input blocks. Without a reduction the result has the program's dtype. With
 * `into` (an array of the result's shape and dtype, possibly a view), the result is written there.
 */
export function runProgram(program: Program, inputs: readonly NDArray[], into?: NDArray): NDArray {
  if (program.reduce?.count)
    throw new ArgumentError("a program that counts as it reduces gives two blocks: run it with runCounted");
  return execute(program, inputs, into, false).result;
}

/** Runs a program whose reduction counts (`reduce.count`): the totals and the counts, float64 blocks of one shape. */
export function runCounted(program: Program, inputs: readonly NDArray[]): SumCount {
  if (!program.reduce?.count) throw new ArgumentError("runCounted runs programs whose reduction counts (reduce.count)");
  const { result, counts } = execute(program, inputs, undefined, true);
  return { s: result, n: counts! };
}

function execute(
  program: Program,
  inputs: readonly NDArray[],
  into: NDArray | undefined,
  counted: boolean,
): { result: NDArray; counts: NDArray | null } {
  const views = program.operands.map((op) => {
    const a = inputs[op.input];
    if (!(a instanceof NDArray)) throw new ArgumentError(`input ${op.input} of an elementwise task is not an NDArray`);
    return op.axes ? a.transpose(op.axes) : a;
  });
  const shape = broadcastShapes(views.map((v) => v.shape));
  const size = shape.reduce((x, y) => x * y, 1);
  const reduce = program.reduce;
  const outShape = reduce ? shape.map((d, k) => (reduce.axes.includes(k) ? 1 : d)) : shape;
  const dtype: DType = reduce ? "float64" : program.expr.dt;
  let result: NDArray;
  if (into) {
    if (into.dtype !== dtype || into.ndim !== outShape.length || !into.shape.every((d, k) => d === outShape[k])) {
      throw new ArgumentError(
        `cannot write a ${dtype} result of shape [${outShape.join(", ")}] into a ${into.dtype} array of shape [${into.shape.join(", ")}]`,
      );
    }
    result = into;
  } else {
    // Every element is written (a reduction's are set to its identity first).
    result = new NDArray(
      dtype,
      outShape,
      allocateUninitialized(
        dtype,
        outShape.reduce((x, y) => x * y, 1),
      ),
    );
  }
  if (reduce && !into) result.data.fill(REDUCE_IDENTITY[reduce.op]);
  // Laid out as `result` (both fresh and contiguous), so the loops index both with one pointer.
  const counts = counted ? new NDArray("float64", outShape, allocate("float64", result.size)) : null;
  if (size === 0) return { result, counts };
  const outStrides = broadcastStrides(result, shape);
  if (reduce) for (const a of reduce.axes) outStrides[a] = 0;
  const c = coalesce(shape, [outStrides, ...views.map((v) => broadcastStrides(v, shape))]);
  const nd = c.shape.length;
  const innerReduced = reduce !== undefined && c.strides[0]![nd - 1] === 0;
  const outerReduced = reduce !== undefined && c.strides[0]![0] === 0;
  const n = c.shape[0]!;
  // Every operand a whole typed array read from its start, and the output too (or one total):
  const whole =
    nd === 1 &&
    views.every((v, i) => c.strides[i + 1]![0] === 1 && v.offset === 0 && v.data.length === n) &&
    (reduce ? innerReduced : c.strides[0]![0] === 1 && result.offset === 0 && result.data.length === n);
  const loopReduce: LoopReduce | null = reduce ? { op: reduce.op, counted } : null;
  const kernel = kernelFor(nd, views.length, exprCode(program.expr), loopReduce, innerReduced, outerReduced, whole);
  const args: Parameters<typeof kernel> = [
    c.shape,
    result.data,
    c.strides[0]!,
    result.offset,
    views.map((v) => v.data),
    c.strides.slice(1),
    views.map((v) => v.offset),
    program.consts,
    counts ? counts.data : null,
  ];
  // A new kernel's first call gets a few small ones before it (see warmUp); they write where the
  // real call will, so a reduction's outputs start again from the identity. Not when writing
  // into a given array, which might overlap an input.
  if (!into && warmUp(kernel, whole, reduce !== undefined, ...args) && reduce) {
    result.data.fill(REDUCE_IDENTITY[reduce.op]);
    counts?.data.fill(0);
  }
  kernel(...args);
  return { result, counts };
}

/** Copies `src` into `dst` (same shape; `dst` may be a view), converting to `dst`'s dtype. */
export function assign(dst: NDArray, src: NDArray): void {
  const expr: Expr =
    src.dtype === dst.dtype
      ? { op: "in", o: 0, dt: src.dtype }
      : { op: "cast", a: { op: "in", o: 0, dt: src.dtype }, dt: dst.dtype };
  runProgram({ ndim: src.ndim, expr, operands: [{ input: 0, nd: src.ndim }], consts: [] }, [src], dst);
}

/** The generated source for a program, for tests and for curious readers. */
export function programSource(program: Program): string {
  return exprCode(program.expr);
}
