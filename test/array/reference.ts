// Reference implementations for meshwork/array's tests: plain loops over plain JS numbers, written
// from NumPy's definitions and independent of the code under test (no kernels, no typed-array
// stores, no promotion functions from src/), so a test compares two implementations rather than
// one with itself. Slow and obvious on purpose; the arrays in the tests are small.

import assert from "node:assert/strict";
import {
  computeWith,
  fromArray,
  NDArray,
  type ArrayValue,
  type ChunkedArray,
  type ChunksSpec,
  type DType,
} from "../../node/array.js";

/** An array as the references see it: row-major values (bool as 0/1), a shape and a dtype. */
export interface Ref {
  dtype: DType;
  shape: number[];
  data: number[];
}

export const DTYPES: readonly DType[] = [
  "float64",
  "float32",
  "int32",
  "uint32",
  "int16",
  "uint16",
  "int8",
  "uint8",
  "bool",
];
export const INT_DTYPES: readonly DType[] = ["int32", "uint32", "int16", "uint16", "int8", "uint8"];

const BITS: Partial<Record<DType, number>> = { int32: 32, uint32: 32, int16: 16, uint16: 16, int8: 8, uint8: 8 };
const SIGNED = new Set<DType>(["int32", "int16", "int8"]);

export const isFloatType = (d: DType): boolean => d === "float64" || d === "float32";
export const isIntType = (d: DType): boolean => BITS[d] !== undefined;

/** The smallest and largest value of an integer dtype. */
export function intRange(d: DType): [number, number] {
  const bits = BITS[d]!;
  return SIGNED.has(d) ? [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1] : [0, 2 ** bits - 1];
}

/**
 * `v` converted to `dtype` as NumPy's astype does, with meshwork's documented choices where NumPy's
 * result is undefined: floats to integers truncate toward zero and wrap modulo 2^bits; NaN and
 * infinities become 0. Any number but 0 (NaN too) is true.
 */
export function cast(v: number, dtype: DType): number {
  if (dtype === "float64") return v;
  if (dtype === "float32") return Math.fround(v);
  if (dtype === "bool") return v !== 0 ? 1 : 0;
  if (!Number.isFinite(v)) return 0;
  return wrapBig(BigInt(Math.trunc(v)), dtype);
}

/** An exact integer wrapped into an integer dtype (two's complement, as C and NumPy do). */
function wrapBig(v: bigint, dtype: DType): number {
  const bits = BITS[dtype]!;
  return Number(SIGNED.has(dtype) ? BigInt.asIntN(bits, v) : BigInt.asUintN(bits, v));
}

/** Computes many arrays in one graph on this thread. */
export async function computeAll(arrays: ChunkedArray[]): Promise<ArrayValue[]> {
  return (await computeWith({ scheduler: "sync" }, arrays)) as ArrayValue[];
}

// ---------------------------------------------------------------- building and reading

export function makeRef(dtype: DType, shape: readonly number[], data: readonly number[]): Ref {
  assert.equal(data.length, size(shape), "reference data fits its shape");
  return { dtype, shape: [...shape], data: [...data] };
}

export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Every index of `shape`, in row-major order. */
export function indices(shape: readonly number[]): number[][] {
  const out: number[][] = [];
  if (shape.some((d) => d === 0)) return out;
  const idx = shape.map(() => 0);
  for (;;) {
    out.push([...idx]);
    let a = shape.length - 1;
    for (; a >= 0; a--) {
      if (++idx[a]! < shape[a]!) break;
      idx[a] = 0;
    }
    if (a < 0) return out;
  }
}

function flatIndex(shape: readonly number[], idx: readonly number[]): number {
  let p = 0;
  for (let k = 0; k < shape.length; k++) p = p * shape[k]! + idx[k]!;
  return p;
}

export function at(r: Ref, idx: readonly number[]): number {
  return r.data[flatIndex(r.shape, idx)]!;
}

/** An NDArray's elements read one by one through get(). */
export function refOf(a: NDArray): Ref {
  return { dtype: a.dtype, shape: [...a.shape], data: indices(a.shape).map((i) => Number(a.get(...i))) };
}

/** The NDArray holding a reference's values. */
export function toNDArray(r: Ref): NDArray {
  return NDArray.from(r.data, { dtype: r.dtype, shape: r.shape });
}

