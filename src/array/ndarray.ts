// NDArray: one n-d block of numbers (a chunk of a chunked array, or a computed result). A dtype, a
// shape and strides over one typed array, like a NumPy ndarray. Views (transpose, slicing) share
// the storage. On the wire it is a small header plus one raw frame of its bytes.

import { formatValues } from "./print.js";
import { ArgumentError } from "../errors.js";
import { registerWireClass } from "../protocol/wire-classes.js";
import { POOL_MIN_BYTES, takeBuffer } from "../util/buffer-pool.js";
import { checkDType, dtypeOfStorage, STORAGE, type DType, type TypedArray } from "./dtype.js";
import { selectAxes, type Index } from "./indexing.js";
import { decodeNDArray, encodeNDArray } from "./ndarray-wire.js";

/** Row-major (C order) strides, in elements, for `shape`. */
export function cStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function checkShape(shape: unknown, what = "shape"): number[] {
  const arr = typeof shape === "number" ? [shape] : shape;
  if (!Array.isArray(arr) || !arr.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new ArgumentError(`${what} must be a list of whole numbers ≥ 0, got ${JSON.stringify(shape)}`);
  }
  return [...(arr as number[])];
}

/**
 * Storage for `size` elements: an ordinary ArrayBuffer unless shared allocation is switched on.
 * Shared memory would let blocks cross between threads without a copy, but V8 does not count a
 * SharedArrayBuffer's memory when deciding to collect garbage: x.add(x.T) on 3.2 GB held 7.5 GB
 * at its peak with shared blocks, 0.6 GB with ordinary ones, at the same speed
 * (docs/ARCHITECTURE.md, "Buffers"). Blocks sent to another thread are copied and transferred.
 */
export function allocate(dtype: DType, size: number): TypedArray {
  return storage(dtype, size, true);
}

/**
 * Storage for `size` elements whose values are not set: for callers that write every element.
 * Large storage may be recycled from blocks a worker dropped (util/buffer-pool.ts), and not
 * zeroing it saves a pass over the memory.
 */
export function allocateUninitialized(dtype: DType, size: number): TypedArray {
  return storage(dtype, size, false);
}

function storage(dtype: DType, size: number, zero: boolean): TypedArray {
  const Ctor = STORAGE[dtype];
  const bytes = size * Ctor.BYTES_PER_ELEMENT;
  if (bytes >= SHARED_ALLOCATION_MIN_BYTES && sharedAllocation && typeof SharedArrayBuffer !== "undefined") {
    return new Ctor(new SharedArrayBuffer(bytes), 0, size);
  }
  return bytes >= POOL_MIN_BYTES ? new Ctor(takeBuffer(bytes, zero), 0, size) : new Ctor(size);
}

let sharedAllocation = false;
/** Below this, a copy between threads costs less than setting up shared memory. */
const SHARED_ALLOCATION_MIN_BYTES = 64 * 1024;
/** Turns shared-memory allocation of large blocks on or off (off by default; see allocate). */
export function setSharedAllocation(on: boolean): void {
  sharedAllocation = on;
}

export class NDArray {
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Steps between neighbours along each axis, in elements (may be 0 or negative for views). */
  readonly strides: readonly number[];
  /** Position of element [0, 0, …] in `data`, in elements. */
  readonly offset: number;
  /** The storage; for views, more than the elements of this array. */
  readonly data: TypedArray;

  constructor(dtype: DType, shape: readonly number[], data: TypedArray, strides?: readonly number[], offset = 0) {
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze(strides ? [...strides] : cStrides(shape));
    this.offset = offset;
    this.data = data;
  }

  /** A new array of zeros. */
  static zeros(shape: readonly number[] | number, dtype: DType = "float64"): NDArray {
    const s = checkShape(shape);
    checkDType(dtype);
    return new NDArray(dtype, s, allocate(dtype, sizeOf(s)));
  }

