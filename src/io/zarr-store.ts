// Opening Zarr arrays with zarrita over meshwork's stores, once per process and array: workers
// read many chunks of one array, and its metadata need not be fetched for each.

import * as zarr from "zarrita";
import { FormatError, MeshworkError, StoreError } from "../errors.js";
import { realmStores, type Store, type Stores } from "./store.js";
import { knownCodecs } from "./zarr-codecs.js";

/** What readers pass through zarrita's getChunk to the store: where to read the bytes into. */
export interface ReadOptions {
  into?: (size: number) => Uint8Array;
}

/** zarrita's store interface over ours (zarrita's keys start with "/"; its options reach us as given to getChunk). */
export function zarritaStore(store: Store): zarr.AsyncReadable & zarr.AsyncWritable {
  return {
    get: (key: string, options?: ReadOptions) => store.get(key.slice(1), undefined, options?.into),
    getRange: (key: string, range: zarr.RangeQuery, options?: ReadOptions) => {
      if ("suffixLength" in range) return suffix(store, key.slice(1), range.suffixLength);
      return store.get(key.slice(1), range, options?.into);
    },
    set: (key: string, value: Uint8Array) => store.set(key.slice(1), value),
  } as zarr.AsyncReadable & zarr.AsyncWritable;
}

async function suffix(store: Store, key: string, length: number): Promise<Uint8Array | undefined> {
  const all = await store.get(key);
  return all?.subarray(Math.max(0, all.length - length));
}

export type ZarrArray = zarr.Array<zarr.DataType, zarr.Readable>;

const cache = new Map<string, Promise<ZarrArray>>();
/** Arrays kept open per process (their metadata only). */
const CACHE_MAX = 256;

/** Where an array is, for messages: its store's URL and path. */
export function describeArray(url: string, path: string): string {
  return `${url}${path}`;
}

/**
 * Opens the array at `path` in the store at `url` through `stores` (cached per stores, whose
 * credentials the array's reads send; a failed open is not kept).
 */
export function openZarrArray(
  url: string,
  path: string,
  format?: 2 | 3,
  stores: Stores = realmStores,
): Promise<ZarrArray> {
  const id = `${stores.id}|${format ?? ""}|${url}|${path}`;
  let p = cache.get(id);
  if (!p) {
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
    p = open(url, path, format, stores);
    cache.set(id, p);
    p.catch(() => cache.delete(id));
  }
  return p;
}

async function open(url: string, path: string, format: 2 | 3 | undefined, stores: Stores): Promise<ZarrArray> {
  const where = describeArray(url, path);
  const location = new zarr.Location(
    zarritaStore(stores.open(url)),
    `/${path.replace(/^\/+|\/+$/g, "")}` as `/${string}`,
  );
  let arr: ZarrArray;
  try {
    arr = (await (format === 2
      ? zarr.open.v2(location, { kind: "array" })
      : format === 3
        ? zarr.open.v3(location, { kind: "array" })
        : zarr.open(location, { kind: "array" }))) as ZarrArray;
  } catch (err) {
    throw explain(err, where);
  }
  return arr;
}

/**
 * What readers that take chunk bytes themselves (zarr-reduce.ts) need from an array's metadata
 * document: where each chunk is, and whether its bytes are Blosc over plain little-endian values
 * with nothing else between (no filters, transpose, checksum or sharding; C order).
 */
export interface ChunkLayout {
  shape: number[];
  chunks: number[];
  /** zarrita's name for the stored type ("float32" …), or "other". */
  dataType: string;
  bloscOnly: boolean;
  /** Whether a chunk never written reads as NaN (fill_value "NaN", what xarray writes for floats). */
  fillIsNaN: boolean;
  /** The store key of the chunk at `coords`. */
  key(coords: number[]): string;
}

const layouts = new Map<string, Promise<ChunkLayout>>();

/** The layout of the array at `path` (read once per process and array; a failed read is not kept). */
export function openChunkLayout(
  url: string,
  path: string,
  format: 2 | 3,
  stores: Stores = realmStores,
): Promise<ChunkLayout> {
  const id = `${stores.id}|${format}|${url}|${path}`;
  let p = layouts.get(id);
  if (!p) {
    if (layouts.size >= CACHE_MAX) layouts.delete(layouts.keys().next().value!);
    p = readLayout(url, path, format, stores);
    layouts.set(id, p);
    p.catch(() => layouts.delete(id));
  }
  return p;
}

