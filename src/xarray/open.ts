// Opening files as Datasets: a Zarr store (a directory or a URL, consolidated metadata or a
// listable directory) or a NetCDF file (3 or 4), told apart by what the path holds. Coordinates are
// read now (they are small, and selections need them); data variables stay lazy, one task per
// storage chunk. CF conventions are applied as xarray applies them (cf.ts).

import { AlignmentError, ArgumentError, FormatError, LabelError, StoreError } from "../errors.js";
import type { ChunkedArray } from "../array/core.js";
import type { ChunksSpec } from "../array/chunks.js";
import { concatenate } from "../array/shape.js";
import type { DType } from "../array/dtype.js";
import { NDArray } from "../array/ndarray.js";
import { fileUrl, openStore, readFile, storeUrl } from "../io/store.js";
import { arrayFromInfo, inspectZarr, type ZarrArrayInfo } from "../io/zarr.js";
import { applyMaskAndScale, decodeTimes, isDecodableTime, maskAndScaleFor, maskAndScaleValues } from "./cf.js";
import { Coordinate } from "./coords.js";
import { Dataset } from "./dataset.js";
import { Variable } from "./variable.js";

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
}

/** One stored variable, whichever the format: how to read it lazily and now. */
interface Source {
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

const OPEN_OPTIONS = ["chunks", "maskAndScale", "decodeTimes", "dtypes", "engine", "group"];

/** Opens a NetCDF file or a Zarr store as a Dataset: `await openDataset("data/air.zarr")`. */
export async function openDataset(location: string | URL, options: OpenOptions = {}): Promise<Dataset> {
  checkOptions(options, OPEN_OPTIONS, "openDataset");
  const engine = options.engine ?? (await guessEngine(location));
  const { sources, attrs } =
    engine === "zarr" ? await zarrSources(location, options.group) : await netcdfSources(location);
  return assemble(sources, attrs, options);
}

async function guessEngine(location: string | URL): Promise<"zarr" | "netcdf"> {
  const dir = storeUrl(location);
  const s = openStore(dir);
  for (const key of [".zmetadata", ".zgroup", "zarr.json", ".zarray"]) if (await s.get(key)) return "zarr";
  const url = fileUrl(location);
  let head: Uint8Array;
  try {
    head = await readFile(url, { offset: 0, length: 8 });
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

// ---- Zarr ----

async function zarrSources(
  location: string | URL,
  group = "",
): Promise<{ sources: Source[]; attrs: Record<string, unknown> }> {
  const url = storeUrl(location);
  const s = openStore(url);
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
  const infos = await Promise.all(names.map((n) => inspectZarr(url, { path: prefix + n })));
  return { sources: infos.map((info, i) => zarrSource(names[i]!, info)), attrs };
}

async function listArrays(
  s: ReturnType<typeof openStore>,
  prefix: string,
  marker: string,
  url: string,
): Promise<string[]> {
  if (!s.list)
    throw new FormatError(
      `${url} has no consolidated metadata (.zmetadata) and its store cannot be listed (HTTP), so its variables are unknown; write it with consolidated metadata (xarray's default)`,
    );
  const entries = await s.list(prefix.replace(/\/$/, ""));
  const out: string[] = [];
  for (const e of entries) if (!e.startsWith(".") && (await s.get(`${prefix}${e}/${marker}`))) out.push(e);
  return out.sort();
}

function zarrSource(name: string, info: ZarrArrayInfo): Source {
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
        return zarrStrings(info);
      const x = arrayFromInfo(info, { chunks: info.shape.map(() => -1), ...(dtype ? { dtype } : {}) });
      const v = await x.compute({ scheduler: "sync" });
      // A 0-d array computes to its number.
      return v instanceof NDArray ? v : NDArray.from(v as number, { dtype: x.dtype });
    },
  };
}

async function zarrStrings(info: ZarrArrayInfo): Promise<string[]> {
  const { openZarrArray } = await import("../io/zarr-store.js");
  const arr = await openZarrArray(info.url, info.path, info.format);
  const zarr = await import("zarrita");
  const chunk = await zarr.get(arr as never);
  const data = (chunk as { data: ArrayLike<string> & { get?(i: number): string } }).data;
  return Array.from({ length: data.length }, (_, i) => String(data.get ? data.get(i) : data[i]));
}

// ---- NetCDF ----

async function netcdfSources(location: string | URL): Promise<{ sources: Source[]; attrs: Record<string, unknown> }> {
  const nc = await import("../io/netcdf.js");
  const info = await nc.inspectNetcdf(location);
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
          .readNetcdfVariable(info, v.name)
          .then((r) => (r instanceof NDArray && dtype && r.dtype !== dtype ? NDArray.from(r, { dtype }) : r)),
    }));
  return { sources, attrs: { ...info.attrs } };
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

