// Frames from files and from memory, and frames into files: readParquet and readCsv plan on the
// client from metadata (each task reads its own piece where it runs); fromArrow and fromRecords cut
// a table held here into partitions; toParquet and toCsv write one file per partition, where the
// partition is.

import { ArgumentError } from "../errors.js";
import { computeWith, type ComputeOptions } from "../graph/collection.js";
import { LayeredGraph, Literal, Task, TaskRef, type GraphNode } from "../graph/task.js";
import { storeUrl } from "../io/store.js";
import { storesOf, type StoresSource } from "../task-context.js";
import { fromArrowTable } from "./arrow.js";
import { columnFrom } from "./column.js";
import { toDType, type DType } from "./dtypes.js";
import { DataFrame, token } from "./frame.js";
import { planCsv, type ReadCsvOptions } from "./io/csv.js";
import { planParquet, type ReadParquetOptions } from "./io/parquet.js";
import { LazyValue } from "./lazy.js";
import { Part, type Schema } from "./part.js";
import { DF } from "./register.js";
import { randomId } from "../util/ids.js";

function fromTasks(
  op: string,
  tok: unknown[],
  tasks: GraphNode[],
  schema: Schema,
  nbytes: number | undefined,
): DataFrame {
  const name = token(op, ...tok);
  const layer = new Map<string, GraphNode>();
  const df = new DataFrame(LayeredGraph.of(name, layer), name, Math.max(1, tasks.length), schema, null, nbytes);
  if (tasks.length === 0) layer.set(df.key(0), new Literal(Part.empty(schema))); // every row group ruled out: one empty partition
  tasks.forEach((t, i) => layer.set(df.key(i), t));
  return df;
}

/**
 * A lazy frame over Parquet files: `await readParquet("data/trips/*.parquet", { columns, filters })`.
 * Paths are files, directories (their *.parquet files), globs in the file name, or URLs. One
 * partition per row group, planned from the footers alone; each task reads only its row group's
 * chunks of the requested columns. Row groups whose min/max statistics rule out `filters` are
 * skipped, and the rows read are filtered exactly.
 */
export async function readParquet(
  paths: string | URL | readonly (string | URL)[],
  options: ReadParquetOptions = {},
): Promise<DataFrame> {
  const plan = await planParquet(paths, options);
  return fromTasks("read-parquet", plan.token, plan.tasks, plan.schema, plan.nbytes);
}

/**
 * A lazy frame over CSV files: `await readCsv("logs/*.csv", { blocksize: "16MB", dtypes: { id: "int64" } })`.
 * Each file is cut into blocks of `blocksize` bytes on line boundaries; types are inferred from the
 * first 256 kB of the first file unless given; malformed rows are errors naming file and line
 * (`onBadLines: "skip"` drops them). Quoted fields must not hold newlines when a file has several blocks.
 */
export async function readCsv(
  paths: string | URL | readonly (string | URL)[],
  options: ReadCsvOptions = {},
): Promise<DataFrame> {
  const plan = await planCsv(paths, options);
  return fromTasks("read-csv", plan.token, plan.tasks, plan.schema, plan.nbytes);
}

/** Equal runs of `n` rows over `npartitions` (the first ones one longer). */
function bounds(n: number, npartitions: number): number[] {
  const out = [0];
  for (let i = 0; i < npartitions; i++) out.push(out[i]! + Math.floor(n / npartitions) + (i < n % npartitions ? 1 : 0));
  return out;
}

function fromPart(op: string, part: Part, options: { npartitions?: number; chunksize?: number }): DataFrame {
  const n = part.length;
  let np = options.npartitions ?? (options.chunksize ? Math.ceil(n / options.chunksize) : 1);
  if (!Number.isInteger(np) || np < 1)
    throw new ArgumentError(`npartitions must be a whole number ≥ 1, got ${options.npartitions}`);
  np = Math.min(np, Math.max(1, n));
  const b = bounds(n, np);
  const tasks = Array.from({ length: np }, (_, i) => new Literal(part.slice(b[i]!, b[i + 1]!)));
  // A fresh name: hashing the data (dask's tokenize) would cost a pass over it, and a sample could collide.
  return fromTasks(op, [randomId(), np], tasks, part.schema, part.nbytes);
}

