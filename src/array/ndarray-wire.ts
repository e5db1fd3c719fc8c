// An NDArray on the wire: { dtype, shape, strides?, offset?, data } with `data` one raw frame. A
// view travels as its span when that is not much bigger than its elements; a header is checked
// against its data before anything reads it.

import { ArgumentError } from "../errors.js";
import { checkDType, STORAGE, type DType, type TypedArray } from "./dtype.js";
import { checkShape, cStrides, NDArray, sizeOf } from "./ndarray.js";

interface NDArrayFields {
  dtype: DType;
  shape: number[];
  data: TypedArray;
  strides?: number[];
  offset?: number;
}

/** A view whose storage span is at most this many times its elements travels as the span, else as a copy. */
const SPAN_SLACK = 2;

/** An NDArray as header fields: a view as its span where that is small enough, else a contiguous copy. */
export function encodeNDArray(a: NDArray): NDArrayFields {
  const size = a.size;
  if (a.isContiguous) return { dtype: a.dtype, shape: [...a.shape], data: a.data.subarray(a.offset, a.offset + size) };
  let lo = a.offset;
  let hi = a.offset;
  a.shape.forEach((n, i) => {
    const step = (n - 1) * a.strides[i]!;
    if (step < 0) lo += step;
    else hi += step;
  });
  if (size === 0 || hi - lo + 1 > SPAN_SLACK * size)
    return { dtype: a.dtype, shape: [...a.shape], data: a.copy().data };
  return {
    dtype: a.dtype,
    shape: [...a.shape],
    strides: [...a.strides],
    offset: a.offset - lo,
    data: a.data.subarray(lo, hi + 1),
  };
}

/** An NDArray from header fields off the wire, its dtype, shape and bounds checked (ArgumentError). */
export function decodeNDArray(fields: unknown): NDArray {
  const f = fields as NDArrayFields;
  const dtype = checkDType(f?.dtype);
  const shape = checkShape(f.shape);
  const Ctor = STORAGE[dtype];
  if (!(f.data instanceof Ctor)) {
    throw new ArgumentError(`NDArray data does not match its dtype ${dtype}`);
  }
  const strides = f.strides ?? cStrides(shape);
  const offset = f.offset ?? 0;
  if (!checkBounds(shape, strides, offset, f.data.length))
    throw new ArgumentError("NDArray header points outside its data");
  return new NDArray(dtype, shape, f.data, strides, offset);
}

/** Whether every element a header describes lies inside storage of `length` elements. */
function checkBounds(shape: readonly number[], strides: readonly number[], offset: number, length: number): boolean {
  if (strides.length !== shape.length || !Number.isInteger(offset)) return false;
  if (sizeOf(shape) === 0) return true;
  let lo = offset;
  let hi = offset;
  for (let i = 0; i < shape.length; i++) {
    if (!Number.isInteger(strides[i])) return false;
    const step = (shape[i]! - 1) * strides[i]!;
    if (step < 0) lo += step;
    else hi += step;
  }
  return lo >= 0 && hi < length;
}
