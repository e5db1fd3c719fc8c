// Where data lives, as tasks name it: a store is a URL (file:// in Node, http:// or https://
// anywhere), and each process that runs a task opens it with what its platform has. The core
// reads HTTP with fetch (range requests for parts of files); Node registers the file system
// (node/platform/io.ts). Paths a user writes ("data/air.zarr") become URLs on the client, where they mean
// what the user meant, before any task carries them to a worker.

import { ArgumentError, StoreError } from "../errors.js";

/** A part of a file: `length` bytes from `offset`. */
export interface ByteRange {
  offset: number;
  length: number;
}

/** Keys are paths relative to the store's root, with "/" between parts ("air/0.0.0"). */
export interface Store {
  /** The store's root as a URL, ending in "/". */
  readonly url: string;
  /**
   * The bytes under `key` (or a range of them); undefined when there is no such key. With `into`,
   * a store that learns the size before reading puts the bytes into `into(size)` and returns that
   * view (util/scratch.ts leases such buffers); a store may ignore it and return bytes of its own.
   */
  get(key: string, range?: ByteRange, into?: (size: number) => Uint8Array): Promise<Uint8Array | undefined>;
  /** Writes `bytes` under `key`, replacing what was there. */
  set(key: string, bytes: Uint8Array): Promise<void>;
  /** Removes every key under `prefix` (a directory), where the store can. */
  remove?(prefix: string): Promise<void>;
  /** The keys directly under `prefix` ("" for the root), where the store can list. */
  list?(prefix: string): Promise<string[]>;
  /** The size of the file under `key` in bytes, undefined when there is none (readers that plan by byte ranges: Parquet footers, CSV blocks). */
  size?(key: string): Promise<number | undefined>;
}

export type StoreOpener = (root: URL) => Store;

const openers = new Map<string, StoreOpener>();
let pathResolver: ((path: string) => string) | null = null;
/** Bearer tokens for origins that want one (the scheduler's `--serve-data`), by origin. */
const credentials = new Map<string, string>();

/** Makes `protocol` ("file:", "https:") openable in this process. */
export function registerStoreScheme(protocol: string, opener: StoreOpener): void {
  openers.set(protocol, opener);
}

/** How this platform turns a relative path into a URL (Node: the file system; a page: its own address). */
export function setPathResolver(resolve: ((path: string) => string) | null): void {
  pathResolver = resolve;
}

/** Sends `Authorization: Bearer <token>` with requests to `origin` (and to no other). */
export function setStoreCredentials(origin: string, token: string | null): void {
  if (token) credentials.set(origin, token);
  else credentials.delete(origin);
}

/**
 * Sends `token` with store reads from the HTTP origin of the scheduler at `address`, when it is a
 * ws:// or wss:// one (or that origin itself, http:// or https://): its /data/ (`meshwork scheduler
 * --serve-data`) takes the token a worker or client joined with. inproc:// has no HTTP side.
 */
