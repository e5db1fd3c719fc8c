// NetCDF-4 (HDF5) with h5wasm, HDF5's own C library compiled to WebAssembly: `Dataset.slice`
// reads and decompresses only the chunks a block covers. Where the platform has files (Node
// registers h5wasm's NODERAWFS build, which opens real paths), a task reads just its chunks; else
// (HTTP, browsers) the file is fetched whole once per process into h5wasm's in-memory file
// system, because HDF5 reads synchronously and fetch cannot.

import type * as H5 from "h5wasm";
import { FormatError, MeshworkError, StoreError } from "../errors.js";
import { readFile } from "./store.js";
import type { NetcdfInfo, NetcdfVariableInfo } from "./netcdf.js";

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

/** Lets h5wasm open this platform's local files by path (node/io.ts registers Node's). */
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
  closed: boolean;
  close(): void;
}

interface Entry {
  opening: Promise<Hdf5Handle>;
  handle: Hdf5Handle | null;
}

/** Open files by URL, least recently used first. */
const open = new Map<string, Entry>();
const ready = new WeakSet<object>();
let memoryNames = 0;

/** The open file at `url` (cached per process); `fresh` closes a cached one and opens it again. */
export async function openHdf5(url: string, fresh = false): Promise<Hdf5Handle> {
  if (fresh) closeHdf5(url);
  let entry = open.get(url);
  if (entry) {
    open.delete(url);
    open.set(url, entry);
    return entry.opening;
  }
  const e: Entry = { opening: openFile(url), handle: null };
  entry = e;
  open.set(url, e);
  try {
    e.handle = await e.opening;
  } catch (err) {
    if (open.get(url) === e) open.delete(url);
    throw err;
  }
  if (open.get(url) !== e) e.handle.close(); // closed while it was opening
  else evict(url);
  return e.handle;
}

/**
 * Runs `use` on the open file at `url`, synchronously, so that no other task closes the file
 * under it (h5wasm's calls are synchronous; a file is only closed between them).
 */
export async function withHdf5<T>(url: string, use: (h: Hdf5Handle) => T, fresh = false): Promise<T> {
  for (let tries = 0; ; tries++) {
    const h = await openHdf5(url, fresh && tries === 0);
    // A local file rewritten since it was opened is opened again (HDF5 would read it through stale caches).
    if (h.local && files && !h.closed && (await files.stamp(h.local.path).catch(() => "")) !== h.local.stamp) {
      if (open.get(url)?.handle === h) closeHdf5(url);
      if (tries < 3) continue;
    }
    // Another task may have closed it (evicted, or opened afresh) while this one waited.
    if (!h.closed || tries >= 3) return use(h);
  }
}

/** Closes the cached file at `url`, if any (one still opening is closed when it opens). */
export function closeHdf5(url: string): void {
  const e = open.get(url);
  if (!e) return;
  open.delete(url);
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

async function openFile(url: string): Promise<Hdf5Handle> {
  const path = files?.path(url) ?? null;
  if (path !== null) {
    const local = files!;
    const h5 = await loaded(local.load);
    const stamp = await local.stamp(path).catch(() => "");
    const file = openWith(h5, path, url);
    return handle(h5, file, url, 0, { path, stamp }, () => undefined);
  }
  const bytes = await readFile(url);
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
    file = openWith(h5, name, url);
  } catch (err) {
    h5.FS!.unlink(name);
    throw err;
  }
  return handle(h5, file, url, bytes.length, null, () => h5.FS!.unlink(name));
}