// ---- several files ----

export interface OpenMfOptions extends OpenOptions {
  /** The dimension the files follow each other along (default: the one whose labels differ between files). */
  concatDim?: string;
}

/**
 * Opens several files (paths, or one path with `*` in its last part) as one Dataset, joined along
 * `concatDim` in the order of that dimension's labels: `openMfDataset(["y2020.nc", "y2021.nc"],
 * { concatDim: "time" })`. Other dimensions must have the same labels in every file.
 */
export async function openMfDataset(
  locations: string | readonly (string | URL)[],
  options: OpenMfOptions = {},
): Promise<Dataset> {
  checkOptions(options, [...OPEN_OPTIONS, "concatDim"], "openMfDataset");
  const { concatDim, ...open } = options;
  const paths = typeof locations === "string" ? await expandGlob(locations) : [...locations];
  if (paths.length === 0)
    throw new ArgumentError(
      `no files to open${typeof locations === "string" ? ` match ${JSON.stringify(locations)}` : ""}`,
    );
  const datasets = await Promise.all(paths.map((p) => openDataset(p, open)));
  const names = paths.map((p) => String(p));
  const dim = concatDim ?? inferConcatDim(datasets);
  datasets.forEach((ds, i) => {
    if (!ds.coords.has(dim) && !(dim in ds.sizes))
      throw new AlignmentError(
        `${names[i]} has no dimension "${dim}" to join along (its dimensions are ${ds.dims.join(", ")})`,
      );
  });
  // In the order of the first label along the dimension.
  const firstLabel = (ds: Dataset) => {
    const c = ds.coords.get(dim);
    return c && c.kind !== "string" && c.size > 0 ? c.values.contiguous().toTypedArray()[0]! : 0;
  };
  const order = datasets.map((_, i) => i).sort((a, b) => firstLabel(datasets[a]!) - firstLabel(datasets[b]!));
  const sorted = order.map((i) => datasets[i]!);
  const sortedNames = order.map((i) => names[i]!);
  const first = sorted[0]!;
  // Everything but the joined dimension must agree.
  sorted.forEach((ds, i) => {
    for (const [n, c] of first.coords) {
      if (c.dims.includes(dim)) continue;
      const other = ds.coords.get(n);
      if (!other) throw new AlignmentError(`${sortedNames[i]} has no coordinate "${n}", which ${sortedNames[0]} has`);
      if (!other.equals(c))
        throw new AlignmentError(
          `coordinate "${n}" differs between ${sortedNames[0]} (${describeCoord(c)}) and ${sortedNames[i]} (${describeCoord(other)})`,
        );
    }
    for (const n of first.keys())
      if (!ds.dataVars.has(n))
        throw new AlignmentError(`${sortedNames[i]} has no variable "${n}", which ${sortedNames[0]} has`);
    for (const n of ds.keys())
      if (!first.dataVars.has(n))
        throw new AlignmentError(`${sortedNames[i]} has a variable "${n}" that ${sortedNames[0]} lacks`);
    for (const [n, v] of first.dataVars) {
      const w = ds.dataVars.get(n)!;
      if (v.dims.join() !== w.dims.join())
        throw new AlignmentError(
          `"${n}" has dimensions (${w.dims.join(", ")}) in ${sortedNames[i]} but (${v.dims.join(", ")}) in ${sortedNames[0]}`,
        );
      v.dims.forEach((d, a) => {
        if (d !== dim && v.shape[a] !== w.shape[a])
          throw new AlignmentError(
            `"${n}" has ${w.shape[a]} positions along "${d}" in ${sortedNames[i]} but ${v.shape[a]} in ${sortedNames[0]}`,
          );
      });
    }
  });
  const vars = new Map<string, Variable>();
  for (const [n, v] of first.dataVars) {
    if (!v.dims.includes(dim)) {
      vars.set(n, v);
      continue;
    }
    const axis = v.dims.indexOf(dim);
    vars.set(
      n,
      v.with(
        concatenate(
          sorted.map((ds) => ds.dataVars.get(n)!.lazy()),
          axis,
        ),
      ),
    );
  }
  const coords = new Map<string, Coordinate>();
  for (const [n, c] of first.coords) {
    if (!c.dims.includes(dim)) {
      coords.set(n, c);
      continue;
    }
    if (c.dims[0] !== dim)
      throw new AlignmentError(
        `coordinate "${n}" runs along "${dim}" but not first; meshwork joins coordinates along their first dimension`,
      );
    const parts = sorted.map((ds) => ds.coords.get(n)!);
    if (c.strings)
      coords.set(
        n,
        new Coordinate({
          dims: c.dims,
          values: parts.flatMap((p) => [...p.strings!]),
          attrs: { ...c.attrs },
          encoding: { ...c.encoding },
        }),
      );
    else {
      const flat = parts.flatMap((p) => Array.from(p.values.contiguous().toTypedArray()));
      const shape = [flat.length / (c.size / c.shape[0]!), ...c.shape.slice(1)];
      coords.set(
        n,
        new Coordinate({
          dims: c.dims,
          kind: c.kind,
          values: NDArray.from(Float64Array.from(flat), { shape, dtype: c.values.dtype }),
          attrs: { ...c.attrs },
          encoding: { ...c.encoding },
        }),
      );
    }
  }
  const labels = coords.get(dim);
  if (labels && labels.kind !== "string") {
    const v = labels.values.contiguous().toTypedArray();
    for (let i = 1; i < v.length; i++)
      if (!(v[i]! > v[i - 1]!))
        throw new AlignmentError(
          `after joining, "${dim}" is not increasing at position ${i} (${labels.format(i - 1)} then ${labels.format(i)}): the files overlap along "${dim}"`,
        );
  }
  return new Dataset({ dataVars: vars, coords, attrs: { ...first.attrs } });
}

