// NetCDF files (3 and 4) as chunked arrays, read lazily: the client reads the header and plans one
// task per storage chunk (NetCDF-4 chunked variables) or per run of rows along the first axis
// (contiguous and NetCDF-3 variables: one byte range each), and the worker that runs a task reads
// its piece (netcdf-chunks.ts). Values are as stored: CF decoding is the labeled layer's.

import { ArgumentError, DTypeError, FormatError, LabelError, StoreError } from "../errors.js";
import type { ChunkedArray } from "../array/core.js";
import { tokenName } from "../array/names.js";
import { AUTO_CHUNK_BYTES, normalizeChunks, regularChunks, type ChunksSpec } from "../array/chunks.js";
import { dtypeOfStorage, itemSize, STORAGE, type DType, type TypedArray } from "../array/dtype.js";
import { NDArray } from "../array/ndarray.js";
import { Task } from "../graph/task.js";
import { convertValues, dtypeFor } from "./dtypes.js";
import type { NetcdfReadSpec } from "./netcdf-chunks.js";
import { charStrings, fromBigEndian, inspectNetcdf3, PREFIX_BYTES, readNetcdf3Rows } from "./netcdf3.js";
import { inspectNetcdf4, readHdf5Region, withHdf5 } from "./netcdf4.js";
import { readArray, wholeChunks } from "./plan.js";
import { IO } from "./register.js";
import { fileUrl, realmStores, type Stores } from "./store.js";
import { storesOf, type StoresSource } from "../task-context.js";
import { checkKnownOptions } from "../client/arguments.js";

export interface NetcdfVariableInfo {
  name: string;
  /** Dimension names, in order. */
  dims: string[];
  shape: number[];
  /** "int8" | "uint8" | "int16" | "uint16" | "int32" | "uint32" | "int64" | "uint64" | "float32" | "float64" | "char" | "string" (other HDF5 types by their class: "compound", "opaque" …). */
  dataType: string;
  /** The variable's attributes as stored: a one-element number attribute as a number, longer as number[], text as a string; not CF-decoded. */
  attrs: Record<string, unknown>;
  /** Storage chunks (chunked NetCDF-4), else null. */
  chunks: number[] | null;
  /** Where the values are in the file, for the tasks that read them. */
  layout: NetcdfLayout;
}

/**
 * NetCDF-3: the variable's first byte, and for record variables the bytes from one record to the
 * next (null otherwise). NetCDF-4: the HDF5 dataset's path.
 */
export type NetcdfLayout =
  | { kind: "netcdf3"; begin: number; recordSize: number | null }
  | { kind: "hdf5"; path: string };

export interface NetcdfInfo {
  /** The file's URL (fileUrl(...)). */
  url: string;
  format: "netcdf3-classic" | "netcdf3-64bit" | "netcdf4";
  dims: Record<string, number>;
  unlimited: string[];
  /** Global attributes. */
  attrs: Record<string, unknown>;
  /** Every variable, coordinate variables included (netCDF-4's dimension-only scales are not variables). */
  variables: NetcdfVariableInfo[];
}

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Reads what a NetCDF file holds (header only; no values), through `stores` (a Client, Runtime,
 * LocalCluster or Stores: its runtime's stores; default the realm's).
 */
