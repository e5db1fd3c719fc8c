// Joins. A broadcast join when one side is small (one partition, or small by what its metadata
// says, or asked for): that side is joined into one partition and sent to every task of the other,
// which join partition by partition (inner/left with a small right side, inner/right with a small
// left side). Otherwise both sides are hash-shuffled on their keys into the same number of
// partitions and joined bucket by bucket (shuffle.ts): any `how`, any sizes.

import { ArgumentError, SchemaError } from "../errors.js";
import { LayeredGraph, Task, TaskRef, type GraphNode } from "../graph/task.js";
import { DataFrame, token } from "./frame.js";
import type { MergeSpec } from "./kernels/merge.js";
import { DF } from "./register.js";
import { hashShuffle } from "./shuffle.js";

export interface MergeOptions {
  /** Key columns with the same names on both sides. */
  on?: string | string[];
  leftOn?: string | string[];
  rightOn?: string | string[];
  /**
   * "inner" (default), "left", "right" or "outer", as pandas: rows without a match on the other
   * side get nulls there; null keys match null keys. Row order: pandas' when the right side is
   * broadcast (inner, left) or the left one for a right join; an inner join broadcasting a small
   * left side gives the right side's order; shuffle joins give rows by bucket, and within a bucket
   * by input partition (as dask). Outer joins are not sorted by key (pandas sorts them).
   */
  how?: "inner" | "left" | "right" | "outer";
  /** Suffixes for columns both sides have (default ["_x", "_y"], as pandas). */
  suffixes?: [string, string];
  /**
   * true: broadcast the small side even when it is big (the right side; the left for a right join);
   * false: always hash-shuffle both sides. Default: broadcast a side of one partition or known to
   * be ≤ BROADCAST_MAX_BYTES when the join allows it.
   */
  broadcast?: boolean;
  /** Partitions of a shuffle join (default: the larger side's count, as dask). */
  npartitions?: number;
}

/**
 * The largest right side broadcast without being asked, when its size is known from metadata
 * (Parquet's uncompressed sizes, an Arrow table's buffers): every task of the left side receives
 * it, so it should fit many times in a worker's memory. dask's default is a partition count (≤ 1
 * partition, or `broadcast=True`); a byte figure fits frames read from files better.
 */
export const BROADCAST_MAX_BYTES = 64 * 1024 * 1024;

const list = (v: string | string[] | undefined): string[] | undefined =>
  v === undefined ? undefined : Array.isArray(v) ? v : [v];

