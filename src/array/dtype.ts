// Element types of n-d arrays, their typed-array storage, and NumPy's rules for the type an
// operation yields (promotion). Where NumPy would reach for a type we lack (int64, float16), the
// nearest one we have is named here, once.

import { ArgumentError } from "../errors.js";

export type DType = "float64" | "float32" | "int32" | "uint32" | "int16" | "uint16" | "int8" | "uint8" | "bool";

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

export type TypedArray =
  | Float64Array
  | Float32Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array;

type TypedArrayCtor = {
  new (length: number): TypedArray;
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): TypedArray;
  readonly BYTES_PER_ELEMENT: number;
};

/** Storage per dtype. bool is one byte per element, 0 or 1, as in NumPy. */
export const STORAGE: Readonly<Record<DType, TypedArrayCtor>> = {
  float64: Float64Array,
  float32: Float32Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

export function isDType(v: unknown): v is DType {
  return typeof v === "string" && (DTYPES as readonly string[]).includes(v);
}

export function checkDType(v: unknown, what = "dtype"): DType {
  if (!isDType(v)) throw new ArgumentError(`${what} must be one of ${DTYPES.join(", ")}; got ${JSON.stringify(v)}`);
  return v;
}

export function itemSize(dtype: DType): number {
  return STORAGE[dtype].BYTES_PER_ELEMENT;
}

export function isFloat(dtype: DType): boolean {
  return dtype === "float64" || dtype === "float32";
}

export function isInteger(dtype: DType): boolean {
  return !isFloat(dtype) && dtype !== "bool";
}

export function isSigned(dtype: DType): boolean {
  return dtype === "int32" || dtype === "int16" || dtype === "int8";
}

/** The dtype whose storage is `arr` (Uint8Array is uint8, never bool). */
export function dtypeOfStorage(arr: ArrayBufferView): DType | undefined {
  if (arr instanceof Float64Array) return "float64";
  if (arr instanceof Float32Array) return "float32";
  if (arr instanceof Int32Array) return "int32";
  if (arr instanceof Uint32Array) return "uint32";
  if (arr instanceof Int16Array) return "int16";
  if (arr instanceof Uint16Array) return "uint16";
  if (arr instanceof Int8Array) return "int8";
  if (arr instanceof Uint8Array && !(arr instanceof Uint8ClampedArray)) return "uint8";
  return undefined;
}

const INT_BITS: Partial<Record<DType, number>> = { int8: 8, uint8: 8, int16: 16, uint16: 16, int32: 32, uint32: 32 };

/**
 * NumPy's result type of two array operands. Where NumPy answers int64 (int32 with uint32) we
 * answer float64, which holds every such value exactly; the same as NumPy 1.x for int64 + uint64.
 */
export function promote(a: DType, b: DType): DType {
  if (a === b) return a;
  if (a === "bool") return b;
  if (b === "bool") return a;
  const fa = isFloat(a);
  const fb = isFloat(b);
  if (fa && fb) return "float64";
  if (fa || fb) {
    const f = fa ? a : b;
    const i = fa ? b : a;
    if (f === "float64") return "float64";
    return INT_BITS[i]! <= 16 ? "float32" : "float64";
  }
  const sa = isSigned(a);
  const sb = isSigned(b);
  const ba = INT_BITS[a]!;
  const bb = INT_BITS[b]!;
  if (sa === sb) return ba >= bb ? a : b;
  const s = sa ? a : b;
  const u = sa ? b : a;
  const bs = INT_BITS[s]!;
  const bu = INT_BITS[u]!;
  if (bu < bs) return s;
  if (bu === 8) return "int16";
  if (bu === 16) return "int32";
  return "float64";
}

/**
 * The result type of an array of dtype `a` with a plain JS number, after NumPy 2 (NEP 50): the
 * number is "weak". An integer keeps an integer or float array's type (and makes a bool array
 * int32, where NumPy says int64); a fractional number makes an integer or bool array float64 and
 * keeps a float array's type. An integer beyond int32 makes a bool array float64 (NumPy: int64).
 */
export function promoteScalar(a: DType, scalar: number | boolean): DType {
  if (typeof scalar === "boolean") return a;
  if (Number.isInteger(scalar)) return a === "bool" ? scalarType(scalar) : a;
  return isFloat(a) ? a : "float64";
}

/**
 * The type a plain number has on its own: int32 for an integer that fits, else float64 (where
 * NumPy says int64; float64 holds the integers JS numbers hold exactly).
 */
export function scalarType(v: number): DType {
  return Number.isInteger(v) && v >= -2147483648 && v <= 2147483647 ? "int32" : "float64";
}

/** The smallest and largest value of an integer dtype. */
export function intRange(dtype: DType): [number, number] {
  const bits = INT_BITS[dtype];
  if (bits === undefined) throw new ArgumentError(`${dtype} is not an integer type`);
  return isSigned(dtype) ? [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1] : [0, 2 ** bits - 1];
}

/** The float type for math functions (sqrt, exp …) of `a`: NumPy's, with float32 where it says float16. */
export function floatFor(a: DType): DType {
  if (a === "float64" || a === "int32" || a === "uint32") return "float64";
  return "float32";
}

/** True division: NumPy's float64 for integers and bools, float32 kept. */
export function divType(a: DType): DType {
  return a === "float32" ? "float32" : "float64";
}

/** The type sums and products accumulate in: float64 for integers and bools (NumPy: int64). */
export function sumType(a: DType): DType {
  return a === "float32" ? "float32" : "float64";
}

/** The type of a mean, variance or standard deviation: float32 for float32, float64 otherwise. */
export function meanType(a: DType): DType {
  return a === "float32" ? "float32" : "float64";
}

/** The dtype a plain JS value suggests (arrays built from numbers are float64, as in NumPy). */
export function dtypeOfValue(v: unknown): DType {
  if (typeof v === "boolean") return "bool";
  return "float64";
}
