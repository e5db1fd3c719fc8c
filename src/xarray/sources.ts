// The variables a file holds, whichever the format (Zarr, NetCDF 3 or 4): their names, dimensions
// and attributes from the metadata, and how to read each lazily (one task per storage chunk) or now.

import type { ChunkedArray } from "../array/core.js";
import type { ChunksSpec } from "../array/chunks.js";
import type { DType } from "../array/dtype.js";
import { NDArray } from "../array/ndarray.js";
import { FormatError } from "../errors.js";
import { realmStores, type Store, type Stores } from "../io/store.js";
import { arrayFromInfo, inspectZarr, type ZarrArrayInfo } from "../io/zarr.js";

/** One stored variable, whichever the format: how to read it lazily and now. */
export interface Source {
  name: string;
  dims: string[];
  shape: number[];
  dataType: string;
  attrs: Record<string, unknown>;
  /** Whether the variable is stored in chunks (else contiguous). */
  storageChunked: boolean;
  lazy(chunks: ChunksSpec | undefined, dtype: DType | undefined): ChunkedArray;
  now(dtype: DType | undefined): Promise<NDArray | string[]>;
}

// ---- Zarr ----

/** The arrays of the Zarr store (or group) at `location`, their metadata read through `stores`. */
export async function zarrSources(
  location: string | URL,
  group = "",
  stores: Stores = realmStores,
): Promise<{ sources: Source[]; attrs: Record<string, unknown> }> {
  const url = stores.storeUrl(location);
  const s = stores.open(url);
  const prefix = group ? `${group.replace(/^\/+|\/+$/g, "")}/` : "";
  const json = async (key: string): Promise<Record<string, unknown> | undefined> => {
    const b = await s.get(prefix + key);
    if (!b) return undefined;
    try {
      return JSON.parse(new TextDecoder().decode(b)) as Record<string, unknown>;
    } catch (err) {
      throw new FormatError(`${url}${prefix}${key} is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
  };
  let names: string[];
  let attrs: Record<string, unknown> = {};
  const consolidated = (await json(".zmetadata"))?.["metadata"] as Record<string, Record<string, unknown>> | undefined;
  const v3 = await json("zarr.json");
  if (consolidated) {
    names = Object.keys(consolidated)
      .filter((k) => k.endsWith("/.zarray") && !k.slice(0, -8).includes("/"))
      .map((k) => k.slice(0, -8));
    attrs = consolidated[".zattrs"] ?? {};
  } else if (v3) {
    attrs = (v3["attributes"] as Record<string, unknown>) ?? {};
    const inline = (v3["consolidated_metadata"] as { metadata?: Record<string, { node_type?: string }> } | undefined)
      ?.metadata;
    names = inline
      ? Object.keys(inline).filter((k) => inline[k]!.node_type === "array" && !k.includes("/"))
      : await listArrays(s, prefix, "zarr.json", url);
  } else {
    attrs = (await json(".zattrs")) ?? {};
    names = await listArrays(s, prefix, ".zarray", url);
  }
  if (names.length === 0) throw new FormatError(`${url}${prefix} holds no Zarr arrays`);
  const infos = await Promise.all(names.map((n) => inspectZarr(url, { path: prefix + n, stores })));
  return { sources: infos.map((info, i) => zarrSource(names[i]!, info, stores)), attrs };
}

async function listArrays(s: Store, prefix: string, marker: string, url: string): Promise<string[]> {
  if (!s.list)
    throw new FormatError(
      `${url} has no consolidated metadata (.zmetadata) and its store cannot be listed (HTTP), so its variables are unknown; write it with consolidated metadata (xarray's default)`,
    );
  const entries = await s.list(prefix.replace(/\/$/, ""));
  const out: string[] = [];
  for (const e of entries) if (!e.startsWith(".") && (await s.get(`${prefix}${e}/${marker}`))) out.push(e);
  return out.sort();
}

function zarrSource(name: string, info: ZarrArrayInfo, stores: Stores): Source {
  const dims = info.dimensionNames;
  if (!dims || dims.length !== info.shape.length)
    throw new FormatError(
      `${info.url}${info.path} has no dimension names (_ARRAY_DIMENSIONS, as xarray writes, or v3 dimension_names), so it cannot be a labeled variable`,
    );
  const attrs = { ...info.attrs };
  delete attrs["_ARRAY_DIMENSIONS"];
  // xarray: the Zarr fill value is the variable's _FillValue.
  if (info.fillValue !== null && info.fillValue !== undefined && !("_FillValue" in attrs))
    attrs["_FillValue"] = typeof info.fillValue === "bigint" ? Number(info.fillValue) : info.fillValue;
  return {
    name,
    dims,
    shape: info.shape,
    dataType: info.dataType,
    attrs,
    storageChunked: true,
    lazy: (chunks, dtype) =>
      arrayFromInfo(info, { ...(chunks !== undefined ? { chunks } : {}), ...(dtype ? { dtype } : {}) }),
    now: async (dtype) => {
      if (
        info.dataType.startsWith("v2:U") ||
        info.dataType.startsWith("v2:S") ||
        info.dataType === "string" ||
        info.dataType === "v2:object"
      )
        return zarrStrings(info, stores);
      // Read here through `stores` (the "sync" scheduler would run the read through the realm's).
      const x = arrayFromInfo(info, { chunks: info.shape.map(() => -1), ...(dtype ? { dtype } : {}) });
      const { readZarrBlock } = await import("../io/zarr-chunks.js");
      const whole = { start: info.shape.map(() => 0), stop: info.shape };
      const v = await readZarrBlock({ ...info, dtype: x.dtype, ...whole }, stores);
      // A 0-d array computes to its number.
      return v instanceof NDArray ? v : NDArray.from(v as number, { dtype: x.dtype });
    },
  };
}

async function zarrStrings(info: ZarrArrayInfo, stores: Stores): Promise<string[]> {
  const { openZarrArray } = await import("../io/zarr-store.js");
  const arr = await openZarrArray(info.url, info.path, info.format, stores);
  const zarr = await import("zarrita");
  const chunk = await zarr.get(arr as never);
  const data = (chunk as { data: ArrayLike<string> & { get?(i: number): string } }).data;
  return Array.from({ length: data.length }, (_, i) => String(data.get ? data.get(i) : data[i]));
}

// ---- NetCDF ----

/** The variables of the NetCDF file at `location`, its header read through `stores`. */
export async function netcdfSources(
  location: string | URL,
  stores: Stores = realmStores,
): Promise<{ sources: Source[]; attrs: Record<string, unknown> }> {
  const nc = await import("../io/netcdf.js");
  const info = await nc.inspectNetcdf(location, { stores });
  const sources = info.variables
    .filter((v) => v.dataType !== "char" || v.dims.length <= 2)
    .map<Source>((v) => ({
      name: v.name,
      dims: v.dataType === "char" ? v.dims.slice(0, -1) : v.dims,
      shape: v.dataType === "char" ? v.shape.slice(0, -1) : v.shape,
      dataType: v.dataType,
      attrs: { ...v.attrs },
      storageChunked: v.chunks !== null,
      lazy: (chunks, dtype) =>
        nc.netcdfVariable(info, v.name, { ...(chunks !== undefined ? { chunks } : {}), ...(dtype ? { dtype } : {}) }),
      now: (dtype) =>
        nc
          .readNetcdfVariable(info, v.name, stores)
          .then((r) => (r instanceof NDArray && dtype && r.dtype !== dtype ? NDArray.from(r, { dtype }) : r)),
    }));
  return { sources, attrs: { ...info.attrs } };
}
