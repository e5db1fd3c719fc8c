// NetCDF-4 (HDF5) with h5wasm, HDF5's own C library compiled to WebAssembly: `Dataset.slice`
// reads and decompresses only the chunks a block covers. Where the platform has files (Node
// registers h5wasm's NODERAWFS build, which opens real paths), a task reads just its chunks; in
// a Web Worker, HTTP files are read by ranges with synchronous requests (netcdf4-http.ts); else
// (HTTP in Node, a page's main thread) the file is fetched whole once per process into h5wasm's
// in-memory file system, because HDF5 reads synchronously and fetch cannot be waited for.

import type * as H5 from "h5wasm";
import { FormatError, StoreError } from "../errors.js";
import { canReadRanges, createRangeFile, RANGE_FILE_BYTES, type RangeFile } from "./netcdf4-http.js";
import { readFile, realmStores, type Stores } from "./store.js";
import type { NetcdfInfo } from "./netcdf.js";
import { dataTypeOf, describe, explainHdf5 } from "./netcdf4-meta.js";

type H5Wasm = typeof H5;

/** How this platform opens HDF5 files by path, when it can (Node: h5wasm/node on the real file system). */
export interface Hdf5Files {
  load(): Promise<H5Wasm>;
  /** The path h5wasm opens for `url`, or null when this URL is not a local file. */
  path(url: string): string | null;
  /** What identifies the file's current version (Node: device, inode, size, mtime): an open file whose stamp changed is opened again. */
  stamp(path: string): Promise<string>;
}

let files: Hdf5Files | null = null;
/** The build that keeps files in memory: h5wasm's default (browser) build, which also runs in Node. */
const loadMemoryBuild = (): Promise<H5Wasm> => import("h5wasm");

/** Lets h5wasm open this platform's local files by path (node/platform/io.ts registers Node's). */
export function registerHdf5Files(f: Hdf5Files | null): void {
  files = f;
}

/**
 * Open files kept per process: a task reads many chunks of one file, and opening a large file
 * reads its superblock and root group (~16 ms for a 236 MB file here). Each open file holds
 * HDF5's chunk cache (1 MiB per dataset read) and metadata cache.
 */
const OPEN_FILES_MAX = 32;
/**
 * Bytes of files fetched whole (HTTP) kept in memory per process. A browser tab's worker shares
 * its tab's memory; a file bigger than this is refused with a message saying what to do.
 */
export const MEMORY_FILES_MAX_BYTES = 512 * 1024 * 1024;

/** An open HDF5 file. */
export interface Hdf5Handle {
  h5: H5Wasm;
  file: H5.File;
  url: string;
  /** Bytes held in memory (files fetched whole), else 0. */
  bytes: number;
  /** The local file's path and version when opened (files opened by path). */
  local: { path: string; stamp: string } | null;
  /** The reader under a file read by HTTP ranges, which knows why a read failed. */
  ranges: RangeFile | null;
  closed: boolean;
  close(): void;
}

interface Entry {
  opening: Promise<Hdf5Handle>;
  handle: Hdf5Handle | null;
}

/**
 * Open files by the stores read through and URL, least recently used first (a file read with one
 * member's credentials is not another's; local files are opened by path, the same for all).
 */
const open = new Map<string, Entry>();
const ready = new WeakSet<object>();
let memoryNames = 0;

const openKey = (url: string, stores: Stores): string => `${stores.id}|${url}`;

/**
 * The open file at `url`, read through `stores` (cached per process and stores); `fresh` closes a
 * cached one and opens it again.
 */
export async function openHdf5(url: string, fresh = false, stores: Stores = realmStores): Promise<Hdf5Handle> {
  if (fresh) closeHdf5(url, stores);
  const key = openKey(url, stores);
  let entry = open.get(key);
  if (entry) {
    open.delete(key);
    open.set(key, entry);
    return entry.opening;
  }
  const e: Entry = { opening: openFile(url, stores), handle: null };
  entry = e;
  open.set(key, e);
  try {
    e.handle = await e.opening;
  } catch (err) {
    if (open.get(key) === e) open.delete(key);
    throw err;
  }
  if (open.get(key) !== e)
    e.handle.close(); // closed while it was opening
  else evict(key);
  return e.handle;
}

/**
 * Runs `use` on the open file at `url`, synchronously, so that no other task closes the file
 * under it (h5wasm's calls are synchronous; a file is only closed between them).
 */
export async function withHdf5<T>(
  url: string,
  use: (h: Hdf5Handle) => T,
  fresh = false,
  stores: Stores = realmStores,
): Promise<T> {
  for (let tries = 0; ; tries++) {
    const h = await openHdf5(url, fresh && tries === 0, stores);
    // A local file rewritten since it was opened is opened again (HDF5 would read it through stale caches).
    if (h.local && files && !h.closed && (await files.stamp(h.local.path).catch(() => "")) !== h.local.stamp) {
      if (open.get(openKey(url, stores))?.handle === h) closeHdf5(url, stores);
      if (tries < 3) continue;
    }
    // Another task may have closed it (evicted, or opened afresh) while this one waited.
    if (!h.closed) return use(h);
    if (tries >= 3)
      throw new StoreError(
        `${url} was closed under this read ${tries + 1} times: more than ${OPEN_FILES_MAX} NetCDF-4 files are being read at once in this process`,
        url,
      );
  }
}

/** Closes the cached file at `url` read through `stores`, if any (one still opening is closed when it opens). */
export function closeHdf5(url: string, stores: Stores = realmStores): void {
  const key = openKey(url, stores);
  const e = open.get(key);
  if (!e) return;
  open.delete(key);
  if (e.handle) e.handle.close();
}

