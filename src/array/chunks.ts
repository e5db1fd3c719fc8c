// How a chunked array is cut: per axis, the sizes of its blocks ("chunks", as in Dask). Turning
// what a user writes into that, finding where blocks start, and the common refinement of two
// cuttings (so arrays cut differently can be combined block by block).

import { ArgumentError } from "../errors.js";
import { itemSize, type DType } from "./dtype.js";

export type Chunks = readonly (readonly number[])[];

/**
 * What a user may write for chunks: one number for every axis, or per axis a block size, -1 (the
 * whole axis), or the explicit sizes; "auto" picks sizes near AUTO_CHUNK_BYTES.
 */
export type ChunksSpec = number | "auto" | readonly (number | "auto" | readonly number[])[];

/**
 * Target bytes per block for "auto" (Dask's `array.chunk-size` default, 128 MiB): big enough that
 * per-task overhead is noise, small enough that a few blocks per worker fit in memory.
 */
export const AUTO_CHUNK_BYTES = 128 * 1024 * 1024;

/** Block sizes along an axis of `size` cut every `step`. */
export function regularChunks(size: number, step: number): number[] {
  if (size === 0) return [0];
  const out: number[] = [];
  for (let s = 0; s < size; s += step) out.push(Math.min(step, size - s));
  return out;
}

export function normalizeChunks(spec: ChunksSpec | undefined, shape: readonly number[], dtype: DType): number[][] {
  const nd = shape.length;
  const per: (number | "auto" | readonly number[])[] =
    spec === undefined || spec === "auto"
      ? new Array(nd).fill("auto")
      : typeof spec === "number"
        ? new Array(nd).fill(spec)
        : [...spec];
  if (!Array.isArray(per) || per.length !== nd) {
    throw new ArgumentError(`chunks must give one entry per axis (${nd}), got ${JSON.stringify(spec)}`);
  }
  const out: (number[] | null)[] = per.map((c, axis) => {
    const size = shape[axis]!;
    if (c === "auto") return null;
    if (typeof c === "number") {
      if (c === -1) return [size];
      if (!Number.isInteger(c) || c <= 0)
        throw new ArgumentError(
          `chunk size on axis ${axis} must be a whole number > 0 or -1 (the whole axis), got ${c}`,
        );
      return regularChunks(size, c);
    }
    if (!Array.isArray(c) || !c.every((x) => Number.isInteger(x) && x >= 0))
      throw new ArgumentError(`chunks on axis ${axis} must be whole numbers, got ${JSON.stringify(c)}`);
    const total = c.reduce((a: number, b: number) => a + b, 0);
    if (total !== size)
      throw new ArgumentError(`chunks on axis ${axis} add up to ${total}, but the axis has length ${size}`);
    return c.length === 0 ? [0] : [...c];
  });
  // "auto" axes share what the fixed axes leave of the byte budget, equally.
  const autoAxes = out.map((c, i) => (c === null ? i : -1)).filter((i) => i >= 0);
  if (autoAxes.length > 0) {
    let fixed = itemSize(dtype);
    out.forEach((c) => {
      if (c) fixed *= Math.max(...c, 1);
    });
    const budget = Math.max(1, AUTO_CHUNK_BYTES / fixed);
    const side = Math.max(1, Math.floor(budget ** (1 / autoAxes.length)));
    for (const axis of autoAxes) out[axis] = regularChunks(shape[axis]!, Math.max(1, Math.min(side, shape[axis]!)));
  }
  return out as number[][];
}

/** Where each block starts along an axis, plus the axis length at the end. */
export function offsets(chunks: readonly number[]): number[] {
  const out = [0];
  for (const c of chunks) out.push(out[out.length - 1]! + c);
  return out;
}

/** The block sizes that cut wherever either `a` or `b` cuts (both cover the same length). */
export function refine(a: readonly number[], b: readonly number[]): number[] {
  const cuts = new Set([...offsets(a), ...offsets(b)]);
  const sorted = [...cuts].sort((x, y) => x - y);
  const out: number[] = [];
  for (let i = 1; i < sorted.length; i++) out.push(sorted[i]! - sorted[i - 1]!);
  return out.length === 0 ? [0] : out;
}

export function sameChunks(a: Chunks, b: Chunks): boolean {
  return a.length === b.length && a.every((c, i) => c.length === b[i]!.length && c.every((x, j) => x === b[i]![j]));
}

/** Every block index of a grid, in row-major order. */
export function blockIndices(numblocks: readonly number[]): number[][] {
  const out: number[][] = [];
  const idx = new Array<number>(numblocks.length).fill(0);
  if (numblocks.some((n) => n === 0)) return out;
  for (;;) {
    out.push([...idx]);
    let a = numblocks.length - 1;
    for (; a >= 0; a--) {
      if (++idx[a]! < numblocks[a]!) break;
      idx[a] = 0;
    }
    if (a < 0) return out;
  }
}

/**
 * For a range [start, stop) of an axis cut by `chunks`: the blocks it touches and, within each,
 * the range taken.
 */
export function overlaps(
  chunks: readonly number[],
  start: number,
  stop: number,
): { block: number; from: number; to: number }[] {
  const out: { block: number; from: number; to: number }[] = [];
  let pos = 0;
  for (let b = 0; b < chunks.length; b++) {
    const end = pos + chunks[b]!;
    if (end > start && pos < stop)
      out.push({ block: b, from: Math.max(start, pos) - pos, to: Math.min(stop, end) - pos });
    pos = end;
    if (pos >= stop) break;
  }
  return out;
}
