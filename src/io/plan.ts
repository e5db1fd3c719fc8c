// Planning a read from metadata: blocks made of whole storage chunks (so no chunk is read and
// decompressed by two tasks), and the array whose block over each region is one reading task.
// Shared by the Zarr and NetCDF readers.

import { ChunkedArray } from "../array/core.js";
import { blockIndices, normalizeChunks, offsets, regularChunks, type ChunksSpec } from "../array/chunks.js";
import type { DType } from "../array/dtype.js";
import { LayeredGraph, type GraphNode, type Task } from "../graph/task.js";

/**
 * Block sizes per axis: the stored chunks by default, else what `spec` asks for rounded up to
 * whole chunks.
 */
export function wholeChunks(
  shape: readonly number[],
  stored: readonly number[],
  spec: ChunksSpec | undefined,
  dtype: DType,
): number[][] {
  const wanted =
    spec === undefined
      ? stored.map((c, a) => Math.min(c, shape[a]!) || 1)
      : normalizeChunks(spec, shape, dtype).map((c) => Math.max(...c, 1));
  return shape.map((n, a) => regularChunks(n, Math.max(1, Math.ceil(wanted[a]! / stored[a]!)) * stored[a]!));
}

/** A chunked array cut by `chunks` whose block over [start, stop) is the task `read(start, stop)`. */
export function readArray(
  name: string,
  chunks: number[][],
  dtype: DType,
  read: (start: number[], stop: number[]) => Task,
): ChunkedArray {
  const layer = new Map<string, GraphNode>();
  const arr = new ChunkedArray(LayeredGraph.of(name, layer), name, chunks, dtype);
  const offs = chunks.map(offsets);
  for (const idx of blockIndices(arr.numblocks)) {
    const start = idx.map((b, a) => offs[a]![b]!);
    layer.set(
      arr.key(idx),
      read(
        start,
        start.map((s, a) => s + chunks[a]![idx[a]!]!),
      ),
    );
  }
  return arr;
}
