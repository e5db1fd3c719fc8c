// The partitioned table: a lazy DataFrame is a graph whose tasks give its partitions (each a Part:
// Arrow columns), plus the schema, known on the client without running anything. Verbs add one
// task per partition and return a new frame at once; reductions, groupby and joins build trees
// (reduce.ts, merge.ts). compute() gives an Arrow Table (flechette's).

import type { Table } from "@uwdata/flechette";
import { ArgumentError, ColumnError } from "../errors.js";
import {
  COLLECTION,
  computeWith,
  persistWith,
  release,
  type Collection,
  type CollectionParts,
  type ComputeOptions,
} from "../graph/collection.js";
import { LayeredGraph, Task, TaskRef, type Callable, type GraphNode } from "../graph/task.js";
import { userFunctionId } from "../client/functions.js";
import { toArrow } from "./arrow.js";
import { toDType, type DType } from "./dtypes.js";
import { assignSpecs, fillValues, mapSchema } from "./meta.js";
import { describeExpr } from "./expr.js";
import type { LazyValue } from "./lazy.js";
import { Part, type Schema } from "./part.js";
import { DF } from "./register.js";
import {
  describeFrame,
  dropDuplicates,
  groupby,
  reduceFrame,
  valueCounts,
  type GroupBy,
  type TreeOptions,
} from "./reduce.js";
import { merge, type MergeOptions } from "./merge.js";
import {
  hashShuffle,
  repartition,
  repartitionBySize,
  sortValues,
  type RepartitionBySizeOptions,
  type RepartitionOptions,
  type SortOptions,
} from "./shuffle.js";
import { toCsv, toParquet, type WriteOptions } from "./create.js";
import { head, len } from "./head.js";
import type { AssignValue, ExprOptions, MapPartitionsOptions, ReduceFrameOptions, RowExpr } from "./options.js";
import { token } from "./token.js";

export type {
  AssignValue,
  ExprOptions,
  MapPartitionsOptions,
  Params,
  ReduceFrameOptions,
  Row,
  RowExpr,
} from "./options.js";
export { token } from "./token.js";

export class DataFrame implements Collection<Table> {
  /** @internal Frames are made by readParquet, readCsv, fromArrow, fromRecords and by operations on frames. */
  constructor(
    readonly graph: LayeredGraph,
    /** The name of its partitions' keys (`name[i]`). */
    readonly name: string,
    readonly npartitions: number,
    readonly schema: Schema,
    /**
     * Where the frame is sorted by one column (`index`, after setIndex or an ascending sortValues):
     * npartitions + 1 bounds, partition i holding the values in [divisions[i], divisions[i+1]) (the
     * last up to and including its bound, then the nulls). null where unknown.
     */
    readonly divisions: readonly unknown[] | null = null,
    /** Bytes the data takes in memory, where known from metadata (an upper bound after filters). */
    readonly nbytes: number | undefined = undefined,
    /** The column the divisions are of (setIndex's column, or the one sortValues sorted by). */
    readonly index: string | null = null,
  ) {}

  get columns(): string[] {
    return [...this.schema.names];
  }

  /** Column types by name: `{ vendor: "int32", fare: "float64", pickup: "timestamp[ms]" }`. */
  get dtypes(): Record<string, DType> {
    return Object.fromEntries(this.schema.names.map((n, j) => [n, this.schema.types[j]!]));
  }

  key(i: number): string {
    return `${this.name}[${i}]`;
  }

  keys(): string[] {
    return Array.from({ length: this.npartitions }, (_, i) => this.key(i));
  }

  /** Tasks in its graph (before optimization). */
  get taskCount(): number {
    return this.graph.size;
  }

  [COLLECTION](): CollectionParts<Table> {
    const keys = this.keys();
    const schema = this.schema;
    return {
      graph: this.graph,
      keys,
      finalize: (values) => toArrow(Part.concat(values as Part[], schema)),
      // On a cluster (client.compute), the partitions joined where they are: a Part (`.length`, `.columns`).
      finalizeTask: () => new Task(DF.concat, [keys.map((k) => new TaskRef(k))]),
      rebuild: (held) => {
        const layer = new Map<string, GraphNode>();
        for (const k of keys) layer.set(k, held.get(k)!);
        return new DataFrame(
          LayeredGraph.of(`held-${this.name}`, layer),
          this.name,
          this.npartitions,
          schema,
          this.divisions,
          this.nbytes,
          this.index,
        );
      },
    };
  }

  /** Computes the frame: one Arrow Table of all partitions, in order. */
  async compute(options?: ComputeOptions): Promise<Table> {
    const [v] = await computeWith(options, [this] as const);
    return v as Table;
  }

