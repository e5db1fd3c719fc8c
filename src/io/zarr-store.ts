// Opening Zarr arrays with zarrita over meshwork's stores, once per process and array: workers
// read many chunks of one array, and its metadata need not be fetched for each.

import * as zarr from "zarrita";
import { FormatError, MeshworkError, StoreError } from "../errors.js";
import { openStore, type Store } from "./store.js";
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

/** Opens the array at `path` in the store at `url` (cached; a failed open is not kept). */
export function openZarrArray(url: string, path: string, format?: 2 | 3): Promise<ZarrArray> {
  const id = `${format ?? ""}|${url}|${path}`;
  let p = cache.get(id);
  if (!p) {
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
    p = open(url, path, format);
    cache.set(id, p);
    p.catch(() => cache.delete(id));
  }
  return p;
}

async function open(url: string, path: string, format?: 2 | 3): Promise<ZarrArray> {
  const where = describeArray(url, path);
  const location = new zarr.Location(zarritaStore(openStore(url)), `/${path.replace(/^\/+|\/+$/g, "")}` as `/${string}`);
  let arr: ZarrArray;
  try {
    arr = (await (format === 2 ? zarr.open.v2(location, { kind: "array" }) : format === 3 ? zarr.open.v3(location, { kind: "array" }) : zarr.open(location, { kind: "array" }))) as ZarrArray;
  } catch (err) {
    throw explain(err, where);
  }
  return arr;
}

/** Turns zarrita's errors into meshwork's, with where it happened. */
export function explain(err: unknown, where: string): Error {
  if (err instanceof MeshworkError) return err;
  const e = err as Error & { _tag?: string };
  switch (e?._tag) {
    case "NotFoundError":
      return new StoreError(`no Zarr array at ${where} (no .zarray or zarr.json there)`, where, { cause: err });
    case "UnknownCodecError":
      return new FormatError(`${where} uses a codec meshwork cannot read: ${e.message}; it reads ${knownCodecs().join(", ")}`, { cause: err });
    case "InvalidMetadataError":
      return new FormatError(`${where} has metadata meshwork cannot use: ${e.message}`, { cause: err });
    case "CodecPipelineError": {
      const inner = (e.cause as Error | undefined) ?? e;
      if (inner instanceof MeshworkError) return inner;
      return new FormatError(`${where}: a chunk could not be decoded (${inner.message}); it may be truncated or corrupt`, { cause: err });
    }
    default:
      if (e instanceof SyntaxError) return new FormatError(`${where} has metadata that is not valid JSON: ${e.message}`, { cause: err });
      return new FormatError(`${where}: ${e?.message ?? String(err)}`, { cause: err });
  }
}