  /**
   * An array from nested JS arrays (`[[1, 2], [3, 4]]`), a typed array (with `shape` to give it
   * more than one dimension), a number or a boolean. Numbers become float64 and booleans bool
   * unless `dtype` says otherwise. The input is copied.
   */
  static from(values: unknown, options: { dtype?: DType; shape?: readonly number[] } = {}): NDArray {
    if (options.dtype !== undefined) checkDType(options.dtype);
    if (values instanceof NDArray)
      return options.dtype && options.dtype !== values.dtype ? castCopy(values, options.dtype) : values.copy();
    if (ArrayBuffer.isView(values)) {
      const fromType = dtypeOfStorage(values);
      if (!fromType) throw new ArgumentError(`cannot make an array from a ${values.constructor.name}`);
      const src = values as TypedArray;
      const shape = options.shape ? checkShape(options.shape) : [src.length];
      if (sizeOf(shape) !== src.length)
        throw new ArgumentError(
          `shape [${shape.join(", ")}] needs ${sizeOf(shape)} elements, the data has ${src.length}`,
        );
      const dtype = options.dtype ?? fromType;
      const out = allocate(dtype, src.length);
      copyConverting(src, out, fromType, dtype);
      return new NDArray(dtype, shape, out);
    }
    const shape: number[] = [];
    let probe: unknown = values;
    while (Array.isArray(probe)) {
      shape.push(probe.length);
      probe = probe[0];
    }
    const flat: unknown[] = shape.length === 0 ? [values] : (values as unknown[]).flat(shape.length - 1);
    if (flat.length !== sizeOf(shape))
      throw new ArgumentError("nested arrays must be rectangular (every row the same length)");
    const dtype = options.dtype ?? (flat.length > 0 && flat.every((v) => typeof v === "boolean") ? "bool" : "float64");
    const out = allocate(dtype, flat.length);
    for (let i = 0; i < flat.length; i++) {
      const v = flat[i];
      if (typeof v !== "number" && typeof v !== "boolean")
        throw new ArgumentError(`arrays hold numbers and booleans; found ${typeof v} at flat position ${i}`);
      // Any number but 0 is true, NaN too (as NumPy's bool(nan)); JS truthiness would say false.
      out[i] = dtype === "bool" ? (v === 0 || v === false ? 0 : 1) : Number(v);
    }
    const final = options.shape ? checkShape(options.shape) : shape;
    if (sizeOf(final) !== flat.length)
      throw new ArgumentError(
        `shape [${final.join(", ")}] needs ${sizeOf(final)} elements, the data has ${flat.length}`,
      );
    return new NDArray(dtype, final, out);
  }

  get ndim(): number {
    return this.shape.length;
  }

  get size(): number {
    return sizeOf(this.shape);
  }

  get nbytes(): number {
    return this.size * this.data.BYTES_PER_ELEMENT;
  }