  /** Computes the partitions and keeps them where they were computed; the returned frame is backed by them. */
  async persist(options?: ComputeOptions): Promise<DataFrame> {
    const [v] = await persistWith(options, [this] as const);
    return v as DataFrame;
  }

  /** Gives up the partitions a persisted frame holds on a cluster. */
  release(): void {
    release(this);
  }

  /**
   * @internal A frame with one task per partition: `fn(partition_i, ...args)`; `keepsSize` when its
   * partitions are no bigger than these; `index` the name the sorted column has afterwards when the
   * operation keeps rows in order and leaves that column as it was (filter, select …), else null.
   */
  partitionwise(
    op: string,
    fn: string,
    args: unknown[],
    schema: Schema,
    keepsSize = true,
    index: string | null = null,
    calls?: { fn: Callable; id: string },
  ): DataFrame {
    const name = calls ? token(op, this.name, fn, args, calls.id) : token(op, this.name, fn, args);
    const layer = new Map<string, GraphNode>();
    const sorted = index !== null && this.divisions !== null && schema.names.includes(index);
    // Rows are only ever dropped or columns narrowed, so the size stays an upper bound, unless columns are made.
    const out = new DataFrame(
      LayeredGraph.merge([this.graph], name, layer),
      name,
      this.npartitions,
      schema,
      sorted ? this.divisions : null,
      keepsSize ? this.nbytes : undefined,
      sorted ? index : null,
    );
    for (let i = 0; i < this.npartitions; i++)
      layer.set(
        out.key(i),
        calls
          ? Task.calling(fn, calls.fn, [new TaskRef(this.key(i)), ...args])
          : new Task(fn, [new TaskRef(this.key(i)), ...args]),
      );
    return out;
  }

  /** A frame of some of these partitions, in the order given (dask's `df.partitions[i]`); no rows move. */
  partitions(indices: number[]): DataFrame {
    if (!Array.isArray(indices) || indices.some((i) => !Number.isInteger(i) || i < 0 || i >= this.npartitions))
      throw new ArgumentError(`partitions takes indices in [0, ${this.npartitions}), got ${JSON.stringify(indices)}`);
    const name = token("partitions", this.name, indices);
    const layer = new Map<string, GraphNode>();
    indices.forEach((i, t) => layer.set(`${name}[${t}]`, new Task("identity", [new TaskRef(this.key(i))])));
    return new DataFrame(LayeredGraph.merge([this.graph], name, layer), name, indices.length, this.schema);
  }

  /** @internal The columns asked for, checked (ColumnError lists the columns there are). */
  checkColumns(names: unknown, what: string): string[] {
    const list = typeof names === "string" ? [names] : names;
    if (!Array.isArray(list) || list.some((n) => typeof n !== "string"))
      throw new ArgumentError(`${what} takes column names, got ${JSON.stringify(names)}`);
    const missing = list.filter((n) => !this.schema.names.includes(n));
    if (missing.length > 0) throw new ColumnError(missing, this.schema.names, `in ${what}`);
    return list;
  }

  typeOf(name: string): DType {
    const j = this.schema.names.indexOf(name);
    if (j < 0) throw new ColumnError([name], this.schema.names);
    return this.schema.types[j]!;
  }

  // ---- row-wise verbs (one task per partition, compiled to column loops on the workers) ----

  /** Rows where the expression is true: `df.filter((d) => d.distance > 10)`. Rows where it is null or NaN are dropped. */
  filter(expr: RowExpr, options: ExprOptions = {}): DataFrame {
    const spec = describeExpr(expr, "filter", this.schema, options.params);
    return this.partitionwise("filter", DF.filter, [spec], this.schema, true, this.index);
  }

  /**
   * New or replaced columns, from row expressions or constants, in order (each sees the columns
   * assigned before it): `df.assign({ perMile: (d) => d.fare / d.distance, source: "taxi" })`.
   */
  assign(columns: Record<string, AssignValue>, options: ExprOptions = {}): DataFrame {
    const { specs, schema } = assignSpecs(this.schema, columns, options);
    return this.partitionwise("assign", DF.assign, [specs], schema, false);
  }

  /** Only these columns, in this order. */
  select(columns: string[]): DataFrame {
    const names = this.checkColumns(columns, "select");
    return this.partitionwise(
      "select",
      DF.select,
      [names],
      { names, types: names.map((n) => this.typeOf(n)) },
      true,
      this.index,
    );
  }

  /** Without these columns. */
  drop(columns: string | string[]): DataFrame {
    const gone = this.checkColumns(columns, "drop");
    return this.select(this.schema.names.filter((n) => !gone.includes(n)));
  }

