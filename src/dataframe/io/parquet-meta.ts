// What a Parquet footer says, read with hyparquet from a byte range at the end of the file (one
// read of 64 KiB, a second when the footer is longer), and the column types it gives meshwork.

import { parquetMetadata, type FileMetaData, type SchemaElement } from "hyparquet";
import { FormatError } from "../../errors.js";
import type { Stores } from "../../io/store.js";
import type { DType } from "../dtypes.js";
import { readRange } from "./files.js";

/** Timestamps and dates as stored (counts of their unit), not as Dates: columns keep their buffers. */
export const RAW_PARSERS = {
  timestampFromMilliseconds: (v: bigint) => v,
  timestampFromMicroseconds: (v: bigint) => v,
  timestampFromNanoseconds: (v: bigint) => v,
  dateFromDays: (v: number) => v,
};

const FOOTER_GUESS = 64 * 1024; // most footers fit; hyparquet's own first guess is 512 KiB

/** The footer of the file at `url` (`size` bytes), read through `stores`. */
export async function readFooter(url: string, size: number, stores?: Stores): Promise<FileMetaData> {
  if (size < 12) throw new FormatError(`${url} is not a Parquet file (${size} bytes)`);
  const start = Math.max(0, size - FOOTER_GUESS);
  let tail = await readRange(url, { offset: start, length: size - start }, stores);
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  if (view.getUint32(tail.length - 4, true) !== 0x31524150)
    throw new FormatError(`${url} is not a Parquet file (it does not end in PAR1)`);
  const metaLength = view.getUint32(tail.length - 8, true);
  if (metaLength + 8 > size)
    throw new FormatError(`${url}: its footer says it is ${metaLength} bytes long, more than the file`);
  if (metaLength + 8 > tail.length)
    tail = await readRange(url, { offset: size - metaLength - 8, length: metaLength + 8 }, stores);
  try {
    return parquetMetadata(tail.subarray(tail.length - metaLength - 8), { parsers: RAW_PARSERS, geoparquet: false });
  } catch (err) {
    throw new FormatError(`${url}: cannot read its Parquet footer: ${(err as Error).message}`, { cause: err });
  }
}

/** Top-level columns and their meshwork types; unsupported ones map to an error message instead. */
export function parquetColumns(meta: FileMetaData): { name: string; type: DType | { unsupported: string } }[] {
  const schema = meta.schema;
  const out: { name: string; type: DType | { unsupported: string } }[] = [];
  let i = 1;
  const rootChildren = schema[0]?.num_children ?? 0;
  for (let c = 0; c < rootChildren; c++) {
    const el = schema[i]!;
    const nested = (el.num_children ?? 0) > 0 || el.repetition_type === "REPEATED";
    out.push({ name: el.name, type: nested ? { unsupported: "a nested column (list, map or struct)" } : typeOf(el) });
    i += 1 + countDescendants(schema, i);
  }
  return out;
}

function countDescendants(schema: SchemaElement[], at: number): number {
  let n = 0;
  let pending = schema[at]?.num_children ?? 0;
  let j = at + 1;
  while (pending > 0) {
    pending += (schema[j]?.num_children ?? 0) - 1;
    n++;
    j++;
  }
  return n;
}

function typeOf(el: SchemaElement): DType | { unsupported: string } {
  const lt = el.logical_type;
  const ct = el.converted_type;
  switch (el.type) {
    case "BOOLEAN":
      return "bool";
    case "FLOAT":
      return "float32";
    case "DOUBLE":
      return "float64";
    case "INT32":
      if (lt?.type === "DATE" || ct === "DATE") return "date32";
      if (lt?.type === "INTEGER")
        return `${lt.isSigned ? "int" : "uint"}${lt.bitWidth === 64 ? 32 : lt.bitWidth}` as DType;
      if (ct === "INT_8") return "int8";
      if (ct === "INT_16") return "int16";
      if (ct === "UINT_8") return "uint8";
      if (ct === "UINT_16") return "uint16";
      if (ct === "UINT_32") return "uint32";
      if (lt?.type === "DECIMAL" || ct === "DECIMAL")
        return { unsupported: "DECIMAL (read it as float64 with pyarrow first, or cast in the writer)" };
      if (lt?.type === "TIME" || ct === "TIME_MILLIS") return { unsupported: "TIME" };
      return "int32";
    case "INT64":
      if (lt?.type === "TIMESTAMP")
        return `timestamp[${lt.unit === "MILLIS" ? "ms" : lt.unit === "MICROS" ? "us" : "ns"}${lt.isAdjustedToUTC ? ", tz=UTC" : ""}]` as DType;
      if (ct === "TIMESTAMP_MILLIS") return "timestamp[ms]";
      if (ct === "TIMESTAMP_MICROS") return "timestamp[us]";
      if (lt?.type === "INTEGER" && !lt.isSigned) return "uint64";
      if (ct === "UINT_64") return "uint64";
      if (lt?.type === "DECIMAL" || ct === "DECIMAL") return { unsupported: "DECIMAL" };
      if (lt?.type === "TIME" || ct === "TIME_MICROS") return { unsupported: "TIME" };
      return "int64";
    case "BYTE_ARRAY":
      if (
        lt?.type === "STRING" ||
        lt?.type === "ENUM" ||
        lt?.type === "JSON" ||
        ct === "UTF8" ||
        ct === "ENUM" ||
        ct === "JSON"
      )
        return "utf8";
      return { unsupported: "BYTE_ARRAY without a string type (binary)" };
    default:
      return { unsupported: String(el.type) };
  }
}
