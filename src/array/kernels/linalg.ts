// Contractions of blocks: matmul and tensordot on one pair of blocks. Partial products are float64
// (a later task adds the partials over the contracted blocks, then casts to the result's dtype);
// for int32 and uint32 results they are taken modulo 2^32 first, so the answer wraps as NumPy's.

import { ArgumentError } from "../../errors.js";
import { promote, type DType } from "../dtype.js";
import { allocate, NDArray } from "../ndarray.js";
import { cast } from "./reduce.js";

/** C = A · B for 2-d blocks, in float64; the loop order (i, k, j) walks both B and C by rows. */
export function matmul2d(a: NDArray, b: NDArray): NDArray {
  if (a.ndim !== 2 || b.ndim !== 2) throw new ArgumentError("matmul2d takes 2-d blocks");
  const [m, k] = a.shape as [number, number];
  const [k2, n] = b.shape as [number, number];
  if (k !== k2) throw new ArgumentError(`cannot multiply blocks of shapes [${m}, ${k}] and [${k2}, ${n}]`);
  const A = toF64(a);
  const B = toF64(b);
  // Skipping zeros of A skips rows of B, which is only right when B holds no NaN or infinity.
  const skipZeros = !hasNonFinite(B);
  const C = allocate("float64", m * n) as Float64Array;
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    for (let p = 0; p < k; p++) {
      const aip = A[i * k + p]!;
      if (skipZeros && aip === 0) continue;
      const bp = p * n;
      for (let j = 0; j < n; j++) C[ci + j] = C[ci + j]! + aip * B[bp + j]!;
    }
  }
  return new NDArray("float64", [m, n], C);
}

/**
 * C = A · B modulo 2^32, as a float64 block of the low 32 bits read as signed: for blocks whose
 * result type is int32 or uint32. NumPy's integer arithmetic wraps at every step; sums in float64
 * would round away the low bits once they pass 2^53 (int32 products reach 2^62), and the later
 * float64 sum of a few such partials, cast to the result type, wraps to the same answer.
 */
function matmul2dWrapping(a: NDArray, b: NDArray, m: number, k: number, n: number): NDArray {
  const A = toF64(a);
  const B = toF64(b);
  const acc = new Int32Array(m * n);
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    for (let p = 0; p < k; p++) {
      const aip = A[i * k + p]!;
      if (aip === 0) continue;
      const bp = p * n;
      for (let j = 0; j < n; j++) acc[ci + j] = (acc[ci + j]! + Math.imul(aip, B[bp + j]!)) | 0;
    }
  }
  const C = allocate("float64", m * n);
  C.set(acc);
  return new NDArray("float64", [m, n], C);
}

function hasNonFinite(x: Float64Array): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) return true;
  return false;
}

/** The block's elements in row-major order as float64 (a copy unless it already is). */
function toF64(a: NDArray): Float64Array {
  const c = a.contiguous().toTypedArray();
  if (c instanceof Float64Array) return c;
  return Float64Array.from(c);
}

/**
 * tensordot of two blocks over the given axes: the contracted axes of `a` (in order) meet those of
 * `b`; the result has a's free axes then b's. Float64, or `dtype` when given (a product that is
 * the whole sum: one pair of blocks along the contracted axes).
 */
export function tensordotBlocks(a: NDArray, b: NDArray, axesA: number[], axesB: number[], dtype?: DType): NDArray {
  const freeA = [...Array(a.ndim).keys()].filter((x) => !axesA.includes(x));
  const freeB = [...Array(b.ndim).keys()].filter((x) => !axesB.includes(x));
  const m = freeA.reduce((p, x) => p * a.shape[x]!, 1);
  const n = freeB.reduce((p, x) => p * b.shape[x]!, 1);
  const k = axesA.reduce((p, x) => p * a.shape[x]!, 1);
  const k2 = axesB.reduce((p, x) => p * b.shape[x]!, 1);
  if (k !== k2) throw new ArgumentError("contracted axes have different lengths");
  const wraps = ["int32", "uint32"].includes(promote(a.dtype, b.dtype));
  let c: NDArray;
  if (!wraps && a.ndim === 2 && b.ndim === 1 && axesA.length === 1) c = matrixVector(a, axesA[0]!, b);
  else if (!wraps && a.ndim === 1 && b.ndim === 2 && axesB.length === 1) c = matrixVector(b, axesB[0]!, a);
  else {
    const a2 = a.transpose([...freeA, ...axesA]).reshape([m, k]);
    const b2 = b.transpose([...axesB, ...freeB]).reshape([k, n]);
    c = wraps ? matmul2dWrapping(a2, b2, m, k, n) : matmul2d(a2, b2);
  }
  c = c.reshape([...freeA.map((x) => a.shape[x]!), ...freeB.map((x) => b.shape[x]!)]);
  return dtype === undefined ? c : cast(c, dtype);
}

/**
 * A matrix block times a vector block along axis `axis` of the matrix (1: M·v, 0: Mᵀ·v), in
 * float64, read in place through the strides (a row-chunked X and its transpose need no copy).
 * Each output element adds its products in the order matmul2d does, so the bits are the same.
 */
function matrixVector(mat: NDArray, axis: number, vec: NDArray): NDArray {
  const [r, c] = mat.shape as [number, number];
  const M = mat.data;
  const [s0, s1] = mat.strides as [number, number];
  const o = mat.offset;
  const V = vec.data;
  const sv = vec.strides[0]!;
  const ov = vec.offset;
  if (axis === 1) {
    const out = allocate("float64", r) as Float64Array;
    for (let i = 0; i < r; i++) {
      let acc = 0;
      let pm = o + i * s0;
      let pv = ov;
      for (let j = 0; j < c; j++) {
        acc += M[pm]! * V[pv]!;
        pm += s1;
        pv += sv;
      }
      out[i] = acc;
    }
    return new NDArray("float64", [r], out);
  }
  const out = allocate("float64", c) as Float64Array;
  for (let i = 0; i < r; i++) {
    const vi = V[ov + i * sv]!;
    let pm = o + i * s0;
    for (let j = 0; j < c; j++) {
      out[j] = out[j]! + M[pm]! * vi;
      pm += s1;
    }
  }
  return new NDArray("float64", [c], out);
}
