// A Zarr read fused with the grouped fold that consumes it (zarr-group-fuse.ts): the sums and
// counts of a monthly climatology, added per group while each Blosc block is decoded
// (io/zarr-reduce.ts), as the mean over time is. A run of a month's rows is a sum over the first
// axis of those rows, into that month's running totals.

import { rowSumsFast, countPath } from "../io/zarr-reduce.js";
import { readZarrBlock, type ZarrReadSpec } from "../io/zarr-chunks.js";
import { dropBuffers, holdBuffers } from "../util/buffer-pool.js";
import { groupChunk, type GroupChunkSpec, type GroupPartial } from "./kernels.js";

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
    const inner = fast.rowElems;
    let n = fast.counts;
    if (!n) {
      // Nothing skipped: each position of a group counts its rows.
      n = new Float64Array(groups.length * inner);
      const rows = new Array<number>(groups.length).fill(0);
      for (const b of bins) rows[b]!++;
      for (let g = 0; g < groups.length; g++) n.fill(rows[g]!, g * inner, (g + 1) * inner);
    }
    return { groups, inner, n, v: fast.sums };
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
