// Partitions as Arrow tables and back. compute() gives a flechette Table (Arrow in memory; its
// tableToIPC gives bytes that apache-arrow, DuckDB, Arquero and Perspective read without a copy);
// fromArrow takes a flechette or apache-arrow Table or IPC bytes. Buffers are shared, not copied,
// where the layouts agree.

import {
  batchType,
  Column as ArrowColumn,
  Endianness,
  field,
  tableFromIPC,
  Table,
  TimeUnit,
  Type,
  Version,
  bool,
  dateDay,
  float32,
  float64,
  int16,
  int32,
  int64,
  int8,
  timestamp,
  uint16,
  uint32,
  uint64,
  uint8,
  utf8,
} from "@uwdata/flechette";
import { ArgumentError } from "../errors.js";
import { Column, columnFrom, type Values } from "./column.js";
import { timestampUnit, timestampZone, type DType, type TimestampType } from "./dtypes.js";
import { Part } from "./part.js";

const UNIT = {
  s: TimeUnit.SECOND,
  ms: TimeUnit.MILLISECOND,
  us: TimeUnit.MICROSECOND,
  ns: TimeUnit.NANOSECOND,
} as const;

function arrowType(t: DType) {
  switch (t) {
    case "int8":
      return int8();
    case "int16":
      return int16();
    case "int32":
      return int32();
    case "int64":
      return int64();
    case "uint8":
      return uint8();
    case "uint16":
      return uint16();
    case "uint32":
      return uint32();
    case "uint64":
      return uint64();
    case "float32":
      return float32();
    case "float64":
      return float64();
    case "bool":
      return bool();
    case "utf8":
      return utf8();
    case "date32":
      return dateDay();
    default:
      return timestamp(UNIT[timestampUnit(t as TimestampType)], timestampZone(t as TimestampType));
  }
}

/** A partition as a flechette Table (one batch per column, buffers shared). */
export function toArrow(part: Part): Table {
  const fields = part.names.map((n, j) => field(n, arrowType(part.columns[j]!.type), true));
  const columns = part.columns.map((c, j) => {
    const type = fields[j]!.type;
    const B = batchType(type) as unknown as new (o: object) => unknown;
    const batch = new B({
      length: c.length,
      nullCount: c.nullCount,
      type,
      validity: c.validity ?? undefined,
      values: c.values,
      offsets: c.offsets ?? undefined,
    });
    return new ArrowColumn([batch as never]);
  });
  return new Table({ version: Version.V5, endianness: Endianness.Little, fields, metadata: null }, columns as never);
}

interface BatchLike {
  type: {
    typeId: number;
    bitWidth?: number;
    signed?: boolean;
    isSigned?: boolean;
    precision?: number;
    unit?: number;
    timezone?: string | null;
  };
  length: number;
  nullCount: number;
  values?: Values;
  validity?: Uint8Array | null;
  nullBitmap?: Uint8Array | null;
  offsets?: Int32Array;
  valueOffsets?: Int32Array;
  offset?: number;
  at?(i: number): unknown;
  get?(i: number): unknown;
}

/** The meshwork type of an Arrow type, or null when it is read value by value (dictionaries, large strings …). */
function dtypeOf(t: BatchLike["type"]): DType | null {
  switch (t.typeId) {
    case Type.Int: {
      const signed = t.signed ?? t.isSigned ?? true;
      return `${signed ? "int" : "uint"}${t.bitWidth ?? 32}` as DType;
    }
    case Type.Float:
      return t.precision === 1 ? "float32" : t.precision === 2 ? "float64" : null;
    case Type.Bool:
      return "bool";
    case Type.Utf8:
      return "utf8";
    case Type.Date:
      return t.unit === 0 ? "date32" : null;
    case Type.Timestamp: {
      const u = (["s", "ms", "us", "ns"] as const)[t.unit ?? 1]!;
      return (t.timezone ? `timestamp[${u}, tz=${t.timezone}]` : `timestamp[${u}]`) as DType;
    }
    default:
      return null;
  }
}

/** One column of batches as a meshwork Column. */
function columnOf(batches: BatchLike[], name: string): Column {
  const t = batches[0] ? dtypeOf(batches[0].type) : "float64";
  const direct = t !== null && batches.every((b) => (b.offset ?? 0) === 0 && b.values !== undefined);
  if (direct && t !== null) {
    const cols = batches.map((b) => {
      const validity = b.validity ?? b.nullBitmap ?? null;
      const offsets = b.offsets ?? b.valueOffsets ?? null;
      const values = t === "utf8" || t === "bool" ? b.values! : ((b.values as Values).subarray(0, b.length) as Values);
      return new Column(
        t,
        b.length,
        values,
        validity && validity.length > 0 ? validity : null,
        b.nullCount,
        t === "utf8" ? rebase(offsets!, b.length) : null,
      );
    });
    return Column.concat(cols);
  }
  // Value by value: dictionaries (as their values), date64, and the like.
  const values: unknown[] = [];
  for (const b of batches) for (let i = 0; i < b.length; i++) values.push(b.at ? b.at(i) : b.get!(i));
  const sample = values.find((v) => v !== null && v !== undefined);
  const type: DType =
    typeof sample === "string"
      ? "utf8"
      : typeof sample === "boolean"
        ? "bool"
        : typeof sample === "bigint"
          ? "int64"
          : sample instanceof Date || batches[0]?.type.typeId === Type.Date
            ? "timestamp[ms]"
            : typeof sample === "number" || sample === undefined
              ? "float64"
              : (null as never);
  if (type === null)
    throw new ArgumentError(
      `column ${JSON.stringify(name)} holds ${Object.prototype.toString.call(sample)} values, which meshwork's dataframes cannot hold yet`,
    );
  return columnFrom(type, values);
}

/** Offsets starting at 0 (a sliced utf8 batch's offsets may start later; its bytes are then cut to match). */
function rebase(o: Int32Array, n: number): Int32Array {
  const view = o.subarray(0, n + 1);
  if (view[0] === 0) return view;
  return view.map((v) => v - view[0]!);
}

/** A flechette Table, an apache-arrow Table, or Arrow IPC bytes (stream or file) as one partition. */
export function fromArrowTable(input: unknown): Part {
  let table = input as {
    names?: string[];
    children?: { data: BatchLike[] }[];
    schema?: { fields: { name: string }[] };
    batches?: { data: { children: BatchLike[] } }[];
  };
  if (input instanceof Uint8Array || input instanceof ArrayBuffer)
    table = tableFromIPC(input instanceof ArrayBuffer ? new Uint8Array(input) : input) as never;
  if (typeof table !== "object" || table === null || !table.schema || !Array.isArray(table.schema.fields)) {
    throw new ArgumentError("fromArrow takes an Arrow table (flechette's or apache-arrow's) or Arrow IPC bytes");
  }
  const names = table.schema.fields.map((f) => f.name);
  let cols: Column[];
  if (Array.isArray(table.children) && table.children.every((c) => Array.isArray(c?.data))) {
    cols = table.children.map((c, j) => columnOf(c.data, names[j]!)); // flechette
  } else if (Array.isArray(table.batches)) {
    cols = names.map((n, j) =>
      columnOf(
        table.batches!.map((b) => b.data.children[j]!),
        n,
      ),
    ); // apache-arrow
  } else throw new ArgumentError("fromArrow: this table has neither flechette's columns nor apache-arrow's batches");
  return new Part(names, cols, cols[0]?.length ?? 0);
}