/** A computed value (NDArray, or number / boolean for 0-d) as a Ref; `dtype` is needed for 0-d. */
export function refOfValue(v: ArrayValue, dtype: DType): Ref {
  if (v instanceof NDArray) return refOf(v);
  return { dtype, shape: [], data: [Number(v)] };
}

// ---------------------------------------------------------------- test data

/** A small deterministic generator (mulberry32), so test data is the same on every run. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values at the edges of each dtype: its limits, signed zeros, NaN and infinities. */
const SPECIAL: Record<DType, number[]> = {
  float64: [0, -0, 1, -1, 0.5, -2.5, 3.75, NaN, Infinity, -Infinity, 1e300, -1e-300, 2 ** 53 + 2],
  float32: [0, -0, 1, -1, 0.5, -2.5, 3.75, NaN, Infinity, -Infinity, Math.fround(3.4e38), Math.fround(1e-45), 16777216],
  int32: [0, 1, -1, 2147483647, -2147483648, 65536, -40000, 7],
  uint32: [0, 1, 4294967295, 2147483648, 65536, 7],
  int16: [0, 1, -1, 32767, -32768, 255, -300],
  uint16: [0, 1, 65535, 32768, 255],
  int8: [0, 1, -1, 127, -128, 100, -3],
  uint8: [0, 1, 255, 128, 7],
  bool: [0, 1],
};

export interface SampleOptions {
  /** Leave out NaN, infinities and huge or tiny magnitudes (for sums and statistics). */
  finite?: boolean;
  /** Integers between these (inclusive) instead of the dtype's whole range. */
  range?: [number, number];
}

/** `n` values of `dtype`: its special values first (unless finite), then random ones. */
export function sampleData(dtype: DType, n: number, seed: number, options: SampleOptions = {}): number[] {
  const next = rng(seed);
  const special = options.finite || options.range ? [] : SPECIAL[dtype];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i < special.length) {
      out.push(special[i]!);
      continue;
    }
    const u = next();
    if (options.range) {
      const [lo, hi] = options.range;
      out.push(cast(lo + Math.floor(u * (hi - lo + 1)), dtype));
    } else if (dtype === "bool") {
      out.push(u < 0.5 ? 0 : 1);
    } else if (isFloatType(dtype)) {
      out.push(cast(Math.round((u - 0.5) * 2000) / 16, dtype));
    } else {
      const [lo, hi] = intRange(dtype);
      out.push(lo + Math.floor(u * (hi - lo + 1)));
    }
  }
  // Special values first would put them all in the first block: spread them with a fixed shuffle.
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export function sample(dtype: DType, shape: readonly number[], seed: number, options: SampleOptions = {}): Ref {
  return makeRef(dtype, shape, sampleData(dtype, size(shape), seed, options));
}

// ---------------------------------------------------------------- type rules, written out

const T: Record<string, DType> = {
  b: "bool",
  u1: "uint8",
  i1: "int8",
  u2: "uint16",
  i2: "int16",
  u4: "uint32",
  i4: "int32",
  f4: "float32",
  f8: "float64",
};
const ORDER = ["b", "u1", "i1", "u2", "i2", "u4", "i4", "f4", "f8"] as const;
// NumPy's result_type for two arrays (np.promote_types), with int64 written as float64 (meshwork's
// documented stand-in: it holds every int32 and uint32 value exactly). Rows and columns in ORDER.
const TABLE = `
      b   u1  i1  u2  i2  u4  i4  f4  f8
b     b   u1  i1  u2  i2  u4  i4  f4  f8
u1    u1  u1  i2  u2  i2  u4  i4  f4  f8
i1    i1  i2  i1  i4  i2  f8  i4  f4  f8
u2    u2  u2  i4  u2  i4  u4  i4  f4  f8
i2    i2  i2  i2  i4  i2  f8  i4  f4  f8
u4    u4  u4  f8  u4  f8  u4  f8  f8  f8
i4    i4  i4  i4  i4  i4  f8  i4  f8  f8
f4    f4  f4  f4  f4  f4  f8  f8  f4  f8
f8    f8  f8  f8  f8  f8  f8  f8  f8  f8`;

