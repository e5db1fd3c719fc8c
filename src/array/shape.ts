// Operations that change which elements sit where, not their values: slicing, reshape,
// concatenate, stack, and mapBlocks (a user's function on every block).

import { isTaskHandle } from "../client/arguments.js";
import { ArgumentError } from "../errors.js";
import { LayeredGraph, Task, TaskRef, type Callable, type GraphNode } from "../graph/task.js";
import { blockIndices, offsets, refine, sameChunks, type ChunksSpec, normalizeChunks } from "./chunks.js";
import { ChunkedArray } from "./core.js";
import { tokenName } from "./names.js";
import { checkDType, promote, type DType } from "./dtype.js";
import { astype } from "./elementwise.js";
import { selectAxes, type Index, type SliceSpec } from "./indexing.js";
import { K } from "./kernels/register.js";
import { inferShape, normalizeAxes } from "./ndarray.js";
import { rechunk } from "./rechunk.js";

// ---- slicing ----

/** One output block's source along an axis: which input block, and what to take from it. */
interface Piece {
  block: number;
  take: number | SliceSpec;
  length: number;
}

/** The pieces a range selection makes along an axis cut by `chunks` (each from one input block). */
function rangePieces(chunks: readonly number[], start: number, step: number, length: number): Piece[] {
  if (length === 0) return [{ block: 0, take: { start: 0, stop: 0 }, length: 0 }];
  const offs = offsets(chunks);
  const pieces: Piece[] = [];
  let j = 0;
  while (j < length) {
    const src = start + j * step;
    let b = 0;
    while (offs[b + 1]! <= src) b++;
    const lo = offs[b]!;
    const hi = offs[b + 1]!;
    // How many further elements stay inside block b.
    const n =
      step > 0
        ? Math.min(length - j, Math.floor((hi - 1 - src) / step) + 1)
        : Math.min(length - j, Math.floor((src - lo) / -step) + 1);
    const first = src - lo;
    const stop = first + n * step;
    pieces.push({ block: b, take: { start: first, stop: stop < 0 ? null : stop, step }, length: n });
    j += n;
  }
  return pieces;
}

/** NumPy basic indexing: integers, ranges ("1:10:2", {start, stop, step}), null for a whole axis, "...". */
export function slice(a: ChunkedArray, index: Index[]): ChunkedArray {
  const sel = selectAxes(index, a.shape);
  if (sel.every((s, axis) => s.kind === "range" && s.start === 0 && s.step === 1 && s.length === a.shape[axis]))
    return a;
  const perAxis: Piece[][] = sel.map((s, axis) => {
    if (s.kind === "int") {
      const offs = offsets(a.chunks[axis]!);
      let b = 0;
      while (offs[b + 1]! <= s.index) b++;
      return [{ block: b, take: s.index - offs[b]!, length: 1 }];
    }
    return rangePieces(a.chunks[axis]!, s.start, s.step, s.length);
  });
  const kept = sel.map((s, axis) => (s.kind === "range" ? axis : -1)).filter((x) => x >= 0);
  const chunks = kept.map((axis) => perAxis[axis]!.map((p) => p.length));
  const name = tokenName("getitem", sel, a.name);
  const layer = new Map<string, GraphNode>();
  const out = new ChunkedArray(LayeredGraph.merge([a.graph], name, layer), name, chunks, a.dtype);
  const grid = sel.map((_, axis) => perAxis[axis]!.length);
  for (const idx of blockIndices(grid)) {
    const pieces = idx.map((p, axis) => perAxis[axis]![p]!);
    const outIdx = kept.map((axis) => idx[axis]!);
    layer.set(
      out.key(outIdx),
      new Task(K.slice, [new TaskRef(a.key(pieces.map((p) => p.block))), pieces.map((p) => p.take)]),
    );
  }
  return out;
}

// ---- reshape ----