/** Closes the least recently used files while more than OPEN_FILES_MAX are open or files in memory pass their budget. */
function evict(keep: string): void {
  let bytes = 0;
  for (const e of open.values()) bytes += e.handle?.bytes ?? 0;
  for (const [u, e] of open) {
    if (open.size <= OPEN_FILES_MAX && bytes <= MEMORY_FILES_MAX_BYTES) break;
    if (u === keep || !e.handle) continue;
    if (open.size <= OPEN_FILES_MAX && e.handle.bytes === 0) continue;
    open.delete(u);
    bytes -= e.handle.bytes;
    e.handle.close();
  }
}

async function openFile(url: string, stores: Stores): Promise<Hdf5Handle> {
  const path = files?.path(url) ?? null;
  if (path !== null) {
    const local = files!;
    const h5 = await loaded(local.load);
    let stamp: string;
    try {
      stamp = await local.stamp(path);
    } catch (cause) {
      throw new StoreError(`no file at ${url} (${(cause as Error).message})`, url, { cause });
    }
    const file = openWith(h5, path, url, null);
    return handle(h5, file, url, 0, { path, stamp }, null, () => undefined);
  }
  let whole: Uint8Array | null = null;
  if (canReadRanges(url)) {
    const h5 = await loaded(loadMemoryBuild);
    const name = `/meshwork-netcdf-${++memoryNames}.nc`;
    const made = createRangeFile(h5.FS, name, url, stores);
    if (made && "whole" in made) whole = made.whole;
    else if (made) {
      let file: H5.File;
      try {
        file = openWith(h5, name, url, made);
      } catch (err) {
        h5.FS!.unlink(name);
        throw err;
      }
      return handle(h5, file, url, RANGE_FILE_BYTES, null, made, () => h5.FS!.unlink(name));
    }
  }
  const bytes = whole ?? (await readFile(url, undefined, stores));
  if (bytes.length > MEMORY_FILES_MAX_BYTES) {
    throw new StoreError(
      `${url} is ${mib(bytes.length)} MiB; a NetCDF-4 file that is not a local file is read into memory whole, and this process keeps at most ${mib(MEMORY_FILES_MAX_BYTES)} MiB of them: ` +
        `put it where the workers read files (Node workers read local NetCDF-4 files chunk by chunk), or convert it to Zarr`,
      url,
    );
  }
  const h5 = await loaded(loadMemoryBuild);
  const name = `/meshwork-netcdf-${++memoryNames}.nc`;
  h5.FS!.writeFile(name, bytes);
  let file: H5.File;
  try {
    file = openWith(h5, name, url, null);
  } catch (err) {
    h5.FS!.unlink(name);
    throw err;
  }
  return handle(h5, file, url, bytes.length, null, null, () => h5.FS!.unlink(name));
}

function handle(
  h5: H5Wasm,
  file: H5.File,
  url: string,
  bytes: number,
  local: Hdf5Handle["local"],
  ranges: RangeFile | null,
  release: () => void,
): Hdf5Handle {
  const h: Hdf5Handle = {
    h5,
    file,
    url,
    bytes,
    local,
    ranges,
    closed: false,
    close: () => {
      if (h.closed) return;
      h.closed = true;
      closeQuietly(file);
      release();
    },
  };
  return h;
}

async function loaded(load: () => Promise<H5Wasm>): Promise<H5Wasm> {
  const h5 = await load();
  await h5.ready;
  // HDF5's errors as exceptions (with HDF5's stack in the message), not printed to stderr.
  if (!ready.has(h5)) {
    h5.Module.activate_throwing_error_handler();
    ready.add(h5);
  }
  return h5;
}

function openWith(h5: H5Wasm, path: string, url: string, ranges: RangeFile | null): H5.File {
  try {
    return new h5.File(path, "r");
  } catch (err) {
    throw ranges?.takeError() ?? explainHdf5(err, url);
  }
}

function closeQuietly(file: H5.File): void {
  try {
    file.close();
  } catch (err) {
    // Closing a file that HDF5 already gave up on fails again; nothing is left to release.
    void err;
  }
}

/** The variables, dimensions and attributes of the root group of the NetCDF-4 file at `url`, read through `stores`. */
export async function inspectNetcdf4(url: string, stores: Stores = realmStores): Promise<NetcdfInfo> {
  return withHdf5(
    url,
    ({ h5, file, ranges }) => {
      try {
        return describe(h5, file, url);
      } catch (err) {
        throw ranges?.takeError() ?? explainHdf5(err, url, "reading its metadata");
      }
    },
    true,
    stores,
  );
}

/** A dataset's values in the region [start, stop), as h5wasm gives them (typed array, or strings). */
export function readHdf5Region(handle: Hdf5Handle, path: string, start: number[], stop: number[]): unknown {
  const ds = handle.file.get(path);
  if (!(ds instanceof handle.h5.Dataset)) throw new FormatError(`${handle.url} has no dataset ${path} any more`);
  try {
    if (start.length === 0) return ds.value;
    return ds.slice(start.map((s, a) => [s, stop[a]!]));
  } catch (err) {
    throw handle.ranges?.takeError() ?? explainHdf5(err, handle.url, `reading ${path}`);
  }
}

/** The shape and type of dataset `path` in an open file, or null when there is none. */
export function datasetInfo(handle: Hdf5Handle, path: string): { shape: number[]; dataType: string } | null {
  const ds = handle.file.get(path);
  if (!(ds instanceof handle.h5.Dataset)) return null;
  const meta = ds.metadata;
  return { shape: [...(meta.shape ?? [])], dataType: dataTypeOf(meta) };
}

function mib(n: number): string {
  return (n / 2 ** 20).toFixed(n < 10 * 2 ** 20 ? 1 : 0);
}
