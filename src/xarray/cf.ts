// The Climate and Forecast conventions, as xarray applies them when it opens a file: values
// stored packed (`scale_factor`, `add_offset`) or with a missing-value marker (`_FillValue`,
// `missing_value`) become floats with NaN for missing; times stored as numbers "since" a date
// become dates. And the reverse when writing. http://cfconventions.org/

import { ArgumentError, FormatError } from "../errors.js";
import { where } from "../array/elementwise.js";
import type { ChunkedArray } from "../array/core.js";
import { isFloat, type DType } from "../array/dtype.js";

/** Milliseconds in each CF time unit (months and years are not fixed lengths; CF discourages them). */
const UNIT_MS: Record<string, number> = {
  day: 86_400_000,
  hour: 3_600_000,
  minute: 60_000,
  second: 1000,
  millisecond: 1,
  microsecond: 1e-3,
  nanosecond: 1e-6,
};
const UNIT_ALIASES: Record<string, string> = {
  days: "day",
  d: "day",
  hours: "hour",
  hr: "hour",
  hrs: "hour",
  h: "hour",
  minutes: "minute",
  min: "minute",
  mins: "minute",
  seconds: "second",
  sec: "second",
  secs: "second",
  s: "second",
  milliseconds: "millisecond",
  msec: "millisecond",
  msecs: "millisecond",
  ms: "millisecond",
  microseconds: "microsecond",
  usec: "microsecond",
  usecs: "microsecond",
  us: "microsecond",
  nanoseconds: "nanosecond",
  nsec: "nanosecond",
  ns: "nanosecond",
};

/** Calendars whose dates JavaScript's Date (proleptic Gregorian) represents. */
const GREGORIAN = new Set(["standard", "gregorian", "proleptic_gregorian"]);

export interface TimeUnits {
  unit: string;
  /** Milliseconds per unit. */
  ms: number;
  /** The reference date, in milliseconds since 1970-01-01 UTC. */
  epoch: number;
}

/** Parses CF time units ("days since 2000-01-01", "hours since 1900-1-1 0:0:0 UTC"), or null when they are not time units. */
export function parseTimeUnits(units: unknown): TimeUnits | null {
  if (typeof units !== "string") return null;
  const m = /^\s*([a-zA-Z]+)\s+since\s+(.+?)\s*$/.exec(units);
  if (!m) return null;
  const unit = UNIT_ALIASES[m[1]!.toLowerCase()] ?? m[1]!.toLowerCase();
  const ms = UNIT_MS[unit];
  if (ms === undefined) return null;
  const epoch = parseDate(m[2]!);
  if (epoch === null) throw new FormatError(`cannot read the reference date in time units ${JSON.stringify(units)}`);
  return { unit, ms, epoch };
}

/**
 * A date as CF and ISO 8601 write them: "2000-01-01", "2000-1-1 6:00", "2000-01-01T06:00:00Z",
 * "1990-01-01 00:00:00 UTC", "2000-01-01 00:00:00+05:30". UTC unless an offset is given.
 */
export function parseDate(text: string): number | null {
  const m =
    /^(-?\d{1,6})-(\d{1,2})(?:-(\d{1,2}))?(?:[T\s]+(\d{1,2})(?::(\d{1,2}))?(?::(\d{1,2})(?:\.(\d+))?)?)?\s*(Z|UTC|GMT|[+-]\d{1,2}(?::?\d{2})?)?\s*$/i.exec(
      text.trim(),
    );
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  let ms = Date.UTC(
    Number(y),
    Number(mo) - 1,
    Number(d ?? 1),
    Number(h ?? 0),
    Number(mi ?? 0),
    Number(s ?? 0),
    frac ? Math.round(Number(`0.${frac}`) * 1000) : 0,
  );
  // Date.UTC maps years 0-99 to 1900-1999.
  if (Number(y) >= 0 && Number(y) < 100) {
    const dt = new Date(ms);
    dt.setUTCFullYear(Number(y));
    ms = dt.getTime();
  }
  if (tz && !/^(Z|UTC|GMT)$/i.test(tz)) {
    const t = /^([+-])(\d{1,2}):?(\d{2})?$/.exec(tz)!;
    const offset = (Number(t[2]) * 60 + Number(t[3] ?? 0)) * 60_000 * (t[1] === "-" ? -1 : 1);
    ms -= offset;
  }
  return Number.isNaN(ms) ? null : ms;
}