  /** Columns renamed: `df.rename({ old: "new" })`. */
  rename(mapping: Record<string, string>): DataFrame {
    this.checkColumns(Object.keys(mapping), "rename");
    const names = this.schema.names.map((n) => mapping[n] ?? n);
    const dupes = names.filter((n, i) => names.indexOf(n) !== i);
    if (dupes.length > 0) throw new ArgumentError(`rename would give two columns the name ${JSON.stringify(dupes[0])}`);
    return this.partitionwise(
      "rename",
      DF.rename,
      [mapping],
      { names, types: this.schema.types },
      true,
      this.index === null ? null : (mapping[this.index] ?? this.index),
    );
  }

  /** Columns converted to other types: `df.astype({ vendor: "int64", fare: "float32" })`. */
  astype(types: Record<string, string>): DataFrame {
    this.checkColumns(Object.keys(types), "astype");
    const want = Object.fromEntries(Object.entries(types).map(([k, v]) => [k, toDType(v, `astype ${k}`)]));
    return this.partitionwise("astype", DF.astype, [want], {
      names: this.schema.names,
      types: this.schema.names.map((n, j) => want[n] ?? this.schema.types[j]!),
    });
  }

  /** Missing values (null, and NaN in floats) replaced: by one value in every column where it fits, or per column `{ fare: 0, zone: "?" }`. */
  fillna(value: unknown): DataFrame {
    if (typeof value === "object" && value !== null && !(value instanceof Date))
      this.checkColumns(Object.keys(value), "fillna");
    return this.partitionwise("fillna", DF.fillna, [fillValues(this.schema, value)], this.schema);
  }

  /** Rows without missing values (in `subset`, default all columns); `how: "all"` drops only rows missing everywhere. */
  dropna(options: { subset?: string[]; how?: "any" | "all" } = {}): DataFrame {
    const subset = options.subset ? this.checkColumns(options.subset, "dropna") : null;
    const how = options.how ?? "any";
    if (how !== "any" && how !== "all")
      throw new ArgumentError(`dropna how is "any" or "all", got ${JSON.stringify(how)}`);
    return this.partitionwise("dropna", DF.dropna, [subset, how], this.schema, true, this.index);
  }

  /**
   * `fn(table, ...args)` on every partition, where it is; returns an Arrow table. The function
   * travels as source (no closure: pass values in `args`), or is an uploaded module's export
   * (`(await client.upload(url)).fn`). The result's schema is learnt by calling `fn` here on an
   * empty partition, unless `meta` gives it; an uploaded function runs only on workers, so it needs `meta`.
   */
  mapPartitions(fn: (table: Table, ...args: never[]) => unknown, options: MapPartitionsOptions = {}): DataFrame {
    const id = userFunctionId(fn, "mapPartitions");
    const args = options.args ?? [];
    const schema = mapSchema(fn, this.schema, args, options.meta);
    return this.partitionwise("map-partitions", DF.mapPartitions, [args], schema, false, null, { fn, id });
  }

  // ---- reductions (trees of tasks; nulls and NaN skipped, as pandas) ----

  /** Sums of the numeric (and bool) columns: `await df.sum().compute()` → `{ fare: 1234.5, … }`. */
  sum(options?: ReduceFrameOptions): LazyValue<Record<string, unknown>> {
    return reduceFrame(this, "sum", options);
  }
  mean(options?: ReduceFrameOptions): LazyValue<Record<string, unknown>> {
    return reduceFrame(this, "mean", options);
  }
  /** Values that are not missing, per column. */
  count(options?: ReduceFrameOptions): LazyValue<Record<string, unknown>> {
    return reduceFrame(this, "count", options);
  }
  /** Smallest values (numbers, strings, Dates for timestamps), per column. */
  min(options?: ReduceFrameOptions): LazyValue<Record<string, unknown>> {
    return reduceFrame(this, "min", options);
  }
  max(options?: ReduceFrameOptions): LazyValue<Record<string, unknown>> {
    return reduceFrame(this, "max", options);
  }
  /** Variance (ddof 1 by default, as pandas). */
  var(options?: ReduceFrameOptions & { ddof?: number }): LazyValue<Record<string, unknown>> {
    return reduceFrame(this, "var", options);
  }
  std(options?: ReduceFrameOptions & { ddof?: number }): LazyValue<Record<string, unknown>> {
    return reduceFrame(this, "std", options);
  }
  /** Distinct values that are not missing, per column. */
  nunique(options?: ReduceFrameOptions): LazyValue<Record<string, unknown>> {
    return reduceFrame(this, "nunique", options);
  }
  /** count, mean, std, min, 25%, 50%, 75% and max of the numeric columns as a table (a "statistic" column, then one per column), as pandas' describe; the quartiles exact while a partition holds at most 4096 values of a column, approximate past that (as dask's). */
  describe(options?: TreeOptions): LazyValue<Table> {
    return describeFrame(this, options);
  }