/** RESULT_TYPE[a][b]: the dtype of an operation between arrays of dtypes a and b. */
export const RESULT_TYPE: Record<DType, Record<DType, DType>> = (() => {
  const rows = TABLE.trim()
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/));
  const out = {} as Record<DType, Record<DType, DType>>;
  for (const row of rows) {
    const a = T[row[0]!]!;
    out[a] = {} as Record<DType, DType>;
    ORDER.forEach((c, i) => (out[a][T[c]!] = T[row[i + 1]!]!));
  }
  return out;
})();

/** The float type of sqrt, exp, … of each dtype: NumPy's, with float32 where NumPy says float16. */
export const MATH_TYPE: Record<DType, DType> = {
  float64: "float64",
  float32: "float32",
  int32: "float64",
  uint32: "float64",
  int16: "float32",
  uint16: "float32",
  int8: "float32",
  uint8: "float32",
  bool: "float32",
};

/** Sums and products: float32 stays, everything else is float64 (NumPy: int64 for integers). */
export const SUM_TYPE = (d: DType): DType => (d === "float32" ? "float32" : "float64");
/** mean, var, std: float32 stays, everything else is float64 (as NumPy). */
export const MEAN_TYPE = SUM_TYPE;

// ---------------------------------------------------------------- elementwise

export function broadcastShapes(...shapes: (readonly number[])[]): number[] {
  const nd = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let k = 0; k < nd; k++) {
    const dims = shapes.map((s) => s[s.length - nd + k] ?? 1).filter((d) => d !== 1);
    if (new Set(dims).size > 1) throw new Error(`reference: shapes ${JSON.stringify(shapes)} do not broadcast`);
    out.push(dims[0] ?? 1);
  }
  return out;
}

/** `fn` of the (broadcast) elements of `args`, stored as `dtype`. */
export function map(dtype: DType, args: readonly Ref[], fn: (...v: number[]) => number): Ref {
  const shape = broadcastShapes(...args.map((a) => a.shape));
  const data = indices(shape).map((idx) =>
    cast(
      fn(
        ...args.map((a) =>
          at(
            a,
            a.shape.map((d, k) => (d === 1 ? 0 : idx[shape.length - a.shape.length + k]!)),
          ),
        ),
      ),
      dtype,
    ),
  );
  return { dtype, shape, data };
}

export type BinaryName =
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
export const BINARY: readonly BinaryName[] = [
  "add",
  "sub",
  "mul",
  "div",
  "pow",
  "maximum",
  "minimum",
  "eq",
  "ne",
  "lt",
  "le",
  "gt",
  "ge",
];
export const COMPARISON = new Set<BinaryName>(["eq", "ne", "lt", "le", "gt", "ge"]);

/** NumPy's maximum and minimum: NaN wins; otherwise the first operand on ties (as its C loop). */
// biome-ignore lint/complexity/useMathMinMax: Math.max would prefer +0 to -0 on a tie
const maximum = (a: number, b: number): number => (Number.isNaN(a) ? a : Number.isNaN(b) ? b : a >= b ? a : b);
// biome-ignore lint/complexity/useMathMinMax: Math.min would prefer -0 to +0 on a tie
const minimum = (a: number, b: number): number => (Number.isNaN(a) ? a : Number.isNaN(b) ? b : a <= b ? a : b);

/** a ** b for an integer dtype, wrapping as repeated multiplication in that dtype does. */
function intPow(a: number, b: number, dtype: DType): number {
  // NumPy refuses negative integer exponents; meshwork documents 1 → 1, -1 → ±1, anything else → 0.
  if (b < 0) return a === 1 ? 1 : a === -1 ? (b % 2 === 0 ? 1 : -1) : 0;
  const mod = 1n << BigInt(BITS[dtype]!);
  let result = 1n;
  let base = ((BigInt(a) % mod) + mod) % mod;
  let e = BigInt(b);
  while (e > 0n) {
    if (e & 1n) result = (result * base) % mod;
    base = (base * base) % mod;
    e >>= 1n;
  }
  return wrapBig(result, dtype);
}

/**
 * One element of a binary operation computed in dtype `t` (both operands already of type t):
 * exact integer arithmetic then wrapping for integer types, rounding to float32 for float32, and
 * logic for bool (add is or, mul is and).
 */
