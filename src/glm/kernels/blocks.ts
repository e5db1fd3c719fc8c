// Reading a row block as flat float64 storage (a copy only for a view or another dtype).

import { ArgumentError } from "../../errors.js";
import { NDArray } from "../../array/ndarray.js";

/** A 2-d block as row-major float64 storage: [data, offset, rows, columns]. */
export function rows(x: NDArray): [Float64Array, number, number, number] {
  if (!(x instanceof NDArray) || x.ndim !== 2)
    throw new ArgumentError(
      `X's blocks must be 2-d arrays, got ${x instanceof NDArray ? `[${x.shape.join(", ")}]` : typeof x}`,
    );
  const [n, p] = x.shape as [number, number];
  const a = x.dtype === "float64" && x.isContiguous ? x : NDArray.from(x, { dtype: "float64" });
  return [a.data as Float64Array, a.offset, n, p];
}

/** A 1-d block of `n` values as float64 storage: [data, offset]. */
export function vector(y: NDArray, n: number): [Float64Array, number] {
  if (!(y instanceof NDArray) || y.ndim !== 1 || y.shape[0] !== n)
    throw new ArgumentError(
      `y's block has shape ${y instanceof NDArray ? `[${y.shape.join(", ")}]` : typeof y}, X's block ${n} rows`,
    );
  const a = y.dtype === "float64" && y.strides[0] === 1 ? y : NDArray.from(y, { dtype: "float64" });
  return [a.data as Float64Array, a.offset];
}
