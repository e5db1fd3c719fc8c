// NetCDF-3 (classic and 64-bit offset) without holding the file: netcdfjs parses the header from
// a prefix of the file, and values are read by byte ranges (so over HTTP too), big-endian to
// native. A record variable's records are interleaved with the other record variables'.

import { NetCDFReader } from "netcdfjs";
import { FormatError, StoreError } from "../errors.js";
import { readFile, realmStores, type ByteRange, type Stores } from "./store.js";
import type { NetcdfInfo, NetcdfLayout, NetcdfVariableInfo } from "./netcdf.js";

/** The first read of a file: enough for the header of most files (netcdfjs needs it whole). */
export const PREFIX_BYTES = 64 * 1024;
/**
 * A header bigger than this is refused: it would be tens of thousands of variables, or not a
 * NetCDF file at all (the header is read again, doubling, until it parses).
 */
const HEADER_MAX_BYTES = 64 * 1024 * 1024;
/**
 * A block of a record variable is read as one span of records (with the other record variables'
 * values between them) when the span is at most this many times the bytes wanted or under
 * SPAN_MIN_BYTES; otherwise one request per record. Over HTTP each request costs a round trip.
 */
const SPAN_WASTE_MAX = 4;
const SPAN_MIN_BYTES = 1024 * 1024;
/** Record reads in flight at once for one block (HTTP/1.1 browsers allow 6 per origin). */
const RECORD_READS_IN_FLIGHT = 6;

const TYPES: Record<string, { dataType: string; size: number }> = {
  byte: { dataType: "int8", size: 1 },
  char: { dataType: "char", size: 1 },
  short: { dataType: "int16", size: 2 },
  int: { dataType: "int32", size: 4 },
  float: { dataType: "float32", size: 4 },
  double: { dataType: "float64", size: 8 },
};

/** Bytes of one element of a NetCDF-3 data type (as NetcdfVariableInfo names it). */
export function elementSize(dataType: string): number {
  for (const t of Object.values(TYPES)) if (t.dataType === dataType) return t.size;
  throw new FormatError(`NetCDF-3 has no ${dataType} values`);
}

interface ParsedHeader {
  reader: NetCDFReader;
  /** Bytes the prefix held. */
  read: number;
}

/** Parses the header from `prefix`, reading more of the file while the header runs past it. */
async function parseHeader(url: string, prefix: Uint8Array, stores: Stores): Promise<ParsedHeader> {
  let bytes = prefix;
  let want = Math.max(PREFIX_BYTES, prefix.length);
  for (;;) {
    try {
      return { reader: new NetCDFReader(bytes), read: bytes.length };
    } catch (err) {
      if (!(err instanceof RangeError)) {
        throw new FormatError(`${url} is not a NetCDF-3 file netcdfjs can read: ${(err as Error).message}`, {
          cause: err,
        });
      }
      // The header goes on past what was read: read more, unless that was the whole file.
      if (bytes.length < want)
        throw new FormatError(
          `${url} is truncated: its NetCDF-3 header goes on past the end of the file (${bytes.length} bytes)`,
          { cause: err },
        );
      want *= 2;
      if (want > HEADER_MAX_BYTES)
        throw new FormatError(
          `${url}: its NetCDF-3 header is bigger than ${HEADER_MAX_BYTES / 2 ** 20} MiB; it is corrupt, or not a NetCDF file`,
          { cause: err },
        );
      const more = await stores.open(dirOf(url)).get(baseOf(url), { offset: 0, length: want });
      if (!more) throw new StoreError(`no file at ${url} (it was there a moment ago)`, url);
      bytes = more;
    }
  }
}

/** What the header of the NetCDF-3 file at `url` says, given the file's first bytes (the rest read through `stores`). */
export async function inspectNetcdf3(
  url: string,
  prefix: Uint8Array,
  stores: Stores = realmStores,
): Promise<NetcdfInfo> {
  const { reader } = await parseHeader(url, prefix, stores);
  const header = reader.header;
  const numrecs = header.recordDimension.length;
  const recordName = header.recordDimension.name;
  const dimList = header.dimensions ?? [];
  const dims: Record<string, number> = {};
  for (const d of dimList) dims[d.name] = d.name === recordName ? numrecs : d.size;
  const recordVars = (header.variables ?? []).filter((v) => v.record);
  const variables: NetcdfVariableInfo[] = (header.variables ?? []).map((v) => {
    const t = TYPES[v.type];
    if (!t) throw new FormatError(`${url}: variable ${v.name} has an unknown NetCDF-3 type (${v.type})`);
    const dimNames = v.dimensions.map((id) => {
      const d = dimList[id];
      if (!d) throw new FormatError(`${url}: variable ${v.name} names dimension ${id}, which the header does not have`);
      return d.name;
    });
    const shape = dimNames.map((d) => dims[d]!);
    const layout: NetcdfLayout = {
      kind: "netcdf3",
      begin: v.offset,
      recordSize: v.record ? recordSize(recordVars.length, shape, t.size, header.recordDimension.recordStep) : null,
    };
    return {
      name: v.name,
      dims: dimNames,
      shape,
      dataType: t.dataType,
      attrs: attributes(v.attributes as unknown as RawAttribute[]),
      chunks: null,
      layout,
    };
  });
  return {
    url,
    format: header.version === 2 ? "netcdf3-64bit" : "netcdf3-classic",
    dims,
    unlimited: recordName !== undefined ? [recordName] : [],
    attrs: attributes(header.globalAttributes as unknown as RawAttribute[]),
    variables,
  };
}