function handle(h5: H5Wasm, file: H5.File, url: string, bytes: number, local: Hdf5Handle["local"], release: () => void): Hdf5Handle {
  const h: Hdf5Handle = {
    h5,
    file,
    url,
    bytes,
    local,
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

function openWith(h5: H5Wasm, path: string, url: string): H5.File {
  try {
    return new h5.File(path, "r");
  } catch (err) {
    throw explainHdf5(err, url);
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

/** HDF5's innermost reason (its error stack lists the calls, outermost first). */
function hdf5Reason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const lines = message.split("\n").filter((l) => /#\d+:/.test(l));
  const last = lines[lines.length - 1];
  if (!last) return message;
  return last.replace(/^.*? in [A-Za-z0-9_]+\(\): /, "");
}

/** h5wasm's errors as meshwork's: a truncated file, not an HDF5 file, anything else HDF5 said. */
export function explainHdf5(err: unknown, url: string, what = "opening it"): Error {
  if (err instanceof MeshworkError) return err;
  const reason = hdf5Reason(err);
  if (/truncated/i.test(reason)) return new FormatError(`${url} is truncated: HDF5 says "${reason}"`, { cause: err });
  if (/signature not found/i.test(reason)) return new FormatError(`${url} is not a NetCDF-4 file: HDF5 found no file signature in it`, { cause: err });
  return new FormatError(`${url}: HDF5 failed ${what}: ${reason}`, { cause: err });
}

// ---- what the file holds ----

/** netCDF-4's bookkeeping attributes, which say nothing about the data. */
const HIDDEN_ATTRS = new Set(["_Netcdf4Dimid", "_Netcdf4Coordinates", "DIMENSION_LIST", "REFERENCE_LIST", "CLASS", "NAME", "_NCProperties", "_nc3_strict", "_IsNetcdf4", "_SuperblockVersion"]);
/** The NAME of an HDF5 dimension scale that netCDF-4 made for a dimension without a coordinate variable. */
const DIMENSION_ONLY = "This is a netCDF dimension but not a netCDF variable";
/** netCDF-4 stores a variable named like a dimension it is not the coordinate of under this prefix. */
const NON_COORD = "_nc4_non_coord_";
/** H5S_UNLIMITED (2^64 - 1) as h5wasm reports it: a number far above any real size. */
const UNLIMITED = 2 ** 53;

/** The H5T classes h5wasm reports (H5T_class_t). */
const H5T = { INTEGER: 0, FLOAT: 1, TIME: 2, STRING: 3, BITFIELD: 4, OPAQUE: 5, COMPOUND: 6, REFERENCE: 7, ENUM: 8, VLEN: 9, ARRAY: 10 } as const;

/** A dataset's type as NetcdfVariableInfo names it. */
export function dataTypeOf(m: H5.Metadata): string {
  switch (m.type) {
    case H5T.INTEGER:
      return `${m.signed ? "" : "u"}int${m.size * 8}`;
    case H5T.FLOAT:
      return `float${m.size * 8}`;
    case H5T.STRING:
      return m.vlen || m.size > 1 ? "string" : "char";
    case H5T.ENUM: {
      const base = m.enum_type;
      return base ? `${m.signed ? "" : "u"}int${m.size * 8}` : "enum";
    }
    default: {
      const name = Object.entries(H5T).find(([, v]) => v === m.type)?.[0] ?? `type ${m.type}`;
      return name.toLowerCase();
    }
  }
}

/** A number, a bigint or a typed array or list of them, as an attribute's value: one element as itself. */
function attributeValue(v: unknown): unknown {
  const num = (x: unknown): unknown => (typeof x === "bigint" ? Number(x) : x);
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    const list = Array.from(v as unknown as ArrayLike<number | bigint>, num);
    return list.length === 1 ? list[0] : list;
  }
  if (Array.isArray(v)) return v.length === 1 ? num(v[0]) : v.map(num);
  return num(v);
}

function readAttributes(h5: H5Wasm, file: H5.File, obj: H5.Dataset | H5.Group, url: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of h5.Module.get_attribute_names(file.file_id, obj.path)) {
    if (HIDDEN_ATTRS.has(name)) continue;
    try {
      out[name] = attributeValue(obj.get_attribute(name, false));
    } catch (err) {
      throw explainHdf5(err, url, `reading attribute ${name} of ${obj.path}`);
    }
  }
  return out;
}

function stringAttribute(obj: H5.Dataset, name: string, names: string[]): string | null {
  if (!names.includes(name)) return null;
  const v = obj.get_attribute(name, false);
  return typeof v === "string" ? v : null;
}

/** The variables, dimensions and attributes of the root group of the NetCDF-4 file at `url`. */
export async function inspectNetcdf4(url: string): Promise<NetcdfInfo> {
  return withHdf5(
    url,
    ({ h5, file }) => {
      try {
        return describe(h5, file, url);
      } catch (err) {
        throw explainHdf5(err, url, "reading its metadata");
      }
    },
    true,
  );
}

interface DimensionScale {
  name: string;
  size: number;
  unlimited: boolean;
  id: number | null;
}

function describe(h5: H5Wasm, file: H5.File, url: string): NetcdfInfo {
  const scales = new Map<string, DimensionScale>();
  const found: { ds: H5.Dataset; name: string; isScale: boolean; meta: H5.Metadata }[] = [];
  for (const key of file.keys()) {
    const entity = file.get(key);
    if (!(entity instanceof h5.Dataset)) continue; // groups: only the root group is read
    const names = h5.Module.get_attribute_names(file.file_id, entity.path);
    const meta = entity.metadata;
    const cls = stringAttribute(entity, "CLASS", names);
    const scaleName = stringAttribute(entity, "NAME", names);
    const isScale = cls === "DIMENSION_SCALE";
    if (isScale) {
      const dimid = names.includes("_Netcdf4Dimid") ? Number(attributeValue(entity.get_attribute("_Netcdf4Dimid", false))) : null;
      scales.set(entity.path, { name: key, size: meta.shape?.[0] ?? 0, unlimited: (meta.maxshape?.[0] ?? 0) >= UNLIMITED, id: dimid });
    }
    if (isScale && scaleName?.startsWith(DIMENSION_ONLY)) continue;
    found.push({ ds: entity, name: key.startsWith(NON_COORD) ? key.slice(NON_COORD.length) : key, isScale, meta });
  }

  const variables: NetcdfVariableInfo[] = [];
  const sizes = new Map<string, number>();
  for (const { ds, name, isScale, meta } of found) {
    const shape = meta.shape ?? [];
    const dims = shape.map((_, axis) => {
      if (axis === 0 && isScale) return name;
      const attached = ds.get_attached_scales(axis);
      const scale = attached[0] ? scales.get(attached[0]) : undefined;
      return scale?.name ?? attached[0]?.replace(/^.*\//, "") ?? `phony_dim_${axis}`;
    });
    dims.forEach((d, axis) => sizes.set(d, Math.max(sizes.get(d) ?? 0, shape[axis]!)));
    variables.push({
      name,
      dims,
      shape: [...shape],
      dataType: dataTypeOf(meta),
      attrs: readAttributes(h5, file, ds, url),
      chunks: meta.chunks ? [...meta.chunks] : null,
      layout: { kind: "hdf5", path: ds.path },
    });
  }

  // Dimensions in netCDF's order (their ids), then any only seen on variables.
  const ordered = [...scales.values()].sort((a, b) => (a.id ?? Infinity) - (b.id ?? Infinity));
  const dims: Record<string, number> = {};
  // An unlimited dimension's scale keeps the size it was made with; the variables along it say how long it is.
  for (const s of ordered) dims[s.name] = Math.max(s.size, sizes.get(s.name) ?? 0);
  for (const [d, n] of sizes) if (!(d in dims)) dims[d] = n;
  return {
    url,
    format: "netcdf4",
    dims,
    unlimited: ordered.filter((s) => s.unlimited).map((s) => s.name),
    attrs: readAttributes(h5, file, file, url),
    variables,
  };
}

/** A dataset's values in the region [start, stop), as h5wasm gives them (typed array, or strings). */
export function readHdf5Region(handle: Hdf5Handle, path: string, start: number[], stop: number[]): unknown {
  const ds = handle.file.get(path);
  if (!(ds instanceof handle.h5.Dataset)) throw new FormatError(`${handle.url} has no dataset ${path} any more`);
  try {
    if (start.length === 0) return ds.value;
    return ds.slice(start.map((s, a) => [s, stop[a]!]));
  } catch (err) {
    throw explainHdf5(err, handle.url, `reading ${path}`);
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

/** For tests: how many files this process holds open. */
export function openHdf5Count(): number {
  return open.size;
}