export function binaryValue(op: BinaryName, a: number, b: number, t: DType): number {
  switch (op) {
    case "eq":
      return a === b ? 1 : 0;
    case "ne":
      return a !== b ? 1 : 0;
    case "lt":
      return a < b ? 1 : 0;
    case "le":
      return a <= b ? 1 : 0;
    case "gt":
      return a > b ? 1 : 0;
    case "ge":
      return a >= b ? 1 : 0;
    case "maximum":
      return maximum(a, b);
    case "minimum":
      return minimum(a, b);
    case "div":
      return cast(a / b, t);
  }
  if (t === "bool") {
    if (op === "add") return a || b ? 1 : 0;
    if (op === "mul") return a && b ? 1 : 0;
    throw new Error(`reference: no ${op} for bool`);
  }
  if (isIntType(t)) {
    const x = BigInt(a);
    const y = BigInt(b);
    if (op === "add") return wrapBig(x + y, t);
    if (op === "sub") return wrapBig(x - y, t);
    if (op === "mul") return wrapBig(x * y, t);
    return intPow(a, b, t);
  }
  if (op === "add") return cast(a + b, t);
  if (op === "sub") return cast(a - b, t);
  if (op === "mul") return cast(a * b, t);
  return cast(a ** b, t);
}

/**
 * x op y for two arrays: both cast to the operation's type (RESULT_TYPE; true division's is
 * float32 for float32 and float64 otherwise; bool ** bool is int8), then elementwise.
 */
export function binaryRef(op: BinaryName, x: Ref, y: Ref, resultType = RESULT_TYPE[x.dtype][y.dtype]): Ref {
  let t = resultType;
  if (op === "div") t = t === "float32" ? "float32" : "float64";
  if (op === "pow" && t === "bool") t = "int8";
  const out = COMPARISON.has(op) ? "bool" : t;
  return map(out, [x, y], (a, b) => binaryValue(op, cast(a, t), cast(b, t), t));
}

export type UnaryName =
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
export const UNARY: readonly UnaryName[] = [
  "neg",
  "abs",
  "exp",
  "log",
  "sqrt",
  "sin",
  "cos",
  "log1p",
  "expm1",
  "sigmoid",
  "sign",
  "isfinite",
  "isnan",
];

/** The logistic function from its definition, e^v / (1 + e^v), turned around for v ≥ 0 where e^v could overflow. */
const logistic = (v: number): number => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (Math.exp(v) + 1));
const FLOAT_FN: Record<string, (v: number) => number> = {
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  sin: Math.sin,
  cos: Math.cos,
  log1p: Math.log1p,
  expm1: Math.expm1,
  sigmoid: logistic,
};

export function unaryRef(op: UnaryName, x: Ref): Ref {
  if (op === "isfinite") return map("bool", [x], (v) => (Number.isFinite(v) ? 1 : 0));
  if (op === "isnan") return map("bool", [x], (v) => (Number.isNaN(v) ? 1 : 0));
  if (op === "sign") {
    if (x.dtype === "bool") throw new Error("reference: no sign for bool");
    // NumPy: sign(-0.0) is +0.0, sign(nan) is nan.
    return map(x.dtype, [x], (v) => (Number.isNaN(v) ? NaN : v > 0 ? 1 : v < 0 ? -1 : 0));
  }
  if (op === "neg" || op === "abs") {
    if (x.dtype === "bool")
      return op === "abs"
        ? { ...x }
        : (() => {
            throw new Error("reference: no neg for bool");
          })();
    return map(x.dtype, [x], (v) => {
      const r = op === "neg" ? -v : Math.abs(v);
      return isIntType(x.dtype) ? wrapBig(BigInt(r), x.dtype) : r;
    });
  }
  const t = MATH_TYPE[x.dtype];
  const fn = FLOAT_FN[op]!;
  return map(t, [x], (v) => fn(cast(v, t)));
}

/** Where `c` is non-zero (NaN counts), elements of `x`, else of `y`, at type `t`. */
export function whereRef(c: Ref, x: Ref, y: Ref, t: DType): Ref {
  return map(t, [c, x, y], (cv, a, b) => (cv !== 0 ? cast(a, t) : cast(b, t)));
}

export function astypeRef(x: Ref, dtype: DType): Ref {
  return map(dtype, [x], (v) => v);
}

// ---------------------------------------------------------------- reductions

export type ReduceName = "sum" | "prod" | "mean" | "min" | "max" | "any" | "all" | "var" | "std" | "argmin" | "argmax";

