// Chunked arrays into Zarr stores: the metadata put down once from here, then one chunk per task,
// written where the block is. What zarr-python and xarray write by default (v2, Blosc LZ4 with byte
// shuffle), or v3.

import { ChunkedArray } from "../array/core.js";
import { blockIndices } from "../array/chunks.js";
import { isDType, type DType } from "../array/dtype.js";
import { rechunk } from "../array/rechunk.js";
import { ArgumentError, StoreError } from "../errors.js";
import { COLLECTION, computeWith, type Collection, type ComputeOptions } from "../graph/collection.js";
import { LayeredGraph, Task, TaskRef, type GraphNode } from "../graph/task.js";
import { randomId } from "../util/ids.js";
import { IO } from "./register.js";
import type { Store } from "./store.js";
import { storesOf, type StoresSource } from "../task-context.js";
import type { ZarrWriteSpec } from "./zarr-chunks.js";
import { describeArray } from "./zarr-store.js";
import { normalizePath } from "./zarr.js";
import { checkKnownOptions } from "../client/arguments.js";

/** A compressor by name, or as numcodecs configures it ({ id: "blosc", cname: "lz4", clevel: 5, shuffle: 1 }). */
export type Compressor = "blosc" | "zstd" | "gzip" | "zlib" | "lz4" | { id: string; [option: string]: unknown } | null;

export interface ToZarrOptions extends ComputeOptions {
  /** Where in the store (default: the store's root is the array). */
  path?: string;
  /** Zarr version to write (default 2, which every Zarr reader reads). */
  format?: 2 | 3;
  /** Default: Blosc with LZ4, level 5, byte shuffle (zarr-python's default). */
  compressor?: Compressor;
  /** "w-" (default): fail if an array is there; "w": replace it. */
  mode?: "w" | "w-";
  /** Attributes to store with the array. */
  attrs?: Record<string, unknown>;
  /** Dimension names (v3 `dimension_names`; v2 the `_ARRAY_DIMENSIONS` attribute, as xarray does). */
  dimensionNames?: string[];
  /** For chunks outside the data (default NaN for floats, 0 for integers, false for bool). */
  fillValue?: number | boolean;
  /**
   * What the metadata is written through (and `mode` checks and removes through): a Client, Runtime
   * or LocalCluster (its runtime's stores) or a Stores; default the realm's. The chunks are written
   * where their tasks run, through the running worker's stores.
   */
  stores?: StoresSource;
}

/** The metadata toZarr writes, and the tasks that write the chunks (xarray's toZarr writes several arrays at once). */
export interface ZarrWritePlan {
  /** The array rechunked to whole Zarr chunks. */
  array: ChunkedArray;
  /** One task per chunk, in a layer over the array's graph. */
  graph: LayeredGraph;
  keys: string[];
}

/** Zarr v2 dtype strings (little-endian; one byte has no order) of each meshwork dtype. */
export const V2_DTYPE: Record<DType, string> = {
  float64: "<f8",
  float32: "<f4",
  int32: "<i4",
  uint32: "<u4",
  int16: "<i2",
  uint16: "<u2",
  int8: "|i1",
  uint8: "|u1",
  bool: "|b1",
};

/**
 * Writes the array to a Zarr store, one chunk per task, and the metadata once: `await
 * x.toZarr("out.zarr", { path: "air2" })`. Blocks that are not whole Zarr chunks are rechunked
 * first (the first block's size along each axis becomes the chunk size).
 */
export async function toZarr(x: ChunkedArray, store: string | URL, options: ToZarrOptions = {}): Promise<void> {
  checkKnownOptions("toZarr options", options, [
    "path",
    "format",
    "compressor",
    "mode",
    "attrs",
    "dimensionNames",
    "fillValue",
    "stores",
    "scheduler",
    "fuse",
  ]);
  const plan = await planZarrWrite(x, store, options);
  const { scheduler, fuse } = options;
  await computeWith({ ...(scheduler !== undefined ? { scheduler } : {}), ...(fuse !== undefined ? { fuse } : {}) }, [
    writeCollection(plan),
  ]);
}

