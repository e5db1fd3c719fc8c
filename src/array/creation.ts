// Making chunked arrays: from data in hand, filled with a value, ranges, and random numbers that
// are the same for a seed however the array is cut.

import { checkKnownOptions } from "../client/arguments.js";
import { ArgumentError } from "../errors.js";
import { LayeredGraph, Literal, Task, type GraphNode } from "../graph/task.js";
import { hash64, randomId } from "../util/ids.js";
import { blockIndices, normalizeChunks, offsets, type ChunksSpec } from "./chunks.js";
import { ChunkedArray } from "./core.js";
import { tokenName } from "./names.js";
import { checkDType, type DType } from "./dtype.js";
import { K } from "./kernels/register.js";
import { checkShape, NDArray } from "./ndarray.js";

export interface ChunkOptions {
  /** How to cut it into blocks (default "auto": blocks near 128 MiB). */
  chunks?: ChunksSpec;
}

export interface CreateOptions extends ChunkOptions {
  dtype?: DType;
}

/** Refuses unknown options (a misspelt `dtpye` would otherwise be ignored) for `fn`, which also takes `extra`. */
function checkCreateOptions(fn: string, options: object, extra: readonly string[] = []): void {
  checkKnownOptions(`${fn} options`, options, ["dtype", "chunks", ...extra]);
}

/** Builds an array whose block at each index is the node `make(index, blockShape, blockStart)`. */
function blockwise(
  name: string,
  shape: number[],
  chunksSpec: ChunksSpec | undefined,
  dtype: DType,
  make: (shape: number[], start: number[]) => GraphNode,
): ChunkedArray {
  const chunks = normalizeChunks(chunksSpec, shape, dtype);
  const offs = chunks.map(offsets);
  const layer = new Map<string, GraphNode>();
  const arr = new ChunkedArray(LayeredGraph.of(name, layer), name, chunks, dtype);
  for (const idx of blockIndices(arr.numblocks)) {
    layer.set(
      arr.key(idx),
      make(
        idx.map((b, a) => chunks[a]![b]!),
        idx.map((b, a) => offs[a]![b]!),
      ),
    );
  }
  return arr;
}

/**
 * A chunked array from data in hand: an NDArray, nested JS arrays, or a typed array (with
 * `shape` for more than one dimension). The data is copied into the graph, one block per task.
 */
export function fromArray(data: unknown, options: CreateOptions & { shape?: number[] } = {}): ChunkedArray {
  checkCreateOptions("fromArray", options, ["shape"]);
  const nd =
    data instanceof NDArray && !options.dtype && !options.shape
      ? data
      : NDArray.from(data, { dtype: options.dtype, shape: options.shape });
  const c = nd.contiguous();
  const bytes = c.toTypedArray();
  const name = `array-${hash64(JSON.stringify([c.dtype, c.shape, options.chunks ?? "auto"]), new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))}`;
  return blockwise(
    name,
    [...c.shape],
    options.chunks,
    c.dtype,
    (shape, start) =>
      // Copies: the graph must not change when the caller later writes to its array.
      new Literal((c.ndim === 0 ? c : c.slice(...start.map((s, a) => ({ start: s, stop: s + shape[a]! })))).copy()),
  );
}

/** An array of `shape` filled with `value`. */
export function full(
  shape: readonly number[] | number,
  value: number | boolean,
  options: CreateOptions = {},
): ChunkedArray {
  checkCreateOptions("full", options);
  const s = checkShape(shape);
  if (typeof value !== "number" && typeof value !== "boolean")
    throw new ArgumentError(`full needs a number or boolean fill value, got ${typeof value}`);
  const dtype = options.dtype ? checkDType(options.dtype) : typeof value === "boolean" ? "bool" : "float64";
  const v = typeof value === "boolean" ? (value ? 1 : 0) : value;
  const name = tokenName("full", s, v, dtype, options.chunks ?? "auto");
  return blockwise(name, s, options.chunks, dtype, (shape) => new Task(K.full, [{ shape, dtype, value: v }]));
}

export function zeros(shape: readonly number[] | number, options: CreateOptions = {}): ChunkedArray {
  return full(shape, 0, options);
}

