// readParquet: planned on the client from the files' footers alone (one partition per row group,
// row groups ruled out by their statistics skipped), each task reading its own row group's
// requested column chunks by byte range where it runs (parquet-read.ts).

import { ArgumentError, ColumnError, FormatError, SchemaError } from "../../errors.js";
import { storesOf, type StoresSource } from "../../task-context.js";
import { Task, type GraphNode } from "../../graph/task.js";
import { isTimestamp, MS_PER_UNIT, timestampUnit, type DType, type TimestampType } from "../dtypes.js";
import type { Schema } from "../part.js";
import { DF } from "../register.js";
import { resolveFiles } from "./files.js";
import { filterColumns, mayMatch, normalizeFilters, type Condition, type Filters } from "./filters.js";
import { parquetColumns, readFooter } from "./parquet-meta.js";

export interface ReadParquetOptions {
  /** Only these columns (default all, less pandas' `__index_level_N__`). */
  columns?: string[];
  /** dask's filters: `[["distance", ">", 10]]`; row groups whose statistics rule them out are skipped, and rows are filtered exactly. */
  filters?: Filters;
  /**
   * What to list the files and read their footers through: a Client, Runtime or LocalCluster (its
   * runtime's stores: the schemes and data credentials it has) or a Stores. Default: the realm's.
   * The row groups are read where their tasks run, through the running worker's stores.
   */
  stores?: StoresSource;
}

/** What a task needs to read one row group. */
export interface ParquetReadSpec {
  url: string;
  size: number;
  rowGroup: number;
  /** Columns read (the output's and the filters'), with the types the plan expects. */
  read: string[];
  types: DType[];
  /** The output's columns. */
  keep: string[];
  filters: Condition[][];
}

export interface ParquetPlan {
  tasks: GraphNode[];
  schema: Schema;
  /** Uncompressed bytes of the chunks read (an estimate of the data's size in memory). */
  nbytes: number;
  token: unknown[];
}

const INDEX_COLUMN = /^__index_level_\d+__$/;

export async function planParquet(
  paths: string | URL | readonly (string | URL)[],
  options: ReadParquetOptions = {},
): Promise<ParquetPlan> {
  const unknown = Object.keys(options).filter((k) => k !== "columns" && k !== "filters" && k !== "stores");
  if (unknown.length > 0)
    throw new ArgumentError(`readParquet options are columns, filters and stores; unknown: ${unknown.join(", ")}`);
  const stores = storesOf(options.stores);
  const files = await resolveFiles(paths, [".parquet", ".parq", ".pq"], "readParquet", stores);
  const metas = await Promise.all(files.map((f) => readFooter(f.url, f.size, stores)));
  const first = parquetColumns(metas[0]!).filter((c) => !INDEX_COLUMN.test(c.name));
  const all = first.map((c) => c.name);
  const columns = options.columns ?? all;
  if (!Array.isArray(columns) || columns.some((c) => typeof c !== "string"))
    throw new ArgumentError(`columns must be a list of names, got ${JSON.stringify(columns)}`);
  const missing = columns.filter((c) => !all.includes(c));
  if (missing.length > 0) throw new ColumnError(missing, all, `in ${files[0]!.url}`);
  const dnf = normalizeFilters(options.filters);
  const fmissing = filterColumns(dnf).filter((c) => !all.includes(c));
  if (fmissing.length > 0) throw new ColumnError(fmissing, all, `in the filters (${files[0]!.url})`);
  const read = [...columns, ...filterColumns(dnf).filter((c) => !columns.includes(c))];
  const typeOf = new Map(first.map((c) => [c.name, c.type]));
  const types = read.map((c) => {
    const t = typeOf.get(c)!;
    if (typeof t !== "string")
      throw new FormatError(
        `column ${JSON.stringify(c)} of ${files[0]!.url} is ${t.unsupported}, which meshwork cannot read yet; leave it out with { columns }`,
      );
    return t;
  });

  // Every file must have the columns read, with the same types.
  files.forEach((f, k) => {
    if (k === 0) return;
    const cols = new Map(parquetColumns(metas[k]!).map((c) => [c.name, c.type]));
    for (const [j, c] of read.entries()) {
      const t = cols.get(c);
      if (t === undefined)
        throw new SchemaError(
          `${f.url} has no column ${JSON.stringify(c)}, which ${files[0]!.url} has; its columns are ${[...cols.keys()].join(", ")}`,
        );
      if (t !== types[j])
        throw new SchemaError(
          `column ${JSON.stringify(c)} is ${typeof t === "string" ? t : t.unsupported} in ${f.url} but ${types[j]} in ${files[0]!.url}`,
        );
    }
  });

  const tasks: GraphNode[] = [];
  let nbytes = 0;
  const token: unknown[] = [];
  files.forEach((f, k) => {
    const meta = metas[k]!;
    meta.row_groups.forEach((rg, g) => {
      const chunk = (col: string) => rg.columns.find((c) => c.meta_data?.path_in_schema[0] === col)?.meta_data;
      const stats = (col: string) => {
        const s = chunk(col)?.statistics;
        if (!s) return undefined;
        return { min: s.min_value ?? s.min, max: s.max_value ?? s.max };
      };
      if (!mayMatch(dnf, stats, (col, v) => toStored(types[read.indexOf(col)]!, v))) return;
      for (const c of columns) nbytes += Number(chunk(c)?.total_uncompressed_size ?? 0);
      const spec: ParquetReadSpec = { url: f.url, size: f.size, rowGroup: g, read, types, keep: columns, filters: dnf };
      tasks.push(new Task(DF.parquetRead, [spec]));
      token.push([f.url, f.size, g]);
    });
  });
  return {
    tasks,
    schema: { names: columns, types: columns.map((c) => types[read.indexOf(c)]!) },
    nbytes,
    token: [token, read, dnf],
  };
}

/** A filter value in the units a column's statistics are stored in (timestamps: counts of their unit; dates: days). */
function toStored(type: DType, v: unknown): unknown {
  const ms =
    v instanceof Date
      ? v.getTime()
      : typeof v === "string" && (isTimestamp(type) || type === "date32")
        ? Date.parse(v)
        : v;
  if (isTimestamp(type) && typeof ms === "number") return ms / MS_PER_UNIT[timestampUnit(type as TimestampType)];
  if (type === "date32" && typeof ms === "number") return ms / 86_400_000;
  return v;
}