/** Groups of old and new axes whose lengths multiply to the same number. */
function axisGroups(from: readonly number[], to: readonly number[]): [number[], number[]][] {
  const groups: [number[], number[]][] = [];
  let i = 0;
  let j = 0;
  while (i < from.length || j < to.length) {
    if (i < from.length && j < to.length && from[i] === to[j]) {
      groups.push([[i++], [j++]]);
      continue;
    }
    const gi: number[] = [];
    const gj: number[] = [];
    let pi = 1;
    let pj = 1;
    if (i < from.length) (pi = from[i]!), gi.push(i++);
    if (j < to.length) (pj = to[j]!), gj.push(j++);
    while (pi !== pj) {
      if (pi < pj && i < from.length) (pi *= from[i]!), gi.push(i++);
      else if (j < to.length) (pj *= to[j]!), gj.push(j++);
      else if (i < from.length) (pi *= from[i]!), gi.push(i++);
      else break;
    }
    groups.push([gi, gj]);
  }
  return groups;
}

/**
 * The same elements in another shape, block by block. Each block must map to one block of the
 * result: axes merged into one must be whole blocks after the first, and an axis split into
 * several must have blocks that are whole multiples of the later axes. Otherwise the error says
 * which rechunk makes it possible.
 */
export function reshape(a: ChunkedArray, shape: readonly number[]): ChunkedArray {
  const to = inferShape(shape, a.size);
  if (to.length === a.ndim && to.every((d, k) => d === a.shape[k])) return a;
  if (a.size === 0) {
    const name = tokenName("reshape", to, a.name);
    const layer = new Map<string, GraphNode>();
    const out = new ChunkedArray(
      LayeredGraph.merge([a.graph], name, layer),
      name,
      to.map((d) => [d]),
      a.dtype,
    );
    layer.set(out.key(to.map(() => 0)), new Task(K.reshape, [new TaskRef(a.key(a.shape.map(() => 0))), to]));
    return out;
  }
  // Length-1 axes carry no elements: reshape without them, then put the new ones back.
  const fromCore = a.shape.map((_, k) => k).filter((k) => a.shape[k] !== 1);
  const toCore = to.filter((d) => d !== 1);
  const src = fromCore.length === a.ndim ? a : dropOnes(a);
  const groups = axisGroups(
    fromCore.map((k) => a.shape[k]!),
    toCore,
  );
  const newChunks: number[][] = new Array(toCore.length);
  for (const [gi, gj] of groups) {
    const lead = src.chunks[gi[0]!]!;
    for (const k of gi.slice(1)) {
      if (src.chunks[k]!.length !== 1)
        throw new ArgumentError(
          `reshape: axis ${k} of [${src.shape.join(", ")}] is merged with the axis before it, so it must be one block; rechunk it to -1 first`,
        );
    }
    const innerOld = gi.slice(1).reduce((p, k) => p * src.shape[k]!, 1);
    const innerNew = gj.slice(1).reduce((p, k) => p * toCore[k]!, 1);
    gj.slice(1).forEach((k) => (newChunks[k] = [toCore[k]!]));
    const leadNew: number[] = [];
    for (const c of lead) {
      const elems = c * innerOld;
      if (elems % innerNew !== 0) {
        throw new ArgumentError(
          `reshape: blocks of ${c} along axis ${gi[0]} do not split into whole rows of the new axes [${gj.map((k) => toCore[k]).join(", ")}]; rechunk that axis to a multiple of ${innerNew / gcd(innerNew, innerOld)} first`,
        );
      }
      leadNew.push(elems / innerNew);
    }
    newChunks[gj[0]!] = leadNew;
  }
  const name = tokenName("reshape", to, a.name);
  const layer = new Map<string, GraphNode>();
  let coreIdx = 0;
  const chunks = to.map((d) => (d === 1 ? [1] : newChunks[coreIdx++]!));
  const out = new ChunkedArray(LayeredGraph.merge([src.graph], name, layer), name, chunks, a.dtype);
  const coreAxes = to.map((_, k) => k).filter((k) => to[k] !== 1);
  for (const idx of blockIndices(out.numblocks)) {
    const coreOut = coreAxes.map((k) => idx[k]!);
    const srcIdx = new Array<number>(src.ndim).fill(0);
    for (const [gi, gj] of groups) srcIdx[gi[0]!] = coreOut[gj[0]!]!;
    const blockShape = idx.map((b, k) => chunks[k]![b]!);
    layer.set(out.key(idx), new Task(K.reshape, [new TaskRef(src.key(srcIdx)), blockShape]));
  }
  return out;
}

