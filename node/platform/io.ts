// Node's file system as a meshwork store (file:// URLs), relative paths resolved against the
// working directory where the user wrote them, and http:// read by Node's own client
// (http-store.ts). Reads take only the bytes asked for (synchronously in worker threads, see
// SYNC_READS); writes land in a temporary file first and are renamed into place, so a reader
// never sees half a chunk. NetCDF-4 files are opened by path with h5wasm's Node build, which reads
// only what it needs.

import { closeSync, fstatSync, openSync, readSync as readSyncAt } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { isMainThread } from "node:worker_threads";
import { StoreError } from "../../src/errors.js";
import { registerStoreScheme, setPathResolver, type ByteRange, type Store } from "../../src/io/store.js";
import { registerHdf5Files } from "../../src/io/netcdf4.js";
import { NodeHttpStore } from "./http-store.js";

class FileStore implements Store {
  private readonly root: string;
  constructor(readonly url: string) {
    this.root = fileURLToPath(url);
  }

  /** The file for a key; keys never leave the store's directory. */
  private file(key: string): string {
    const p = resolve(this.root, key);
    if (p !== resolve(this.root) && !p.startsWith(resolve(this.root) + "/"))
      throw new StoreError(`the key ${JSON.stringify(key)} points outside the store`, this.url);
    return p;
  }

  async get(key: string, range?: ByteRange, into?: (size: number) => Uint8Array): Promise<Uint8Array | undefined> {
    const path = this.file(key);
    try {
      return SYNC_READS ? readSync(path, range, into) : await readAsync(path, range, into);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return undefined;
      throw new StoreError(`cannot read ${path}: ${(err as Error).message}`, pathToFileURL(path).href, { cause: err });
    }
  }

  async set(key: string, bytes: Uint8Array): Promise<void> {
    const path = this.file(key);
    const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(tmp, bytes);
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw new StoreError(`cannot write ${path}: ${(err as Error).message}`, pathToFileURL(path).href, { cause: err });
    }
  }

  async remove(prefix: string): Promise<void> {
    await rm(prefix ? this.file(prefix) : this.root, { recursive: true, force: true });
  }

  async size(key: string): Promise<number | undefined> {
    try {
      const s = await stat(this.file(key));
      return s.isFile() ? s.size : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ENOTDIR")
        return undefined;
      throw new StoreError(`cannot stat ${this.file(key)}: ${(err as Error).message}`, this.url, { cause: err });
    }
  }

  async list(prefix: string): Promise<string[]> {
    try {
      return await readdir(prefix ? this.file(prefix) : this.root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ENOTDIR")
        return [];
      throw new StoreError(`cannot list ${join(this.root, prefix)}: ${(err as Error).message}`, this.url, {
        cause: err,
      });
    }
  }
}

/**
 * Worker threads read files synchronously. A 22 MB chunk comes from the page cache in ~3 ms either
 * way, but through libuv's pool the thread also waits for a pool thread to run, which with both
 * cores busy cost 2-4 ms more per chunk (the Zarr benchmark ran ~10 % faster without it). A task
 * holds its thread anyway (decoding a chunk takes longer than reading it). The main thread (client
 * and scheduler) never blocks on a file.
 */
const SYNC_READS = !isMainThread;

/** Reads `range` of the file (or all of it) into `into(size)` or fresh memory; a short file gives fewer bytes. */
function readSync(
  path: string,
  range: ByteRange | undefined,
  into: ((size: number) => Uint8Array) | undefined,
): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const offset = range?.offset ?? 0;
    const length = range ? range.length : fstatSync(fd).size;
    const out = into ? into(length) : new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSyncAt(fd, out, done, length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    return done === length ? out : out.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

async function readAsync(
  path: string,
  range: ByteRange | undefined,
  into: ((size: number) => Uint8Array) | undefined,
): Promise<Uint8Array> {
  const fh = await open(path, "r");
  try {
    const offset = range?.offset ?? 0;
    const length = range ? range.length : (await fh.stat()).size;
    const out = into ? into(length) : new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fh.read(out, done, length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done === length ? out : out.subarray(0, done);
  } finally {
    await fh.close();
  }
}

registerStoreScheme("file:", (root) => new FileStore(root.href));
registerStoreScheme("http:", (root, stores) => new NodeHttpStore(root.href, stores));
setPathResolver((path) => pathToFileURL(resolve(path)).href);
registerHdf5Files({
  load: () => import("h5wasm/node"),
  path: (url) => (url.startsWith("file:") ? fileURLToPath(url) : null),
  stamp: async (path) => {
    const s = await stat(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}`;
  },
});
