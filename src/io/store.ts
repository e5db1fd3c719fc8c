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

/** Opens a store at `root`; `stores` is the Stores it is opened through (whose credentials an HTTP store sends). */
export type StoreOpener = (root: URL, stores: Stores) => Store;

const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

let nextStoresId = 0;
const noop = (): void => {};

/**
 * What a member reads and writes data with: the openers by URL scheme, how a relative path becomes
 * a URL, and the bearer tokens per origin. The realm has one (`realmStores`: what the module-level
 * functions below change and use, the default runtime's); `createStores(base)` makes one of a
 * member's own, which takes openers and the path resolver from `base` unless given its own, and
 * sends its own credentials first, else `base`'s. Tasks get their worker's (src/task-context.ts);
 * planning on a client takes its client's (the `stores` option of fromZarr, inspectZarr).
 */
export class Stores {
  /** Tells Stores apart in caches keyed by URL (a store opened through one sends its credentials). */
  readonly id = nextStoresId++;
  private readonly openers = new Map<string, StoreOpener>();
  private resolver: ((path: string) => string) | null | undefined = undefined;
  /** Bearer tokens for origins that want one (the scheduler's `--serve-data`), by origin. */
  private readonly credentials = new Map<string, string>();
  /** The scheduler tokens members set (useSchedulerCredentials), by origin, with how many hold each. */
  private readonly leases = new Map<string, { token: string; holders: number }>();

  constructor(private readonly base: Stores | null = null) {}

  /** Makes `protocol` ("file:", "https:") openable through these stores. */
  registerScheme(protocol: string, opener: StoreOpener): void {
    this.openers.set(protocol, opener);
  }

  /** How a relative path becomes a URL (Node: the file system; a page: its own address). */
  setPathResolver(resolve: ((path: string) => string) | null): void {
    this.resolver = resolve;
  }

  /** Sends `Authorization: Bearer <token>` with requests to `origin` (and to no other); null forgets it. */
  setCredentials(origin: string, token: string | null): void {
    if (token) this.credentials.set(origin, token);
    else this.credentials.delete(origin);
  }

