// Building columns from JavaScript values: strings to UTF-8 bytes and offsets, numbers, bigints,
// Dates and booleans to their storage, with the validity bitmap where values are missing.

import { Column, type Values } from "./column.js";
import { isBig, isTimestamp, MS_PER_UNIT, storageOf, timestampUnit, type DType, type TimestampType } from "./dtypes.js";

const encoder = new TextEncoder();

/** A validity bitmap from a per-row predicate; null when every row is valid. */
function bitmapOf(n: number, valid: (i: number) => boolean): { validity: Uint8Array | null; nulls: number } {
  let validity: Uint8Array | null = null;
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    if (!valid(i)) {
      if (validity === null) {
        validity = new Uint8Array((n + 7) >> 3);
        for (let j = 0; j < i; j++) validity[j >> 3]! |= 1 << (j & 7);
      }
      nulls++;
    } else if (validity !== null) validity[i >> 3]! |= 1 << (i & 7);
  }
  return { validity, nulls };
}

/** A utf8 column from strings (null, undefined → null). */
export function stringColumn(values: ArrayLike<string | null | undefined>): Column {
  const n = values.length;
  let bytes = new Uint8Array(Math.max(64, n * 8));
  const offsets = new Int32Array(n + 1);
  let p = 0;
  for (let i = 0; i < n; i++) {
    const s = values[i];
    if (s != null) {
      const str = typeof s === "string" ? s : String(s);
      if (p + str.length * 3 > bytes.length) {
        const grown = new Uint8Array(Math.max(bytes.length * 2, p + str.length * 3));
        grown.set(bytes.subarray(0, p));
        bytes = grown;
      }
      let ascii = true;
      for (let j = 0; j < str.length; j++) {
        const c = str.charCodeAt(j);
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        bytes[p + j] = c;
      }
      p += ascii ? str.length : encoder.encodeInto(str, bytes.subarray(p)).written;
    }
    offsets[i + 1] = p;
  }
  const { validity, nulls } = bitmapOf(n, (i) => values[i] != null);
  const c = new Column("utf8", n, bytes.slice(0, p), validity, nulls, offsets);
  return c;
}

/**
 * A column of `type` from JavaScript values: numbers, bigints, booleans, strings, Dates (for
 * timestamps and dates), null/undefined/NaN as null (NaN only in non-float types; floats keep NaN
 * as a value, which pandas also reads as missing).
 */
export function columnFrom(type: DType, values: ArrayLike<unknown>): Column {
  const n = values.length;
  if (type === "utf8")
    return stringColumn(Array.from(values as ArrayLike<unknown>, (v) => (v == null ? null : String(v))));
  const isNull = (v: unknown): boolean =>
    v === null ||
    v === undefined ||
    (typeof v === "number" && Number.isNaN(v) && type !== "float32" && type !== "float64");
  const { validity, nulls } = bitmapOf(n, (i) => !isNull(values[i]));
  if (type === "bool") {
    const bits = new Uint8Array((n + 7) >> 3);
    for (let i = 0; i < n; i++)
      if (values[i] === true || (typeof values[i] === "number" && values[i] !== 0)) bits[i >> 3]! |= 1 << (i & 7);
    return new Column(type, n, bits, validity, nulls);
  }
  const Ctor = storageOf(type);
  const out = new Ctor(n) as Values;
  if (isBig(type)) {
    const scale = isTimestamp(type) ? 1 / MS_PER_UNIT[timestampUnit(type as TimestampType)] : 1;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (isNull(v)) continue;
      // Timestamps from numbers, Dates and date strings are epoch milliseconds, as expressions see them.
      const ms =
        v instanceof Date ? v.getTime() : typeof v === "string" && isTimestamp(type) ? Date.parse(v) : Number(v);
      (out as BigInt64Array)[i] = typeof v === "bigint" ? v : BigInt(Math.round(ms * scale));
    }
    return new Column(type, n, out, validity, nulls);
  }
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (isNull(v)) continue;
    // date32 from Dates and epoch milliseconds (what expressions see) → days.
    (out as Float64Array)[i] =
      type === "date32"
        ? Math.floor((v instanceof Date ? v.getTime() : typeof v === "string" ? Date.parse(v) : Number(v)) / 86_400_000)
        : Number(v);
  }
  return new Column(type, n, out, validity, nulls);
}

/** A column from a Float64Array of results: NaN becomes null (pandas' missing value) when `nanIsNull`. */
export function numberColumn(type: DType, values: Float64Array, nanIsNull = true): Column {
  const n = values.length;
  const { validity, nulls } = nanIsNull ? bitmapOf(n, (i) => values[i] === values[i]) : { validity: null, nulls: 0 };
  if (type === "float64") return new Column(type, n, values, validity, nulls);
  return columnFrom(type, nanIsNull ? Array.from(values, (v) => (v === v ? v : null)) : values);
}

/** A column from values already in the type's stored units (days for date32, counts of the unit for timestamps); null/undefined → null. */
export function rawColumn(type: DType, values: ArrayLike<unknown>): Column {
  if (type === "utf8" || type === "bool") return columnFrom(type, values);
  const n = values.length;
  const { validity, nulls } = bitmapOf(n, (i) => values[i] != null);
  const Ctor = storageOf(type);
  const out = new Ctor(n) as Values;
  if (isBig(type))
    for (let i = 0; i < n; i++) (out as BigInt64Array)[i] = values[i] == null ? 0n : BigInt(values[i] as bigint);
  else for (let i = 0; i < n; i++) (out as Float64Array)[i] = values[i] == null ? 0 : Number(values[i]);
  return new Column(type, n, out, validity, nulls);
}