/** Whether a variable's attributes say its values are CF times meshwork decodes into dates. */
export function isDecodableTime(attrs: Record<string, unknown>): boolean {
  const units = parseTimeUnits(attrs["units"]);
  if (!units) return false;
  const calendar = typeof attrs["calendar"] === "string" ? attrs["calendar"].toLowerCase() : "standard";
  return GREGORIAN.has(calendar);
}

/** Numbers in CF time units → milliseconds since 1970 (NaN stays NaN: NaT). */
export function decodeTimes(values: ArrayLike<number>, attrs: Record<string, unknown>, fill?: number): Float64Array {
  const u = parseTimeUnits(attrs["units"]);
  if (!u) throw new ArgumentError(`not CF time units: ${JSON.stringify(attrs["units"])}`);
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    out[i] = v === fill || Number.isNaN(v) ? NaN : Math.round((u.epoch + v * u.ms) * 1000) / 1000;
  }
  return out;
}

/**
 * Units for writing dates as whole numbers, as xarray chooses them: the longest unit (days,
 * hours, minutes, seconds, milliseconds) in which every date is a whole number since the first.
 */
export function chooseTimeUnits(ms: Float64Array): { units: string; values: Float64Array } {
  let first = NaN;
  for (const v of ms) {
    if (!Number.isNaN(v)) {
      first = v;
      break;
    }
  }
  if (Number.isNaN(first)) first = 0;
  const ref = formatDate(first, true);
  for (const unit of ["day", "hour", "minute", "second", "millisecond"]) {
    const step = UNIT_MS[unit]!;
    if (ms.every((v) => Number.isNaN(v) || (v - first) % step === 0)) {
      return { units: `${unit}s since ${ref}`, values: ms.map((v) => (v - first) / step) };
    }
  }
  return { units: `milliseconds since ${ref}`, values: ms.map((v) => v - first) };
}

/** Milliseconds since 1970 → numbers in the given CF units. */
export function encodeTimes(ms: Float64Array, units: string): Float64Array {
  const u = parseTimeUnits(units);
  if (!u) throw new ArgumentError(`not CF time units: ${JSON.stringify(units)}`);
  return ms.map((v) => (v - u.epoch) / u.ms);
}

/** "2020-01-01" for midnight, else "2020-01-01T06:00:00" (with milliseconds when there are some); "NaT" for NaN. */
export function formatDate(ms: number, full = false): string {
  if (Number.isNaN(ms)) return "NaT";
  const iso = new Date(ms).toISOString(); // 2020-01-01T06:00:00.000Z
  if (!full && iso.endsWith("T00:00:00.000Z")) return iso.slice(0, 10);
  return iso.endsWith(".000Z") ? iso.slice(0, 19).replace("T", full ? " " : "T") : iso.slice(0, 23);
}

// ---- packed and masked values ----

/** What xarray's mask-and-scale would do to a variable, from its attributes and stored type. */
export interface MaskAndScale {
  /** Stored as signed, meant as unsigned (NetCDF-3's `_Unsigned = "true"`): reinterpret first. */
  unsigned: DType | undefined;
  /** Stored values that mean "missing" (become NaN). */
  fills: number[];
  /** The type values have after masking (NaN needs a float). */
  masked: DType;
  scale: number | undefined;
  offset: number | undefined;
  /** The type the decoded values have. */
  dtype: DType;
}

const UNSIGNED: Partial<Record<DType, DType>> = { int8: "uint8", int16: "uint16", int32: "uint32" };

/**
 * The decoding a variable needs, or null when its values are used as stored. Follows xarray
 * 2023.01's coders in their order: unsigned, then mask (integers of up to 16 bits become float32,
 * wider ones float64), then scale and offset (`_choose_float_dtype` of the masked type).
 */
