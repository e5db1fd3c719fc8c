// Every dataframe task function by its builtin key (register.ts names them), loaded together on
// a process's first dataframe task.

import { ArgumentError } from "../../errors.js";
import { readCsvPart } from "../io/csv-read.js";
import { countParquetPart } from "../io/parquet-count.js";
import { readParquetPart } from "../io/parquet-read.js";
import { writePart } from "../io/write.js";
import { Part } from "../part.js";
import type { ReadThenKernel } from "../fuse.js";
import type { ParquetReadSpec } from "../io/parquet.js";
import type { CsvReadSpec } from "../io/csv.js";
import type { ExprSpec } from "../expr.js";
import type { Stores } from "../../io/store.js";
import { combineAgg, finalAgg, partialAgg, splitPartial, type AggPlan } from "./aggregate.js";
import { rangeSplit } from "./range-split.js";
import { partBytes, sortBounds, sortPart, sortParts, sortSample, splitRows } from "./sort.js";
import { findGroups, splitByKey } from "./groups.js";
import { mergeParts } from "./merge.js";
import { countTrue } from "./expr-run.js";
import { mapPartition } from "./map.js";
import { quantileMerge, quantileSketch } from "./quantiles.js";
import { assign, astype, concat, dropna, fillna, filter, head, length, rename, select } from "./verbs.js";

/**
 * The task functions that read or write files: they take the running member's stores first (the
 * task's context, task-context.ts; register.ts passes them), then the task's arguments.
 */
export const READERS = {
  parquetRead: (stores: Stores, spec: ParquetReadSpec) => readParquetPart(spec, stores),
  /** A row group read, then a kernel on it where it is (fuse.ts merged the two tasks). */
  readThen: async (stores: Stores, spec: ParquetReadSpec, kernel: ReadThenKernel, ...args: unknown[]) => {
    const part = await readParquetPart(spec, stores);
    if (kernel === "aggPartial") return partialAgg(part, args[0] as AggPlan);
    const [by, ascending, more] = args as [string[], boolean[], unknown];
    if (kernel === "sortSample") return sortSample(part, by, ascending, more as number);
    if (kernel === "rangeSplit") return rangeSplit(part, by, ascending, more as Part);
    throw new ArgumentError(`readThen: no kernel ${JSON.stringify(kernel)}`);
  },
  csvRead: (stores: Stores, spec: CsvReadSpec) => readCsvPart(spec, stores),
  write: (stores: Stores, part: Part, dir: string, name: string, format: "parquet" | "csv") =>
    writePart(part, dir, name, format, stores),
  parquetCount: (stores: Stores, spec: ParquetReadSpec, expr: ExprSpec | null) => countParquetPart(spec, expr, stores),
};

export const KERNELS = {
  filter,
  assign,
  select,
  rename,
  astype,
  fillna,
  dropna,
  head,
  len: length,
  /** A filter's length: the rows where its expression is truthy, counted without making them. */
  filterLen: countTrue,
  mapPartitions: mapPartition,
  aggPartial: partialAgg,
  aggCombine: combineAgg,
  aggFinal: finalAgg,
  split: splitByKey,
  aggSplit: splitPartial,
  pick: (list: unknown[], i: number) => {
    if (!Array.isArray(list) || i >= list.length) throw new ArgumentError(`pick: no item ${i}`);
    return list[i];
  },
  concat,
  merge: mergeParts,
  /** Distinct rows of a partition (or several joined) by `subset` (default all columns): each first occurrence, whole, in order; null equals null, as pandas. */
  distinct: (parts: Part | Part[], subset: string[] | null) => {
    const p = Array.isArray(parts) ? Part.concat(parts) : parts;
    return p.take(findGroups(p, subset ?? [...p.names], true).first);
  },
  sort: sortPart,
  sortParts,
  sortSample,
  sortBounds,
  rangeSplit,
  splitRows,
  nbytes: partBytes,
  /** Sums of numbers (partition lengths into a frame's length). */
  sum: (values: number[]) => values.reduce((a, b) => a + b, 0),
  quantileSketch,
  quantileMerge,
};