function describeCoord(c: Coordinate): string {
  return `${c.size} labels, ${c.format(0)} … ${c.format(c.size - 1)}`;
}

function inferConcatDim(datasets: Dataset[]): string {
  if (datasets.length === 1) return datasets[0]!.dims[0] ?? "";
  const candidates = datasets[0]!.dims.filter((d) => {
    const c0 = datasets[0]!.coords.get(d);
    return c0 && datasets.some((ds) => !ds.coords.get(d)?.equals(c0));
  });
  if (candidates.length !== 1)
    throw new ArgumentError(
      `cannot tell which dimension to join the files along (${candidates.length ? candidates.join(", ") + " differ" : "no dimension's labels differ"}); pass { concatDim: "time" }`,
    );
  return candidates[0]!;
}

/** A path with `*` or `?` in its last part, expanded by listing its directory (sorted). */
async function expandGlob(pattern: string): Promise<string[]> {
  if (!/[*?]/.test(pattern)) return [pattern];
  const cut = pattern.lastIndexOf("/");
  const dir = cut < 0 ? "." : pattern.slice(0, cut) || "/";
  const glob = pattern.slice(cut + 1);
  if (/[*?]/.test(dir))
    throw new ArgumentError(`only the last part of a path may have wildcards: ${JSON.stringify(pattern)}`);
  const s = openStore(storeUrl(dir));
  if (!s.list)
    throw new ArgumentError(`cannot list ${dir} to expand ${JSON.stringify(glob)}; give the files as a list`);
  const re = new RegExp(
    `^${glob
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  );
  const names = (await s.list("")).filter((n) => re.test(n)).sort();
  if (names.length === 0) throw new LabelError(`no files match ${JSON.stringify(pattern)}`);
  return names.map((n) => (cut < 0 ? n : `${pattern.slice(0, cut)}/${n}`));
}

function checkOptions(options: unknown, known: string[], what: string): void {
  if (typeof options !== "object" || options === null || Array.isArray(options))
    throw new ArgumentError(`${what} options must be an object, got ${JSON.stringify(options)}`);
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length > 0)
    throw new ArgumentError(
      `unknown ${what} option ${unknown.map((k) => JSON.stringify(k)).join(", ")}; the options are ${known.map((k) => JSON.stringify(k)).join(", ")}`,
    );
}
