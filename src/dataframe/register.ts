// meshwork/dataframe's task functions as builtins, so a graph names them instead of carrying code.
// Every worker registers the names and the partition wire class at start; the code behind them
// (and hyparquet, hyparquet-writer, flechette) loads on a process's first dataframe task.

import { registerBuiltin, type BuiltinFn } from "../graph/builtins.js";
import { storesOf, type TaskContext } from "../task-context.js";
import "./part.js"; // the wire class, needed to receive a partition at all
import { registerCountFusers } from "./count-fuse.js";

/** Builtin names, used by the graph builders. */
export const DF = {
  parquetRead: "df.parquet-read",
  readThen: "df.read-then",
  csvRead: "df.csv-read",
  write: "df.write",
  filter: "df.filter",
  assign: "df.assign",
  select: "df.select",
  rename: "df.rename",
  astype: "df.astype",
  fillna: "df.fillna",
  dropna: "df.dropna",
  head: "df.head",
  len: "df.len",
  filterLen: "df.filter-len",
  parquetCount: "df.parquet-count",
  mapPartitions: "df.map-partitions",
  aggPartial: "df.agg-partial",
  aggCombine: "df.agg-combine",
  aggFinal: "df.agg-final",
  split: "df.split",
  aggSplit: "df.agg-split",
  pick: "df.pick",
  concat: "df.concat",
  merge: "df.merge",
  distinct: "df.distinct",
  sort: "df.sort",
  sortParts: "df.sort-parts",
  sortSample: "df.sort-sample",
  sortBounds: "df.sort-bounds",
  rangeSplit: "df.range-split",
  splitRows: "df.split-rows",
  nbytes: "df.nbytes",
  sum: "df.sum",
  quantileSketch: "df.quantile-sketch",
  quantileMerge: "df.quantile-merge",
} as const;

type Kernels = typeof import("./kernels/index.js");
let loading: Promise<Kernels> | null = null;
const load = (): Promise<Kernels> => (loading ??= import("./kernels/index.js"));

/** The builtins that read or write files: their kernels (kernels/index.ts READERS) take the running member's stores first. */
const READERS = new Set<string>(["parquetRead", "readThen", "csvRead", "write", "parquetCount"]);

for (const [key, name] of Object.entries(DF)) {
  if (READERS.has(key))
    // `this` is the task's context (task-context.ts): its stores are taken before the first await.
    registerBuiltin(name, async function (this: TaskContext | undefined, ...args: never[]) {
      const stores = storesOf(this);
      const k = await load();
      return (k.READERS[key as keyof typeof k.READERS] as (...a: unknown[]) => unknown)(stores, ...args);
    } as unknown as BuiltinFn);
  else
    registerBuiltin(name, (async (...args: never[]) => {
      const k = await load();
      return (k.KERNELS[key as keyof typeof k.KERNELS] as (...a: never[]) => unknown)(...args);
    }) as BuiltinFn);
}

registerCountFusers(DF);
