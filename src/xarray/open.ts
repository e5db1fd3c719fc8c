// Opening files as Datasets: a Zarr store (a directory or a URL, consolidated metadata or a
// listable directory) or a NetCDF file (3 or 4), told apart by what the path holds. Coordinates are
// read now (they are small, and selections need them); data variables stay lazy, one task per
// storage chunk. CF conventions are applied as xarray applies them (cf.ts).

import { ArgumentError, FormatError, StoreError } from "../errors.js";
import type { ChunksSpec } from "../array/chunks.js";
import type { DType } from "../array/dtype.js";
import { NDArray } from "../array/ndarray.js";
import { fileUrl, readFile, type Stores } from "../io/store.js";
import { storesOf, type StoresSource } from "../task-context.js";
import { applyMaskAndScale, decodeTimes, isDecodableTime, maskAndScaleFor, maskAndScaleValues } from "./cf.js";
import { Coordinate } from "./coords.js";
import { Dataset } from "./dataset.js";
import { netcdfSources, zarrSources, type Source } from "./sources.js";
import { Variable } from "./variable.js";
import { checkKnownOptions } from "../client/arguments.js";

export interface OpenOptions {
  /**
   * Blocks by dimension name (`{ time: 365 }`; -1 for the whole dimension, "auto" for ~128 MiB
   * blocks), rounded to whole storage chunks. Dimensions not named keep the storage chunks.
   */
  chunks?: Readonly<Record<string, number | "auto">> | "auto";
  /** Apply `_FillValue`/`missing_value` (as NaN), `scale_factor` and `add_offset` (default true). */
  maskAndScale?: boolean;
  /** Turn CF times ("days since …") into dates (default true). */
  decodeTimes?: boolean;
  /** Read these variables as another dtype (types meshwork lacks, such as int64, need one). */
  dtypes?: Readonly<Record<string, DType>>;
  /** "zarr" or "netcdf"; default: from what the path holds. */
  engine?: "zarr" | "netcdf";
  /** A group inside a Zarr store. */
  group?: string;
  /**
   * What to read the metadata and coordinates through: a Client, Runtime or LocalCluster (its
   * runtime's stores: the schemes and data credentials it has) or a Stores. Default: the realm's.
   * The data variables' chunks are read where their tasks run, through the running worker's stores.
   */
  stores?: StoresSource;
}

export const OPEN_OPTIONS = ["chunks", "maskAndScale", "decodeTimes", "dtypes", "engine", "group", "stores"];

/** Opens a NetCDF file or a Zarr store as a Dataset: `await openDataset("data/air.zarr")`. */
export async function openDataset(location: string | URL, options: OpenOptions = {}): Promise<Dataset> {
  checkKnownOptions("openDataset options", options, OPEN_OPTIONS);
  const stores = storesOf(options.stores);
  const engine = options.engine ?? (await guessEngine(location, stores));
  const { sources, attrs } =
    engine === "zarr" ? await zarrSources(location, options.group, stores) : await netcdfSources(location, stores);
  return assemble(sources, attrs, options);
}

async function guessEngine(location: string | URL, stores: Stores): Promise<"zarr" | "netcdf"> {
  const dir = stores.storeUrl(location);
  const s = stores.open(dir);
  for (const key of [".zmetadata", ".zgroup", "zarr.json", ".zarray"]) if (await s.get(key)) return "zarr";
  const url = fileUrl(location, stores);
  let head: Uint8Array;
  try {
    head = await readFile(url, { offset: 0, length: 8 }, stores);
  } catch (err) {
    if (err instanceof StoreError)
      throw new StoreError(
        `nothing to open at ${url}: no Zarr store (.zmetadata, .zgroup, zarr.json) and no NetCDF file there`,
        url,
        { cause: err },
      );
    throw err;
  }
  const magic = String.fromCharCode(...head.subarray(0, 4));
  if (magic.startsWith("CDF") || magic === "\x89HDF") return "netcdf";
  throw new FormatError(
    `${url} is neither a NetCDF file (it does not start with "CDF" or the HDF5 signature) nor a Zarr store`,
  );
}

// ---- from sources to a Dataset ----

/** Attributes xarray moves to a variable's encoding once it has applied them. */
const CF_ENCODING = ["_FillValue", "missing_value", "scale_factor", "add_offset", "_Unsigned"];

