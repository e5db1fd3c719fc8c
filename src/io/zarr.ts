// Zarr stores (v2 and v3) as chunked arrays. Reading plans from the metadata alone, one task per
// storage chunk (or per group of whole chunks), and the worker that runs a task reads its chunk
// itself. Reading is zarrita's (with meshwork's faster Blosc); writing is zarr-write.ts.

import { ArgumentError, FormatError, StoreError } from "../errors.js";
import type { ChunkedArray } from "../array/core.js";
import { tokenName } from "../array/names.js";
import type { ChunksSpec } from "../array/chunks.js";
import type { DType } from "../array/dtype.js";
import { Task } from "../graph/task.js";
import { dtypeFor } from "./dtypes.js";
import { readArray, wholeChunks } from "./plan.js";
import { IO } from "./register.js";
import type { Stores } from "./store.js";
import { storesOf, type StoresSource } from "../task-context.js";
import type { ZarrReadSpec } from "./zarr-chunks.js";
import { describeArray, openZarrArray } from "./zarr-store.js";
import { knownCodecs } from "./zarr-codecs.js";
import "./zarr-fuse.js"; // reads fused with the sums over their first axis
import { checkKnownOptions } from "../client/arguments.js";

export interface FromZarrOptions {
  /** The array's path inside the store (default: the store's root is the array). */
  path?: string;
  /**
   * Bigger blocks than the storage chunks: block sizes per axis (as for other arrays), rounded up
   * to whole storage chunks so that no chunk is read by two tasks. Default: one block per chunk.
   */
  chunks?: ChunksSpec;
  /** Convert to this dtype while reading (needed for types meshwork lacks: int64 → "float64"). */
  dtype?: DType;
  /** Only this Zarr version (default: whichever the store holds). */
  format?: 2 | 3;
  /**
   * What to read the metadata through: a Client (its runtime's stores: the token it joined with),
   * a Runtime or Stores. Default: the realm's (the default runtime's). Tasks read through their worker's.
   */
  stores?: StoresSource;
}

/** What the store says about an array, read on the client. */
export interface ZarrArrayInfo {
  url: string;
  path: string;
  format: 2 | 3;
  shape: number[];
  chunks: number[];
  /** The stored type, as zarrita names it ("float32", "int64", "v2:U5" …). */
  dataType: string;
  fillValue: unknown;
  attrs: Record<string, unknown>;
  dimensionNames: string[] | undefined;
}

/** Reads an array's metadata (no chunks). */
export async function inspectZarr(
  store: string | URL,
  options: { path?: string; format?: 2 | 3; stores?: StoresSource } = {},
): Promise<ZarrArrayInfo> {
  const stores = storesOf(options.stores);
  const url = stores.storeUrl(store);
  const path = normalizePath(options.path);
  const format = await checkMetadata(url, path, options.format, stores);
  const arr = await openZarrArray(url, path, format, stores);
  return {
    url,
    path,
    format,
    shape: [...arr.shape],
    chunks: [...arr.chunks],
    dataType: arr.dtype,
    fillValue: arr.fillValue,
    attrs: { ...arr.attrs },
    dimensionNames: arr.dimensionNames,
  };
}

/**
 * Reads the metadata document itself, before zarrita does, for what zarrita would report less
 * clearly: JSON that does not parse, a type meshwork lacks, a codec nobody here decodes. Returns
 * the version found.
 */
