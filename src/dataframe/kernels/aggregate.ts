// Aggregations as a tree, for a whole frame (no keys: one group) and per group: each partition
// becomes a partial (per group: count, sum, sum of squared deviations, the min and max rows, and
// for nunique the distinct values), partials are merged a few at a time (Chan's formula for the
// squared deviations), and the last step turns the merged partial into the answers. Nulls (and
// NaN in floats) are skipped, as pandas skips them.

import { ArgumentError } from "../../errors.js";
import { Column, columnFrom, numberColumn, rawColumn } from "../column.js";
import { isFloat, isInteger, type DType } from "../dtypes.js";
import { Part } from "../part.js";
import { findGroups, splitByKey, type Groups } from "./groups.js";
import { countAndSum, partialByCodes } from "./aggregate-codes.js";
import { isMissing } from "./verbs.js";
import { sortPart } from "./sort.js";

export type AggName = "count" | "size" | "sum" | "mean" | "min" | "max" | "var" | "std" | "nunique";
export const AGG_NAMES: readonly AggName[] = ["count", "size", "sum", "mean", "min", "max", "var", "std", "nunique"];
type Stat = "n" | "size" | "sum" | "m2" | "min" | "max";

const NEEDS: Record<AggName, Stat[]> = {
  count: ["n"],
  size: ["size"],
  sum: ["sum"],
  mean: ["n", "sum"],
  var: ["n", "sum", "m2"],
  std: ["n", "sum", "m2"],
  min: ["min"],
  max: ["max"],
  nunique: [],
};

/** What to aggregate: the key columns, and per output its input column and aggregation. */
export interface AggPlan {
  keys: string[];
  keyTypes: DType[];
  outputs: { name: string; column: string; type: DType; agg: AggName; ddof?: number }[];
  /** Sort the result by the keys (pandas' sort=True). */
  sort: boolean;
}

/** Per group: the key columns, then stat columns named "column\u0000stat"; plus, per nunique column, its distinct (keys…, value) rows. */
export interface Partial {
  part: Part;
  distinct: Record<string, Part>;
}

/** Per input column, the statistics its outputs need. */
export function statsOf(plan: AggPlan): Map<string, Set<Stat>> {
  const m = new Map<string, Set<Stat>>();
  for (const o of plan.outputs) {
    let s = m.get(o.column);
    if (!s) m.set(o.column, (s = new Set()));
    for (const st of NEEDS[o.agg]) s.add(st);
  }
  return m;
}

function groupsOf(part: Part, keys: readonly string[]): Groups {
  if (keys.length > 0) return findGroups(part, keys);
  // No keys: every row is in the one group (which exists even for no rows, as a frame's sum does).
  return { ids: new Int32Array(part.length), count: 1, first: new Int32Array([0]), keys: [""] };
}

/** Key columns for the groups: the first row of each group. */
function keyColumns(part: Part, keys: readonly string[], g: Groups): Column[] {
  if (keys.length === 0) return [];
  return keys.map((k) => part.column(k).take(g.first, g.count));
}

/** Between a stat column's input column and its statistic: "column\u0000stat". */
export const SEP = "\u0000";

