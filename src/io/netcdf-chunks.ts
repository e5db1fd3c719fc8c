// What runs on the worker that holds a task of fromNetcdf: reading one block of a variable
// straight from the file (a path in Node, a URL anywhere), after checking that the file still
// holds what the client planned from.

import { FormatError, StoreError } from "../errors.js";
import type { DType } from "../array/dtype.js";
import { NDArray } from "../array/ndarray.js";
import { toNDArray, type NetcdfInfo, type NetcdfLayout, type NetcdfVariableInfo } from "./netcdf.js";
import { fromBigEndian, inspectNetcdf3, PREFIX_BYTES, readNetcdf3Rows } from "./netcdf3.js";
import { closeHdf5, datasetInfo, readHdf5Region, withHdf5 } from "./netcdf4.js";
import { realmStores, type Stores } from "./store.js";

/** A block of a NetCDF variable: which variable, as planned on the client, and which region. */
export interface NetcdfReadSpec {
  url: string;
  format: NetcdfInfo["format"];
  variable: string;
  /** The variable's shape, type and place in the file when the client planned (checked against the file). */
  shape: number[];
  dataType: string;
  layout: NetcdfLayout;
  /** The block's dtype (the file's, or what the user asked to convert to). */
  dtype: DType;
  /** The block's region: [start, stop) along each axis. */
  start: number[];
  stop: number[];
}

/** Reads one block of a variable, as its dtype, through `stores` (the running member's; default the realm's). */
export async function readNetcdfBlock(spec: NetcdfReadSpec, stores: Stores = realmStores): Promise<NDArray> {
  const blockShape = spec.stop.map((s, a) => s - spec.start[a]!);
  if (spec.layout.kind === "netcdf3") {
    const nd = spec.shape.length;
    const rows = (v: NetcdfVariableInfo): Promise<Uint8Array> =>
      readNetcdf3Rows(spec.url, v, spec.start[0] ?? 0, spec.stop[0] ?? 1, stores);
    const v = await plannedVariable(spec, false, stores);
    // A header kept from before the file changed may still match the plan: when reading fails,
    // the header is read again, and the file is either what was planned (then the second read's
    // error is the one to report) or said to have changed.
    const bytes = await rows(v).catch(async () => rows(await plannedVariable(spec, true, stores)));
    let block = new NDArray(
      v.dataType as DType,
      nd === 0 ? [] : [blockShape[0]!, ...spec.shape.slice(1)],
      fromBigEndian(bytes, v.dataType),
    );
    // Rows are read whole; a block that is not (none planned here is) is cut from them.
    if (nd > 1 && blockShape.some((n, a) => a > 0 && n !== spec.shape[a])) {
      block = block.slice(
        ...spec.start.map((s, a) => (a === 0 ? { start: 0, stop: blockShape[0]! } : { start: s, stop: spec.stop[a]! })),
      );
    }
    return block.dtype === spec.dtype
      ? block
      : toNDArray(block.contiguous().toTypedArray(), blockShape, v.dataType, at(spec), spec.dtype);
  }
  const path = spec.layout.path;
  const read = (fresh: boolean): Promise<unknown> =>
    withHdf5(
      spec.url,
      (h) => {
        const found = datasetInfo(h, path);
        if (!found || found.dataType !== spec.dataType || found.shape.join() !== spec.shape.join())
          return changed(spec, found);
        return readHdf5Region(h, path, spec.start, spec.stop);
      },
      fresh,
      stores,
    );
  // This process may hold the file open from before it changed: a first try that fails or finds
  // the variable changed is tried once more with the file opened afresh.
  let values = await read(false).catch((err: unknown) => new Changed(err as Error));
  if (values instanceof Changed) {
    closeHdf5(spec.url, stores);
    values = await read(true);
  }
  if (values instanceof Changed) throw values.error;
  return toNDArray(values, blockShape, spec.dataType, at(spec), spec.dtype);
}

function at(spec: NetcdfReadSpec): string {
  return `${spec.url} variable ${spec.variable}`;
}

class Changed {
  constructor(readonly error: Error) {}
}

function changed(spec: NetcdfReadSpec, now: { shape: number[]; dataType: string } | null): Changed {
  const planned = `${spec.dataType} [${spec.shape}]`;
  if (!now)
    return new Changed(
      new FormatError(
        `${at(spec)} is not in the file any more (it was ${planned} when the file was opened); open it again`,
      ),
    );
  return new Changed(
    new FormatError(
      `${at(spec)} changed since the file was opened: it is now ${now.dataType} [${now.shape}], planned as ${planned}; open it again`,
    ),
  );
}

// ---- NetCDF-3 headers, per process ----

/** Headers kept per process (each a few kB), by the stores read through and URL: a worker reads many blocks of one file. */
const HEADERS_MAX = 256;
const headers = new Map<string, Promise<NetcdfInfo>>();

function header(url: string, fresh: boolean, stores: Stores): Promise<NetcdfInfo> {
  const key = `${stores.id}|${url}`;
  let p = fresh ? undefined : headers.get(key);
  if (!p) {
    if (headers.size >= HEADERS_MAX) headers.delete(headers.keys().next().value!);
    const made = readHeader(url, stores);
    p = made;
    headers.set(key, made);
    made.catch(() => {
      if (headers.get(key) === made) headers.delete(key);
    });
  }
  return p;
}

async function readHeader(url: string, stores: Stores): Promise<NetcdfInfo> {
  const cut = url.lastIndexOf("/");
  const prefix = await stores.open(url.slice(0, cut + 1)).get(decodeURIComponent(url.slice(cut + 1)), {
    offset: 0,
    length: PREFIX_BYTES,
  });
  if (!prefix) throw new StoreError(`no file at ${url}`, url);
  return inspectNetcdf3(url, prefix, stores);
}

function matches(v: NetcdfVariableInfo | undefined, spec: NetcdfReadSpec): boolean {
  return (
    v !== undefined &&
    v.dataType === spec.dataType &&
    v.shape.join() === spec.shape.join() &&
    v.layout.kind === "netcdf3" &&
    spec.layout.kind === "netcdf3" &&
    v.layout.begin === spec.layout.begin &&
    v.layout.recordSize === spec.layout.recordSize
  );
}

/** The variable as the file's header says (read again once when the kept one differs from the plan, or when `fresh`), checked against the plan. */
async function plannedVariable(spec: NetcdfReadSpec, fresh: boolean, stores: Stores): Promise<NetcdfVariableInfo> {
  let v = (await header(spec.url, fresh, stores)).variables.find((x) => x.name === spec.variable);
  if (!fresh && !matches(v, spec))
    v = (await header(spec.url, true, stores)).variables.find((x) => x.name === spec.variable);
  if (!v || !matches(v, spec)) throw changed(spec, v ? { shape: v.shape, dataType: v.dataType } : null).error;
  return v;
}
