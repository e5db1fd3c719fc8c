// A Zarr read fused with grouped arithmetic on its rows (xarray/zarr-group.ts: the anomaly
// `air.groupby("time.month").sub(clim)`): each decoded piece of a row is combined with its
// group's row of the other array in the WebAssembly module while it is in the cache, and written
// out once. Unfused, the chunk was decoded into storage of its own, then read again and the
// result written by a JavaScript loop (~2.4 ns a value for float32: ~20 ms a 32 MB chunk).

import { NDArray, allocateUninitialized, sizeOf } from "../array/ndarray.js";
import type { CombineOp } from "./codecs/blosc-wasm.js";
import type { ZarrReadSpec } from "./zarr-chunks.js";
import { realmStores, type Stores } from "./store.js";
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
export async function rowsCombinedFast(
  spec: ZarrReadSpec,
  c: RowsCombined,
  stores: Stores = realmStores,
): Promise<NDArray | null> {
  const shape = spec.start.map((s, a) => spec.stop[a]! - s);
  let out: Float32Array | Float64Array | null = null;
  const perRow = rowElems(spec);
  const done = await combineRows(spec, c, stores, () => {
    // Every element is written: storage recycled from dropped blocks where the worker has some.
    out = allocateUninitialized(spec.dtype, sizeOf(shape)) as Float32Array | Float64Array;
    const target = { into: out, bytes: bytesOf(out), at: 0 };
    return (row) => ((target.at = row * perRow), target);
  });
  return done && out ? new NDArray(spec.dtype, shape, out) : null;
}

/**
 * The same rows, each handed to `onRow` as soon as it is whole (a view of one row's values, reused
 * for the next: `onRow` is done with it when it returns), rows in order; false where the fast path
 * does not apply, possibly after some rows were handed over (the caller then starts again the
 * general way). The row is assembled in a buffer of one row, which stays in the cache while
 * `onRow` works on it.
 */
export async function eachCombinedRow(
  spec: ZarrReadSpec,
  c: RowsCombined,
  onRow: (row: number, values: Float32Array | Float64Array) => void,
  stores: Stores = realmStores,
): Promise<boolean> {
  const perRow = rowElems(spec);
  let buf: Float32Array | Float64Array | null = null;
  return combineRows(
    spec,
    c,
    stores,
    () => {
      buf = spec.dtype === "float32" ? new Float32Array(perRow) : new Float64Array(perRow);
      const target = { into: buf, bytes: bytesOf(buf), at: 0 };
      return () => target;
    },
    (row) => onRow(row, buf!),
  );
}

/** Where row `row`'s values go: `into` (whose bytes are `bytes`) from element `at`. */
type Target = (row: number) => { into: Float32Array | Float64Array; bytes: Uint8Array; at: number };

function bytesOf(a: Float32Array | Float64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

async function combineRows(
  spec: ZarrReadSpec,
  c: RowsCombined,
  stores: Stores,
  open: () => Target,
  rowDone?: (row: number) => void,
): Promise<boolean> {
  const itemsize = spec.dtype === "float32" ? 4 : 8;
  if (c.other.BYTES_PER_ELEMENT !== itemsize) return false;
  const perRow = rowElems(spec);
  if (c.rows.length !== spec.stop[0]! - spec.start[0]!) return false;
  // The rows of `other` this block meets, side by side in the module's memory.
  const used = [...new Set(c.rows)].sort((a, b) => a - b);
  if (used.some((k) => !Number.isInteger(k) || k < 0 || (k + 1) * perRow > c.other.length)) return false;
  const slot = new Map(used.map((k, i) => [k, i]));
  const slots = c.rows.map((k) => slot.get(k)!);
  let target: Target = () => {
    throw new Error("no target before start");
  };
  const done = await withRows<true>(
    spec,
    {
      regionBytes: used.length * perRow * itemsize,
      start: (wasm) => {
        for (const [i, k] of used.entries()) {
          const row = c.other.subarray(k * perRow, (k + 1) * perRow);
          wasm.fillAccumulator(new Uint8Array(row.buffer, row.byteOffset, row.byteLength), i * perRow * itemsize);
        }
        target = open();
      },
      piece: (wasm, at, row, col, n) => {
        wasm.combine(at, slots[row]! * perRow + col, n, itemsize, c.op);
        const t = target(row);
        t.bytes.set(wasm.bytes(at, n * itemsize), (t.at + col) * itemsize);
        if (rowDone && col + n === perRow) rowDone(row);
      },
      chunk: () => {},
      // Never written: NaN op anything is NaN.
      missing: (first, rows, fillIsNaN) => {
        if (!fillIsNaN) return false;
        for (let row = first; row < first + rows; row++) {
          const t = target(row);
          t.into.fill(NaN, t.at, t.at + perRow);
          rowDone?.(row);
        }
        return true;
      },
      finish: () => true,
    },
    stores,
  );
  return done === true;
}