/** A frame over an Arrow table held here (flechette's, apache-arrow's, or IPC bytes), cut into `npartitions` runs of rows (default 1). */
export function fromArrow(table: unknown, options: { npartitions?: number; chunksize?: number } = {}): DataFrame {
  return fromPart("from-arrow", fromArrowTable(table), options);
}

/**
 * A frame from an array of row objects: `fromRecords([{ a: 1, b: "x" }, …], { npartitions: 2 })`.
 * Types come from the values (integers → int64, other numbers → float64, strings, booleans, Dates →
 * timestamp[ms], bigints → int64; a column of nulls → float64) unless `dtypes` gives them.
 */
export function fromRecords(
  rows: readonly Record<string, unknown>[],
  options: { npartitions?: number; chunksize?: number; dtypes?: Record<string, string> } = {},
): DataFrame {
  if (!Array.isArray(rows)) throw new ArgumentError(`fromRecords takes an array of objects, got ${typeof rows}`);
  const names: string[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    if (typeof r !== "object" || r === null)
      throw new ArgumentError(`fromRecords: every row is an object, got ${JSON.stringify(r)}`);
    for (const k of Object.keys(r)) if (!seen.has(k)) seen.add(k), names.push(k);
  }
  for (const k of Object.keys(options.dtypes ?? {})) if (!seen.has(k)) seen.add(k), names.push(k);
  const cols = names.map((n) => {
    const values = rows.map((r) => r[n]);
    const given = options.dtypes?.[n];
    return columnFrom(given !== undefined ? toDType(given, `dtypes.${n}`) : inferJsType(values, n), values);
  });
  return fromPart("from-records", new Part(names, cols, rows.length), options);
}

function inferJsType(values: unknown[], name: string): DType {
  let t: DType | null = null;
  for (const v of values) {
    if (v === null || v === undefined) continue;
    const u: DType | null =
      typeof v === "number"
        ? Number.isInteger(v)
          ? "int64"
          : "float64"
        : typeof v === "string"
          ? "utf8"
          : typeof v === "boolean"
            ? "bool"
            : typeof v === "bigint"
              ? "int64"
              : v instanceof Date
                ? "timestamp[ms]"
                : null;
    if (u === null)
      throw new ArgumentError(
        `fromRecords: column ${JSON.stringify(name)} holds ${Object.prototype.toString.call(v)}; columns hold numbers, strings, booleans, bigints or Dates`,
      );
    if (t === null || (t === "int64" && u === "float64")) t = u;
    else if (t !== u && !(t === "float64" && u === "int64"))
      throw new ArgumentError(
        `fromRecords: column ${JSON.stringify(name)} holds both ${t} and ${u} values; give its type with { dtypes }`,
      );
  }
  return t ?? "float64";
}

export interface WriteOptions extends ComputeOptions {
  /** Remove what the directory held first (default false: files of the same names are replaced). */
  overwrite?: boolean;
  /**
   * What `dir` resolves and `overwrite` removes through: a Client, Runtime or LocalCluster (its
   * runtime's stores) or a Stores; default the realm's. Each file is written where its partition
   * is, through the running worker's stores.
   */
  stores?: StoresSource;
}

/** Writes one file per partition, `part.<i>.<ext>`, where each partition is; resolves with the rows written. */
async function write(
  df: DataFrame,
  dir: string | URL,
  format: "parquet" | "csv",
  options: WriteOptions,
): Promise<number> {
  const { overwrite, stores: given, ...compute } = options;
  const stores = storesOf(given);
  const url = storeUrl(dir, stores);
  if (overwrite) await stores.open(url).remove?.("");
  const name = token(`to-${format}`, df.name, url);
  const layer = new Map<string, GraphNode>();
  for (let i = 0; i < df.npartitions; i++)
    layer.set(`${name}[${i}]`, new Task(DF.write, [new TaskRef(df.key(i)), url, `part.${i}.${format}`, format]));
  layer.set(name, new Task(DF.sum, [[...layer.keys()].map((k) => new TaskRef(k))]));
  const [rows] = await computeWith(compute, [
    new LazyValue<number>(LayeredGraph.merge([df.graph], name, layer), name, (v) => v as number, `to-${format}`),
  ] as const);
  return rows;
}

export function toParquet(df: DataFrame, dir: string | URL, options: WriteOptions = {}): Promise<number> {
  return write(df, dir, "parquet", options);
}

export function toCsv(df: DataFrame, dir: string | URL, options: WriteOptions = {}): Promise<number> {
  return write(df, dir, "csv", options);
}