function gcd(x: number, y: number): number {
  return y === 0 ? x : gcd(y, x % y);
}

/** The array without its length-1 axes. */
function dropOnes(a: ChunkedArray): ChunkedArray {
  const keep = a.shape.map((_, k) => k).filter((k) => a.shape[k] !== 1);
  const name = tokenName("squeeze", a.name);
  const layer = new Map<string, GraphNode>();
  const out = new ChunkedArray(
    LayeredGraph.merge([a.graph], name, layer),
    name,
    keep.map((k) => a.chunks[k]!),
    a.dtype,
  );
  for (const idx of blockIndices(out.numblocks)) {
    const srcIdx = a.shape.map(() => 0);
    keep.forEach((k, i) => (srcIdx[k] = idx[i]!));
    layer.set(out.key(idx), new Task(K.reshape, [new TaskRef(a.key(srcIdx)), idx.map((b, i) => out.chunks[i]![b]!)]));
  }
  return out;
}

// ---- joining arrays ----

/** Brings arrays (when `cast`) to one dtype and, on every axis but `except`, to the same blocks. */
function align(arrays: readonly ChunkedArray[], except: number, what: string, cast = true): ChunkedArray[] {
  if (!Array.isArray(arrays as unknown) || arrays.length === 0)
    throw new ArgumentError(`${what} needs a non-empty list of arrays`);
  for (const x of arrays) if (!(x instanceof ChunkedArray)) throw new ArgumentError(`${what} takes chunked arrays`);
  const nd = arrays[0]!.ndim;
  const dtype = arrays.map((x) => x.dtype).reduce((p, d) => promote(p, d));
  for (const x of arrays) {
    if (x.ndim !== nd)
      throw new ArgumentError(
        `${what}: all arrays need the same number of dimensions (${arrays.map((y) => y.ndim).join(", ")})`,
      );
    x.shape.forEach((d, k) => {
      if (k !== except && d !== arrays[0]!.shape[k])
        throw new ArgumentError(
          `${what}: shapes [${arrays.map((y) => y.shape.join(", ")).join("], [")}] differ on axis ${k}`,
        );
    });
  }
  const chunks = arrays[0]!.chunks.map((c, k) =>
    k === except ? null : arrays.reduce((acc: readonly number[], x) => refine(acc, x.chunks[k]!), c),
  );
  return arrays.map((x) => {
    const typed = cast ? astype(x, dtype) : x;
    const want = typed.chunks.map((c, k) => (k === except ? [...c] : [...chunks[k]!]));
    return sameChunks(typed.chunks, want) ? typed : rechunk(typed, want);
  });
}

/** Joins arrays along an existing axis. */
export function concatenate(arrays: readonly ChunkedArray[], axis = 0): ChunkedArray {
  const nd = arrays[0]?.ndim ?? 0;
  if (nd === 0) throw new ArgumentError("concatenate needs arrays with at least one dimension");
  const [ax] = normalizeAxes([axis], nd);
  const parts = align(arrays, ax!, "concatenate");
  const chunks = parts[0]!.chunks.map((c, k) => (k === ax ? parts.flatMap((p) => [...p.chunks[k]!]) : [...c]));
  const name = tokenName("concatenate", ax, ...parts.map((p) => p.name));
  const layer = new Map<string, GraphNode>();
  const out = new ChunkedArray(
    LayeredGraph.merge(
      parts.map((p) => p.graph),
      name,
      layer,
    ),
    name,
    chunks,
    parts[0]!.dtype,
  );
  const starts: number[] = [];
  let n = 0;
  for (const p of parts) {
    starts.push(n);
    n += p.numblocks[ax!]!;
  }
  for (const idx of blockIndices(out.numblocks)) {
    const b = idx[ax!]!;
    let which = starts.length - 1;
    while (starts[which]! > b) which--;
    const src = [...idx];
    src[ax!] = b - starts[which]!;
    layer.set(out.key(idx), new Task("identity", [new TaskRef(parts[which]!.key(src))]));
  }
  return out;
}

