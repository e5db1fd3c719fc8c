// Zarr reads fused with the grouped tasks that consume them (zarr-group-fuse.ts): the sums and
// counts of a monthly climatology, added per group while each Blosc block is decoded
// (io/zarr-reduce.ts), as the mean over time is: a run of a month's rows is a sum over the first
// axis of those rows, into that month's running totals. And the anomaly from it: each row less its
// month's row of the climatology, while decoded (io/zarr-combine.ts), and what is done to each row of
// that next (its mean over lat and lon) while the row is in the cache.

import { runCounted, runProgram, type Program, type SumCount } from "../array/kernels/expr.js";
import { allocateUninitialized, NDArray, sizeOf } from "../array/ndarray.js";
import { eachCombinedRow, rowsCombinedFast, type RowsCombined } from "../io/zarr-combine.js";
import { rowSumsFast, countPath } from "../io/zarr-reduce.js";
import { readZarrBlock, type ZarrReadSpec } from "../io/zarr-chunks.js";
import { realmStores, type Stores } from "../io/store.js";
import { dropBuffers, holdBuffers } from "../util/buffer-pool.js";
import { groupBinary, groupChunk, type GroupBinarySpec, type GroupChunkSpec, type GroupPartial } from "./kernels.js";

/**
 * groupChunk(spec, the block `read` reads), for sum, mean and count along the first axis: bit for
 * bit the same partial (each total is the same adds in row order from 0, a skipped NaN adding
 * nothing). Where the fast path does not apply, the block is read and folded as unfused.
 */
export async function readZarrGroups(
  spec: GroupChunkSpec,
  read: ZarrReadSpec,
  stores: Stores = realmStores,
): Promise<GroupPartial> {
  const groups = [...new Set(spec.codes)].sort((a, b) => a - b);
  const slot = new Map(groups.map((g, i) => [g, i]));
  const bins = spec.codes.map((c) => slot.get(c)!);
  const fast = await rowSumsFast(read, { bins, nbins: groups.length, skipNaN: spec.skipna }, stores);
  countPath(fast !== null);
  if (fast) {
    // A group whose positions all took the same number of values carries that number only.
    return fast.counts
      ? { groups, inner: fast.rowElems, n: fast.counts, v: fast.sums }
      : { groups, inner: fast.rowElems, n: null, rows: fast.binRows, v: fast.sums };
  }
  const block = await readZarrBlock(read, stores);
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
export async function readZarrGroupBinary(
  spec: GroupBinarySpec,
  read: ZarrReadSpec,
  other: NDArray,
  stores: Stores = realmStores,
): Promise<NDArray> {
  const c = combinedRows(spec, read, other);
  const fast = c ? await rowsCombinedFast(read, c, stores) : null;
  countPath(fast !== null);
  return fast ?? groupBinaryUnfused(spec, read, other, stores);
}

/**
 * `program` over readZarrGroupBinary(spec, read, other), a row at a time as each row is combined
 * (the program's rows depend on one row each: zarr-group-fuse.ts): the same values, the program
 * being the same loops over each row. Otherwise the block is read, combined and run as unfused.
 */
export async function readZarrGroupBinaryProgram(
  spec: GroupBinarySpec,
  read: ZarrReadSpec,
  other: NDArray,
  program: Program,
  stores: Stores = realmStores,
): Promise<NDArray | SumCount> {
  const c = combinedRows(spec, read, other);
  if (c) {
    const rows = read.stop[0]! - read.start[0]!;
    const rowShape = read.stop.slice(1).map((s, a) => s - read.start[a + 1]!);
    const reduce = program.reduce;
    const outRow = reduce ? rowShape.map((d, a) => (reduce.axes.includes(a + 1) ? 1 : d)) : rowShape;
    const perRow = sizeOf(outRow);
    const dtype = reduce ? "float64" : program.expr.dt;
    const out = new NDArray(dtype, [rows, ...outRow], allocateUninitialized(dtype, rows * perRow));
    const counts = reduce?.count
      ? new NDArray("float64", [rows, ...outRow], allocateUninitialized("float64", rows * perRow))
      : null;
    const done = await eachCombinedRow(
      read,
      c,
      (r, values) => {
        const x = new NDArray(read.dtype, [1, ...rowShape], values);
        if (counts) {
          const { s, n } = runCounted(program, [x]);
          out.data.set(s.data as Float64Array, r * perRow);
          counts.data.set(n.data as Float64Array, r * perRow);
        } else if (reduce) out.data.set(runProgram(program, [x]).data as Float64Array, r * perRow);
        else runProgram(program, [x], new NDArray(dtype, [1, ...outRow], out.data, undefined, r * perRow));
      },
      stores,
    );
    countPath(done);
    if (done) return counts ? { s: out, n: counts } : out;
  } else countPath(false);
  const block = await groupBinaryUnfused(spec, read, other, stores);
  holdBuffers(block);
  try {
    return program.reduce?.count ? runCounted(program, [block]) : runProgram(program, [block]);
  } finally {
    dropBuffers(block);
  }
}

/**
 * The fast path's operands, where it applies: add, sub, mul or div along the first axis, `other`
 * of the block's type with a whole row for each group (no broadcasting); else null.
 */
function combinedRows(spec: GroupBinarySpec, read: ZarrReadSpec, other: NDArray): RowsCombined | null {
  const rowShape = read.stop.slice(1).map((s, a) => s - read.start[a + 1]!);
  const op = spec.op;
  if (op !== "add" && op !== "sub" && op !== "mul" && op !== "div") return null;
  if (
    spec.axis !== 0 ||
    spec.dtype !== read.dtype ||
    other.dtype !== read.dtype ||
    other.ndim !== rowShape.length + 1 ||
    !rowShape.every((n, a) => other.shape[a + 1] === n)
  )
    return null;
  return { op, other: other.contiguous().toTypedArray() as Float32Array | Float64Array, rows: spec.rows };
}

async function groupBinaryUnfused(
  spec: GroupBinarySpec,
  read: ZarrReadSpec,
  other: NDArray,
  stores: Stores,
): Promise<NDArray> {
  const block = await readZarrBlock(read, stores);
  holdBuffers(block);
  try {
    return groupBinary(spec, block, other);
  } finally {
    dropBuffers(block);
  }
}
