// Datasets into Zarr as xarray writes them, so that `xarray.open_zarr` reads names, dimensions,
// coordinates and attributes back: one Zarr array per variable with `_ARRAY_DIMENSIONS`, dates
// encoded as CF times, non-index coordinates listed in `coordinates`, and consolidated metadata.
// Coordinates are written from here; data variables one chunk per task, all in one computation.

import { ArgumentError, StoreError } from "../errors.js";
import { fromArray } from "../array/creation.js";
import { ChunkedArray } from "../array/core.js";
import { computeWith, type ComputeOptions } from "../graph/collection.js";
import { LayeredGraph } from "../graph/task.js";
import type { Store } from "../io/store.js";
import { storesOf, type StoresSource } from "../task-context.js";
import { planZarrWrite, V2_DTYPE, writeCollection, type Compressor } from "../io/zarr-write.js";
import { chooseTimeUnits, encodeTimes } from "./cf.js";
import type { Coordinate } from "./coords.js";
import type { Dataset } from "./dataset.js";

export interface ToZarrOptions extends ComputeOptions {
  /** "w-" (default): fail if the store has a dataset; "w": replace it. */
  mode?: "w" | "w-";
  /** Compressor of the data variables (default Blosc LZ4 with shuffle, as xarray). */
  compressor?: Compressor;
  /** Write .zmetadata, which HTTP readers need to find the variables (default true). */
  consolidated?: boolean;
  /**
   * What the metadata is written through (and `mode` checks and removes through): a Client, Runtime
   * or LocalCluster (its runtime's stores) or a Stores; default the realm's. The chunks are written
   * where their tasks run, through the running worker's stores.
   */
  stores?: StoresSource;
}

export async function datasetToZarr(ds: Dataset, store: string | URL, options: ToZarrOptions = {}): Promise<void> {
  const known = ["mode", "compressor", "consolidated", "stores", "scheduler", "fuse"];
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length > 0)
    throw new ArgumentError(
      `unknown toZarr option ${unknown.map((k) => JSON.stringify(k)).join(", ")}; the options are ${known.map((k) => JSON.stringify(k)).join(", ")}`,
    );
  const stores = storesOf(options.stores);
  const url = stores.storeUrl(store);
  const s = stores.open(url);
  const mode = options.mode ?? "w-";
  if (mode !== "w" && mode !== "w-") throw new ArgumentError(`mode must be "w" or "w-", got ${JSON.stringify(mode)}`);
  if (mode === "w-" && ((await s.get(".zgroup")) || (await s.get(".zmetadata")) || (await s.get(".zarray")))) {
    throw new StoreError(`there is already a Zarr store at ${url}; pass { mode: "w" } to replace it`, url);
  }
  if (mode === "w" && s.remove) await s.remove("");
  const meta: Record<string, unknown> = {};
  const put = async (key: string, value: unknown) => {
    meta[key] = value;
    await s.set(key, new TextEncoder().encode(JSON.stringify(value, null, 2)));
  };
  await put(".zgroup", { zarr_format: 2 });
  await put(".zattrs", { ...ds.attrs });

  for (const [name, c] of ds.coords) await writeCoordinate(s, put, name, c);

  const nonIndex = [...ds.coords.keys()].filter((n) => {
    const c = ds.coords.get(n)!;
    return !(c.dims.length === 1 && c.dims[0] === n);
  });
  const plans = [];
  for (const [name, v] of ds.dataVars) {
    const x =
      v.data instanceof ChunkedArray
        ? v.data
        : fromArray(v.data, { chunks: v.data.ndim === 0 ? [] : v.data.shape.map(() => -1) });
    const mine = nonIndex.filter((n) => ds.coords.get(n)!.dims.every((d) => v.dims.includes(d)));
    const attrs: Record<string, unknown> = { ...v.attrs };
    if (mine.length > 0) attrs["coordinates"] = mine.join(" ");
    const plan = await planZarrWrite(x, url, {
      path: name,
      mode: "w",
      dimensionNames: [...v.dims],
      attrs,
      stores,
      ...(options.compressor !== undefined ? { compressor: options.compressor } : {}),
    });
    plans.push(plan);
    for (const file of [".zarray", ".zattrs"]) {
      const b = await s.get(`${name}/${file}`);
      meta[`${name}/${file}`] = JSON.parse(new TextDecoder().decode(b!));
    }
  }
  if (options.consolidated ?? true)
    await s.set(
      ".zmetadata",
      new TextEncoder().encode(JSON.stringify({ metadata: meta, zarr_consolidated_format: 1 }, null, 2)),
    );
  if (plans.length > 0) {
    const graph = LayeredGraph.merge(plans.map((p) => p.graph));
    const { scheduler, fuse } = options;
    await computeWith({ ...(scheduler !== undefined ? { scheduler } : {}), ...(fuse !== undefined ? { fuse } : {}) }, [
      writeCollection({ graph, keys: plans.flatMap((p) => p.keys) }),
    ]);
  }
}

/** A coordinate as one uncompressed chunk, written from here (coordinates are small). */
async function writeCoordinate(
  s: Store,
  put: (key: string, value: unknown) => Promise<void>,
  name: string,
  c: Coordinate,
): Promise<void> {
  const attrs: Record<string, unknown> = { ...c.attrs, _ARRAY_DIMENSIONS: [...c.dims] };
  let dtype: string;
  let bytes: Uint8Array;
  let fill: unknown = null;
  if (c.strings) {
    const width = Math.max(1, ...c.strings.map((x) => [...x].length));
    dtype = `<U${width}`;
    const codes = new Uint32Array(c.strings.length * width);
    c.strings.forEach((x, i) => [...x].forEach((ch, j) => (codes[i * width + j] = ch.codePointAt(0)!)));
    bytes = new Uint8Array(codes.buffer);
  } else if (c.kind === "datetime") {
    const ms = Float64Array.from(c.values.contiguous().toTypedArray());
    const units = typeof c.encoding["units"] === "string" ? (c.encoding["units"] as string) : chooseTimeUnits(ms).units;
    const values = encodeTimes(ms, units);
    attrs["units"] = units;
    attrs["calendar"] = typeof c.encoding["calendar"] === "string" ? c.encoding["calendar"] : "proleptic_gregorian";
    if (values.every((v) => Number.isInteger(v))) {
      dtype = "<i8";
      bytes = new Uint8Array(BigInt64Array.from(values, (v) => BigInt(v)).buffer);
    } else {
      dtype = "<f8";
      bytes = new Uint8Array(values.buffer);
      fill = "NaN";
    }
  } else {
    const v = c.values.contiguous();
    const data = v.data.subarray(v.offset, v.offset + v.size);
    dtype = V2_DTYPE[v.dtype];
    bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
    if (v.dtype.startsWith("float")) fill = "NaN";
  }
  const shape = [...c.shape];
  await put(`${name}/.zarray`, {
    zarr_format: 2,
    shape,
    chunks: shape.map((n) => Math.max(1, n)),
    dtype,
    compressor: null,
    fill_value: fill,
    order: "C",
    filters: null,
    dimension_separator: ".",
  });
  await put(`${name}/.zattrs`, attrs);
  await s.set(`${name}/${shape.length === 0 ? "0" : shape.map(() => 0).join(".")}`, bytes);
}
