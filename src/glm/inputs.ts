// What fit and predict accept, turned into chunked float64 arrays cut by rows: meshwork arrays
// (lazy or persisted, on any scheduler), NDArrays, nested number arrays and typed arrays.

import { AlignmentError, ArgumentError } from "../errors.js";
import { fromArray } from "../array/creation.js";
import { ChunkedArray } from "../array/core.js";
import { NDArray } from "../array/ndarray.js";
import type { TypedArray } from "../array/dtype.js";

/** A design matrix: a chunked array, an NDArray, or rows as number arrays or typed arrays. */
export type MatrixInput = ChunkedArray | NDArray | readonly (readonly number[])[] | readonly TypedArray[];
/** Targets: a chunked array, an NDArray, a typed array or a number array (one per row). */
export type VectorInput = ChunkedArray | NDArray | TypedArray | readonly number[];

/** Plain inputs are cut into blocks of about this many bytes (a few blocks per worker for big data, one for small). */
const PLAIN_BLOCK_BYTES = 16 * 1024 * 1024;

/** X as a 2-d float64 chunked array with one block of columns (recut if it had several). */
export function matrix(X: MatrixInput, rowsPerBlock?: number): ChunkedArray {
  let x: ChunkedArray;
  if (X instanceof ChunkedArray) x = X;
  else {
    const nd = X instanceof NDArray ? X : toNDArray(X);
    if (nd.ndim !== 2)
      throw new ArgumentError(
        `X must be 2-d (rows × columns), got shape [${nd.shape.join(", ")}]${nd.ndim === 1 ? "; one feature is a column: reshape it to [n, 1]" : ""}`,
      );
    x = fromArray(nd, { chunks: [rowsPerBlock ?? plainRows(nd.shape[1]!), -1], dtype: "float64" });
  }
  if (x.ndim !== 2)
    throw new ArgumentError(
      `X must be 2-d (rows × columns), got shape [${x.shape.join(", ")}]${x.ndim === 1 ? "; one feature is a column: x.reshape([-1, 1])" : ""}`,
    );
  if (x.shape[1] === 0) throw new ArgumentError("X has no columns");
  if (x.dtype !== "float64") x = x.astype("float64");
  if (x.numblocks[1] !== 1) x = x.rechunk([[...x.chunks[0]!], [x.shape[1]!]]);
  return x;
}

/** y as a 1-d float64 chunked array cut as X's rows. */
export function targets(y: VectorInput, X: ChunkedArray): ChunkedArray {
  let v: ChunkedArray;
  if (y instanceof ChunkedArray) v = y;
  else {
    const nd =
      y instanceof NDArray
        ? y
        : ArrayBuffer.isView(y)
          ? NDArray.from(y, { dtype: "float64" })
          : NDArray.from(checkNumbers(y), { dtype: "float64" });
    v = fromArray(nd, {
      chunks: nd.ndim === 1 && nd.shape[0] === X.shape[0] ? [[...X.chunks[0]!]] : -1,
      dtype: "float64",
    });
  }
  // A column vector [n, 1] is y too (scikit-learn takes it with a warning).
  if (v.ndim === 2 && v.shape[1] === 1) v = v.reshape([v.shape[0]!]);
  if (v.ndim !== 1) throw new ArgumentError(`y must be 1-d (one target per row), got shape [${v.shape.join(", ")}]`);
  if (v.shape[0] !== X.shape[0])
    throw new AlignmentError(`X has ${X.shape[0]} rows and y has ${v.shape[0]}: they must have one target per row`);
  if (v.dtype !== "float64") v = v.astype("float64");
  // Cut as X's rows: y is small beside X, so y moves.
  const want = [...X.chunks[0]!];
  if (v.chunks[0]!.join() !== want.join()) v = v.rechunk([want]);
  return v;
}

function plainRows(columns: number): number {
  return Math.max(1, Math.floor(PLAIN_BLOCK_BYTES / (8 * Math.max(1, columns))));
}

function toNDArray(rows: readonly (readonly number[])[] | readonly TypedArray[]): NDArray {
  if (!Array.isArray(rows))
    throw new ArgumentError(
      `X must be a chunked array, an NDArray or an array of rows, got ${rows === null ? "null" : typeof rows}`,
    );
  const n = rows.length;
  const p = n > 0 ? (rows[0] as ArrayLike<number>).length : 0;
  const data = new Float64Array(n * p);
  rows.forEach((r: ArrayLike<number>, i: number) => {
    if (r === null || typeof r !== "object" || typeof r.length !== "number")
      throw new ArgumentError(`row ${i} of X is not an array of numbers`);
    if (r.length !== p) throw new ArgumentError(`row ${i} of X has ${r.length} values, row 0 has ${p}`);
    for (let j = 0; j < p; j++) data[i * p + j] = Number(r[j]);
  });
  return new NDArray("float64", [n, p], data);
}

function checkNumbers(y: readonly number[]): number[] {
  if (!Array.isArray(y))
    throw new ArgumentError(
      `y must be a chunked array, an NDArray, a typed array or an array of numbers, got ${y === null ? "null" : typeof y}`,
    );
  return y as number[];
}
