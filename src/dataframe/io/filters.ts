// dask's read_parquet filters: [[column, op, value], …] (all must hold) or a list of such lists
// (any may hold). Row groups whose statistics rule a filter out are never read; the rows read are
// then filtered exactly, so the answer does not depend on what the statistics say.

import { ArgumentError } from "../../errors.js";
import type { Column } from "../column.js";
import type { Part } from "../part.js";
import { isMissing } from "../kernels/verbs.js";

export type FilterOp = "==" | "=" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in";
export type Condition = [string, FilterOp, unknown];
/** Disjunctive normal form: any of the lists, all of each list. */
export type Filters = Condition[] | Condition[][];

const OPS: readonly string[] = ["==", "=", "!=", "<", "<=", ">", ">=", "in", "not in"];

/** Filters as a list of AND-lists, checked. */
export function normalizeFilters(filters: unknown): Condition[][] {
  if (filters === undefined || filters === null) return [];
  if (!Array.isArray(filters) || filters.length === 0)
    throw new ArgumentError(`filters are [[column, op, value], …] or a list of those; got ${JSON.stringify(filters)}`);
  const dnf = (Array.isArray(filters[0]) && Array.isArray(filters[0][0]) ? filters : [filters]) as unknown[][];
  return dnf.map((conj) =>
    conj.map((c) => {
      if (!Array.isArray(c) || c.length !== 3 || typeof c[0] !== "string" || !OPS.includes(c[1] as string))
        throw new ArgumentError(
          `a filter is [column, op, value] with op one of ${OPS.join(" ")}; got ${JSON.stringify(c)}`,
        );
      if ((c[1] === "in" || c[1] === "not in") && !Array.isArray(c[2]))
        throw new ArgumentError(`the value of an "${c[1]}" filter is a list; got ${JSON.stringify(c[2])}`);
      return c as Condition;
    }),
  );
}

export function filterColumns(dnf: Condition[][]): string[] {
  return [...new Set(dnf.flat().map((c) => c[0]))];
}

/** A value comparable with JavaScript's < : numbers (bigint and Date as numbers), strings, booleans. */
function comparable(v: unknown): unknown {
  if (typeof v === "bigint") return Number(v);
  if (v instanceof Date) return v.getTime();
  return v;
}

function test(v: unknown, op: FilterOp, target: unknown): boolean {
  switch (op) {
    case "==":
    case "=":
      return v === target;
    case "!=":
      return v !== target;
    case "<":
      return (v as number) < (target as number);
    case "<=":
      return (v as number) <= (target as number);
    case ">":
      return (v as number) > (target as number);
    case ">=":
      return (v as number) >= (target as number);
    case "in":
      return (target as unknown[]).includes(v);
    case "not in":
      return !(target as unknown[]).includes(v);
  }
}

/**
 * Whether a row group may hold rows passing the filters, from each column's [min, max]
 * (`stats(column)`, undefined when unknown). `toValue` turns a filter value into the statistics' units.
 */
export function mayMatch(
  dnf: Condition[][],
  stats: (column: string) => { min: unknown; max: unknown } | undefined,
  toValue: (column: string, v: unknown) => unknown,
): boolean {
  if (dnf.length === 0) return true;
  return dnf.some((conj) =>
    conj.every(([col, op, value]) => {
      const s = stats(col);
      if (!s || s.min === undefined || s.max === undefined || s.min === null || s.max === null) return true;
      const lo = comparable(s.min);
      const hi = comparable(s.max);
      const v = comparable(toValue(col, value));
      switch (op) {
        case "==":
        case "=":
          return !(v! < lo!) && !(v! > hi!);
        case "<":
          return lo! < v!;
        case "<=":
          return lo! <= v!;
        case ">":
          return hi! > v!;
        case ">=":
          return hi! >= v!;
        case "in":
          return (value as unknown[]).some((x) => {
            const y = comparable(toValue(col, x));
            return !(y! < lo!) && !(y! > hi!);
          });
        default:
          return true; // "!=" and "not in" rule out a group only when it is constant: not worth it
      }
    }),
  );
}

/** Rows that pass (a row with a missing value fails every condition on that column, as in pyarrow). */
export function filterRows(part: Part, dnf: Condition[][]): Int32Array | null {
  if (dnf.length === 0) return null;
  const cols = new Map<string, Column>();
  for (const c of filterColumns(dnf)) cols.set(c, part.column(c));
  const targets = dnf.map((conj) =>
    conj.map(
      ([col, op, value]) =>
        [
          cols.get(col)!,
          op,
          op === "in" || op === "not in" ? (value as unknown[]).map((x) => comparable(x)) : comparable(value),
        ] as const,
    ),
  );
  const keep: number[] = [];
  for (let i = 0; i < part.length; i++) {
    const ok = targets.some((conj) =>
      conj.every(([c, op, target]) => {
        if (isMissing(c, i)) return false;
        return test(c.get(i), op, target);
      }),
    );
    if (ok) keep.push(i);
  }
  return Int32Array.from(keep);
}
