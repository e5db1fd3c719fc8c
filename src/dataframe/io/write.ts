// Writing one partition where it is: a Parquet file (hyparquet-writer, Snappy, statistics, the
// types spelled out so pandas/pyarrow and DuckDB read them back as they were) or a CSV file.

import type { SchemaElement } from "hyparquet";
import { parquetWriteBuffer } from "hyparquet-writer";
import { StoreError } from "../../errors.js";
import { realmStores, type Stores } from "../../io/store.js";
import type { Column } from "../column.js";
import { isTimestamp, timestampUnit, timestampZone, type DType, type TimestampType } from "../dtypes.js";
import type { Part } from "../part.js";

/** Parquet's schema element for a column (every column OPTIONAL, as pyarrow writes pandas' columns). */
function element(name: string, t: DType): SchemaElement {
  const base = { name, repetition_type: "OPTIONAL" as const };
  switch (t) {
    case "bool":
      return { ...base, type: "BOOLEAN" };
    case "int8":
    case "int16":
    case "uint8":
    case "uint16":
    case "uint32":
    case "int32": {
      const signed = t.startsWith("int");
      const bits = Number(t.replace(/\D/g, ""));
      // Converted types only: hyparquet-writer 0.17 writes an INTEGER logical type that pyarrow cannot read.
      return {
        ...base,
        type: "INT32",
        ...(bits < 32 || !signed ? { converted_type: `${signed ? "INT" : "UINT"}_${bits}` as never } : {}),
      };
    }
    case "int64":
      return { ...base, type: "INT64" };
    case "uint64":
      return { ...base, type: "INT64", converted_type: "UINT_64" };
    case "float32":
      return { ...base, type: "FLOAT" };
    case "float64":
      return { ...base, type: "DOUBLE" };
    case "utf8":
      return { ...base, type: "BYTE_ARRAY", converted_type: "UTF8", logical_type: { type: "STRING" } };
    case "date32":
      return { ...base, type: "INT32", converted_type: "DATE", logical_type: { type: "DATE" } };
    default: {
      const unit = timestampUnit(t as TimestampType);
      const pu = unit === "ns" ? "NANOS" : unit === "us" ? "MICROS" : "MILLIS";
      return {
        ...base,
        type: "INT64",
        ...(pu !== "NANOS" ? { converted_type: pu === "MILLIS" ? "TIMESTAMP_MILLIS" : "TIMESTAMP_MICROS" } : {}),
        logical_type: { type: "TIMESTAMP", isAdjustedToUTC: timestampZone(t as TimestampType) !== null, unit: pu },
      } as SchemaElement;
    }
  }
}

/** A column's values as hyparquet-writer takes them: a typed array without nulls, else an array with nulls. */
function data(c: Column): ArrayLike<unknown> {
  const t = c.type;
  if (t === "utf8") return c.strings();
  const secToMs = isTimestamp(t) && timestampUnit(t as TimestampType) === "s";
  const n = c.length;
  if (c.nullCount === 0 && t !== "bool" && !secToMs) {
    // hyparquet-writer takes unsigned 32-bit values as numbers in an Array (it wraps them itself), and UINT_64 as unsigned bigints.
    if (t === "uint32") return Array.from(c.values as Uint32Array);
    if (t === "uint64") return Array.from(c.values as BigUint64Array);
    if (t === "int8" || t === "int16" || t === "uint8" || t === "uint16")
      return Int32Array.from(c.values as Int16Array);
    return c.values as ArrayLike<unknown>;
  }
  const out: unknown[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const v = c.raw(i);
    out[i] = v === null ? null : secToMs ? (v as bigint) * 1000n : v;
  }
  return out;
}

export function parquetBytes(part: Part): Uint8Array {
  const schema: SchemaElement[] = [{ name: "schema", num_children: part.names.length }];
  const columnData = part.names.map((name, j) => {
    const c = part.columns[j]!;
    const t =
      isTimestamp(c.type) && timestampUnit(c.type as TimestampType) === "s" ? ("timestamp[ms]" as DType) : c.type;
    schema.push(element(name, t));
    return { name, data: data(c) as never };
  });
  const buf = parquetWriteBuffer({
    columnData,
    schema,
    codec: "SNAPPY",
    rowGroupSize: Math.max(1, part.length),
    createdBy: "meshwork (hyparquet-writer)",
  });
  return new Uint8Array(buf);
}

const NEEDS_QUOTES = /[",\n\r]/;

function csvField(v: string): string {
  return NEEDS_QUOTES.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/** A partition as CSV text with a header: nulls empty, timestamps ISO 8601 (UTC, no zone mark unless the type has one), dates YYYY-MM-DD. */
export function csvText(part: Part, sep = ","): string {
  const lines: string[] = [part.names.map(csvField).join(sep)];
  const fmt = part.columns.map((c) => {
    const t = c.type;
    if (t === "utf8") return (i: number) => csvField(c.get(i) as string);
    if (t === "date32") return (i: number) => new Date(c.get(i) as number).toISOString().slice(0, 10);
    if (isTimestamp(t)) {
      const zone = timestampZone(t as TimestampType) !== null;
      return (i: number) => {
        const iso = new Date(c.get(i) as number).toISOString();
        return zone ? iso : iso.slice(0, -1).replace("T", " ");
      };
    }
    return (i: number) => String(c.raw(i));
  });
  const row: string[] = new Array(part.names.length);
  for (let i = 0; i < part.length; i++) {
    for (let j = 0; j < fmt.length; j++) row[j] = part.columns[j]!.isValid(i) ? fmt[j]!(i) : "";
    lines.push(row.join(sep));
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Writes a partition to `dir` (a store URL) as `name` through `stores` (the running member's;
 * default the realm's); resolves to the number of rows written.
 */
export async function writePart(
  part: Part,
  dir: string,
  name: string,
  format: "parquet" | "csv",
  stores: Stores = realmStores,
): Promise<number> {
  const bytes = format === "parquet" ? parquetBytes(part) : new TextEncoder().encode(csvText(part));
  try {
    await stores.open(dir).set(name, bytes);
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError(`cannot write ${name} under ${dir}: ${(err as Error).message}`, dir, { cause: err });
  }
  return part.length;
}
