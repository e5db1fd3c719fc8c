// Recutting an array into other blocks. Each new block is assembled from the parts of the old
// blocks it overlaps (one task per new block; a block that does not change keeps its task). Dask
// plans multi-stage rechunks to bound memory for all-to-all recuts; one stage is enough for the
// recuts meshwork's operations make (aligning neighbours, merging a few blocks).

import { ArgumentError } from "../errors.js";
import { LayeredGraph, Task, TaskRef, type GraphNode } from "../graph/task.js";
import { blockIndices, normalizeChunks, offsets, overlaps, sameChunks, type ChunksSpec } from "./chunks.js";
import { ChunkedArray } from "./core.js";
import { tokenName } from "./names.js";
import { K } from "./kernels/register.js";

export function rechunk(a: ChunkedArray, spec: ChunksSpec): ChunkedArray {
  const chunks = normalizeChunks(spec, a.shape, a.dtype);
  chunks.forEach((c, axis) => {
    const total = c.reduce((x, y) => x + y, 0);
    if (total !== a.shape[axis])
      throw new ArgumentError(`chunks on axis ${axis} cover ${total}, the axis has ${a.shape[axis]}`);
  });
  if (sameChunks(chunks, a.chunks)) return a;
  const name = tokenName("rechunk", chunks, a.name);
  const layer = new Map<string, GraphNode>();
  const out = new ChunkedArray(LayeredGraph.merge([a.graph], name, layer), name, chunks, a.dtype);
  const newOffsets = chunks.map(offsets);
  for (const idx of blockIndices(out.numblocks)) {
    // Per axis: the old blocks this new block overlaps, and the range taken from each.
    const parts = idx.map((b, axis) =>
      overlaps(a.chunks[axis]!, newOffsets[axis]![b]!, newOffsets[axis]![b]! + chunks[axis]![b]!),
    );
    if (parts.some((p) => p.length === 0)) {
      // A block with no elements (an axis of length 0). It still needs its own shape along the
      // other axes ([0, 3] is not [0, 0]: broadcasting and assembling read it), which no part of
      // an old block may have, so it is made afresh.
      const shape = idx.map((b, axis) => chunks[axis]![b]!);
      layer.set(out.key(idx), new Task(K.full, [{ shape, dtype: a.dtype, value: 0 }]));
      continue;
    }
    const whole = parts.every(
      (p, axis) => p.length === 1 && p[0]!.from === 0 && p[0]!.to === a.chunks[axis]![p[0]!.block],
    );
    if (whole) {
      layer.set(out.key(idx), new Task("identity", [new TaskRef(a.key(parts.map((p) => p[0]!.block)))]));
      continue;
    }
    const grid = (axis: number, prefix: { block: number; from: number; to: number }[]): unknown => {
      if (axis === idx.length) {
        return [new TaskRef(a.key(prefix.map((p) => p.block))), prefix.map((p) => ({ start: p.from, stop: p.to }))];
      }
      return parts[axis]!.map((p) => grid(axis + 1, [...prefix, p]));
    };
    layer.set(out.key(idx), new Task(K.assembleParts, [grid(0, []), idx.length]));
  }
  return out;
}