  /** Whether the elements sit in row-major order with no gaps (then `data` can be read flat from `offset`). */
  get isContiguous(): boolean {
    let s = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      const d = this.shape[i]!;
      if (d !== 1 && this.strides[i] !== s) return false;
      s *= d;
    }
    return true;
  }

  /** The element at an integer position on every axis (negative counts from the end). */
  get(...index: number[]): number | boolean {
    if (index.length !== this.ndim) throw new ArgumentError(`get needs ${this.ndim} indices, got ${index.length}`);
    let p = this.offset;
    for (let a = 0; a < index.length; a++) {
      const n = this.shape[a]!;
      let i = index[a]!;
      if (!Number.isInteger(i)) throw new ArgumentError(`index ${i} on axis ${a} is not an integer`);
      if (i < 0) i += n;
      if (i < 0 || i >= n) throw new ArgumentError(`index ${index[a]} is out of bounds for axis ${a} with size ${n}`);
      p += i * this.strides[a]!;
    }
    return this.dtype === "bool" ? this.data[p] !== 0 : this.data[p]!;
  }

  /** The single element of a one-element array. */
  item(): number | boolean {
    if (this.size !== 1) throw new ArgumentError(`item() needs an array of one element; this one has ${this.size}`);
    return this.dtype === "bool" ? this.data[this.offset] !== 0 : this.data[this.offset]!;
  }

  /** The elements in row-major order as a typed array (bool as 0/1 bytes); no copy when contiguous. */
  toTypedArray(): TypedArray {
    if (this.isContiguous) return this.data.subarray(this.offset, this.offset + this.size) as TypedArray;
    return this.copy().data;
  }

  /** Nested JS arrays of numbers (or booleans). A 0-d array gives its element. */
  toArray(): unknown {
    const flat = this.toTypedArray();
    const bool = this.dtype === "bool";
    let pos = 0;
    const build = (axis: number): unknown => {
      if (axis === this.ndim) {
        const v = flat[pos++]!;
        return bool ? v !== 0 : v;
      }
      const out = new Array<unknown>(this.shape[axis]!);
      for (let i = 0; i < out.length; i++) out[i] = build(axis + 1);
      return out;
    };
    return build(0);
  }

  /** A contiguous copy in storage of its own. */
  copy(): NDArray {
    const out = allocateUninitialized(this.dtype, this.size);
    copyStrided(this, out);
    return new NDArray(this.dtype, this.shape, out);
  }

  /** This array itself if contiguous, else a contiguous copy. */
  contiguous(): NDArray {
    return this.isContiguous ? this : this.copy();
  }

  /** A view with the axes permuted (reversed by default). */
  transpose(axes?: readonly number[]): NDArray {
    const order = axes ? normalizeAxes(axes, this.ndim, true) : [...this.shape.keys()].reverse();
    return new NDArray(
      this.dtype,
      order.map((a) => this.shape[a]!),
      this.data,
      order.map((a) => this.strides[a]!),
      this.offset,
    );
  }

  get T(): NDArray {
    return this.transpose();
  }

  /** A view of a part: integers, ranges ("1:10:2", {start, stop, step}), null for a whole axis, "...". */
  slice(...index: Index[]): NDArray {
    const sel = selectAxes(index, this.shape);
    let offset = this.offset;
    const shape: number[] = [];
    const strides: number[] = [];
    sel.forEach((s, a) => {
      const stride = this.strides[a]!;
      if (s.kind === "int") {
        offset += s.index * stride;
      } else {
        if (s.length > 0) offset += s.start * stride;
        shape.push(s.length);
        strides.push(s.step * stride);
      }
    });
    return new NDArray(this.dtype, shape, this.data, strides, offset);
  }

  /** The same elements in another shape (a view when contiguous, else a copy); one -1 is inferred. */
  reshape(shape: readonly number[]): NDArray {
    const s = inferShape(shape, this.size);
    const src = this.contiguous();
    return new NDArray(this.dtype, s, src.data, cStrides(s), src.offset);
  }

  /** Its type, shape and values, as NumPy prints them (a summary past 1,000 elements; see setPrintOptions). */
  toString(): string {
    const values = formatValues(this);
    return `NDArray<${this.dtype}>[${this.shape.join(", ")}]${values.includes("\n") ? "\n" : " "}${values}`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/** Resolves one -1 in `shape` against `size`, and checks the total. */
export function inferShape(shape: readonly number[], size: number): number[] {
  if (!Array.isArray(shape)) throw new ArgumentError(`shape must be a list of integers, got ${JSON.stringify(shape)}`);
  const unknown = shape.filter((d) => d === -1).length;
  if (unknown > 1 || !shape.every((d) => Number.isInteger(d) && d >= -1))
    throw new ArgumentError(`bad shape [${shape.join(", ")}]: whole numbers, at most one -1`);
  const known = sizeOf(shape.filter((d) => d !== -1));
  const out = shape.map((d) => (d === -1 ? (known === 0 ? 0 : size / known) : d));
  if (!out.every(Number.isInteger) || sizeOf(out) !== size)
    throw new ArgumentError(`cannot reshape an array of ${size} elements into shape [${shape.join(", ")}]`);
  return out;
}

/** Normalizes axis numbers (negative count from the end); `permutation` demands each axis once. */
export function normalizeAxes(axes: readonly number[], ndim: number, permutation = false): number[] {
  const out = axes.map((a) => {
    if (!Number.isInteger(a) || a < -ndim || a >= ndim)
      throw new ArgumentError(`axis ${a} is out of range for an array of ${ndim} dimension${ndim === 1 ? "" : "s"}`);
    return a < 0 ? a + ndim : a;
  });
  if (new Set(out).size !== out.length) throw new ArgumentError(`repeated axis in [${axes.join(", ")}]`);
  if (permutation && out.length !== ndim)
    throw new ArgumentError(`axes [${axes.join(", ")}] must name each of the ${ndim} axes once`);
  return out;
}

/** Copies `src`'s elements in row-major order into `out` (same element type). */
export function copyStrided(src: NDArray, out: TypedArray): void {
  const n = src.size;
  if (n === 0) return;
  if (src.isContiguous) {
    out.set(src.data.subarray(src.offset, src.offset + n));
    return;
  }
  const nd = src.ndim;
  const shape = src.shape;
  const strides = src.strides;
  const data = src.data;
  const inner = shape[nd - 1]!;
  const innerStride = strides[nd - 1]!;
  const idx = new Array<number>(nd).fill(0);
  let p = src.offset;
  let o = 0;
  for (;;) {
    for (let j = 0, q = p; j < inner; j++, q += innerStride) out[o++] = data[q]!;
    let a = nd - 2;
    for (; a >= 0; a--) {
      p += strides[a]!;
      if (++idx[a]! < shape[a]!) break;
      p -= strides[a]! * shape[a]!;
      idx[a] = 0;
    }
    if (a < 0) return;
  }
}

/** Converts element values into another type's storage, with NumPy's casts (truncation, wrapping). */
export function copyConverting(src: TypedArray, out: TypedArray, from: DType, to: DType): void {
  if (from === to || (to !== "bool" && (from === "bool" || sameFamily(from, to)))) {
    out.set(src);
    return;
  }
  const n = src.length;
  if (to === "bool") {
    for (let i = 0; i < n; i++) out[i] = src[i] !== 0 ? 1 : 0; // NaN is true, as in NumPy
  } else {
    // Typed-array stores already truncate toward zero and wrap modulo 2^bits; NaN becomes 0.
    for (let i = 0; i < n; i++) out[i] = src[i]!;
  }
}

function sameFamily(a: DType, b: DType): boolean {
  return (a === "float64" || a === "float32") && (b === "float64" || b === "float32");
}

function castCopy(a: NDArray, dtype: DType): NDArray {
  const c = a.contiguous();
  const out = allocateUninitialized(dtype, a.size);
  copyConverting(c.toTypedArray(), out, a.dtype, dtype);
  return new NDArray(dtype, a.shape, out);
}

// On the wire: a small header plus one raw frame of its bytes (ndarray-wire.ts).
registerWireClass<NDArray>({ name: "NDArray", Class: NDArray, encode: encodeNDArray, decode: decodeNDArray });
