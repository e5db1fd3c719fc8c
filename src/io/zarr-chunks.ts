// What runs on the worker that holds a task of fromZarr or toZarr: reading the storage chunks a
// block covers, straight from the store (a file in Node, a URL anywhere), and encoding and storing
// one chunk. The client never carries the data.

import type * as zarr from "zarrita";
import { FormatError } from "../errors.js";
import { STORAGE, type DType, type TypedArray } from "../array/dtype.js";
import { assign } from "../array/kernels/expr.js";
import { allocate, allocateUninitialized, NDArray, sizeOf } from "../array/ndarray.js";
import { convertValues } from "./dtypes.js";
import { realmStores, type Stores } from "./store.js";
import { codecFor } from "./zarr-codecs.js";
import { leaseScratch } from "../util/scratch.js";
import { describeArray, explain, openZarrArray, type ReadOptions, type ZarrArray } from "./zarr-store.js";

/** A block of an array in a Zarr store: which array, as planned on the client, and which region. */
export interface ZarrReadSpec {
  url: string;
  path: string;
  format: 2 | 3;
  /** The array's shape, storage chunks and data type when the client planned (checked against the store). */
  shape: number[];
  chunks: number[];
  dataType: string;
  /** The block's dtype (the store's, or what the user asked to convert to). */
  dtype: DType;
  /** The block's region: [start, stop) along each axis. */
  start: number[];
  stop: number[];
}

/** Reads one block: the storage chunks it covers, decoded, trimmed to the block. */
export async function readZarrBlock(spec: ZarrReadSpec, stores: Stores = realmStores): Promise<NDArray> {
  const where = describeArray(spec.url, spec.path);
  const arr = await openZarrArray(spec.url, spec.path, spec.format, stores);
  if (
    arr.dtype !== spec.dataType ||
    arr.shape.join() !== spec.shape.join() ||
    arr.chunks.join() !== spec.chunks.join()
  ) {
    throw new FormatError(
      `${where} changed since it was opened: now ${arr.dtype} [${arr.shape}] in chunks [${arr.chunks}], planned as ${spec.dataType} [${spec.shape}] in [${spec.chunks}]; open it again`,
    );
  }
  const nd = spec.shape.length;
  const first = spec.start.map((s, a) => Math.floor(s / spec.chunks[a]!));
  const last = spec.stop.map((s, a) => Math.max(first[a]!, Math.ceil(s / spec.chunks[a]!) - 1));
  const blockShape = spec.stop.map((s, a) => s - spec.start[a]!);
  if (nd === 0) return convert(await chunkArray(arr, [], where), spec.dtype);

  // One chunk: the block is a view of it (edge chunks are stored whole; the view trims them).
  if (first.every((c, a) => c === last[a])) {
    const chunk = await chunkArray(arr, first, where);
    const view = chunk.slice(
      ...spec.start.map((s, a) => ({
        start: s - first[a]! * spec.chunks[a]!,
        stop: spec.stop[a]! - first[a]! * spec.chunks[a]!,
      })),
    );
    return convert(view, spec.dtype);
  }
  const out = new NDArray(spec.dtype, blockShape, allocateUninitialized(spec.dtype, sizeOf(blockShape)));
  const coords: number[][] = [];
  const walk = (axis: number, prefix: number[]): void => {
    if (axis === nd) coords.push(prefix);
    else for (let c = first[axis]!; c <= last[axis]!; c++) walk(axis + 1, [...prefix, c]);
  };
  walk(0, []);
  for (const c of coords) {
    const chunk = await chunkArray(arr, c, where);
    // The part of this chunk inside the block, in chunk and in block coordinates.
    const lo = c.map((ci, a) => Math.max(spec.start[a]!, ci * spec.chunks[a]!));
    const hi = c.map((ci, a) => Math.min(spec.stop[a]!, (ci + 1) * spec.chunks[a]!));
    const src = chunk.slice(
      ...lo.map((l, a) => ({ start: l - c[a]! * spec.chunks[a]!, stop: hi[a]! - c[a]! * spec.chunks[a]! })),
    );
    const dst = out.slice(...lo.map((l, a) => ({ start: l - spec.start[a]!, stop: hi[a]! - spec.start[a]! })));
    assignConverting(dst, src);
  }
  return out;
}