async function readLayout(url: string, path: string, format: 2 | 3, stores: Stores): Promise<ChunkLayout> {
  const prefix = path ? `${path}/` : "";
  const bytes = await stores.open(url).get(prefix + (format === 2 ? ".zarray" : "zarr.json"));
  if (!bytes) throw new StoreError(`no Zarr array at ${describeArray(url, path)}`, describeArray(url, path));
  const meta = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  const shape = (meta["shape"] as number[]) ?? [];
  if (format === 2) {
    const dtype = String(meta["dtype"]);
    const filters = meta["filters"] as unknown[] | null | undefined;
    const sep = meta["dimension_separator"] === "/" ? "/" : ".";
    return {
      shape,
      chunks: (meta["chunks"] as number[]) ?? [],
      dataType: dtype === "<f4" ? "float32" : dtype === "<f8" ? "float64" : "other",
      bloscOnly:
        (meta["compressor"] as { id?: unknown } | null)?.id === "blosc" &&
        (filters == null || filters.length === 0) &&
        meta["order"] !== "F",
      fillIsNaN: meta["fill_value"] === "NaN",
      key: (coords) => prefix + (coords.length ? coords.join(sep) : "0"),
    };
  }
  const codecs = (meta["codecs"] as { name?: unknown; configuration?: { endian?: unknown } }[] | undefined) ?? [];
  const grid = meta["chunk_grid"] as { name?: unknown; configuration?: { chunk_shape?: number[] } } | undefined;
  const encoding = meta["chunk_key_encoding"] as
    | { name?: unknown; configuration?: { separator?: unknown } }
    | undefined;
  const v2keys = encoding?.name === "v2";
  const sep = encoding?.configuration?.separator === (v2keys ? "/" : ".") ? (v2keys ? "/" : ".") : v2keys ? "." : "/";
  const dataType = String(meta["data_type"]);
  return {
    shape,
    chunks: grid?.configuration?.chunk_shape ?? [],
    dataType: dataType === "float32" || dataType === "float64" ? dataType : "other",
    bloscOnly:
      grid?.name === "regular" &&
      (encoding === undefined || encoding.name === "default" || v2keys) &&
      codecs.length === 2 &&
      codecs[0]?.name === "bytes" &&
      (codecs[0].configuration?.endian ?? "little") === "little" &&
      codecs[1]?.name === "blosc",
    fillIsNaN: meta["fill_value"] === "NaN",
    key: v2keys
      ? (coords) => prefix + (coords.length ? coords.join(sep) : "0")
      : (coords) => `${prefix}c${coords.map((c) => sep + c).join("")}`,
  };
}

/** Turns zarrita's errors into meshwork's, with where it happened. */
export function explain(err: unknown, where: string): Error {
  if (err instanceof MeshworkError) return err;
  const e = err as Error & { _tag?: string };
  switch (e?._tag) {
    case "NotFoundError":
      return new StoreError(`no Zarr array at ${where} (no .zarray or zarr.json there)`, where, { cause: err });
    case "UnknownCodecError":
      return new FormatError(
        `${where} uses a codec meshwork cannot read: ${e.message}; it reads ${knownCodecs().join(", ")}`,
        { cause: err },
      );
    case "InvalidMetadataError":
      return new FormatError(`${where} has metadata meshwork cannot use: ${e.message}`, { cause: err });
    case "CodecPipelineError": {
      const inner = (e.cause as Error | undefined) ?? e;
      if (inner instanceof MeshworkError) return inner;
      return new FormatError(
        `${where}: a chunk could not be decoded (${inner.message}); it may be truncated or corrupt`,
        { cause: err },
      );
    }
    default:
      if (e instanceof SyntaxError)
        return new FormatError(`${where} has metadata that is not valid JSON: ${e.message}`, { cause: err });
      return new FormatError(`${where}: ${e?.message ?? String(err)}`, { cause: err });
  }
}
