// NetCDF-4 over HTTP without fetching the whole file, where synchronous reads are allowed: in a
// Web Worker (a browser tab's compute worker), a file in h5wasm's file system whose reads are
// synchronous XMLHttpRequests for byte ranges. HDF5 reads synchronously, so this is the one way
// it can read lazily over HTTP; fetch, which everything else uses, cannot be waited for here.
// Small reads (HDF5's metadata) go through a bounded page cache; a chunk is one request.

import { StoreError } from "../errors.js";
import type { Stores } from "./store.js";

/** Metadata reads are served from pages this big, fetched whole (HDF5 reads object headers and B-tree nodes a few hundred bytes at a time). */
const PAGE_BYTES = 256 * 1024;
/** Pages kept per open file, least recently used dropped first. */
const PAGES_MAX = 64;
/** What an open range file holds at most (16 MiB). */
export const RANGE_FILE_BYTES = PAGES_MAX * PAGE_BYTES;
/** Emscripten's errno for an I/O error: HDF5 sees a failed read and unwinds; the cause is reported after. */
const EIO = 29;

/** The part of Emscripten's FS this file needs. */
interface EmscriptenFS {
  createFile(parent: string, name: string, properties: object, canRead: boolean, canWrite: boolean): FsNode;
  ErrnoError: new (errno: number) => Error;
}
interface FsNode {
  stream_ops: Record<string, (...args: never[]) => unknown>;
}

/** Whether this realm can read a file lazily over HTTP: a worker (synchronous XHR is refused or deprecated on a page's main thread). */
export function canReadRanges(url: string): boolean {
  const g = globalThis as { XMLHttpRequest?: unknown; WorkerGlobalScope?: new () => unknown };
  return (
    /^https?:/.test(url) &&
    typeof g.XMLHttpRequest === "function" &&
    typeof g.WorkerGlobalScope === "function" &&
    globalThis instanceof g.WorkerGlobalScope
  );
}

export interface RangeFile {
  /** The file's size in bytes. */
  size: number;
  /** Bytes of pages held. */
  readonly held: number;
  /** The error behind the last failed read (HDF5 only sees "I/O error"), taken once. */
  takeError(): Error | null;
}

/**
 * Makes `name` in h5wasm's file system a file whose bytes are read from `url` when HDF5 reads
 * them. Reads the first page now, to learn the size: a server that ignores Range sends the whole
 * file (returned as `whole`), and one that hides Content-Range from this origin (CORS) leaves no
 * way to know it (null: fetch it whole). Requests carry `stores`' credentials for the URL's origin.
 */
export function createRangeFile(
  FS: unknown,
  name: string,
  url: string,
  stores: Stores,
): RangeFile | { whole: Uint8Array } | null {
  const get = (url: string, offset: number, length: number) => getRange(url, offset, length, stores);
  const first = get(url, 0, PAGE_BYTES);
  if (first.total === null) return { whole: first.bytes };
  if (Number.isNaN(first.total)) return null;
  const size = first.total;
  const pages = new Map<number, Uint8Array>([[0, first.bytes]]);
  let error: Error | null = null;

  const page = (i: number): Uint8Array => {
    let p = pages.get(i);
    if (p) {
      pages.delete(i);
      pages.set(i, p);
      return p;
    }
    p = get(url, i * PAGE_BYTES, Math.min(PAGE_BYTES, size - i * PAGE_BYTES)).bytes;
    pages.set(i, p);
    if (pages.size > PAGES_MAX) pages.delete(pages.keys().next().value!);
    return p;
  };
  const read = (out: Int8Array | Uint8Array, offset: number, length: number, position: number): number => {
    if (position >= size) return 0;
    const n = Math.min(size - position, length);
    const into = new Uint8Array(out.buffer, out.byteOffset + offset, n);
    if (n >= PAGE_BYTES) {
      // A chunk: one request for exactly its bytes, not kept.
      into.set(get(url, position, n).bytes);
      return n;
    }
    for (let done = 0; done < n; ) {
      const at = position + done;
      const p = page(Math.floor(at / PAGE_BYTES));
      const from = at % PAGE_BYTES;
      const take = Math.min(n - done, p.length - from);
      if (take <= 0) throw new StoreError(`${url} ends at byte ${at} (it was ${size} bytes when opened)`, url);
      into.set(p.subarray(from, from + take), done);
      done += take;
    }
    return n;
  };

  const fs = FS as EmscriptenFS;
  const node = fs.createFile("/", name.replace(/^\//, ""), {}, true, false);
  // MEMFS takes a file's size (fstat, SEEK_END) from usedBytes.
  Object.defineProperty(node, "usedBytes", { get: () => size });
  node.stream_ops = {
    ...node.stream_ops,
    read: ((_stream: unknown, out: Int8Array, offset: number, length: number, position: number) => {
      try {
        return read(out, offset, length, position);
      } catch (err) {
        // Thrown through HDF5's C frames it would leave the library half-way; an errno unwinds it.
        error = err instanceof Error ? err : new Error(String(err));
        throw new fs.ErrnoError(EIO);
      }
    }) as never,
    write: (() => {
      throw new fs.ErrnoError(EIO);
    }) as never,
  };
  return {
    size,
    get held() {
      let n = 0;
      for (const p of pages.values()) n += p.length;
      return n;
    },
    takeError() {
      const e = error;
      error = null;
      return e;
    },
  };
}

/** `length` bytes of `url` from `offset`, synchronously; `total` is the file's size (NaN if not said), null when the server sent the whole file. */
function getRange(
  url: string,
  offset: number,
  length: number,
  stores: Stores,
): { bytes: Uint8Array; total: number | null } {
  const xhr = new XMLHttpRequest();
  xhr.open("GET", url, false);
  xhr.responseType = "arraybuffer";
  for (const [name, value] of Object.entries(stores.requestHeaders(new URL(url), { offset, length })))
    xhr.setRequestHeader(name, value);
  try {
    xhr.send();
  } catch (cause) {
    throw new StoreError(`cannot fetch ${url}: ${(cause as Error).message}`, url, { cause });
  }
  if (xhr.status === 404 || xhr.status === 410) throw new StoreError(`no file at ${url}`, url);
  if (xhr.status === 416)
    throw new StoreError(`${url} has no bytes ${offset}–${offset + length - 1} (HTTP 416): the file is truncated`, url);
  if (xhr.status !== 200 && xhr.status !== 206)
    throw new StoreError(`cannot read ${url}: HTTP ${xhr.status} ${xhr.statusText}`, url);
  const bytes = new Uint8Array(xhr.response as ArrayBuffer);
  if (xhr.status === 200) return { bytes, total: null };
  const total = Number(/\/(\d+)\s*$/.exec(xhr.getResponseHeader("content-range") ?? "")?.[1] ?? NaN);
  if (bytes.length < Math.min(length, Number.isFinite(total) ? total - offset : length)) {
    throw new StoreError(
      `${url} ends before byte ${offset + length} (read ${bytes.length} of ${length} bytes from ${offset}): the file is truncated`,
      url,
    );
  }
  return { bytes, total };
}