async function assemble(sources: Source[], attrs: Record<string, unknown>, options: OpenOptions): Promise<Dataset> {
  const allDims = new Set(sources.flatMap((s) => s.dims));
  const coordNames = new Set(sources.filter((s) => s.dims.length === 1 && s.dims[0] === s.name).map((s) => s.name));
  const listed = [attrs["coordinates"], ...sources.map((s) => s.attrs["coordinates"])].filter(
    (c): c is string => typeof c === "string",
  );
  for (const l of listed) for (const n of l.split(/\s+/)) if (n && sources.some((s) => s.name === n)) coordNames.add(n);
  const globalAttrs = { ...attrs };
  delete globalAttrs["coordinates"];
  const mask = options.maskAndScale ?? true;
  const times = options.decodeTimes ?? true;

  const coords = new Map<string, Coordinate>();
  const vars = new Map<string, Variable>();
  await Promise.all(
    sources.map(async (s) => {
      const attrs = { ...s.attrs };
      delete attrs["coordinates"];
      const encoding: Record<string, unknown> = { dtype: s.dataType };
      const dtype = options.dtypes?.[s.name] ?? (["int64", "uint64"].includes(s.dataType) ? "float64" : undefined);
      if (coordNames.has(s.name)) {
        const raw = await s.now(dtype);
        if (!(raw instanceof NDArray)) {
          coords.set(s.name, new Coordinate({ dims: s.dims, values: raw, attrs, encoding }));
          return;
        }
        let values = raw;
        let kind: "number" | "datetime" = "number";
        const ms = mask ? maskAndScaleFor(raw.dtype, attrs) : null;
        if (ms)
          values = NDArray.from(maskAndScaleValues(Float64Array.from(raw.contiguous().toTypedArray()), ms), {
            shape: [...raw.shape],
            dtype: ms.dtype,
          });
        if (times && isDecodableTime(attrs)) {
          const fill = typeof attrs["_FillValue"] === "number" ? (attrs["_FillValue"] as number) : undefined;
          values = NDArray.from(decodeTimes(values.contiguous().toTypedArray(), attrs, fill), {
            shape: [...raw.shape],
          });
          kind = "datetime";
          for (const k of ["units", "calendar"]) if (k in attrs) (encoding[k] = attrs[k]), delete attrs[k];
        }
        for (const k of CF_ENCODING) if (k in attrs && mask) (encoding[k] = attrs[k]), delete attrs[k];
        coords.set(s.name, new Coordinate({ dims: s.dims, kind, values, attrs, encoding }));
        return;
      }
      if (s.dataType === "char" || s.dataType === "string" || s.dataType.startsWith("v2:")) return; // text data variables are not arrays of numbers
      const chunks = chunksFor(s, options.chunks);
      let x = s.lazy(chunks, dtype);
      const ms = mask ? maskAndScaleFor(x.dtype, attrs) : null;
      if (ms) x = applyMaskAndScale(x, ms);
      if (mask) for (const k of CF_ENCODING) if (k in attrs) (encoding[k] = attrs[k]), delete attrs[k];
      vars.set(s.name, new Variable(s.dims, x, attrs, encoding));
    }),
  );
  // Keep the file's order.
  const ordered = new Map(sources.filter((s) => vars.has(s.name)).map((s) => [s.name, vars.get(s.name)!]));
  const orderedCoords = new Map(sources.filter((s) => coords.has(s.name)).map((s) => [s.name, coords.get(s.name)!]));
  void allDims;
  return new Dataset({ dataVars: ordered, coords: orderedCoords, attrs: globalAttrs });
}

/**
 * Per-dimension blocks as a ChunksSpec for one variable. Dimensions not named keep the storage
 * chunks (1 rounds up to one chunk); an unchunked variable's first dimension gets "auto" and the
 * rest whole.
 */
function chunksFor(s: Source, chunks: OpenOptions["chunks"]): ChunksSpec | undefined {
  if (chunks === undefined) return undefined;
  if (chunks === "auto") return "auto";
  if (typeof chunks !== "object" || chunks === null)
    throw new ArgumentError(
      `chunks must map dimension names to block sizes ({ time: 365 }), or be "auto"; got ${JSON.stringify(chunks)}`,
    );
  if (!s.dims.some((d) => d in chunks)) return undefined;
  return s.dims.map((d, a) => chunks[d] ?? (s.storageChunked ? 1 : a === 0 ? "auto" : -1));
}