/** The axes a reduction's `axis` option names, sorted (negative count from the end; default all). */
export function axesOf(axis: number | readonly number[] | null | undefined, ndim: number): number[] {
  if (axis === undefined || axis === null) return [...Array(ndim).keys()];
  const list = typeof axis === "number" ? [axis] : [...axis];
  return list.map((a) => (a < 0 ? a + ndim : a)).sort((p, q) => p - q);
}

/**
 * Calls `fn` for each output position with the values along the reduced axes, in row-major order
 * (for argmin/argmax with `flatIndex`, the index of each value: along the one axis, or flat).
 */
function reduceWith(
  x: Ref,
  axes: number[],
  keepdims: boolean,
  dtype: DType,
  fn: (values: number[], positions: number[]) => number,
  flat = false,
): Ref {
  const keptShape = x.shape.map((d, k) => (axes.includes(k) ? 1 : d));
  const redShape = axes.map((k) => x.shape[k]!);
  const data: number[] = [];
  for (const outIdx of indices(keptShape)) {
    const values: number[] = [];
    const positions: number[] = [];
    for (const r of indices(redShape)) {
      const idx = [...outIdx];
      axes.forEach((k, i) => (idx[k] = r[i]!));
      values.push(at(x, idx));
      positions.push(flat ? flatIndex(x.shape, idx) : r[0]!);
    }
    data.push(cast(fn(values, positions), dtype));
  }
  const shape = keepdims ? keptShape : x.shape.filter((_, k) => !axes.includes(k));
  return { dtype, shape, data };
}

export interface RefReduceOptions {
  axis?: number | readonly number[] | null;
  keepdims?: boolean;
  ddof?: number;
}

export function reduceRef(op: ReduceName, x: Ref, options: RefReduceOptions = {}): Ref {
  const keepdims = options.keepdims ?? false;
  if (op === "argmin" || op === "argmax") {
    const flat = options.axis === undefined || options.axis === null;
    const axes = axesOf(options.axis, x.shape.length);
    const r = reduceWith(
      x,
      axes,
      keepdims,
      "int32",
      (values, positions) => {
        let best = 0;
        for (let i = 1; i < values.length; i++) {
          const v = values[i]!;
          const b = values[best]!;
          if (Number.isNaN(b)) break; // the first NaN is the answer
          if (Number.isNaN(v) || (op === "argmin" ? v < b : v > b)) best = i;
        }
        return positions[best]!;
      },
      flat,
    );
    return r;
  }
  const axes = axesOf(options.axis, x.shape.length);
  switch (op) {
    case "sum":
      return reduceWith(x, axes, keepdims, SUM_TYPE(x.dtype), (v) => v.reduce((a, b) => a + b, 0));
    case "prod":
      return reduceWith(x, axes, keepdims, SUM_TYPE(x.dtype), (v) => v.reduce((a, b) => a * b, 1));
    case "mean":
      return reduceWith(x, axes, keepdims, MEAN_TYPE(x.dtype), (v) => v.reduce((a, b) => a + b, 0) / v.length);
    case "min":
      return reduceWith(x, axes, keepdims, x.dtype, (v) => v.reduce(minimum));
    case "max":
      return reduceWith(x, axes, keepdims, x.dtype, (v) => v.reduce(maximum));
    case "any":
      return reduceWith(x, axes, keepdims, "bool", (v) => (v.some((e) => e !== 0) ? 1 : 0));
    case "all":
      return reduceWith(x, axes, keepdims, "bool", (v) => (v.every((e) => e !== 0) ? 1 : 0));
    case "var":
    case "std": {
      const ddof = options.ddof ?? 0;
      return reduceWith(x, axes, keepdims, MEAN_TYPE(x.dtype), (v) => {
        // NumPy's _var: two passes, divided by max(n - ddof, 0) (so inf or NaN when that is 0).
        const mean = v.reduce((a, b) => a + b, 0) / v.length;
        const m2 = v.reduce((a, b) => a + (b - mean) * (b - mean), 0);
        const r = m2 / Math.max(v.length - ddof, 0);
        return op === "std" ? Math.sqrt(r) : r;
      });
    }
  }
}

// ---------------------------------------------------------------- shape

