// Which files a reader's argument names: a file, a list, a directory, or a glob in the last part
// of a path ("data/trips/*.parquet"), as URLs; and reading a file's size and a byte range of it.

import { ArgumentError, StoreError } from "../../errors.js";
import { fileUrl, realmStores, type ByteRange, type Store, type Stores } from "../../io/store.js";

export interface FileRef {
  url: string;
  size: number;
}

/** The store holding `url` (a file URL), opened through `stores`, and the file's key in it. */
export function storeOf(url: string, stores: Stores = realmStores): { store: Store; key: string } {
  const cut = url.lastIndexOf("/");
  return { store: stores.open(url.slice(0, cut + 1)), key: decodeURIComponent(url.slice(cut + 1)) };
}

export async function fileSize(url: string, stores: Stores = realmStores): Promise<number> {
  const { store, key } = storeOf(url, stores);
  if (!store.size) throw new StoreError(`cannot learn the size of ${url}: its store cannot tell sizes`, url);
  const size = await store.size(key);
  if (size === undefined) throw new StoreError(`no file at ${url}`, url);
  return size;
}

export async function readRange(url: string, range: ByteRange, stores: Stores = realmStores): Promise<Uint8Array> {
  const { store, key } = storeOf(url, stores);
  const bytes = await store.get(key, range);
  if (!bytes) throw new StoreError(`no file at ${url}`, url);
  if (bytes.length < range.length)
    throw new StoreError(
      `${url} ends before byte ${range.offset + range.length}: it changed since it was planned, or is truncated`,
      url,
    );
  return bytes;
}

function globRegex(pattern: string): RegExp {
  let re = "";
  for (const ch of pattern)
    re += ch === "*" ? "[^/]*" : ch === "?" ? "[^/]" : /[.+^${}()|[\]\\]/.test(ch) ? `\\${ch}` : ch;
  return new RegExp(`^${re}$`);
}

/**
 * The files `paths` names, sorted within each directory or glob. A directory (a path ending in "/",
 * or one that lists) gives its files whose names end in one of `extensions`. Paths resolve, and
 * directories list, through `stores`.
 */
export async function resolveFiles(
  paths: string | URL | readonly (string | URL)[],
  extensions: readonly string[],
  what: string,
  stores: Stores = realmStores,
): Promise<FileRef[]> {
  const list = Array.isArray(paths) ? paths : [paths as string | URL];
  if (list.length === 0) throw new ArgumentError(`${what} needs at least one path`);
  const urls: string[] = [];
  for (const p of list) {
    const s = typeof p === "string" ? p : p instanceof URL ? p.href : null;
    if (s === null || s.length === 0) throw new ArgumentError(`${what} takes paths or URLs, got ${JSON.stringify(p)}`);
    const star = s.search(/[*?]/);
    const cut = s.lastIndexOf("/", star >= 0 ? star : s.length - 2);
    if (star >= 0) {
      if (s.indexOf("/", star) >= 0)
        throw new ArgumentError(`${what}: wildcards are allowed in the file name only, not in directories: ${s}`);
      urls.push(
        ...((await listDir(s.slice(0, cut + 1) || "./", (name) => globRegex(s.slice(cut + 1)).test(name), s, stores)) ??
          []),
      );
      continue;
    }
    const url = fileUrl(s, stores);
    const isDir = s.endsWith("/") || !extensions.some((e) => s.toLowerCase().endsWith(e));
    if (isDir) {
      const inside = await listDir(
        s.endsWith("/") ? s : `${s}/`,
        (name) =>
          extensions.some((e) => name.toLowerCase().endsWith(e)) && !name.startsWith(".") && !name.startsWith("_"),
        s,
        stores,
        true,
      );
      if (inside !== null) {
        urls.push(...inside);
        continue;
      }
    }
    urls.push(url);
  }
  return Promise.all(urls.map(async (url) => ({ url, size: await fileSize(url, stores) })));
}

async function listDir(
  dir: string,
  keep: (name: string) => boolean,
  asked: string,
  stores: Stores,
  maybe = false,
): Promise<string[] | null> {
  const base = fileUrl(dir, stores) + "/";
  const store = stores.open(base);
  if (!store.list) {
    if (maybe) return null;
    throw new ArgumentError(`${asked}: ${base} cannot be listed (HTTP cannot); give the files one by one`);
  }
  const names = (await store.list("")).filter(keep).sort();
  if (names.length === 0) {
    if (maybe) return null;
    throw new StoreError(`no files match ${asked}`, base);
  }
  return names.map((n) => base + encodeURIComponent(n));
}