export async function inspectNetcdf(
  location: string | URL,
  options: { stores?: StoresSource } = {},
): Promise<NetcdfInfo> {
  const stores = storesOf(options.stores);
  const url = fileUrl(location, stores);
  const cut = url.lastIndexOf("/");
  const key = decodeURIComponent(url.slice(cut + 1));
  if (key === "") throw new ArgumentError(`a NetCDF file is a file, not a directory: ${url}`);
  const prefix = await stores.open(url.slice(0, cut + 1)).get(key, { offset: 0, length: PREFIX_BYTES });
  if (!prefix) throw new StoreError(`no file at ${url}`, url);
  const magic = String.fromCharCode(...prefix.subarray(0, 4));
  if (magic === "CDF\x01" || magic === "CDF\x02") return inspectNetcdf3(url, prefix, stores);
  if (magic === "CDF\x05")
    throw new FormatError(
      `${url} is a CDF-5 (64-bit data) NetCDF-3 file, which meshwork cannot read yet (it reads the classic and 64-bit offset formats, and NetCDF-4)`,
    );
  // HDF5's superblock is at 0, or after a user block of 512, 1024, 2048 … bytes.
  for (let at = 0; at + 8 <= prefix.length; at = at === 0 ? 512 : at * 2) {
    if (HDF5_SIGNATURE.every((b, i) => prefix[at + i] === b)) return inspectNetcdf4(url, stores);
  }
  if (prefix.length < 4) throw new FormatError(`${url} is not a NetCDF file: it has only ${prefix.length} bytes`);
  const hex = Array.from(prefix.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
  throw new FormatError(
    `${url} is not a NetCDF file: it starts with bytes ${hex}, not "CDF" (NetCDF-3) or HDF5's signature (NetCDF-4)`,
  );
}

/** The variable `name`, or a LabelError listing the variables there are. */
export function findVariable(info: NetcdfInfo, name: string): NetcdfVariableInfo {
  const v = info.variables.find((x) => x.name === name);
  if (!v) {
    throw new LabelError(
      `${info.url} has no variable ${JSON.stringify(name)}; its variables are ${info.variables.map((x) => x.name).join(", ") || "(none)"}`,
    );
  }
  return v;
}

function where(info: NetcdfInfo, v: NetcdfVariableInfo): string {
  return `${info.url} variable ${v.name}`;
}

/**
 * A lazy chunked array over one variable's stored values (no CF decoding). Blocks are the file's
 * chunks, or whole multiples of them when `chunks` asks for bigger ones; contiguous and NetCDF-3
 * variables are cut along the first axis only (each block one byte range: the record slabs, for
 * record variables), `chunks`' first axis giving the rows per block, "auto" (the default) rows
 * near AUTO_CHUNK_BYTES. `dtype` converts while reading (int64 → "float64").
 */
export function netcdfVariable(
  info: NetcdfInfo,
  name: string,
  options: { chunks?: ChunksSpec; dtype?: DType } = {},
): ChunkedArray {
  checkKnownOptions("netcdfVariable options", options, ["chunks", "dtype"]);
  const v = findVariable(info, name);
  if (v.dataType === "char" || v.dataType === "string") {
    throw new DTypeError(
      `${where(info, v)} holds ${v.dataType === "char" ? "characters" : "strings"}, which meshwork arrays cannot hold; readNetcdfVariable gives its values as strings`,
    );
  }
  const dtype = dtypeFor(v.dataType, where(info, v), options.dtype);
  const shape = v.shape;
  let chunks: number[][];
  if (shape.length === 0) {
    chunks = [];
  } else if (v.chunks) {
    chunks = wholeChunks(shape, v.chunks, options.chunks, dtype);
  } else {
    const rowElements = shape.slice(1).reduce((a, b) => a * b, 1);
    const auto = options.chunks === undefined || options.chunks === "auto";
    const rows = auto
      ? Math.floor(AUTO_CHUNK_BYTES / Math.max(1, rowElements * itemSize(dtype)))
      : (normalizeChunks(options.chunks, shape, dtype)[0]![0] ?? 1);
    chunks = [regularChunks(shape[0]!, Math.max(1, Math.min(rows, shape[0]!))), ...shape.slice(1).map((n) => [n])];
  }
  const token = tokenName("from-netcdf", info.url, info.format, v.name, v.shape, v.dataType, v.layout, chunks, dtype);
  return readArray(token, chunks, dtype, (start, stop) => {
    const spec: NetcdfReadSpec = {
      url: info.url,
      format: info.format,
      variable: v.name,
      shape: v.shape,
      dataType: v.dataType,
      layout: v.layout,
      dtype,
      start,
      stop,
    };
    return new Task(IO.netcdfRead, [spec]);
  });
}

/**
 * A whole variable's values now, on the client (for coordinates): numbers as an NDArray (int64
 * and uint64 as float64), characters as strings (one per row of the last axis), strings as strings;
 * read through `stores` (default the realm's).
 */
export async function readNetcdfVariable(
  info: NetcdfInfo,
  name: string,
  stores: Stores = realmStores,
): Promise<NDArray | string[]> {
  const v = findVariable(info, name);
  const at = where(info, v);
  if (v.layout.kind === "netcdf3") {
    const bytes = await readNetcdf3Rows(info.url, v, 0, v.shape[0] ?? 1, stores);
    if (v.dataType === "char") return charStrings(bytes, v.shape);
    return new NDArray(v.dataType as DType, v.shape, fromBigEndian(bytes, v.dataType));
  }
  const path = v.layout.path;
  const values = await withHdf5(
    info.url,
    (h) =>
      readHdf5Region(
        h,
        path,
        v.shape.map(() => 0),
        v.shape,
      ),
    false,
    stores,
  );
  if (v.dataType === "char") {
    const chars = (typeof values === "string" ? [values] : (values as string[])).map((c) => c || "\0");
    const width = v.shape.length === 0 ? 1 : v.shape[v.shape.length - 1]!;
    const out: string[] = [];
    for (let i = 0; i < chars.length; i += width)
      out.push(
        chars
          .slice(i, i + width)
          .join("")
          .replace(/\0+$/, ""),
      );
    return out;
  }
  if (v.dataType === "string") return typeof values === "string" ? [values] : (values as string[]);
  return toNDArray(values, v.shape, v.dataType, at);
}

/** h5wasm's values as an NDArray of `into`, or of meshwork's nearest dtype (int64 and uint64 as float64). */
export function toNDArray(values: unknown, shape: number[], dataType: string, at: string, into?: DType): NDArray {
  const dtype = into ?? (dataType === "int64" || dataType === "uint64" ? "float64" : dtypeFor(dataType, at));
  const list = ArrayBuffer.isView(values)
    ? (values as unknown as ArrayLike<number | bigint>)
    : [values as number | bigint];
  if (ArrayBuffer.isView(list) && dtypeOfStorage(list) === dtype)
    return new NDArray(dtype, shape, list as unknown as TypedArray);
  const out = new STORAGE[dtype](list.length);
  convertValues(list, out);
  return new NDArray(dtype, shape, out);
}

export interface FromNetcdfOptions {
  /** The variable to read (required). */
  variable: string;
  /** Block sizes (see netcdfVariable). Default: the file's chunks, or "auto" rows. */
  chunks?: ChunksSpec;
  /** Convert to this dtype while reading (needed for types meshwork lacks: int64 → "float64"). */
  dtype?: DType;
  /**
   * What to read the header through: a Client, Runtime or LocalCluster (its runtime's stores: the
   * schemes and data credentials it has) or a Stores. Default: the realm's. The blocks are read
   * where their tasks run, through the running worker's stores.
   */
  stores?: StoresSource;
}

/**
 * A lazy chunked array over a NetCDF variable: `await mw.fromNetcdf("air.nc", { variable: "air" })`.
 * Only the header is read now; each task reads its own piece where it runs.
 */
export async function fromNetcdf(location: string | URL, options: FromNetcdfOptions): Promise<ChunkedArray> {
  checkKnownOptions("fromNetcdf options", options, ["variable", "chunks", "dtype", "stores"]);
  const info = await inspectNetcdf(location, { stores: options.stores });
  if (typeof options.variable !== "string") {
    throw new ArgumentError(`fromNetcdf needs { variable }: one of ${info.variables.map((v) => v.name).join(", ")}`);
  }
  const { variable, stores: _, ...rest } = options;
  return netcdfVariable(info, variable, rest);
}