  /**
   * Sends `token` with store reads from the HTTP origin of the scheduler at `address`, when it is a
   * ws:// or wss:// one (or that origin itself, http:// or https://): its /data/ (`meshwork scheduler
   * --serve-data`) takes the token a worker or client joined with. inproc:// has no HTTP side.
   * Returns what takes it back (a member calls it when it closes; calling it again does nothing):
   * the token is forgotten once every member that set it has taken it back, unless the origin's
   * token was changed meanwhile (that one stays).
   */
  useSchedulerCredentials(address: string, token: string | undefined): () => void {
    if (!token || !/^(ws|http)s?:\/\//.test(address)) return noop;
    const origin = new URL(address.replace(/^ws/, "http")).origin;
    this.setCredentials(origin, token);
    const lease = this.leases.get(origin);
    if (lease?.token === token) lease.holders++;
    else this.leases.set(origin, { token, holders: 1 });
    let returned = false;
    return () => {
      if (returned) return;
      returned = true;
      const now = this.leases.get(origin);
      if (now?.token !== token || --now.holders > 0) return;
      this.leases.delete(origin);
      if (this.credentials.get(origin) === token) this.credentials.delete(origin);
    };
  }

  /** The bearer token sent to `origin`: these stores' own, else their base's. */
  credentialFor(origin: string): string | undefined {
    return this.credentials.get(origin) ?? this.base?.credentialFor(origin);
  }

  /** A store read's request headers: the origin's bearer token, if one was set, and the byte range. */
  requestHeaders(target: URL, range?: ByteRange): Record<string, string> {
    const headers: Record<string, string> = {};
    const token = this.credentialFor(target.origin);
    if (token) headers["authorization"] = `Bearer ${token}`;
    if (range) headers["range"] = `bytes=${range.offset}-${range.offset + range.length - 1}`;
    return headers;
  }

  private opener(protocol: string): StoreOpener | undefined {
    return this.openers.get(protocol) ?? this.base?.opener(protocol);
  }

  private schemes(): string[] {
    return [...new Set([...this.openers.keys(), ...(this.base?.schemes() ?? [])])];
  }

  private pathResolver(): ((path: string) => string) | null {
    return this.resolver !== undefined ? this.resolver : (this.base?.pathResolver() ?? null);
  }

  /** The URL a user's path or URL names, as a directory ("…/") so keys resolve under it. */
  storeUrl(location: string | URL): string {
    let s = typeof location === "string" ? location : location.href;
    if (typeof s !== "string" || s.length === 0)
      throw new ArgumentError(`a store is a path or URL, got ${JSON.stringify(location)}`);
    if (!SCHEME.test(s)) {
      const resolve = this.pathResolver();
      if (!resolve)
        throw new ArgumentError(
          `"${s}" is a relative path, and this platform has no file system: give a URL (http://… or https://…)`,
        );
      s = resolve(s);
    }
    const url = new URL(s);
    if (!url.pathname.endsWith("/")) url.pathname += "/";
    return url.href;
  }

  /** Opens the store at `url` (from storeUrl) with these stores' openers and credentials. */
  open(url: string): Store {
    const root = new URL(url);
    const opener = this.opener(root.protocol);
    if (!opener) {
      throw new StoreError(
        `this process cannot open ${root.protocol}// stores (it can open ${
          this.schemes()
            .map((p) => `${p}//`)
            .join(", ") || "none"
        })`,
        url,
      );
    }
    return opener(root, this);
  }
}

/** The realm's stores: what the platform registered (Node's files, a page's paths) and the default runtime's. */
export const realmStores = new Stores();

/** Stores of a member's own: openers and the path resolver from `base` (default the realm's), credentials its own first. */
export function createStores(base: Stores = realmStores): Stores {
  return new Stores(base);
}

/** Makes `protocol` ("file:", "https:") openable in this realm (the default runtime's stores). */
export function registerStoreScheme(protocol: string, opener: StoreOpener): void {
  realmStores.registerScheme(protocol, opener);
}

/** How this platform turns a relative path into a URL (Node: the file system; a page: its own address). */
export function setPathResolver(resolve: ((path: string) => string) | null): void {
  realmStores.setPathResolver(resolve);
}

/** Sends `Authorization: Bearer <token>` with the realm's requests to `origin` (and to no other). */
export function setStoreCredentials(origin: string, token: string | null): void {
  realmStores.setCredentials(origin, token);
}

/** realmStores.useSchedulerCredentials: the realm's reads from the scheduler's /data/ send `token`. */
export function useSchedulerCredentials(address: string, token: string | undefined): () => void {
  return realmStores.useSchedulerCredentials(address, token);
}

/** A store read's request headers through `stores` (default the realm's). */
export function requestHeaders(target: URL, range?: ByteRange, stores: Stores = realmStores): Record<string, string> {
  return stores.requestHeaders(target, range);
}

/** The URL a user's path or URL names, as a directory ("…/") so keys resolve under it. */
export function storeUrl(location: string | URL, stores: Stores = realmStores): string {
  return stores.storeUrl(location);
}

/** The file a user's path or URL names (no trailing "/"). */
export function fileUrl(location: string | URL, stores: Stores = realmStores): string {
  const dir = storeUrl(location, stores);
  return dir.slice(0, -1);
}

/** Opens the store at `url` (from storeUrl) through `stores` (default: the realm's). */
export function openStore(url: string, stores: Stores = realmStores): Store {
  return stores.open(url);
}

/** Reads the file at `url` (a URL without trailing "/"), or a range of it. */
export async function readFile(url: string, range?: ByteRange, stores: Stores = realmStores): Promise<Uint8Array> {
  const cut = url.lastIndexOf("/");
  const store = openStore(url.slice(0, cut + 1), stores);
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
  /** `stores`: whose credentials its requests carry (default: the realm's). */
  constructor(
    readonly url: string,
    private readonly stores: Stores = realmStores,
  ) {}

  async get(key: string, range?: ByteRange, into?: (size: number) => Uint8Array): Promise<Uint8Array | undefined> {
    const target = new URL(key, this.url);
    const headers = this.stores.requestHeaders(target, range);
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
    const headers = this.stores.requestHeaders(target);
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

registerStoreScheme("http:", (root, stores) => new HttpStore(root.href, stores));
registerStoreScheme("https:", (root, stores) => new HttpStore(root.href, stores));