/**
 * Bytes from one record to the next: the record variables' padded sizes added up, except that a
 * file with a single record variable packs its records without padding (netCDF-C's
 * NC_computeshapes; the format specification's "vsize" note).
 */
function recordSize(recordVars: number, shape: number[], size: number, recordStep: number | undefined): number {
  const slab = shape.slice(1).reduce((a, b) => a * b, 1) * size;
  if (recordVars === 1) return slab;
  return recordStep ?? Math.ceil(slab / 4) * 4;
}

interface RawAttribute {
  name: string;
  type: string;
  value: number | number[] | string;
}

/**
 * Attributes as stored: a one-element number attribute as a number, longer ones as number[], text
 * as a string. netcdfjs reads bytes unsigned and always as an array; NetCDF-3 bytes are signed.
 */
function attributes(list: RawAttribute[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of list ?? []) {
    let value: unknown = a.value;
    if (a.type === "byte") {
      const signed = Array.from(a.value as number[], (b) => (b > 127 ? b - 256 : b));
      value = signed.length === 1 ? signed[0] : signed;
    }
    out[a.name] = value;
  }
  return out;
}

/**
 * The values of rows [from, to) along the first axis of a variable (all of it when 0-d), as stored
 * (big-endian), in C order, read through `stores`. Reads past the end of the file fail with a
 * StoreError saying it is truncated.
 */
export async function readNetcdf3Rows(
  url: string,
  v: NetcdfVariableInfo,
  from: number,
  to: number,
  stores: Stores = realmStores,
): Promise<Uint8Array> {
  const layout = v.layout;
  if (layout.kind !== "netcdf3") throw new FormatError(`${url}: variable ${v.name} is not laid out as NetCDF-3`);
  const size = elementSize(v.dataType);
  if (v.shape.length === 0) return readFile(url, { offset: layout.begin, length: size }, stores);
  const rowBytes = v.shape.slice(1).reduce((a, b) => a * b, 1) * size;
  const rows = to - from;
  if (rows <= 0 || rowBytes === 0) return new Uint8Array(0);
  if (layout.recordSize === null || layout.recordSize === rowBytes) {
    const step = layout.recordSize ?? rowBytes;
    return readFile(url, { offset: layout.begin + from * step, length: rows * rowBytes }, stores);
  }
  const step = layout.recordSize;
  const out = new Uint8Array(rows * rowBytes);
  const span = (rows - 1) * step + rowBytes;
  if (span <= Math.max(SPAN_WASTE_MAX * out.length, SPAN_MIN_BYTES)) {
    const all = await readFile(url, { offset: layout.begin + from * step, length: span }, stores);
    for (let r = 0; r < rows; r++) out.set(all.subarray(r * step, r * step + rowBytes), r * rowBytes);
    return out;
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < rows) {
      const r = next++;
      const range: ByteRange = { offset: layout.begin + (from + r) * step, length: rowBytes };
      out.set(await readFile(url, range, stores), r * rowBytes);
    }
  };
  await Promise.all(Array.from({ length: Math.min(RECORD_READS_IN_FLIGHT, rows) }, worker));
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Big-endian values as a native typed array of `dataType` (int8, int16, int32, float32, float64).
 * Bytes are swapped as integers in a copy, never read as floats, so every bit (NaN payloads
 * included) is kept; 4 MB in 3-7 ms here, as fast as DataView reads.
 */
export function fromBigEndian(
  bytes: Uint8Array,
  dataType: string,
): Int8Array | Int16Array | Int32Array | Float32Array | Float64Array {
  const size = elementSize(dataType);
  const own = bytes.slice(); // a buffer of its own, aligned for any element size
  const n = own.length / size;
  if (LITTLE_ENDIAN && size === 2) {
    const w = new Uint16Array(own.buffer);
    for (let i = 0; i < w.length; i++) {
      const x = w[i]!;
      w[i] = ((x & 0xff) << 8) | (x >>> 8);
    }
  } else if (LITTLE_ENDIAN && size >= 4) {
    const w = new Uint32Array(own.buffer);
    for (let i = 0; i < w.length; i++) {
      const x = w[i]!;
      w[i] = ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
    }
    if (size === 8) {
      // Each half swapped; now the halves change places.
      for (let i = 0; i < w.length; i += 2) {
        const t = w[i]!;
        w[i] = w[i + 1]!;
        w[i + 1] = t;
      }
    }
  }
  switch (dataType) {
    case "int8":
      return new Int8Array(own.buffer, 0, n);
    case "int16":
      return new Int16Array(own.buffer, 0, n);
    case "int32":
      return new Int32Array(own.buffer, 0, n);
    case "float32":
      return new Float32Array(own.buffer, 0, n);
    case "float64":
      return new Float64Array(own.buffer, 0, n);
    default:
      throw new FormatError(`NetCDF-3 ${dataType} values are not numbers`);
  }
}

/** Char values as strings: one per row of the last axis, without trailing NULs. */
export function charStrings(bytes: Uint8Array, shape: number[]): string[] {
  const width = shape.length === 0 ? 1 : shape[shape.length - 1]!;
  const count = width === 0 ? shape.slice(0, -1).reduce((a, b) => a * b, 1) : bytes.length / width;
  const decoder = new TextDecoder("utf-8");
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let row = bytes.subarray(i * width, (i + 1) * width);
    const nul = row.indexOf(0);
    if (nul >= 0) row = row.subarray(0, nul);
    out.push(decoder.decode(row));
  }
  return out;
}

function dirOf(url: string): string {
  return url.slice(0, url.lastIndexOf("/") + 1);
}

function baseOf(url: string): string {
  return decodeURIComponent(url.slice(url.lastIndexOf("/") + 1));
}
