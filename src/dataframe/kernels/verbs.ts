// Row-wise verbs on one partition, as the workers run them: filter, assign, select, rename,
// astype, fillna, dropna, head. Each returns a new partition; columns nobody changed are shared.

import { ArgumentError, ColumnError } from "../../errors.js";
import { type Column, columnFrom, rawColumn, stringColumn } from "../column.js";
import {
  isBig,
  isFloat,
  isInteger,
  isNumeric,
  isTimestamp,
  MS_PER_UNIT,
  timestampUnit,
  type DType,
  type TimestampType,
} from "../dtypes.js";
import type { ExprSpec } from "../expr.js";
import { Part } from "../part.js";
import { evalColumn, evalMask } from "./expr-run.js";

/** Row numbers where `mask` is 1. */
export function maskIndices(mask: Uint8Array): Int32Array {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i]!;
  const idx = new Int32Array(n);
  let k = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) idx[k++] = i;
  return idx;
}

export function filter(part: Part, spec: ExprSpec): Part {
  const mask = evalMask(part, spec);
  const idx = maskIndices(mask);
  return idx.length === part.length ? part : part.take(idx);
}

/** New columns in order; each expression sees the columns assigned before it (pandas' assign). */
export function assign(part: Part, specs: readonly [string, ExprSpec | { value: unknown; type: DType }][]): Part {
  let p = part;
  for (const [name, spec] of specs) {
    if ("body" in spec) p = p.with(name, evalColumn(p, spec, name));
    else p = p.with(name, columnFrom(spec.type, new Array(p.length).fill(spec.value)));
  }
  return p;
}

export function select(part: Part, names: readonly string[]): Part {
  return part.select(names);
}

export function rename(part: Part, mapping: Record<string, string>): Part {
  const missing = Object.keys(mapping).filter((k) => !part.has(k));
  if (missing.length > 0) throw new ColumnError(missing, part.names, "to rename");
  return new Part(
    part.names.map((n) => mapping[n] ?? n),
    part.columns,
    part.length,
  );
}

export function head(part: Part, n: number): Part {
  return part.slice(0, n);
}

export function length(part: Part): number {
  return part.length;
}

/** Whether row i of `c` is missing as pandas sees it: null, or NaN in a float column. */
export function isMissing(c: Column, i: number): boolean {
  if (!c.isValid(i)) return true;
  return isFloat(c.type) && Number.isNaN(c.values[i] as number);
}

export function dropna(part: Part, subset: readonly string[] | null, how: "any" | "all"): Part {
  const cols = (subset ?? part.names).map((n) => part.column(n));
  const keep = new Int32Array(part.length);
  let k = 0;
  for (let i = 0; i < part.length; i++) {
    let missing = 0;
    for (const c of cols) if (isMissing(c, i)) missing++;
    const drop = how === "any" ? missing > 0 : missing === cols.length && cols.length > 0;
    if (!drop) keep[k++] = i;
  }
  return k === part.length ? part : part.take(keep, k);
}

/** Nulls (and NaN in floats) replaced by `value`, in the columns `values` names (or every column that can hold it). */
export function fillna(part: Part, values: Record<string, unknown>): Part {
  let p = part;
  for (const [name, value] of Object.entries(values)) {
    const c = p.column(name);
    let any = false;
    for (let i = 0; i < c.length && !any; i++) any = isMissing(c, i);
    if (!any) continue;
    // The fill value in the column's stored units (a timestamp's ms as counts of its unit, a date's as days).
    const fill = columnFrom(c.type, [value]).raw(0);
    const filled: unknown[] = new Array(c.length);
    for (let i = 0; i < c.length; i++) filled[i] = isMissing(c, i) ? fill : c.raw(i);
    p = p.with(name, rawColumn(c.type, filled));
  }
  return p;
}

/** Values converted to another type, as pandas' astype: floats to integers truncate (NaN is an error), numbers to strings as JavaScript writes them. */
export function astype(part: Part, types: Record<string, DType>): Part {
  let p = part;
  for (const [name, to] of Object.entries(types)) {
    const c = p.column(name);
    if (c.type === to) continue;
    p = p.with(name, convert(c, to, name));
  }
  return p;
}

function convert(c: Column, to: DType, name: string): Column {
  const n = c.length;
  if (to === "utf8") {
    const out = new Array<string | null>(n);
    for (let i = 0; i < n; i++) {
      const v = c.raw(i);
      out[i] =
        v === null
          ? null
          : isTimestamp(c.type) || c.type === "date32"
            ? new Date(c.get(i) as number).toISOString()
            : String(v);
    }
    return stringColumn(out);
  }
  const out = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    if (!c.isValid(i)) {
      out[i] = null;
      continue;
    }
    let v: unknown;
    if (c.type === "utf8") {
      const s = (c.get(i) as string).trim();
      if (to === "bool") v = s === "true" || s === "True" || s === "1";
      else if (isTimestamp(to) || to === "date32") v = Date.parse(s);
      else v = s === "" ? null : Number(s);
      if (typeof v === "number" && Number.isNaN(v) && !isFloat(to))
        throw new ArgumentError(
          `astype: column ${JSON.stringify(name)} row ${i} holds ${JSON.stringify(s)}, which is not a ${to}`,
        );
    } else if (isTimestamp(c.type) && isTimestamp(to)) {
      // Between units, in integer arithmetic (exact for the units' ratios).
      const from = MS_PER_UNIT[timestampUnit(c.type as TimestampType)];
      const into = MS_PER_UNIT[timestampUnit(to as TimestampType)];
      const raw = c.values[i] as bigint;
      v = from >= into ? raw * BigInt(Math.round(from / into)) : raw / BigInt(Math.round(into / from));
    } else if (isTimestamp(to) || to === "date32") v = c.get(i);
    else if (isBig(c.type) && isBig(to)) v = c.values[i];
    else v = c.get(i);
    if (isInteger(to) && typeof v === "number") {
      if (!Number.isFinite(v))
        throw new ArgumentError(
          `astype: column ${JSON.stringify(name)} row ${i} is ${v}, which cannot be a ${to} (fillna first)`,
        );
      v = Math.trunc(v);
    }
    if (to === "bool" && typeof v === "number") v = v !== 0;
    out[i] = v;
  }
  if (!isNumeric(to) && to !== "bool" && !isTimestamp(to) && to !== "date32")
    throw new ArgumentError(`astype to ${to} is not supported`);
  return columnFrom(to, out);
}

/** The partitions of one task's inputs, joined (one partition from many). */
export function concat(parts: Part[]): Part {
  return Part.concat(parts);
}
