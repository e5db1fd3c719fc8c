// The column types a partition holds, named as pyarrow prints them ("int64", "utf8",
// "timestamp[ms]", "timestamp[ns, tz=UTC]"), and what each is in memory (Arrow's layout).

import { ArgumentError } from "../errors.js";

export type IntType = "int8" | "int16" | "int32" | "int64" | "uint8" | "uint16" | "uint32" | "uint64";
export type FloatType = "float32" | "float64";
export type TimeUnit = "s" | "ms" | "us" | "ns";
/** A timestamp: int64 counts of `unit` since 1970 (UTC when it has a zone). */
export type TimestampType = `timestamp[${TimeUnit}]` | `timestamp[${TimeUnit}, tz=${string}]`;
export type DType = IntType | FloatType | "bool" | "utf8" | "date32" | TimestampType;

const SIMPLE: readonly string[] = [
  "int8",
  "int16",
  "int32",
  "int64",
  "uint8",
  "uint16",
  "uint32",
  "uint64",
  "float32",
  "float64",
  "bool",
  "utf8",
  "date32",
];
const TIMESTAMP = /^timestamp\[(s|ms|us|ns)(?:, tz=([^\]]+))?\]$/;

/** Aliases users write (pandas' and Arrow's spellings) for the names above. */
const ALIASES: Record<string, DType> = {
  string: "utf8",
  str: "utf8",
  boolean: "bool",
  double: "float64",
  float: "float32",
  int: "int64",
  date: "date32",
  datetime: "timestamp[ms]",
  timestamp: "timestamp[ms]",
  "datetime64[ns]": "timestamp[ns]",
  "datetime64[us]": "timestamp[us]",
  "datetime64[ms]": "timestamp[ms]",
  "datetime64[s]": "timestamp[s]",
};

export function isDType(t: unknown): t is DType {
  return typeof t === "string" && (SIMPLE.includes(t) || TIMESTAMP.test(t));
}

/** A user's type name as a DType (aliases accepted); ArgumentError listing the names otherwise. */
export function toDType(t: unknown, what = "type"): DType {
  if (isDType(t)) return t;
  if (typeof t === "string" && ALIASES[t]) return ALIASES[t];
  throw new ArgumentError(
    `${what} ${JSON.stringify(t)} is not a column type; the types are ${SIMPLE.join(", ")} and timestamp[s|ms|us|ns] (aliases: ${Object.keys(ALIASES).join(", ")})`,
  );
}

export function isInteger(t: DType): t is IntType {
  return t.startsWith("int") || t.startsWith("uint");
}
export function isFloat(t: DType): t is FloatType {
  return t === "float32" || t === "float64";
}
export function isNumeric(t: DType): boolean {
  return isInteger(t) || isFloat(t);
}
export function isTimestamp(t: DType): t is TimestampType {
  return t.startsWith("timestamp[");
}
/** Whether values are 64-bit integers in a BigInt64Array/BigUint64Array (int64, uint64, timestamps). */
export function isBig(t: DType): boolean {
  return t === "int64" || t === "uint64" || isTimestamp(t);
}

export function timestampUnit(t: TimestampType): TimeUnit {
  return TIMESTAMP.exec(t)![1] as TimeUnit;
}
export function timestampZone(t: TimestampType): string | null {
  return TIMESTAMP.exec(t)![2] ?? null;
}

/** Milliseconds per stored unit: expressions see timestamps as epoch milliseconds (as Date.getTime()). */
export const MS_PER_UNIT: Record<TimeUnit, number> = { s: 1000, ms: 1, us: 1e-3, ns: 1e-6 };

type TypedCtor = {
  new (n: number): ArrayLike<number | bigint> & { buffer: ArrayBufferLike };
  BYTES_PER_ELEMENT: number;
};

/** The typed array that stores a type's values (bool: bits in Uint8Array; utf8: bytes). */
export function storageOf(t: DType): TypedCtor {
  switch (t) {
    case "int8":
      return Int8Array;
    case "int16":
      return Int16Array;
    case "int32":
    case "date32":
      return Int32Array;
    case "uint8":
    case "bool":
    case "utf8":
      return Uint8Array;
    case "uint16":
      return Uint16Array;
    case "uint32":
      return Uint32Array;
    case "float32":
      return Float32Array;
    case "float64":
      return Float64Array;
    case "uint64":
      return BigUint64Array as unknown as TypedCtor;
    default:
      return BigInt64Array as unknown as TypedCtor; // int64, timestamps
  }
}