/**
 * One decoded storage chunk as an NDArray of the store's type (bigint types as float64). The
 * compressed bytes are read into the thread's scratch buffer (util/scratch.ts): decoding makes
 * storage of its own, and a chunk whose values are still the bytes read (no compressor) is copied
 * out before the buffer is given back.
 */
async function chunkArray(arr: ZarrArray, coords: number[], where: string): Promise<NDArray> {
  let chunk: zarr.Chunk<zarr.DataType>;
  const lease = leaseScratch();
  try {
    const options: ReadOptions = { into: (size) => lease.take(size) };
    chunk = await arr.getChunk(coords, options as never);
    const data = chunk.data as unknown as ArrayBufferView & { slice(): typeof chunk.data };
    if (ArrayBuffer.isView(data) && lease.holds(data)) chunk = { ...chunk, data: data.slice() };
  } catch (err) {
    throw explain(err, `${where} chunk (${coords.join(", ")})`);
  } finally {
    lease.release();
  }
  const expected = sizeOf(arr.chunks);
  const data = chunk.data as unknown as ArrayLike<number> & {
    buffer: ArrayBufferLike;
    byteOffset: number;
    BYTES_PER_ELEMENT?: number;
  };
  if (data.length !== expected) {
    throw new FormatError(
      `${where} chunk (${coords.join(", ")}) holds ${data.length} values, not the ${expected} of its shape [${arr.chunks}]: it is truncated or corrupt`,
    );
  }
  let storage: TypedArray;
  let dtype: DType;
  if (arr.dtype === "bool") {
    storage = new Uint8Array(data.buffer, data.byteOffset, data.length);
    dtype = "bool";
  } else if (arr.dtype === "int64" || arr.dtype === "uint64") {
    storage = new Float64Array(data.length);
    convertValues(data as never, storage);
    dtype = "float64";
  } else {
    storage = data as unknown as TypedArray;
    dtype = arr.dtype as DType;
  }
  return new NDArray(dtype, chunk.shape, storage, chunk.stride, 0);
}

function convert(a: NDArray, dtype: DType): NDArray {
  if (a.dtype === dtype) return a;
  const out = new NDArray(dtype, a.shape, allocate(dtype, a.size));
  assignConverting(out, a);
  return out;
}

/** `assign`, with booleans made 0 or 1 (the elementwise cast does that; plain stores would not). */
function assignConverting(dst: NDArray, src: NDArray): void {
  assign(dst, src);
}

// ---- writing ----

export interface ZarrWriteSpec {
  url: string;
  path: string;
  format: 2 | 3;
  /** The stored data type (v3 names: "float32", "bool" …) and the chunks' shape. */
  dataType: string;
  chunks: number[];
  /** v2: "." between chunk indices; v3: "c/i/j". */
  separator: "." | "/";
  /** The compressor as a v3 codec name and configuration, or null. */
  compressor: { name: string; configuration: unknown } | null;
  fillValue: number | boolean;
  /** Which chunk this block is. */
  index: number[];
}

/** Encodes a block as the chunk at `spec.index` (edge blocks padded with the fill value) and stores it; returns the bytes stored. */
export async function writeZarrChunk(
  spec: ZarrWriteSpec,
  block: NDArray,
  stores: Stores = realmStores,
): Promise<number> {
  const dtype = block.dtype;
  const full = sizeOf(spec.chunks);
  let data: TypedArray;
  if (block.shape.every((d, a) => d === spec.chunks[a]) || spec.chunks.length === 0) {
    const c = block.contiguous();
    data = c.data.subarray(c.offset, c.offset + c.size) as TypedArray;
  } else {
    data = new STORAGE[dtype](full);
    const fill = typeof spec.fillValue === "boolean" ? Number(spec.fillValue) : spec.fillValue;
    if (fill !== 0) data.fill(fill);
    const padded = new NDArray(dtype, spec.chunks, data);
    assign(padded.slice(...block.shape.map((d) => ({ start: 0, stop: d }))), block);
  }
  let bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (spec.compressor) {
    const codec = await codecFor(spec.compressor.name, spec.compressor.configuration, spec.dataType);
    bytes = await codec.encode(bytes);
  }
  const key =
    spec.format === 2
      ? `${spec.path ? `${spec.path}/` : ""}${spec.index.length ? spec.index.join(spec.separator) : "0"}`
      : `${spec.path ? `${spec.path}/` : ""}c${spec.index.map((i) => `/${i}`).join("")}`;
  await stores.open(spec.url).set(key, bytes);
  return bytes.length;
}