export function maskAndScaleFor(stored: DType, attrs: Record<string, unknown>): MaskAndScale | null {
  if (stored === "bool") return null;
  const unsigned = attrs["_Unsigned"] === "true" ? UNSIGNED[stored] : undefined;
  const base = unsigned ?? stored;
  const fills = [attrs["_FillValue"], attrs["missing_value"]]
    .flatMap((v) => (Array.isArray(v) ? v : [v]))
    .filter((v): v is number => typeof v === "number" && !Number.isNaN(v))
    .map((v) => (unsigned ? toUnsigned(v, base) : v));
  const scale = num(attrs["scale_factor"]);
  const offset = num(attrs["add_offset"]);
  if (!unsigned && fills.length === 0 && scale === undefined && offset === undefined) return null;
  const masked = fills.length > 0 ? promoteForNaN(base) : base;
  const dtype = scale !== undefined || offset !== undefined ? floatTypeFor(masked, offset !== undefined) : masked;
  return { unsigned, fills: [...new Set(fills)], masked, scale, offset, dtype };
}

function toUnsigned(v: number, dtype: DType): number {
  const bits = dtype === "uint8" ? 8 : dtype === "uint16" ? 16 : 32;
  return v < 0 ? v + 2 ** bits : v;
}

function num(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === "number") return v[0];
  return undefined;
}

/** xarray's `maybe_promote`: the type that can hold NaN beside the values. */
function promoteForNaN(dtype: DType): DType {
  if (isFloat(dtype)) return dtype;
  return dtype === "int8" || dtype === "uint8" || dtype === "int16" || dtype === "uint16" ? "float32" : "float64";
}

/**
 * xarray's choice of float type for scaled values (2023.01, `_choose_float_dtype`): floats of up
 * to 32 bits become float32; integers of up to 16 bits become float32 unless there is an offset
 * (a large offset would lose precision in float32); everything else float64.
 */
export function floatTypeFor(stored: DType, hasOffset: boolean): DType {
  if (stored === "float32") return "float32";
  if ((stored === "int8" || stored === "uint8" || stored === "int16" || stored === "uint16") && !hasOffset)
    return "float32";
  return "float64";
}

/**
 * Applies the decoding lazily, in xarray's order; the steps fuse into one elementwise program per
 * block. Each step computes in its own type, as NumPy does, so the values are xarray's to the bit.
 */
export function applyMaskAndScale(x: ChunkedArray, ms: MaskAndScale): ChunkedArray {
  let y = ms.unsigned ? x.astype(ms.unsigned) : x;
  if (ms.fills.length > 0) {
    y = y.astype(ms.masked);
    let missing: ChunkedArray | null = null;
    for (const f of ms.fills) {
      const m = y.eq(f);
      missing = missing ? missing.add(m).astype("bool") : m;
    }
    y = where(missing!, NaN, y);
  }
  if (ms.scale !== undefined || ms.offset !== undefined) {
    y = y.astype(ms.dtype);
    if (ms.scale !== undefined) y = y.mul(ms.scale);
    if (ms.offset !== undefined) y = y.add(ms.offset);
  }
  return y.dtype === ms.dtype ? y : y.astype(ms.dtype);
}

/** The same on values in hand (coordinates), as float64 numbers rounded through the decoded type. */
export function maskAndScaleValues(values: Float64Array, ms: MaskAndScale): Float64Array {
  const round = (t: DType) => (t === "float32" ? Math.fround : (v: number) => v);
  const rm = round(ms.masked);
  const rd = round(ms.dtype);
  return values.map((raw) => {
    const v = ms.unsigned ? toUnsigned(raw, ms.unsigned) : raw;
    if (ms.fills.includes(v)) return NaN;
    let r = rd(rm(v));
    if (ms.scale !== undefined) r = rd(r * rd(ms.scale));
    if (ms.offset !== undefined) r = rd(r + rd(ms.offset));
    return r;
  });
}