/** Python's slice.indices() and range(): the positions start:stop:step takes from an axis of n. */
export function slicePositions(
  n: number,
  start: number | null | undefined,
  stop: number | null | undefined,
  step: number | null | undefined,
): number[] {
  const st = step ?? 1;
  const adjust = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + n : v, lo), hi);
  const out: number[] = [];
  if (st > 0) {
    const a = start == null ? 0 : adjust(start, 0, n);
    const b = stop == null ? n : adjust(stop, 0, n);
    for (let i = a; i < b; i += st) out.push(i);
  } else {
    const a = start == null ? n - 1 : adjust(start, -1, n - 1);
    const b = stop == null ? -1 : adjust(stop, -1, n - 1);
    for (let i = a; i > b; i += st) out.push(i);
  }
  return out;
}

export type RefIndex = number | null | "..." | { start?: number | null; stop?: number | null; step?: number | null };

/** Basic indexing: an integer drops its axis, a range keeps it, null is the whole axis, "..." fills. */
export function sliceRef(x: Ref, index: readonly RefIndex[]): Ref {
  const nd = x.shape.length;
  const given = index.filter((p) => p !== "...").length;
  const full: RefIndex[] = [];
  for (const p of index) {
    if (p === "...") for (let k = 0; k < nd - given; k++) full.push(null);
    else full.push(p);
  }
  while (full.length < nd) full.push(null);
  const picks = full.map((p, k) => {
    const n = x.shape[k]!;
    if (typeof p === "number") return { keep: false, pos: [p < 0 ? p + n : p] };
    const s = p === null || p === "..." ? {} : p; // no "..." is left in `full`
    return { keep: true, pos: slicePositions(n, s.start, s.stop, s.step) };
  });
  const shape = picks.filter((p) => p.keep).map((p) => p.pos.length);
  const data = indices(picks.map((p) => p.pos.length)).map((i) =>
    at(
      x,
      i.map((j, k) => picks[k]!.pos[j]!),
    ),
  );
  return { dtype: x.dtype, shape, data };
}

export function transposeRef(x: Ref, axes?: readonly number[]): Ref {
  const nd = x.shape.length;
  const order = axes ? axes.map((a) => (a < 0 ? a + nd : a)) : [...Array(nd).keys()].reverse();
  const shape = order.map((a) => x.shape[a]!);
  const data = indices(shape).map((i) => {
    const src = new Array<number>(nd);
    order.forEach((a, k) => (src[a] = i[k]!));
    return at(x, src);
  });
  return { dtype: x.dtype, shape, data };
}

/** Row-major order is kept; only the shape changes. */
export function reshapeRef(x: Ref, shape: readonly number[]): Ref {
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const s = shape.map((d) => (d === -1 ? size(x.shape) / known : d));
  assert.equal(size(s), size(x.shape), "reference reshape keeps the size");
  return { dtype: x.dtype, shape: s, data: [...x.data] };
}

export function concatenateRef(xs: readonly Ref[], axis: number, dtype: DType): Ref {
  const nd = xs[0]!.shape.length;
  const ax = axis < 0 ? axis + nd : axis;
  const shape = [...xs[0]!.shape];
  shape[ax] = xs.reduce((s, x) => s + x.shape[ax]!, 0);
  const data = indices(shape).map((i) => {
    let j = i[ax]!;
    let p = 0;
    while (j >= xs[p]!.shape[ax]!) j -= xs[p++]!.shape[ax]!;
    const src = [...i];
    src[ax] = j;
    return cast(at(xs[p]!, src), dtype);
  });
  return { dtype, shape, data };
}

export function stackRef(xs: readonly Ref[], axis: number, dtype: DType): Ref {
  const nd = xs[0]!.shape.length + 1;
  const ax = axis < 0 ? axis + nd : axis;
  const shape = [...xs[0]!.shape];
  shape.splice(ax, 0, xs.length);
  const data = indices(shape).map((i) => {
    const src = [...i];
    const [p] = src.splice(ax, 1);
    return cast(at(xs[p!]!, src), dtype);
  });
  return { dtype, shape, data };
}

/**
 * Σ a[free a…, k…] · b[k…, free b…] over the contracted positions, in float64, then cast to
 * `dtype` (integers wrap, bool is "any product non-zero", as NumPy's dot of those types gives).
 */