/** The first step: one partition's partial. */
export function partialAgg(part: Part, plan: AggPlan): Partial {
  const byCodes = partialByCodes(part, plan);
  if (byCodes !== null) return byCodes;
  const g = groupsOf(part, plan.keys);
  const names = [...plan.keys];
  const cols = keyColumns(part, plan.keys, g);
  const distinct: Record<string, Part> = {};
  for (const [column, stats] of statsOf(plan)) {
    const c = part.column(column);
    const G = g.count;
    const n = new Float64Array(G);
    const sum = new Float64Array(G);
    const numeric = stats.has("sum") || stats.has("m2");
    if (numeric && !(isInteger(c.type) || isFloat(c.type) || c.type === "bool"))
      throw new ArgumentError(`cannot sum or average column ${JSON.stringify(column)} of type ${c.type}`);
    const minRow = new Int32Array(G).fill(-1);
    const maxRow = new Int32Array(G).fill(-1);
    const minVal: unknown[] = new Array(G);
    const maxVal: unknown[] = new Array(G);
    const wantMin = stats.has("min");
    const wantMax = stats.has("max");
    if (c.type === "utf8") c.strings();
    const plainNumbers =
      !wantMin &&
      !wantMax &&
      (c.values instanceof Float64Array || c.values instanceof Float32Array || c.values instanceof Int32Array) &&
      c.type !== "bool";
    if (plainNumbers) {
      // Counts and sums of 32-bit ints and floats read straight from the values (NaN is missing in floats).
      countAndSum(c.values as Float64Array, c.validity, g.ids, n, sum);
    } else
      for (let i = 0; i < part.length; i++) {
        const k = g.ids[i]!;
        if (k < 0 || isMissing(c, i)) continue;
        n[k]!++;
        const v = c.get(i) as number;
        if (numeric) sum[k]! += +v;
        if (wantMin && (minRow[k] === -1 || v < (minVal[k] as number))) {
          minRow[k] = i;
          minVal[k] = v;
        }
        if (wantMax && (maxRow[k] === -1 || v > (maxVal[k] as number))) {
          maxRow[k] = i;
          maxVal[k] = v;
        }
      }
    if (stats.has("n")) add(`${column}${SEP}n`, new Column("float64", G, n, null, 0));
    if (stats.has("sum")) add(`${column}${SEP}sum`, new Column("float64", G, sum, null, 0));
    if (stats.has("m2")) {
      const m2 = new Float64Array(G);
      for (let i = 0; i < part.length; i++) {
        const k = g.ids[i]!;
        if (k < 0 || isMissing(c, i)) continue;
        const d = (c.get(i) as number) - sum[k]! / n[k]!;
        m2[k]! += d * d;
      }
      add(`${column}${SEP}m2`, new Column("float64", G, m2, null, 0));
    }
    if (wantMin) add(`${column}${SEP}min`, takeOrNull(c, minRow));
    if (wantMax) add(`${column}${SEP}max`, takeOrNull(c, maxRow));
    if (plan.outputs.some((o) => o.column === column && o.agg === "nunique"))
      distinct[column] = distinctRows(part, [...plan.keys, column], plan.keys.length === 0 ? [column] : null);
  }
  if (plan.outputs.some((o) => o.agg === "size")) {
    const size = new Float64Array(g.count);
    for (let i = 0; i < part.length; i++) if (g.ids[i]! >= 0) size[g.ids[i]!]!++;
    add(`${SEP}size`, new Column("float64", g.count, size, null, 0));
  }
  return { part: new Part(names, cols, g.count), distinct };

  function add(name: string, col: Column): void {
    names.push(name);
    cols.push(col);
  }
}

/** Rows `rows` of `c`, null where the row is -1. */
function takeOrNull(c: Column, rows: Int32Array): Column {
  const idx = Int32Array.from(rows, (r) => Math.max(r, 0));
  if (c.length === 0) return Column.nulls(c.type, rows.length);
  const taken = c.take(idx);
  if (!rows.includes(-1)) return taken;
  const values: unknown[] = Array.from({ length: rows.length }, (_, k) => (rows[k] === -1 ? null : taken.raw(k)));
  return rawColumn(c.type, values);
}

/** Distinct rows of `names` (first occurrences, in order), leaving out rows where `skipNull` columns are missing. */
export function distinctRows(part: Part, names: readonly string[], skipNull: readonly string[] | null = null): Part {
  const sel = part.select(names);
  const g = findGroups(sel, names, true);
  let rows = g.first;
  if (skipNull) {
    const cs = skipNull.map((s) => part.column(s));
    rows = rows.filter((r) => !cs.some((c) => isMissing(c, r)));
  } else {
    // nunique per group: the value column (last) must be present.
    const vc = sel.columns[sel.columns.length - 1]!;
    const kc = sel.columns.slice(0, -1);
    rows = rows.filter((r) => !isMissing(vc, r) && !kc.some((c) => isMissing(c, r)));
  }
  return sel.take(rows);
}

