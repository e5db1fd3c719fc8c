// The loop under the reads fused with work on their rows (zarr-reduce.ts: sums over the first
// axis; zarr-combine.ts: grouped arithmetic): each chunk of a block read straight into the
// WebAssembly module's memory where it has room, and decoded a Blosc block at a time there, each
// piece of a row handed to the caller while it is in the cache. Only for what it can do exactly:
// Blosc over plain float32/float64 values (LZ4 or stored as is), blocks of whole chunks across the
// other axes; otherwise the caller reads the block and works on it as unfused.

import { sizeOf } from "../array/ndarray.js";
import { leaseScratch } from "../util/scratch.js";
import { bloscHeader, bloscNative, decodeBloscRows } from "./codecs/blosc.js";
import { leaseWasmBlocks, type WasmBlocks } from "./codecs/blosc-wasm.js";
import { realmStores, type Stores } from "./store.js";
import type { ZarrReadSpec } from "./zarr-chunks.js";
import { openChunkLayout, type ChunkLayout } from "./zarr-store.js";

/** What a fused read does with its rows. */
export interface RowWork<T> {
  /** Bytes of the module's memory before its input the work keeps (running sums, another array's rows). */
  regionBytes: number;
  /** Once the region is reserved, before any chunk. */
  start(wasm: WasmBlocks): void;
  /** Values [col, col + n) of row `row` of the block are at `at` in the module's memory (until the next call). */
  piece(wasm: WasmBlocks, at: number, row: number, col: number, n: number): void;
  /** A chunk was decoded: the block's rows [first, first + rows). */
  chunk(first: number, rows: number): void;
  /** A chunk was never written (its rows read as the fill value, NaN when `fillIsNaN`): whether to go on without it. */
  missing(first: number, rows: number, fillIsNaN: boolean): boolean;
  /** The result, once every chunk is done (the region still readable). */
  finish(wasm: WasmBlocks): T;
}

/** Values in a row of the block `spec` reads (its shape past the first axis, flattened). */
export function rowElems(spec: ZarrReadSpec): number {
  return sizeOf(spec.chunks.slice(1));
}

/** Runs `work` over the rows of the block `spec` reads, or gives null where the fast path does not apply. */
export async function withRows<T>(
  spec: ZarrReadSpec,
  work: RowWork<T>,
  stores: Stores = realmStores,
): Promise<T | null> {
  // A layout that cannot be read leaves the reading, and the report of what is wrong, to zarrita.
  const layout = await openChunkLayout(spec.url, spec.path, spec.format, stores).catch(() => null);
  if (!layout || !fits(layout, spec)) return null;
  const itemsize = spec.dtype === "float32" ? 4 : 8;
  const chunks = spec.chunks;
  const perRow = rowElems(spec);
  const inner = spec.start.slice(1).map((s, a) => s / chunks[a + 1]!);
  const store = stores.open(spec.url);
  const wasm = leaseWasmBlocks(0, work.regionBytes);
  if (!wasm) return null;
  try {
    if (!wasm.reserve(0, work.regionBytes)) return null;
    work.start(wasm);
    for (let c = spec.start[0]! / chunks[0]!; c * chunks[0]! < spec.stop[0]!; c++) {
      const rows = Math.min(chunks[0]!, spec.stop[0]! - c * chunks[0]!);
      const first = c * chunks[0]! - spec.start[0]!; // the chunk's first row in the block
      const lease = leaseScratch();
      try {
        // Read into the module's memory where it has room (no copy into it per block), else the scratch buffer.
        const bytes = await store.get(
          layout.key([c, ...inner]),
          undefined,
          (size) => wasm.input(size) ?? lease.take(size),
        );
        if (!bytes) {
          if (work.missing(first, rows, layout.fillIsNaN)) continue;
          return null;
        }
        const h = bloscHeader(bytes);
        if (!bloscNative(h) || h.nbytes !== sizeOf(chunks) * itemsize) return null;
        const inModule = wasm.holds(bytes);
        const size = bytes.length;
        if (!wasm.reserve(h.blocksize, work.regionBytes, inModule ? size : 0)) return null;
        const src = inModule ? wasm.input(size)! : bytes; // the same bytes, in a view growing left usable
        decodeBloscRows(src, h, rows, perRow, itemsize, wasm, (at, row, col, n) =>
          work.piece(wasm, at, first + row, col, n),
        );
        work.chunk(first, rows);
      } finally {
        lease.release();
      }
    }
    return work.finish(wasm);
  } finally {
    wasm.release();
  }
}

/** The block is whole chunks across its other axes, and the store is what the plan saw. */
function fits(layout: ChunkLayout, spec: ZarrReadSpec): boolean {
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (
    !layout.bloscOnly ||
    layout.dataType !== spec.dtype ||
    spec.dataType !== spec.dtype ||
    !same(layout.shape, spec.shape) ||
    !same(layout.chunks, spec.chunks)
  )
    return false;
  for (let a = 1; a < spec.shape.length; a++) {
    const c = spec.chunks[a]!;
    if (spec.start[a]! % c !== 0 || spec.stop[a]! - spec.start[a]! !== c) return false;
  }
  return spec.start[0]! % spec.chunks[0]! === 0;
}
