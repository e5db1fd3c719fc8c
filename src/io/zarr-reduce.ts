// A Zarr read fused with the sum over the first axis that consumes it: `x.sum({ axis: 0 })` and
// `x.mean({ axis: 0 })` of a store, the mean over time of climate data. Unfused, each 32 MB chunk
// of xarray's float32 was decoded into storage of its own and then summed by the elementwise
// kernel from memory, ~11 ms a chunk with both threads busy (JavaScript's floor is ~0.9 ns a
// value). Fused, each 512 kB Blosc block is added to float64 running sums in WebAssembly with
// SIMD as soon as it is decoded, while it is in the cache: no 32 MB buffer, no second pass.
//
// The sums are bit for bit the kernel's: one IEEE double add per value, in the order of the rows.
// Anything the fast path does not cover (no WebAssembly, other codecs or types, a block cut at the
// array's edge across its rows, a missing chunk) runs as the two tasks would have, in this one.

import { NDArray, allocateUninitialized, sizeOf } from "../array/ndarray.js";
import type { Program } from "../array/kernels/expr.js";
import { runProgram } from "../array/kernels/expr.js";
import { dropBuffers, holdBuffers } from "../util/buffer-pool.js";
import { leaseScratch } from "../util/scratch.js";
import { bloscHeader, bloscNative, sumBloscRows } from "./codecs/blosc.js";
import { leaseWasmBlocks } from "./codecs/blosc-wasm.js";
import { openStore } from "./store.js";
import { readZarrBlock, type ZarrReadSpec } from "./zarr-chunks.js";
import { openChunkLayout, type ChunkLayout } from "./zarr-store.js";

const stats = { fast: 0, general: 0 };

/** How many fused sums in this thread took each path (tests, diagnostics). */
export function zarrSumStats(): { fast: number; general: number } {
  return { ...stats };
}

/** The block `spec` reads, summed over its first axis by `program` (zarr-fuse.ts): float64, first axis of length 1. */
export async function readZarrSum(spec: ZarrReadSpec, program: Program): Promise<NDArray> {
  const fast = await sumFast(spec);
  if (fast) {
    stats.fast++;
    return fast;
  }
  stats.general++;
  const block = await readZarrBlock(spec);
  // The block was this task's alone: its storage goes back to the pool as the worker's would.
  holdBuffers(block);
  try {
    return runProgram(program, [block]);
  } finally {
    dropBuffers(block);
  }
}

/** The fast path, or null where it does not apply. */
async function sumFast(spec: ZarrReadSpec): Promise<NDArray | null> {
  // A layout that cannot be read leaves the reading, and the report of what is wrong, to zarrita.
  const layout = await openChunkLayout(spec.url, spec.path, spec.format).catch(() => null);
  if (!layout || !fits(layout, spec)) return null;
  const itemsize = spec.dtype === "float32" ? 4 : 8;
  const chunks = spec.chunks;
  const rowShape = chunks.slice(1);
  const rowElems = sizeOf(rowShape);
  const inner = spec.start.slice(1).map((s, a) => s / chunks[a + 1]!);
  const store = openStore(spec.url);
  const wasm = leaseWasmBlocks(0, rowElems * 8);
  if (!wasm) return null;
  try {
    if (!wasm.reserve(0, rowElems * 8)) return null;
    wasm.clearAccumulator(rowElems);
    for (let c = spec.start[0]! / chunks[0]!; c * chunks[0]! < spec.stop[0]!; c++) {
      const rows = Math.min(chunks[0]!, spec.stop[0]! - c * chunks[0]!);
      const lease = leaseScratch();
      try {
        // Read into the module's memory where it has room (no copy into it per block), else the scratch buffer.
        const bytes = await store.get(layout.key([c, ...inner]), undefined, (size) => wasm.input(size) ?? lease.take(size));
        if (!bytes) return null; // never written: the fill value, left to the general path
        const h = bloscHeader(bytes);
        if (!bloscNative(h) || h.nbytes !== sizeOf(chunks) * itemsize) return null;
        const inModule = wasm.holds(bytes);
        const size = bytes.length;
        if (!wasm.reserve(h.blocksize, rowElems * 8, inModule ? size : 0)) return null;
        const src = inModule ? wasm.input(size)! : bytes; // the same bytes, in a view growing left usable
        sumBloscRows(src, h, rows, rowElems, itemsize, wasm);
      } finally {
        lease.release();
      }
    }
    const out = new NDArray("float64", [1, ...rowShape], allocateUninitialized("float64", rowElems));
    wasm.readAccumulator(out.data as Float64Array);
    return out;
  } finally {
    wasm.release();
  }
}

/** The block is whole chunks across its other axes, and the store is what the plan saw. */
function fits(layout: ChunkLayout, spec: ZarrReadSpec): boolean {
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (!layout.bloscOnly || layout.dataType !== spec.dtype || !same(layout.shape, spec.shape) || !same(layout.chunks, spec.chunks)) return false;
  for (let a = 1; a < spec.shape.length; a++) {
    const c = spec.chunks[a]!;
    if (spec.start[a]! % c !== 0 || spec.stop[a]! - spec.start[a]! !== c) return false;
  }
  return spec.start[0]! % spec.chunks[0]! === 0;
}