export function merge(left: DataFrame, right: DataFrame, options: MergeOptions = {}): DataFrame {
  if (!(right instanceof DataFrame)) throw new ArgumentError("merge joins two DataFrames: left.merge(right, { on })");
  const how = options.how ?? "inner";
  if (how !== "inner" && how !== "left" && how !== "right" && how !== "outer")
    throw new ArgumentError(`merge how is "inner", "left", "right" or "outer", got ${JSON.stringify(how)}`);
  let leftOn = list(options.leftOn ?? options.on);
  let rightOn = list(options.rightOn ?? options.on);
  if (options.on !== undefined && (options.leftOn !== undefined || options.rightOn !== undefined))
    throw new ArgumentError("merge takes either on or leftOn/rightOn, not both");
  if (!leftOn || !rightOn) {
    // pandas' default: the columns both sides have.
    const common = left.schema.names.filter((n) => right.schema.names.includes(n));
    if (common.length === 0)
      throw new ArgumentError(
        `merge: no key columns given and the frames share none (left: ${left.columns.join(", ")}; right: ${right.columns.join(", ")})`,
      );
    leftOn = rightOn = common;
  }
  left.checkColumns(leftOn, "merge (left side)");
  right.checkColumns(rightOn, "merge (right side)");
  if (leftOn.length !== rightOn.length)
    throw new ArgumentError(`merge: ${leftOn.length} left keys and ${rightOn.length} right keys`);
  leftOn.forEach((l, k) => {
    const lt = left.typeOf(l);
    const rt = right.typeOf(rightOn![k]!);
    if (lt !== rt)
      throw new SchemaError(
        `merge on columns of different types: left ${JSON.stringify(l)} is ${lt}, right ${JSON.stringify(rightOn![k])} is ${rt}; convert one with astype({ ${JSON.stringify(rightOn![k])}: "${lt}" }) first`,
      );
  });

  // Output columns: the left's, then the right's (less its keys when they share the left's names).
  const sameKeys = leftOn.every((l, k) => l === rightOn![k]);
  const rightColumns = right.schema.names.filter((n) => !(sameKeys && rightOn!.includes(n)));
  const [sx, sy] = options.suffixes ?? ["_x", "_y"];
  const clash = (n: string) => rightColumns.includes(n) && left.schema.names.includes(n);
  const leftNames = left.schema.names.map((n) => (clash(n) ? n + sx : n));
  const rightNames = rightColumns.map((n) => (clash(n) ? n + sy : n));
  const all = [...leftNames, ...rightNames];
  const dupes = all.filter((n, i) => all.indexOf(n) !== i);
  if (dupes.length > 0)
    throw new ArgumentError(`merge would give two columns the name ${JSON.stringify(dupes[0])}; choose other suffixes`);
  const spec: MergeSpec = { how, leftOn, rightOn, leftNames, rightColumns, rightNames };
  const schema = { names: all, types: [...left.schema.types, ...rightColumns.map((n) => right.typeOf(n))] };

  const isSmall = (df: DataFrame) =>
    df.npartitions <= 1 || (df.nbytes !== undefined && df.nbytes <= BROADCAST_MAX_BYTES);
  const name = token("merge", left.name, right.name, spec, options.broadcast ?? null, options.npartitions ?? null);
  const layer = new Map<string, GraphNode>();
  // Which side is sent whole to every task of the other, if any.
  let whole: "right" | "left" | null = null;
  if (options.broadcast !== false) {
    if ((how === "inner" || how === "left") && (options.broadcast === true || isSmall(right))) whole = "right";
    else if (how === "right" && (options.broadcast === true || isSmall(left))) whole = "left";
    else if (how === "inner" && isSmall(left)) whole = "left";
    else if (options.broadcast === true)
      throw new ArgumentError(
        `merge how: "${how}" cannot broadcast a side (an outer join needs every row of both sides matched once); leave broadcast out to shuffle both sides`,
      );
  }
  if (whole !== null) {
    const small = whole === "right" ? right : left;
    const big = whole === "right" ? left : right;
    let smallKey = small.key(0);
    if (small.npartitions !== 1) {
      smallKey = `${name}-${whole}`;
      layer.set(smallKey, new Task(DF.concat, [small.keys().map((k) => new TaskRef(k))]));
    }
    const out = new DataFrame(
      LayeredGraph.merge([left.graph, right.graph], name, layer),
      name,
      big.npartitions,
      schema,
    );
    for (let i = 0; i < big.npartitions; i++) {
      const args =
        whole === "right"
          ? [new TaskRef(big.key(i)), new TaskRef(smallKey)]
          : [new TaskRef(smallKey), new TaskRef(big.key(i))];
      layer.set(out.key(i), new Task(DF.merge, [...args, spec]));
    }
    return out;
  }
  // Both sides shuffled into k buckets by their keys' hash (equal keys of either side, one bucket).
  const k = options.npartitions ?? Math.max(left.npartitions, right.npartitions);
  const ls = hashShuffle(left, leftOn, k);
  const rs = hashShuffle(right, rightOn, k);
  const out = new DataFrame(LayeredGraph.merge([ls.graph, rs.graph], name, layer), name, k, schema);
  for (let j = 0; j < k; j++)
    layer.set(out.key(j), new Task(DF.merge, [new TaskRef(ls.key(j)), new TaskRef(rs.key(j)), spec]));
  return out;
}