export function tensordotRef(a: Ref, b: Ref, axA: readonly number[], axB: readonly number[], dtype: DType): Ref {
  const na = a.shape.length;
  const nb = b.shape.length;
  const ca = axA.map((x) => (x < 0 ? x + na : x));
  const cb = axB.map((x) => (x < 0 ? x + nb : x));
  const freeA = [...Array(na).keys()].filter((k) => !ca.includes(k));
  const freeB = [...Array(nb).keys()].filter((k) => !cb.includes(k));
  const shape = [...freeA.map((k) => a.shape[k]!), ...freeB.map((k) => b.shape[k]!)];
  const kShape = ca.map((k) => a.shape[k]!);
  const data = indices(shape).map((i) => {
    const ia = new Array<number>(na);
    const ib = new Array<number>(nb);
    freeA.forEach((k, j) => (ia[k] = i[j]!));
    freeB.forEach((k, j) => (ib[k] = i[freeA.length + j]!));
    let s = 0;
    for (const kk of indices(kShape)) {
      ca.forEach((k, j) => (ia[k] = kk[j]!));
      cb.forEach((k, j) => (ib[k] = kk[j]!));
      s += at(a, ia) * at(b, ib);
    }
    return cast(s, dtype);
  });
  return { dtype, shape, data };
}

// ---------------------------------------------------------------- assertions

/** Same dtype, shape and every element identical (Object.is: NaN equals NaN, -0 is not 0). */
export function assertArrayEqual(actual: ArrayValue, expected: Ref, what = "result"): void {
  const got = refOfValue(actual, expected.dtype);
  if (expected.shape.length === 0 && !(actual instanceof NDArray)) {
    // compute() gives a 0-d result as its element.
    assert.equal(
      typeof actual,
      expected.dtype === "bool" ? "boolean" : "number",
      `${what}: 0-d ${expected.dtype} value type`,
    );
  } else {
    assert.ok(actual instanceof NDArray, `${what}: an NDArray`);
    assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  }
  assert.deepEqual(got.shape, expected.shape, `${what}: shape`);
  for (let i = 0; i < expected.data.length; i++) {
    if (!Object.is(got.data[i], expected.data[i])) {
      assert.fail(
        `${what}: element ${i} (at [${indices(expected.shape)[i]}]) is ${got.data[i]}, expected ${expected.data[i]}`,
      );
    }
  }
}

/**
 * Same dtype and shape; finite elements within `rtol` relative (or `atol` absolute) of the
 * expected ones, non-finite ones identical. For results whose last bits depend on summation order.
 */
export function assertArrayClose(actual: ArrayValue, expected: Ref, rtol: number, what = "result", atol = 0): void {
  const got = refOfValue(actual, expected.dtype);
  if (actual instanceof NDArray) assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  else assert.equal(expected.shape.length, 0, `${what}: a number for a 0-d result`);
  assert.deepEqual(got.shape, expected.shape, `${what}: shape`);
  for (let i = 0; i < expected.data.length; i++) {
    const g = got.data[i]!;
    const e = expected.data[i]!;
    const ok = Number.isFinite(e) ? Math.abs(g - e) <= Math.max(rtol * Math.abs(e), atol) : Object.is(g, e);
    if (!ok)
      assert.fail(`${what}: element ${i} (at [${indices(expected.shape)[i]}]) is ${g}, expected ${e} (rtol ${rtol})`);
  }
}

/** Two computed values hold the same bits: dtype, shape and every element by Object.is. */
export function assertSameBits(a: ArrayValue, b: ArrayValue, what = "values"): void {
  if (!(a instanceof NDArray) || !(b instanceof NDArray)) {
    assert.ok(Object.is(a, b), `${what}: ${String(a)} and ${String(b)} differ`);
    return;
  }
  assert.equal(a.dtype, b.dtype, `${what}: dtype`);
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  const x = a.toTypedArray();
  const y = b.toTypedArray();
  assert.equal(x.length, y.length, `${what}: length`);
  for (let i = 0; i < x.length; i++) {
    if (!Object.is(x[i], y[i])) assert.fail(`${what}: element ${i} is ${x[i]} and ${y[i]}`);
  }
}

/** A chunked array holding a reference's values, cut by `chunks`. */
export function chunkedOf(r: Ref, chunks: ChunksSpec): ChunkedArray {
  return fromArray(toNDArray(r), { chunks });
}
