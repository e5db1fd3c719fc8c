// The files test/fixtures/dataframe/make_fixtures.py wrote with pandas/pyarrow, what pandas
// computed on them (expected.json), and comparing meshwork's tables with pandas' columns.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { Table } from "@uwdata/flechette";

export const FIXTURES = new URL("../fixtures/dataframe/", import.meta.url);

export function fixture(rel: string): string {
  return new URL(rel, FIXTURES).pathname;
}

export interface ExpectedTable {
  columns: string[];
  dtypes: string[];
  values: Record<string, unknown[]>;
}

export const expected = JSON.parse(readFileSync(new URL("expected.json", FIXTURES), "utf8")) as Record<
  string,
  unknown
> & { versions: Record<string, string> };

export function expectedTable(name: string): ExpectedTable {
  const t = expected[name] as ExpectedTable | undefined;
  if (!t) throw new Error(`no expected table ${name} in expected.json`);
  return t;
}

/** A table's columns as plain values (numbers, strings, booleans; timestamps as epoch ms; null for missing). */
export function columnsOf(t: Table): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const name of t.names) {
    const col = t.getChild(name)!;
    out[name] = Array.from({ length: col.length }, (_, i) => {
      const v = col.at(i);
      if (v instanceof Date) return v.getTime();
      if (typeof v === "bigint") return Number(v);
      if (typeof v === "number" && Number.isNaN(v)) return null;
      return v ?? null;
    });
  }
  return out;
}

function close(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === "number" && typeof b === "number")
    return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  return false;
}

/** The same values column by column (floats to 1e-9 relative: sums run in another order), in order. */
export function assertColumns(
  actual: Record<string, unknown[]>,
  want: Record<string, unknown[]>,
  what: string,
  columns = Object.keys(want),
): void {
  for (const c of columns) {
    const a = actual[c];
    const w = want[c];
    assert.ok(a, `${what}: no column ${c} (got ${Object.keys(actual).join(", ")})`);
    assert.ok(w, `${what}: pandas has no column ${c}`);
    assert.equal(a.length, w.length, `${what}: column ${c} has ${a.length} values, pandas ${w.length}`);
    for (let i = 0; i < a.length; i++)
      if (!close(a[i], w[i]))
        assert.fail(`${what}: column ${c} row ${i} is ${JSON.stringify(a[i])}, pandas ${JSON.stringify(w[i])}`);
  }
}

export function assertTable(actual: Table, name: string, what: string, columns?: string[]): void {
  const e = expectedTable(name);
  assertColumns(columnsOf(actual), e.values, what, columns ?? e.columns);
}

/** Rows as sortable strings, for results whose row order is not promised (several output partitions). */
export function rowSet(cols: Record<string, unknown[]>, columns: string[]): string[] {
  const n = cols[columns[0]!]!.length;
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify(
      columns.map((c) => {
        const v = cols[c]![i];
        return typeof v === "number" ? Number(v.toPrecision(12)) : v;
      }),
    ),
  ).sort();
}
