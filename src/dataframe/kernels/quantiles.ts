// Quantiles for describe() (25 %, 50 %, 75 %), from a sketch per partition: per numeric column its
// values sorted, all of them when a partition has at most SKETCH_SIZE, else SKETCH_SIZE evenly
// spaced order statistics each standing for its share of the rows. Merged sketches give the
// quantile by pandas' rule (linear interpolation between the order statistics at (n-1)·q): exact
// while every partition fits in a sketch, otherwise within about 1/SKETCH_SIZE of a partition's
// rows of the exact rank (dask's describe is approximate in the same way: per-partition
// percentiles merged).

import { Column, stringColumn } from "../column.js";
import { Part } from "../part.js";
import { isMissing } from "./verbs.js";

/** Order statistics kept per column and partition (32 kB of float64 each). */
export const SKETCH_SIZE = 4096;

/** One partition's sketch: rows (column, value, weight), each column's values ascending. */
export function quantileSketch(part: Part, columns: readonly string[], size = SKETCH_SIZE): Part {
  const names: string[] = [];
  const values: number[] = [];
  const weights: number[] = [];
  for (const name of columns) {
    const c = part.column(name);
    const v: number[] = [];
    for (let i = 0; i < c.length; i++) if (!isMissing(c, i)) v.push(Number(c.values[i]));
    const sorted = Float64Array.from(v).sort();
    const n = sorted.length;
    const m = Math.min(n, size);
    for (let k = 0; k < m; k++) {
      // Evenly spaced order statistics, the first and the last included.
      const at = m === n ? k : Math.round((k * (n - 1)) / (m - 1));
      names.push(name);
      values.push(sorted[at]!);
      weights.push(n / m);
    }
  }
  const m = names.length;
  return new Part(
    ["column", "value", "weight"],
    [
      stringColumn(names),
      new Column("float64", m, Float64Array.from(values), null, 0),
      new Column("float64", m, Float64Array.from(weights), null, 0),
    ],
    m,
  );
}

/**
 * The quantiles `qs` of each column from the partitions' sketches: one row per quantile, one float64
 * column per column (NaN where a column has no values). Each sketch value sits at the middle of the
 * ranks it stands for; the quantile is interpolated between the two values around rank (n-1)·q.
 */
export function quantileMerge(sketches: Part[], columns: readonly string[], qs: readonly number[]): Part {
  const all = Part.concat(sketches);
  const names = all.column("column").strings();
  const vals = all.column("value").values as Float64Array;
  const ws = all.column("weight").values as Float64Array;
  const out = columns.map((name) => {
    const rows: number[] = [];
    for (let i = 0; i < all.length; i++) if (names[i] === name) rows.push(i);
    rows.sort((a, b) => vals[a]! - vals[b]!);
    const pos = new Float64Array(rows.length);
    let total = 0;
    rows.forEach((r, k) => {
      pos[k] = total + (ws[r]! - 1) / 2; // ranks [total, total + w - 1], at their middle
      total += ws[r]!;
    });
    const res = new Float64Array(qs.length).fill(NaN);
    if (rows.length === 0) return new Column("float64", qs.length, res, null, 0);
    qs.forEach((q, j) => {
      const rank = (total - 1) * q;
      let hi = 0;
      while (hi < rows.length && pos[hi]! < rank) hi++;
      if (hi === 0) res[j] = vals[rows[0]!]!;
      else if (hi === rows.length) res[j] = vals[rows[rows.length - 1]!]!;
      else {
        const a = pos[hi - 1]!;
        const b = pos[hi]!;
        const t = b === a ? 0 : (rank - a) / (b - a);
        res[j] = vals[rows[hi - 1]!]! + t * (vals[rows[hi]!]! - vals[rows[hi - 1]!]!);
      }
    });
    return new Column("float64", qs.length, res, null, 0);
  });
  return new Part([...columns], out, qs.length);
}
