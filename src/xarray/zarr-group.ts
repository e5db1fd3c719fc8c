// Zarr reads fused with the grouped tasks that consume them (zarr-group-fuse.ts): the sums and
// counts of a monthly climatology, added per group while each Blosc block is decoded
// (io/zarr-reduce.ts), as the mean over time is: a run of a month's rows is a sum over the first
// axis of those rows, into that month's running totals. And the anomaly from it: each row less its
// month's row of the climatology, while decoded (io/zarr-combine.ts).

import type { NDArray } from "../array/ndarray.js";
import { rowsCombinedFast } from "../io/zarr-combine.js";
import { rowSumsFast, countPath } from "../io/zarr-reduce.js";
import { readZarrBlock, type ZarrReadSpec } from "../io/zarr-chunks.js";
import { dropBuffers, holdBuffers } from "../util/buffer-pool.js";
import { groupBinary, groupChunk, type GroupBinarySpec, type GroupChunkSpec, type GroupPartial } from "./kernels.js";

/**
 * groupChunk(spec, the block `read` reads), for sum, mean and count along the first axis: bit for
 * bit the same partial (each total is the same adds in row order from 0, a skipped NaN adding
 * nothing). Where the fast path does not apply, the block is read and folded as unfused.
 */
export async function readZarrGroups(spec: GroupChunkSpec, read: ZarrReadSpec): Promise<GroupPartial> {
  const groups = [...new Set(spec.codes)].sort((a, b) => a - b);
  const slot = new Map(groups.map((g, i) => [g, i]));
  const bins = spec.codes.map((c) => slot.get(c)!);
  const fast = await rowSumsFast(read, { bins, nbins: groups.length, skipNaN: spec.skipna });
  countPath(fast !== null);
  if (fast) {
    // A group whose positions all took the same number of values carries that number only.
    return fast.counts ? { groups, inner: fast.rowElems, n: fast.counts, v: fast.sums } : { groups, inner: fast.rowElems, n: null, rows: fast.binRows, v: fast.sums };
  }
  const block = await readZarrBlock(read);
  // The block was this task's alone: its storage goes back to the pool as the worker's would.
  holdBuffers(block);
  try {
    return groupChunk(spec, block);
  } finally {
    dropBuffers(block);
  }
}

/**
 * groupBinary(spec, the block `read` reads, other), for add, sub, mul and div along the first axis
 * where the other array has the block's type and a whole row for each group (no broadcasting): the
 * same values (IEEE arithmetic in that type). Otherwise the block is read and combined as unfused.
 */
export async function readZarrGroupBinary(spec: GroupBinarySpec, read: ZarrReadSpec, other: NDArray): Promise<NDArray> {
  const rowShape = read.stop.slice(1).map((s, a) => s - read.start[a + 1]!);
  const fits = other.dtype === read.dtype && other.ndim === rowShape.length + 1 && rowShape.every((n, a) => other.shape[a + 1] === n) && (spec.op === "add" || spec.op === "sub" || spec.op === "mul" || spec.op === "div");
  const fast = fits ? await rowsCombinedFast(read, { op: spec.op as "add", other: other.contiguous().toTypedArray() as Float32Array | Float64Array, rows: spec.rows }) : null;
  countPath(fast !== null);
  if (fast) return fast;
  const block = await readZarrBlock(read);
  holdBuffers(block);
  try {
    return groupBinary(spec, block, other);
  } finally {
    dropBuffers(block);
  }
}