/** Joins same-shaped arrays along a new axis. */
export function stack(arrays: readonly ChunkedArray[], axis = 0): ChunkedArray {
  const nd = (arrays[0]?.ndim ?? 0) + 1;
  const [ax] = normalizeAxes([axis], nd);
  const parts = align(arrays, -1, "stack");
  const chunks = [...parts[0]!.chunks.map((c) => [...c])];
  chunks.splice(
    ax!,
    0,
    parts.map(() => 1),
  );
  const name = tokenName("stack", ax, ...parts.map((p) => p.name));
  const layer = new Map<string, GraphNode>();
  const out = new ChunkedArray(
    LayeredGraph.merge(
      parts.map((p) => p.graph),
      name,
      layer,
    ),
    name,
    chunks,
    parts[0]!.dtype,
  );
  for (const idx of blockIndices(out.numblocks)) {
    const src = [...idx];
    const [which] = src.splice(ax!, 1);
    const shape = idx.map((b, k) => chunks[k]![b]!);
    layer.set(out.key(idx), new Task(K.reshape, [new TaskRef(parts[which!]!.key(src)), shape]));
  }
  return out;
}

// ---- a user's function on every block ----

export interface MapBlocksOptions {
  /** The result's dtype (default: the first array's). */
  dtype?: DType;
  /** The result's blocks, when the function changes block shapes (default: the first array's). */
  chunks?: ChunksSpec;
  /** The key prefix (default: the function's name). */
  name?: string;
}

/**
 * Runs `fn(blockOfA, blockOfB, …)` for every block position of arrays of the same number of
 * dimensions (recut to common blocks, as elementwise operations are). `fn` gets NDArrays and
 * returns one NDArray; on a cluster it travels as source, so it must not use outside variables, or
 * is an uploaded module's function (`(await client.upload(url)).f`), which workers import.
 */
export function mapBlocks(fn: Callable, arrays: readonly ChunkedArray[], options: MapBlocksOptions = {}): ChunkedArray {
  if (typeof fn !== "function" && typeof fn !== "string") throw new ArgumentError("mapBlocks needs a function");
  if (arrays.length === 0) throw new ArgumentError("mapBlocks needs at least one array");
  const nd = arrays[0]!.ndim;
  if (arrays.some((x) => x.ndim !== nd))
    throw new ArgumentError("mapBlocks: all arrays need the same number of dimensions");
  const aligned = align(arrays, -1, "mapBlocks", false);
  const dtype = options.dtype ? checkDType(options.dtype) : aligned[0]!.dtype;
  const chunks =
    options.chunks !== undefined
      ? normalizeChunks(options.chunks, shapeFromSpec(options.chunks, aligned[0]!), dtype)
      : aligned[0]!.chunks.map((c) => [...c]);
  const grid = aligned[0]!.numblocks;
  if (chunks.length !== nd || chunks.some((c, k) => c.length !== grid[k]))
    throw new ArgumentError(
      "mapBlocks: the result's chunks must have the same number of blocks as the input on every axis",
    );
  const label = options.name ?? (typeof fn === "function" ? fn.name || "mapblocks" : fn);
  const what = isTaskHandle(fn)
    ? `${fn.module}#${fn.name}`
    : typeof fn === "function"
      ? Function.prototype.toString.call(fn)
      : fn;
  const name = tokenName(label, what, chunks, dtype, ...aligned.map((x) => x.name));
  const layer = new Map<string, GraphNode>();
  const out = new ChunkedArray(
    LayeredGraph.merge(
      aligned.map((x) => x.graph),
      name,
      layer,
    ),
    name,
    chunks,
    dtype,
  );
  for (const idx of blockIndices(grid))
    layer.set(
      out.key(idx),
      new Task(
        fn,
        aligned.map((x) => new TaskRef(x.key(idx))),
      ),
    );
  return out;
}

/** The shape explicit per-axis chunk lists describe (for mapBlocks' `chunks`). */
function shapeFromSpec(spec: ChunksSpec, like: ChunkedArray): number[] {
  if (Array.isArray(spec) && spec.every((c) => Array.isArray(c)))
    return (spec as number[][]).map((c) => c.reduce((x, y) => x + y, 0));
  return [...like.shape];
}