/** Merging partials: the same statistics over the union of their rows. */
export function combineAgg(partials: Partial[], plan: AggPlan): Partial {
  const all = Part.concat(partials.map((p) => p.part));
  const g = groupsOf(all, plan.keys);
  const G = g.count;
  const names = [...plan.keys];
  const cols = keyColumns(all, plan.keys, g);
  for (let j = plan.keys.length; j < all.names.length; j++) {
    const name = all.names[j]!;
    const stat = name.slice(name.lastIndexOf(SEP) + 1) as Stat;
    const c = all.columns[j]!;
    names.push(name);
    if (stat === "n" || stat === "size" || stat === "sum") {
      const out = new Float64Array(G);
      const v = c.values as Float64Array;
      for (let i = 0; i < all.length; i++) out[g.ids[i]!]! += v[i]!;
      cols.push(new Column("float64", G, out, null, 0));
    } else if (stat === "m2") {
      const column = name.slice(0, name.lastIndexOf(SEP));
      const nv = all.column(`${column}${SEP}n`).values as Float64Array;
      const sv = all.column(`${column}${SEP}sum`).values as Float64Array;
      const mv = c.values as Float64Array;
      const N = new Float64Array(G);
      const S = new Float64Array(G);
      const M = new Float64Array(G);
      for (let i = 0; i < all.length; i++) {
        const k = g.ids[i]!;
        const nb = nv[i]!;
        if (nb === 0) continue;
        const na = N[k]!;
        if (na === 0) {
          N[k] = nb;
          S[k] = sv[i]!;
          M[k] = mv[i]!;
          continue;
        }
        // Chan et al.: M2 = M2a + M2b + δ² na nb / (na + nb), δ the difference of the means.
        const delta = sv[i]! / nb - S[k]! / na;
        M[k] = M[k]! + mv[i]! + (delta * delta * na * nb) / (na + nb);
        N[k] = na + nb;
        S[k] = S[k]! + sv[i]!;
      }
      cols.push(new Column("float64", G, M, null, 0));
    } else {
      const best = new Int32Array(G).fill(-1);
      const bestVal: unknown[] = new Array(G);
      if (c.type === "utf8") c.strings();
      for (let i = 0; i < all.length; i++) {
        if (!c.isValid(i)) continue;
        const k = g.ids[i]!;
        const v = c.get(i) as number;
        if (best[k] === -1 || (stat === "min" ? v < (bestVal[k] as number) : v > (bestVal[k] as number))) {
          best[k] = i;
          bestVal[k] = v;
        }
      }
      cols.push(takeOrNull(c, best));
    }
  }
  const distinct: Record<string, Part> = {};
  const dnames = Object.keys(partials[0]?.distinct ?? {});
  for (const d of dnames) {
    const joined = Part.concat(partials.map((p) => p.distinct[d]!));
    distinct[d] = distinctRows(joined, joined.names, []);
  }
  return { part: new Part(names, cols, G), distinct };
}

/** A partial's groups spread over `n` partials by the hash of their keys (splitOut). */
export function splitPartial(partial: Partial, plan: AggPlan, n: number): Partial[] {
  const parts = splitByKey(partial.part, plan.keys, n);
  const distinct = Object.entries(partial.distinct).map(([c, d]) => [c, splitByKey(d, plan.keys, n)] as const);
  return parts.map((part, j) => ({ part, distinct: Object.fromEntries(distinct.map(([c, list]) => [c, list[j]!])) }));
}

/** The answers from the partials (merged first when several): keys and one column per output, sorted by the keys when asked. */
export function finalAgg(partials: Partial | Partial[], plan: AggPlan): Part {
  const partial = Array.isArray(partials)
    ? partials.length === 1
      ? partials[0]!
      : combineAgg(partials, plan)
    : partials;
  const p = partial.part;
  const G = p.length;
  const names = [...plan.keys];
  const cols = plan.keys.map((k) => p.column(k));
  for (const o of plan.outputs) {
    names.push(o.name);
    const stat = (s: Stat) => p.column(s === "size" ? `${SEP}size` : `${o.column}${SEP}${s}`);
    switch (o.agg) {
      case "count":
      case "size":
        cols.push(columnFrom("int64", stat(o.agg === "count" ? "n" : "size").values as Float64Array));
        break;
      case "sum": {
        const s = stat("sum").values as Float64Array;
        cols.push(
          isInteger(o.type) || o.type === "bool" ? columnFrom("int64", s) : new Column("float64", G, s, null, 0),
        );
        break;
      }
      case "mean": {
        const n = stat("n").values as Float64Array;
        const s = stat("sum").values as Float64Array;
        cols.push(
          numberColumn(
            "float64",
            Float64Array.from(s, (v, k) => (n[k]! > 0 ? v / n[k]! : NaN)),
          ),
        );
        break;
      }
      case "var":
      case "std": {
        const n = stat("n").values as Float64Array;
        const m2 = stat("m2").values as Float64Array;
        const ddof = o.ddof ?? 1;
        const v = Float64Array.from(m2, (m, k) => (n[k]! - ddof > 0 ? m / (n[k]! - ddof) : NaN));
        cols.push(numberColumn("float64", o.agg === "std" ? v.map(Math.sqrt) : v));
        break;
      }
      case "min":
      case "max":
        cols.push(stat(o.agg));
        break;
      case "nunique": {
        const d = partial.distinct[o.column]!;
        const counts = new Float64Array(G);
        if (plan.keys.length === 0) counts[0] = d.length;
        else {
          const index = new Map<unknown, number>();
          const gk = findGroups(p, plan.keys);
          for (let k = 0; k < G; k++) index.set(gk.keys[k], k);
          const dk = findGroups(d, plan.keys);
          for (let i = 0; i < d.length; i++) {
            const k = index.get(dk.keys[dk.ids[i]!]);
            if (k !== undefined) counts[k]!++;
          }
        }
        cols.push(columnFrom("int64", counts));
        break;
      }
    }
  }
  const out = new Part(names, cols, G);
  return plan.sort && plan.keys.length > 0 ? sortPart(out, plan.keys) : out;
}