async function checkMetadata(url: string, path: string, format: 2 | 3 | undefined, stores: Stores): Promise<2 | 3> {
  const s = stores.open(url);
  const prefix = path ? `${path}/` : "";
  const where = describeArray(url, path);
  const tries: [2 | 3, string][] =
    format === 2
      ? [[2, ".zarray"]]
      : format === 3
        ? [[3, "zarr.json"]]
        : [
            [3, "zarr.json"],
            [2, ".zarray"],
          ];
  for (const [version, file] of tries) {
    const bytes = await s.get(prefix + file);
    if (!bytes) continue;
    let meta: Record<string, unknown>;
    try {
      meta = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    } catch (err) {
      throw new FormatError(`${where}${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
    if (version === 3 && meta["node_type"] !== "array")
      throw new FormatError(
        `${where} is a Zarr ${String(meta["node_type"])}, not an array${meta["node_type"] === "group" ? ": give the array's path inside it with { path }" : ""}`,
      );
    const dataType = String(version === 2 ? meta["dtype"] : meta["data_type"]);
    if (/^[<>|]?f2$|^float16$/.test(dataType)) dtypeFor("float16", where); // throws, naming the nearest
    const codecs =
      version === 2
        ? [meta["compressor"], ...((meta["filters"] as unknown[]) ?? [])]
            .filter(Boolean)
            .map((c) => String((c as { id: unknown }).id))
        : codecNames(meta["codecs"]);
    const known = knownCodecs();
    const missing = codecs.filter(
      (c) =>
        !known.includes(c) &&
        ![
          "bytes",
          "transpose",
          "crc32c",
          "sharding_indexed",
          "vlen-utf8",
          "json2",
          "shuffle",
          "delta",
          "fixedscaleoffset",
          "bitround",
        ].includes(c),
    );
    if (missing.length > 0)
      throw new FormatError(
        `${where} is compressed with ${missing.map((c) => JSON.stringify(c)).join(", ")}, which meshwork cannot decode; it decodes ${known.join(", ")}`,
      );
    return version;
  }
  if (await s.get(`${prefix}.zgroup`))
    throw new FormatError(`${where} is a Zarr group, not an array: give the array's path inside it with { path }`);
  throw new StoreError(`no Zarr array at ${where} (neither ${prefix}zarr.json nor ${prefix}.zarray is there)`, where);
}

function codecNames(codecs: unknown): string[] {
  if (!Array.isArray(codecs)) return [];
  return codecs.flatMap((c: { name?: unknown; configuration?: { codecs?: unknown; index_codecs?: unknown } }) => [
    String(c?.name),
    ...codecNames(c?.configuration?.codecs),
    ...codecNames(c?.configuration?.index_codecs),
  ]);
}

/**
 * A lazy chunked array over a Zarr array: `await mw.fromZarr("data/air.zarr", { path: "air" })`.
 * Only metadata is read now; each task reads its own chunks where it runs.
 */
export async function fromZarr(store: string | URL, options: FromZarrOptions = {}): Promise<ChunkedArray> {
  checkKnownOptions("fromZarr options", options, ["path", "chunks", "dtype", "format", "stores"]);
  const info = await inspectZarr(store, options);
  return arrayFromInfo(info, options);
}

/** The chunked array over an array whose metadata is in hand (openDataset reads many at once). */
export function arrayFromInfo(info: ZarrArrayInfo, options: { chunks?: ChunksSpec; dtype?: DType } = {}): ChunkedArray {
  const where = describeArray(info.url, info.path);
  const dtype = dtypeFor(info.dataType, where, options.dtype);
  const chunks = wholeChunks(info.shape, info.chunks, options.chunks, dtype);
  const name = tokenName(
    "from-zarr",
    info.url,
    info.path,
    info.format,
    info.shape,
    info.chunks,
    info.dataType,
    chunks.map((c) => c[0]),
    dtype,
  );
  return readArray(name, chunks, dtype, (start, stop) => {
    const spec: ZarrReadSpec = {
      url: info.url,
      path: info.path,
      format: info.format,
      shape: info.shape,
      chunks: info.chunks,
      dataType: info.dataType,
      dtype,
      start,
      stop,
    };
    return new Task(IO.zarrRead, [spec]);
  });
}

export function normalizePath(path: string | undefined): string {
  if (path === undefined) return "";
  if (typeof path !== "string") throw new ArgumentError(`path must be a string, got ${typeof path}`);
  const p = path.replace(/^\/+|\/+$/g, "");
  if (p.split("/").some((part) => part === ".." || part === "."))
    throw new ArgumentError(`path must not contain "." or ".." parts, got ${JSON.stringify(path)}`);
  return p;
}