/** Writes the metadata and returns the tasks that write the chunks. */
export async function planZarrWrite(
  x: ChunkedArray,
  store: string | URL,
  options: Omit<ToZarrOptions, keyof ComputeOptions> = {},
): Promise<ZarrWritePlan> {
  if (!(x instanceof ChunkedArray)) throw new ArgumentError(`toZarr writes a chunked array, got ${typeof x}`);
  const format = options.format ?? 2;
  if (format !== 2 && format !== 3)
    throw new ArgumentError(`format must be 2 or 3, got ${JSON.stringify(options.format)}`);
  const mode = options.mode ?? "w-";
  if (mode !== "w" && mode !== "w-") throw new ArgumentError(`mode must be "w" or "w-", got ${JSON.stringify(mode)}`);
  if (options.dimensionNames && options.dimensionNames.length !== x.ndim)
    throw new ArgumentError(
      `dimensionNames has ${options.dimensionNames.length} names for an array of ${x.ndim} dimensions`,
    );
  const stores = storesOf(options.stores);
  const url = stores.storeUrl(store);
  const path = normalizePath(options.path);
  const s = stores.open(url);
  const prefix = path ? `${path}/` : "";
  const where = describeArray(url, path);
  if (mode === "w-" && ((await s.get(`${prefix}.zarray`)) || (await s.get(`${prefix}zarr.json`)))) {
    throw new StoreError(`there is already a Zarr array at ${where}; pass { mode: "w" } to replace it`, where);
  }
  if (mode === "w" && s.remove) await s.remove(path);

  // Zarr chunks are regular: every block the same size along an axis but the last.
  const chunkShape = x.chunks.map((c) => Math.max(1, c[0] ?? 1));
  const regular = x.chunks.every(
    (c, a) => c.slice(0, -1).every((v) => v === chunkShape[a]) && (c[c.length - 1] ?? 0) <= chunkShape[a]!,
  );
  const array = regular ? x : rechunk(x, chunkShape);
  const compressor = compressorFor(options.compressor === undefined ? "blosc" : options.compressor, x.dtype);
  const fillValue = options.fillValue ?? (x.dtype === "bool" ? false : x.dtype.startsWith("float") ? NaN : 0);
  const attrs = { ...(options.attrs ?? {}) };

  if (format === 2) {
    await writeGroups(s, path, 2);
    const zarray = {
      zarr_format: 2,
      shape: [...x.shape],
      chunks: chunkShape,
      dtype: V2_DTYPE[x.dtype],
      compressor: compressor ? v2Compressor(compressor) : null,
      fill_value: jsonFill(fillValue),
      order: "C",
      filters: null,
      dimension_separator: ".",
    };
    if (options.dimensionNames) attrs["_ARRAY_DIMENSIONS"] = options.dimensionNames;
    await s.set(`${prefix}.zarray`, json(zarray));
    await s.set(`${prefix}.zattrs`, json(attrs));
  } else {
    await writeGroups(s, path, 3);
    const meta: Record<string, unknown> = {
      zarr_format: 3,
      node_type: "array",
      shape: [...x.shape],
      data_type: x.dtype,
      chunk_grid: { name: "regular", configuration: { chunk_shape: chunkShape } },
      chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
      fill_value: jsonFill(fillValue),
      codecs: [{ name: "bytes", configuration: { endian: "little" } }, ...(compressor ? [compressor] : [])],
      attributes: attrs,
    };
    if (options.dimensionNames) meta["dimension_names"] = options.dimensionNames;
    await s.set(`${prefix}zarr.json`, json(meta));
  }

  const name = `to-zarr-${randomId(8)}`;
  const layer = new Map<string, GraphNode>();
  const keys: string[] = [];
  for (const idx of blockIndices(array.numblocks)) {
    const spec: ZarrWriteSpec = {
      url,
      path,
      format,
      dataType: x.dtype,
      chunks: chunkShape,
      separator: format === 2 ? "." : "/",
      compressor,
      fillValue: typeof fillValue === "number" && Number.isNaN(fillValue) ? NaN : fillValue,
      index: idx,
    };
    const key = `${name}[${idx.join(",")}]`;
    layer.set(key, new Task(IO.zarrWrite, [spec, new TaskRef(array.key(idx))]));
    keys.push(key);
  }
  return { array, graph: LayeredGraph.merge([array.graph], name, layer), keys };
}

