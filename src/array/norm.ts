// meshwork/array's `linalg` namespace: norms of vectors and matrices (NumPy's np.linalg.norm),
// built from elementwise programs and tree reductions, so |x|², the sum and the square root of a
// vector norm are one pass over each block.

import { ArgumentError, NotSupportedError } from "../errors.js";
import { ChunkedArray } from "./core.js";
import { isFloat } from "./dtype.js";
import { normalizeAxes } from "./ndarray.js";

export interface NormOptions {
  /**
   * Which norm. Vectors: 2 (default), 1, Infinity (largest |x|), -Infinity (smallest), 0 (how many
   * are not 0) or any other p: (Σ|x|^p)^(1/p). Matrices: "fro" (default), 1 / -1 (largest /
   * smallest column sum of |x|), Infinity / -Infinity (row sums). The matrix 2-norm and the
   * nuclear norm need singular values, which meshwork does not compute yet.
   */
  ord?: number | "fro" | null;
  /**
   * One axis (vector norms along it), two axes (matrix norms over them), or null (default): the
   * whole array as a vector when `ord` is not given, else a 1-d array as a vector and a 2-d array
   * as a matrix.
   */
  axis?: number | readonly [number, number] | null;
  /** Keep the reduced axes as length 1. Default false. */
  keepdims?: boolean;
}

/**
 * The norm of `x` (NumPy's np.linalg.norm): `linalg.norm(x)` is √Σx² over every element.
 * Integer and bool arrays are converted to float64 first, as NumPy does; float32 stays float32.
 */
export function norm(x: ChunkedArray, options: NormOptions = {}): ChunkedArray {
  if (!(x instanceof ChunkedArray)) throw new ArgumentError("linalg.norm takes a chunked array");
  if (typeof options !== "object" || options === null)
    throw new ArgumentError(`linalg.norm options must be an object like { ord: 1, axis: 0 }, got ${String(options)}`);
  const { ord = null, axis = null, keepdims = false } = options;
  const a = isFloat(x.dtype) ? x : x.astype("float64");
  if (axis === null && ord === null) return a.mul(a).sum({ keepdims }).sqrt();
  let axes: number[];
  if (axis === null) {
    if (a.ndim !== 1 && a.ndim !== 2)
      throw new ArgumentError(`linalg.norm with an ord needs a 1-d or 2-d array, or an axis; got ${a.ndim} dimensions`);
    axes = [...Array(a.ndim).keys()];
  } else {
    axes = normalizeAxes(typeof axis === "number" ? [axis] : [...axis], a.ndim);
    if (axes.length < 1 || axes.length > 2 || new Set(axes).size !== axes.length)
      throw new ArgumentError(`linalg.norm takes one axis or two different axes, got ${JSON.stringify(axis)}`);
  }
  return axes.length === 1
    ? vectorNorm(a, axes[0]!, ord, keepdims)
    : matrixNorm(a, axes as [number, number], ord, keepdims);
}

function vectorNorm(a: ChunkedArray, axis: number, ord: NormOptions["ord"], keepdims: boolean): ChunkedArray {
  const o = { axis, keepdims };
  if (ord === null || ord === 2) return a.mul(a).sum(o).sqrt();
  if (typeof ord !== "number" || Number.isNaN(ord))
    throw new ArgumentError(`a vector norm's ord must be a number, got ${JSON.stringify(ord)}`);
  if (ord === Infinity) return a.abs().max(o);
  if (ord === -Infinity) return a.abs().min(o);
  if (ord === 0) return a.ne(0).astype(a.dtype).sum(o);
  if (ord === 1) return a.abs().sum(o);
  return a
    .abs()
    .pow(ord)
    .sum(o)
    .pow(1 / ord);
}

function matrixNorm(
  a: ChunkedArray,
  [rowAxis, colAxis]: [number, number],
  ord: NormOptions["ord"],
  keepdims: boolean,
): ChunkedArray {
  if (ord === null || ord === "fro")
    return a
      .mul(a)
      .sum({ axis: [rowAxis, colAxis], keepdims })
      .sqrt();
  if (ord === 2 || ord === -2 || (ord as unknown) === "nuc")
    throw new NotSupportedError(
      `the matrix norm ord ${JSON.stringify(ord)} needs singular values, which meshwork does not compute yet; "fro", 1, -1, Infinity and -Infinity are available`,
    );
  if (ord !== 1 && ord !== -1 && ord !== Infinity && ord !== -Infinity)
    throw new ArgumentError(
      `a matrix norm's ord must be "fro", 1, -1, Infinity or -Infinity, got ${JSON.stringify(ord)}`,
    );
  // 1-norms sum down the columns (over the row axis) and take the largest; inf-norms sum rows.
  const [sumAxis, pickAxis] = ord === 1 || ord === -1 ? [rowAxis, colAxis] : [colAxis, rowAxis];
  const sums = a.abs().sum({ axis: sumAxis, keepdims: true });
  const pick = { axis: pickAxis, keepdims: true };
  const r = ord > 0 ? sums.max(pick) : sums.min(pick);
  if (keepdims) return r;
  // Both axes were kept as length 1: drop them.
  return r.reshape(r.shape.filter((_, k) => k !== rowAxis && k !== colAxis));
}