export function ones(shape: readonly number[] | number, options: CreateOptions = {}): ChunkedArray {
  return full(shape, 1, options);
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/**
 * Evenly spaced values in [start, stop): `arange(stop)`, `arange(start, stop)`,
 * `arange(start, stop, step)`, each with options last (`arange(6, { dtype: "int8" })`). int32 when
 * all three are integers (NumPy: int64), else float64, unless `dtype` says otherwise.
 */
export function arange(stop: number, options?: CreateOptions): ChunkedArray;
export function arange(start: number, stop: number, options?: CreateOptions): ChunkedArray;
export function arange(start: number, stop?: number, step?: number, options?: CreateOptions): ChunkedArray;
export function arange(...args: (number | CreateOptions | undefined)[]): ChunkedArray {
  const tail = args[args.length - 1];
  const options =
    ((typeof tail === "object" && tail !== null ? args.pop() : undefined) as CreateOptions | undefined) ?? {};
  while (args.length > 0 && args[args.length - 1] === undefined) args.pop();
  checkCreateOptions("arange", options);
  if (args.length < 1 || args.length > 3)
    throw new ArgumentError(
      `arange takes stop, start and stop, or start, stop and step (then options), got ${args.length} numbers`,
    );
  const [a, b, c] = args as number[];
  const [start, stop, step] = b === undefined ? [0, a!, 1] : [a!, b, c ?? 1];
  for (const v of [start, stop, step])
    if (typeof v !== "number" || !Number.isFinite(v))
      throw new ArgumentError(`arange takes finite numbers, got ${String(v)}`);
  if (step === 0) throw new ArgumentError("arange step must not be 0");
  const length = Math.max(0, Math.ceil((stop - start) / step));
  const last = start + step * Math.max(0, length - 1);
  const ints =
    [start, stop, step].every(Number.isInteger) &&
    Math.min(start, last) >= INT32_MIN &&
    Math.max(start, last) <= INT32_MAX;
  const dtype = options.dtype ? checkDType(options.dtype) : ints ? "int32" : "float64";
  const name = tokenName("arange", start, stop, step, dtype, options.chunks ?? "auto");
  return blockwise(
    name,
    [length],
    options.chunks,
    dtype,
    (shape, off) => new Task(K.range, [{ length: shape[0]!, offset: off[0]!, start, step, dtype }]),
  );
}

/** `num` evenly spaced values from start to stop (stop included unless `endpoint` is false), float64. */
export function linspace(
  start: number,
  stop: number,
  num = 50,
  options: CreateOptions & { endpoint?: boolean } = {},
): ChunkedArray {
  checkCreateOptions("linspace", options, ["endpoint"]);
  if (!Number.isInteger(num) || num < 0)
    throw new ArgumentError(`linspace needs a whole number of samples ≥ 0, got ${num}`);
  for (const v of [start, stop])
    if (typeof v !== "number" || !Number.isFinite(v))
      throw new ArgumentError(`linspace takes finite numbers, got ${String(v)}`);
  const endpoint = options.endpoint ?? true;
  const dtype = options.dtype ? checkDType(options.dtype) : "float64";
  const name = tokenName("linspace", start, stop, num, endpoint, dtype, options.chunks ?? "auto");
  return blockwise(
    name,
    [num],
    options.chunks,
    dtype,
    (shape, off) =>
      new Task(K.range, [
        { length: shape[0]!, offset: off[0]!, start, step: 0, dtype, linspace: { num, stop, endpoint } },
      ]),
  );
}

export interface RandomOptions extends ChunkOptions {
  /** The same seed gives the same values, however the array is cut. Default: a fresh random seed. */
  seed?: number;
  /** float64 (default) or float32. */
  dtype?: "float64" | "float32";
}

function randomArray(
  dist: "uniform" | "normal",
  shape: readonly number[] | number,
  params: [number, number],
  options: RandomOptions,
): ChunkedArray {
  checkCreateOptions(dist === "uniform" ? "random" : "normal", options, ["seed", "low", "high", "loc", "scale"]);
  const s = checkShape(shape);
  const seed = options.seed ?? Number.parseInt(randomId(6), 16);
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new ArgumentError(`seed must be a whole number ≥ 0, got ${String(options.seed)}`);
  const dtype = options.dtype ?? "float64";
  if (dtype !== "float64" && dtype !== "float32")
    throw new ArgumentError(`random numbers are float64 or float32, not ${String(dtype)}`);
  const name = tokenName(dist === "uniform" ? "random" : "normal", s, params, seed, dtype, options.chunks ?? "auto");
  return blockwise(
    name,
    s,
    options.chunks,
    dtype,
    (block, start) => new Task(K.random, [{ dist, seed, shape: s, start, block, dtype, params }]),
  );
}

/** Uniform random numbers in [0, 1). */
export function random(shape: readonly number[] | number, options: RandomOptions = {}): ChunkedArray {
  return randomArray("uniform", shape, [0, 1], options);
}

/** Uniform random numbers in [low, high). */
export function uniform(
  shape: readonly number[] | number,
  options: RandomOptions & { low?: number; high?: number } = {},
): ChunkedArray {
  return randomArray("uniform", shape, [options.low ?? 0, options.high ?? 1], options);
}

/** Normally distributed random numbers with mean `loc` (default 0) and standard deviation `scale` (default 1). */
export function normal(
  shape: readonly number[] | number,
  options: RandomOptions & { loc?: number; scale?: number } = {},
): ChunkedArray {
  const scale = options.scale ?? 1;
  if (!(scale >= 0)) throw new ArgumentError(`scale must be ≥ 0, got ${scale}`);
  return randomArray("normal", shape, [options.loc ?? 0, scale], options);
}