  /** Groups by key columns: `df.groupby("vendor").agg({ fare: ["mean", "max"] })`. Sorted by the keys unless `{ sort: false }`. */
  groupby(by: string | string[], options?: { sort?: boolean }): GroupBy {
    return groupby(this, by, options);
  }

  /** Counts of each value of a column, most frequent first: columns [column, "count"]. */
  valueCounts(column: string, options?: TreeOptions): DataFrame {
    return valueCounts(this, column, options);
  }

  /** Rows that repeat earlier ones (in `subset`, default all columns) dropped; first occurrences kept, in order. */
  dropDuplicates(options?: TreeOptions & { subset?: string[] }): DataFrame {
    return dropDuplicates(this, options);
  }

  /** A join with another frame: pandas' `how` (inner, left, right, outer); broadcast when one side is small, else both sides hash-shuffled (see MergeOptions). */
  merge(other: DataFrame, options?: MergeOptions): DataFrame {
    return merge(this, other, options);
  }

  // ---- shuffles (shuffle.ts: partitions move worker to worker, never through the client) ----

  /** The rows in `npartitions` partitions (default this frame's) by the hash of the `on` columns: equal keys, one partition. */
  shuffle(on: string | string[], options: { npartitions?: number } = {}): DataFrame {
    return hashShuffle(this, this.checkColumns(on, "shuffle"), options.npartitions ?? this.npartitions);
  }

  /**
   * Sorted by the columns (stable; nulls and NaN last; `{ ascending: false }` or one per column).
   * Samples every partition now to choose the output partitions' ranges (one small compute, on the
   * scheduler in the options), so it returns a promise of the sorted frame; sorted by one ascending
   * column, the frame knows its divisions.
   */
  sortValues(by: string | string[], options?: SortOptions): Promise<DataFrame> {
    return sortValues(this, by, options);
  }

  /** Sorted by `column` (ascending, nulls last), with that column first and the divisions known, as dask's set_index (Arrow tables have no index: the column stays a column). */
  async setIndex(column: string, options?: Omit<SortOptions, "ascending">): Promise<DataFrame> {
    this.checkColumns([column], "setIndex");
    return sortValues(this, [column], { ...options, ascending: true }, column);
  }

  /**
   * The same rows, in order, in `npartitions` partitions (neighbours joined, or partitions cut by
   * rows); or in partitions of about `partitionSize` bytes, which measures the partitions first
   * (one small compute now, on the scheduler in the options) and so returns a promise.
   */
  repartition(options: RepartitionOptions): DataFrame;
  repartition(options: RepartitionBySizeOptions): Promise<DataFrame>;
  repartition(options: RepartitionOptions | RepartitionBySizeOptions): DataFrame | Promise<DataFrame> {
    if (options !== null && typeof options === "object" && "partitionSize" in options) {
      if ("npartitions" in options) throw new ArgumentError("repartition takes npartitions or partitionSize, not both");
      return repartitionBySize(this, options);
    }
    return repartition(this, options);
  }

  // ---- writing (one file per partition, written where the partition is) ----

  /** Writes `dir/part.<i>.parquet` for every partition (Snappy, with statistics); resolves with the rows written. */
  toParquet(dir: string | URL, options?: WriteOptions): Promise<number> {
    return toParquet(this, dir, options);
  }

  /** Writes `dir/part.<i>.csv` for every partition, with a header; resolves with the rows written. */
  toCsv(dir: string | URL, options?: WriteOptions): Promise<number> {
    return toCsv(this, dir, options);
  }

  // ---- looking at it ----

  /** The first `n` rows (default 5) as an Arrow Table, computing only the partitions it takes. */
  head(n = 5, options?: ComputeOptions): Promise<Table> {
    return head(this, n, options);
  }

  /** The number of rows (computed now). */
  len(options?: ComputeOptions): Promise<number> {
    return len(this, options);
  }

  toString(): string {
    const width = Math.max(4, ...this.schema.names.map((n) => n.length));
    const cols = this.schema.names.map((n, j) => `  ${n.padEnd(width)}  ${this.schema.types[j]}`).join("\n");
    const sorted = this.index !== null ? `, sorted by ${this.index}` : "";
    return `mw.DataFrame<${this.name.replace(/-[0-9a-f]+$/, "")}, npartitions=${this.npartitions}, columns=${this.schema.names.length}, tasks=${this.taskCount}${sorted}>\n${cols}`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}
