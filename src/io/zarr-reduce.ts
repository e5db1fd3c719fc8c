// A Zarr read fused with the sum over the first axis that consumes it: `x.sum({ axis: 0 })`,
// `x.mean`, `x.nansum`, `x.nanmean`, `x.count` over axis 0 of a store (the mean over time of
// climate data, which xarray's mean is a nanmean of), and a grouped sum along it (xarray's
// groupby("time.month").mean(), xarray/zarr-group.ts). Unfused, each 32 MB chunk of xarray's float32
// was decoded into storage of its own and then summed by the elementwise kernel from memory, ~11 ms
// a chunk with both threads busy (JavaScript's floor is ~0.9 ns a value). Fused, each 512 kB Blosc
// block is added to float64 running sums in WebAssembly with SIMD as soon as it is decoded, while
// it is in the cache: no 32 MB buffer, no second pass. The NaN-skipping sums count the NaN they
// leave out in the same pass (int32 counts beside the sums, written only where there is a NaN).
//
// The sums are bit for bit the kernels': one IEEE double add per value, in the order of the rows
// (a NaN adds +0, which leaves a sum that started from +0 as it was). Anything the fast path does
// not cover (no WebAssembly, other codecs or types, a block cut at the array's edge across its
// rows, a missing chunk whose fill value is not NaN or not skipped) runs as the two tasks would
// have, in this one.

import { NDArray, allocateUninitialized } from "../array/ndarray.js";
import type { Program, SumCount } from "../array/kernels/expr.js";
import { runCounted, runProgram } from "../array/kernels/expr.js";
import { uniform } from "../array/kernels/nan-reduce.js";
import { dropBuffers, holdBuffers } from "../util/buffer-pool.js";
import { accumulatorBytes } from "./codecs/blosc-wasm.js";
import { realmStores, type Stores } from "./store.js";
import { readZarrBlock, type ZarrReadSpec } from "./zarr-chunks.js";
import { rowElems, withRows } from "./zarr-rows.js";

/** The WebAssembly counts in int32: a block with more rows than this is summed the general way. */
const MAX_ROWS = 2 ** 31 - 1;

const stats = { fast: 0, general: 0 };

/** How many fused reads in this thread took each path (tests, diagnostics). */
export function zarrSumStats(): { fast: number; general: number } {
  return { ...stats };
}

/** Counts a fused read's path (for zarrSumStats). */
export function countPath(fast: boolean): void {
  if (fast) stats.fast++;
  else stats.general++;
}

/** What a read sums its rows (positions along the first axis) into. */
export interface RowSums {
  /** For each row of the block, the bin it is added to (0 … nbins - 1); null: every row to bin 0. */
  bins: readonly number[] | null;
  nbins: number;
  /** Leave NaN out of the sums and count the values that are not NaN, per bin and position. */
  skipNaN: boolean;
}

/**
 * Per bin, a row of float64 sums over the rows in it (bin b's at [b × rowElems, (b + 1) × rowElems)),
 * and how many values each sum took: `counts`, or where that is binRows[b] for every position of
 * bin b (nothing left out: no NaN, or NaN not skipped), null.
 */
export interface RowTotals {
  sums: Float64Array;
  counts: Float64Array | null;
  /** Rows added to each bin. */
  binRows: number[];
  /** Values in a row (the block's shape past its first axis, flattened). */
  rowElems: number;
}

/** The count of values in each of `t`'s sums, as an array. */
export function countsOf(t: RowTotals): Float64Array {
  if (t.counts) return t.counts;
  const counts = allocateUninitialized("float64", t.sums.length) as Float64Array;
  t.binRows.forEach((rows, b) => counts.fill(rows, b * t.rowElems, (b + 1) * t.rowElems));
  return counts;
}

/** The block `spec` reads, summed over its first axis by `program` (zarr-fuse.ts): float64, first axis of length 1. */
export async function readZarrSum(
  spec: ZarrReadSpec,
  program: Program,
  stores: Stores = realmStores,
): Promise<NDArray | SumCount> {
  const op = program.reduce!.op;
  const fast = await rowSumsFast(spec, { bins: null, nbins: 1, skipNaN: op !== "sum" }, stores);
  countPath(fast !== null);
  if (fast) {
    const shape = [1, ...spec.chunks.slice(1)];
    const sums = new NDArray("float64", shape, fast.sums);
    if (op === "count") return new NDArray("float64", shape, countsOf(fast));
    if (!program.reduce!.count) return sums;
    // Without NaN left out, every position counted the block's rows: one number (sumCountCombine keeps it one).
    return { s: sums, n: fast.counts ? new NDArray("float64", shape, fast.counts) : uniform(shape, fast.binRows[0]!) };
  }
  const block = await readZarrBlock(spec, stores);
  // The block was this task's alone: its storage goes back to the pool as the worker's would.
  holdBuffers(block);
  try {
    return program.reduce!.count ? runCounted(program, [block]) : runProgram(program, [block]);
  } finally {
    dropBuffers(block);
  }
}

/**
 * The rows of the block `spec` reads, summed into bins while each Blosc block is decoded, or null
 * where the fast path does not apply (the caller then reads the block and reduces it).
 */
export async function rowSumsFast(
  spec: ZarrReadSpec,
  r: RowSums,
  stores: Stores = realmStores,
): Promise<RowTotals | null> {
  if (spec.stop[0]! - spec.start[0]! > MAX_ROWS) return null;
  const itemsize = spec.dtype === "float32" ? 4 : 8;
  const perRow = rowElems(spec);
  const nsums = r.nbins * perRow;
  const bins = r.bins;
  const rowsIn = new Array<number>(r.nbins).fill(0); // rows added to each bin
  let nans = 0;
  return withRows<RowTotals>(
    spec,
    {
      regionBytes: accumulatorBytes(nsums, r.skipNaN),
      start: (wasm) => wasm.clearAccumulator(nsums, r.skipNaN),
      piece: (wasm, at, row, col, n) => {
        nans += wasm.accumulate(at, (bins ? bins[row]! : 0) * perRow + col, n, itemsize, r.skipNaN);
      },
      chunk: (first, rows) => {
        for (let row = first; row < first + rows; row++) rowsIn[bins ? bins[row]! : 0]!++;
      },
      // Never written: the fill value, which a NaN-skipping sum leaves out; others go the general way.
      missing: (_first, _rows, fillIsNaN) => r.skipNaN && fillIsNaN,
      finish: (wasm) => {
        const sums = allocateUninitialized("float64", nsums) as Float64Array;
        wasm.readAccumulator(sums);
        const totals: RowTotals = { sums, counts: null, binRows: rowsIn, rowElems: perRow };
        if (nans > 0) {
          // The values in each sum: the rows added to its bin, less the NaN left out.
          const counts = countsOf(totals);
          const nan = wasm.nanCounts();
          for (let i = 0; i < nsums; i++) counts[i] = counts[i]! - nan[i]!;
          totals.counts = counts;
        }
        return totals;
      },
    },
    stores,
  );
}