/** A collection whose value is nothing: computing it runs the writes. */
export function writeCollection(plan: { graph: LayeredGraph; keys: string[] }): Collection<undefined> {
  return {
    [COLLECTION]: () => ({
      graph: plan.graph,
      keys: plan.keys,
      finalize: () => undefined,
      rebuild: () => {
        throw new ArgumentError("a write cannot be persisted");
      },
    }),
  };
}

/** Group metadata above an array (zarr-python needs the root group to list the array). */
async function writeGroups(s: Store, path: string, format: 2 | 3): Promise<void> {
  const parts = path ? path.split("/") : [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts.slice(0, i).join("/");
    const key = format === 2 ? `${p ? `${p}/` : ""}.zgroup` : `${p ? `${p}/` : ""}zarr.json`;
    if (!(await s.get(key)))
      await s.set(
        key,
        json(format === 2 ? { zarr_format: 2 } : { zarr_format: 3, node_type: "group", attributes: {} }),
      );
  }
}

/** The compressor as a v3 codec ({ name, configuration }). */
function compressorFor(c: Compressor, dtype: DType): { name: string; configuration: Record<string, unknown> } | null {
  if (c === null) return null;
  const spec = typeof c === "string" ? { id: c } : c;
  if (typeof spec !== "object" || typeof spec.id !== "string")
    throw new ArgumentError(
      `compressor must be "blosc", "zstd", "gzip", "zlib", "lz4", null or { id, ... }; got ${JSON.stringify(c)}`,
    );
  const { id, ...rest } = spec;
  const typesize = isDType(dtype)
    ? (({ float64: 8, float32: 4, int32: 4, uint32: 4, int16: 2, uint16: 2 } as Record<string, number>)[dtype] ?? 1)
    : 1;
  switch (id) {
    case "blosc": {
      const shuffle = rest["shuffle"] ?? 1;
      if (rest["cname"] !== undefined && rest["cname"] !== "lz4")
        throw new ArgumentError(
          `meshwork writes Blosc with cname "lz4"; got ${JSON.stringify(rest["cname"])} (it reads every cname)`,
        );
      if (shuffle !== 0 && shuffle !== 1)
        throw new ArgumentError(
          `meshwork writes Blosc with shuffle 1 (byte) or 0 (none); got ${JSON.stringify(shuffle)}`,
        );
      return {
        name: "blosc",
        configuration: { cname: "lz4", clevel: rest["clevel"] ?? 5, shuffle, typesize, blocksize: 0 },
      };
    }
    case "zstd":
      return { name: "zstd", configuration: { level: rest["level"] ?? 1, checksum: false } };
    case "gzip":
    case "zlib":
      return { name: id, configuration: { level: rest["level"] ?? 6 } };
    case "lz4":
      return { name: "lz4", configuration: { acceleration: rest["acceleration"] ?? 1 } };
    default:
      throw new ArgumentError(
        `meshwork cannot write the ${JSON.stringify(id)} compressor; it writes blosc, zstd, gzip, zlib and lz4`,
      );
  }
}

/** numcodecs' form of a compressor, for .zarray. */
function v2Compressor(c: { name: string; configuration: Record<string, unknown> }): Record<string, unknown> {
  if (c.name === "blosc") {
    const { cname, clevel, shuffle, blocksize } = c.configuration;
    return { id: "blosc", cname, clevel, shuffle, blocksize };
  }
  if (c.name === "zstd") return { id: "zstd", level: c.configuration["level"] };
  return { id: c.name, ...c.configuration };
}

/** Fill values as Zarr's JSON spells them (NaN and infinities as strings). */
function jsonFill(v: number | boolean): number | boolean | string {
  if (typeof v === "boolean") return v;
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "Infinity";
  if (v === -Infinity) return "-Infinity";
  return v;
}

function json(v: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(v, null, 2));
}
