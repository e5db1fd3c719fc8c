// A Zarr read fused with grouped arithmetic on its rows (xarray/zarr-group.ts: the anomaly
// `air.groupby("time.month").sub(clim)`): each decoded piece of a row is combined with its
// group's row of the other array in the WebAssembly module while it is in the cache, and written
// out once. Unfused, the chunk was decoded into storage of its own, then read again and the
// result written by a JavaScript loop (~2.4 ns a value for float32: ~20 ms a 32 MB chunk).

import { NDArray, allocateUninitialized, sizeOf } from "../array/ndarray.js";
import type { CombineOp } from "./codecs/blosc-wasm.js";
import type { ZarrReadSpec } from "./zarr-chunks.js";
import { rowElems, withRows } from "./zarr-rows.js";

export interface RowsCombined {
  op: CombineOp;
  /** The other array's rows, contiguous, of the block's type: row k at [k × rowElems, (k + 1) × rowElems). */
  other: Float32Array | Float64Array;
  /** For each row of the block, its row of `other`. */
  rows: readonly number[];
}

/**
 * The block `spec` reads with each row combined with its row of `other` (block[r] op
 * other[rows[r]], IEEE arithmetic in the block's type), or null where the fast path does not apply.
 * A chunk never written is NaN throughout when its fill value is, and stays NaN.
 */
export async function rowsCombinedFast(spec: ZarrReadSpec, c: RowsCombined): Promise<NDArray | null> {
  const itemsize = spec.dtype === "float32" ? 4 : 8;
  if (c.other.BYTES_PER_ELEMENT !== itemsize) return null;
  const perRow = rowElems(spec);
  const shape = spec.start.map((s, a) => spec.stop[a]! - s);
  if (c.rows.length !== shape[0]) return null;
  // The rows of `other` this block meets, side by side in the module's memory.
  const used = [...new Set(c.rows)].sort((a, b) => a - b);
  if (used.some((k) => !Number.isInteger(k) || k < 0 || (k + 1) * perRow > c.other.length)) return null;
  const slot = new Map(used.map((k, i) => [k, i]));
  const slots = c.rows.map((k) => slot.get(k)!);
  let out = new Float32Array(0) as Float32Array | Float64Array;
  let outBytes: Uint8Array = new Uint8Array(0);
  return withRows<NDArray>(spec, {
    regionBytes: used.length * perRow * itemsize,
    start: (wasm) => {
      for (const [i, k] of used.entries()) {
        const row = c.other.subarray(k * perRow, (k + 1) * perRow);
        wasm.fillAccumulator(new Uint8Array(row.buffer, row.byteOffset, row.byteLength), i * perRow * itemsize);
      }
      // Every element is written: storage recycled from dropped blocks where the worker has some.
      out = allocateUninitialized(spec.dtype, sizeOf(shape)) as Float32Array | Float64Array;
      outBytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    },
    piece: (wasm, at, row, col, n) => {
      wasm.combine(at, slots[row]! * perRow + col, n, itemsize, c.op);
      outBytes.set(wasm.bytes(at, n * itemsize), (row * perRow + col) * itemsize);
    },
    chunk: () => {},
    // Never written: NaN op anything is NaN.
    missing: (first, rows, fillIsNaN) => {
      if (fillIsNaN) out.fill(NaN, first * perRow, (first + rows) * perRow);
      return fillIsNaN;
    },
    finish: () => new NDArray(spec.dtype, shape, out),
  });
}