export function useSchedulerCredentials(address: string, token: string | undefined): void {
  if (!token || !/^(ws|http)s?:\/\//.test(address)) return;
  setStoreCredentials(new URL(address.replace(/^ws/, "http")).origin, token);
}

/** A store read's request headers: the origin's bearer token, if one was set, and the byte range. */
export function requestHeaders(target: URL, range?: ByteRange): Record<string, string> {
  const headers: Record<string, string> = {};
  const token = credentials.get(target.origin);
  if (token) headers["authorization"] = `Bearer ${token}`;
  if (range) headers["range"] = `bytes=${range.offset}-${range.offset + range.length - 1}`;
  return headers;
}

const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/** The URL a user's path or URL names, as a directory ("…/") so keys resolve under it. */
export function storeUrl(location: string | URL): string {
  let s = typeof location === "string" ? location : location.href;
  if (typeof s !== "string" || s.length === 0)
    throw new ArgumentError(`a store is a path or URL, got ${JSON.stringify(location)}`);
  if (!SCHEME.test(s)) {
    if (!pathResolver)
      throw new ArgumentError(
        `"${s}" is a relative path, and this platform has no file system: give a URL (http://… or https://…)`,
      );
    s = pathResolver(s);
  }
  const url = new URL(s);
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return url.href;
}

/** The file a user's path or URL names (no trailing "/"). */
export function fileUrl(location: string | URL): string {
  const dir = storeUrl(location);
  return dir.slice(0, -1);
}

/** Opens the store at `url` (from storeUrl) with this process's platform. */
export function openStore(url: string): Store {
  const root = new URL(url);
  const opener = openers.get(root.protocol);
  if (!opener) {
    throw new StoreError(
      `this process cannot open ${root.protocol}// stores (it can open ${[...openers.keys()].map((p) => `${p}//`).join(", ") || "none"})`,
      url,
    );
  }
  return opener(root);
}

/** Reads the file at `url` (a URL without trailing "/"), or a range of it. */
export async function readFile(url: string, range?: ByteRange): Promise<Uint8Array> {
  const cut = url.lastIndexOf("/");
  const store = openStore(url.slice(0, cut + 1));
  const key = decodeURIComponent(url.slice(cut + 1));
  const bytes = await store.get(key, range);
  if (!bytes) throw new StoreError(`no file at ${url}`, url);
  if (range && bytes.length < range.length) {
    throw new StoreError(
      `${url} ends before byte ${range.offset + range.length} (read ${bytes.length} of ${range.length} bytes from ${range.offset}): the file is truncated`,
      url,
    );
  }
  return bytes;
}

// ---- HTTP(S), with fetch: every platform has it ----

/** HTTP(S) with fetch (Node reads http:// with its own client, node/platform/http-store.ts, and this for the rest). */
export class HttpStore implements Store {
  constructor(readonly url: string) {}

  async get(key: string, range?: ByteRange, into?: (size: number) => Uint8Array): Promise<Uint8Array | undefined> {
    const target = new URL(key, this.url);
    const headers = requestHeaders(target, range);
    const token = headers["authorization"];
    let res: Response;
    try {
      res = await fetch(target, { headers });
    } catch (cause) {
      throw new StoreError(`cannot fetch ${target.href}: ${(cause as Error).message}`, target.href, { cause });
    }
    if (res.status === 404 || res.status === 410) {
      await res.body?.cancel();
      return undefined;
    }
    if (range && res.status === 416) {
      await res.body?.cancel();
      throw new StoreError(
        `${target.href} has no bytes ${range.offset}–${range.offset + range.length - 1} (HTTP 416): the file is shorter`,
        target.href,
      );
    }
    if (!res.ok) {
      await res.body?.cancel();
      // A scheduler's /data/ wants the token its workers and clients joined with (useSchedulerCredentials).
      const hint =
        res.status === 401 || res.status === 403
          ? token
            ? " (the token sent for this origin was refused)"
            : " (no token was sent: setStoreCredentials(origin, token), or join the scheduler that serves it)"
          : "";
      throw new StoreError(`cannot read ${target.href}: HTTP ${res.status} ${res.statusText}${hint}`, target.href);
    }
    // A server that ignores Range answers 200 with the whole file.
    const whole = range !== undefined && res.status === 200;
    const length = Number(res.headers.get("content-length") ?? NaN);
    if (
      into &&
      res.body &&
      !whole &&
      Number.isSafeInteger(length) &&
      length > 0 &&
      !res.headers.get("content-encoding")
    ) {
      return readBody(res.body, into(length), target.href);
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (whole) return bytes.subarray(range.offset, range.offset + range.length);
    return bytes;
  }

  /** The size from a HEAD request's Content-Length. */
  async size(key: string): Promise<number | undefined> {
    const target = new URL(key, this.url);
    const headers = requestHeaders(target);
    let res: Response;
    try {
      res = await fetch(target, { method: "HEAD", headers });
    } catch (cause) {
      throw new StoreError(`cannot fetch ${target.href}: ${(cause as Error).message}`, target.href, { cause });
    }
    if (res.status === 404 || res.status === 410) return undefined;
    const length = Number(res.headers.get("content-length") ?? NaN);
    if (!res.ok || !Number.isSafeInteger(length))
      throw new StoreError(
        `cannot learn the size of ${target.href}: HTTP ${res.status}${res.ok ? " without a Content-Length" : ""}`,
        target.href,
      );
    return length;
  }

  async set(key: string): Promise<void> {
    throw new StoreError(`HTTP stores are read-only: cannot write ${key} under ${this.url}`, this.url);
  }
}

/** A response's body into `out` (its Content-Length long), piece by piece as it arrives. */
async function readBody(body: ReadableStream<Uint8Array>, out: Uint8Array, url: string): Promise<Uint8Array> {
  const reader = body.getReader();
  let n = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (n + value.length > out.length)
        throw new StoreError(`${url} sent more bytes than its Content-Length (${out.length})`, url);
      out.set(value, n);
      n += value.length;
    }
  } catch (err) {
    await reader.cancel().catch(() => undefined); // the error above is the one to report
    if (err instanceof StoreError) throw err;
    throw new StoreError(`cannot read ${url}: ${(err as Error).message}`, url, { cause: err });
  }
  return n === out.length ? out : out.subarray(0, n);
}

registerStoreScheme("http:", (root) => new HttpStore(root.href));
registerStoreScheme("https:", (root) => new HttpStore(root.href));
