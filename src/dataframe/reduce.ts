// Reductions and groupby as trees of tasks: a partial per partition, merged `splitEvery` at a time,
// then the answers; with `splitOut`, each partial's groups are first spread over that many trees by
// the hash of their keys, so many groups end in several output partitions. Frame reductions are
// the same tree with no keys.

import { ArgumentError } from "../errors.js";
import { LayeredGraph, Task, TaskRef, type GraphNode } from "../graph/task.js";
import { columnFrom as columnFromValues, type Column } from "./column.js";
import { isInteger, isNumeric, isTimestamp, type DType } from "./dtypes.js";
import { DataFrame, token } from "./frame.js";
import { AGG_NAMES, type AggName, type AggPlan } from "./kernels/aggregate.js";
import { LazyValue } from "./lazy.js";
import { toArrow } from "./arrow.js";
import { Part, type Schema } from "./part.js";
import "./fuse.js"; // the read fused into the partials built here
import { DF } from "./register.js";
import type { Table } from "@uwdata/flechette";

export interface TreeOptions {
  /** Partials merged by one task (default 8, as dask's split_every for dataframes). */
  splitEvery?: number;
  /** Output partitions the groups are spread over (default 1). */
  splitOut?: number;
}

export const DEFAULT_SPLIT_EVERY = 8;

function checkTree(o: TreeOptions): { splitEvery: number; splitOut: number } {
  const splitEvery = o.splitEvery ?? DEFAULT_SPLIT_EVERY;
  const splitOut = o.splitOut ?? 1;
  if (!Number.isInteger(splitEvery) || splitEvery < 2)
    throw new ArgumentError(`splitEvery must be a whole number ≥ 2, got ${o.splitEvery}`);
  if (!Number.isInteger(splitOut) || splitOut < 1)
    throw new ArgumentError(`splitOut must be a whole number ≥ 1, got ${o.splitOut}`);
  return { splitEvery, splitOut };
}

/** The tree's tasks; returns the keys of the `splitOut` final tasks (each an aggregated partition). */
function aggTree(
  df: DataFrame,
  plan: AggPlan,
  name: string,
  layer: Map<string, GraphNode>,
  options: TreeOptions,
): string[] {
  const { splitEvery, splitOut } = checkTree(options);
  const partial = (i: number) => `${name}-p[${i}]`;
  for (let i = 0; i < df.npartitions; i++)
    layer.set(partial(i), new Task(DF.aggPartial, [new TaskRef(df.key(i)), plan]));
  const outs: string[] = [];
  for (let j = 0; j < splitOut; j++) {
    let level: string[] = [];
    for (let i = 0; i < df.npartitions; i++) {
      if (splitOut === 1) level.push(partial(i));
      else {
        const split = `${name}-s[${i}]`;
        if (!layer.has(split)) layer.set(split, new Task(DF.aggSplit, [new TaskRef(partial(i)), plan, splitOut]));
        const pick = `${name}-s[${i},${j}]`;
        layer.set(pick, new Task(DF.pick, [new TaskRef(split), j]));
        level.push(pick);
      }
    }
    let depth = 0;
    while (level.length > splitEvery) {
      const next: string[] = [];
      for (let g = 0; g < level.length; g += splitEvery) {
        const k = `${name}-c${depth}[${j},${g / splitEvery}]`;
        layer.set(k, new Task(DF.aggCombine, [level.slice(g, g + splitEvery).map((x) => new TaskRef(x)), plan]));
        next.push(k);
      }
      level = next;
      depth++;
    }
    const out = `${name}[${j}]`;
    layer.set(out, new Task(DF.aggFinal, [level.map((x) => new TaskRef(x)), plan]));
    outs.push(out);
  }
  return outs;
}

/** The output column type of an aggregation of a column of type `t`. */
function outType(agg: AggName, t: DType): DType {
  switch (agg) {
    case "count":
    case "size":
    case "nunique":
      return "int64";
    case "sum":
      return isInteger(t) || t === "bool" ? "int64" : "float64";
    case "mean":
    case "var":
    case "std":
      return "float64";
    default:
      return t;
  }
}

function checkAgg(agg: unknown, column: string, t: DType): AggName {
  if (!AGG_NAMES.includes(agg as AggName))
    throw new ArgumentError(
      `unknown aggregation ${JSON.stringify(agg)} for ${JSON.stringify(column)}; the aggregations are ${AGG_NAMES.join(", ")}`,
    );
  const numericOnly = agg === "sum" || agg === "mean" || agg === "var" || agg === "std";
  if (numericOnly && !(isNumeric(t) || t === "bool"))
    throw new ArgumentError(`cannot take the ${agg} of column ${JSON.stringify(column)} of type ${t}`);
  return agg as AggName;
}

// ---- whole-frame reductions: a LazyValue of { column: value } ----

/** A reduction's value for one column as JavaScript sees it: numbers, strings, booleans, Dates for timestamps, null where there is none. */
function jsValue(c: Column, i: number): unknown {
  if (!c.isValid(i)) return null;
  if (isTimestamp(c.type) || c.type === "date32") return new Date(c.get(i) as number);
  return c.get(i);
}

/** Columns a reduction applies to by default (pandas' numeric_only for sums and moments). */
function defaultColumns(df: DataFrame, agg: AggName): string[] {
  return df.schema.names.filter((_n, j) => {
    const t = df.schema.types[j]!;
    return agg === "sum" || agg === "mean" || agg === "var" || agg === "std" ? isNumeric(t) || t === "bool" : true;
  });
}

export function reduceFrame(
  df: DataFrame,
  agg: AggName,
  options: TreeOptions & { columns?: string[]; ddof?: number } = {},
): LazyValue<Record<string, unknown>> {
  const columns = options.columns ? df.checkColumns(options.columns, agg) : defaultColumns(df, agg);
  const plan: AggPlan = {
    keys: [],
    keyTypes: [],
    sort: false,
    outputs: columns.map((c) => ({
      name: c,
      column: c,
      type: df.typeOf(c),
      agg: checkAgg(agg, c, df.typeOf(c)),
      ...(options.ddof !== undefined ? { ddof: options.ddof } : {}),
    })),
  };
  const name = token(agg, df.name, plan, options.splitEvery ?? null);
  const layer = new Map<string, GraphNode>();
  const [out] = aggTree(df, plan, name, layer, { ...options, splitOut: 1 });
  return new LazyValue(
    LayeredGraph.merge([df.graph], name, layer),
    out!,
    (v) => {
      const p = v as Part;
      return Object.fromEntries(p.names.map((n, j) => [n, jsValue(p.columns[j]!, 0)]));
    },
    `${agg}`,
  );
}

/**
 * count, mean, std, min, 25%, 50%, 75% and max of the numeric columns, as a table with a
 * "statistic" column (pandas' describe). The moments come from the reduction tree; the quartiles
 * from per-partition sketches merged in one task (kernels/quantiles.ts: exact while a partition
 * holds at most SKETCH_SIZE values of a column, approximate past that, as dask's).
 */
export function describeFrame(df: DataFrame, options: TreeOptions = {}): LazyValue<Table> {
  const columns = df.schema.names.filter((_n, j) => isNumeric(df.schema.types[j]!));
  if (columns.length === 0)
    throw new ArgumentError(
      `describe needs a numeric column; the columns are ${df.schema.names.map((n, j) => `${n} (${df.schema.types[j]})`).join(", ")}`,
    );
  const moments: AggName[] = ["count", "mean", "std", "min", "max"];
  const QS = [0.25, 0.5, 0.75];
  const plan: AggPlan = {
    keys: [],
    keyTypes: [],
    sort: false,
    outputs: columns.flatMap((c) =>
      moments.map((s) => ({ name: `${c}\u0000${s}`, column: c, type: df.typeOf(c), agg: s })),
    ),
  };
  const name = token("describe", df.name, plan);
  const layer = new Map<string, GraphNode>();
  const [out] = aggTree(df, plan, name, layer, { ...options, splitOut: 1 });
  const sketches = Array.from({ length: df.npartitions }, (_, i) => {
    const k = `${name}-q[${i}]`;
    layer.set(k, new Task(DF.quantileSketch, [new TaskRef(df.key(i)), columns]));
    return new TaskRef(k);
  });
  layer.set(`${name}-quantiles`, new Task(DF.quantileMerge, [sketches, columns, QS]));
  layer.set(`${name}-all`, new Task("identity", [[new TaskRef(out!), new TaskRef(`${name}-quantiles`)]]));
  const stats = ["count", "mean", "std", "min", "25%", "50%", "75%", "max"];
  return new LazyValue(
    LayeredGraph.merge([df.graph], name, layer),
    `${name}-all`,
    (v) => {
      const [p, q] = v as [Part, Part];
      const rows: Record<string, unknown>[] = stats.map((s) => ({ statistic: s }));
      columns.forEach((c) => {
        moments.forEach((s) => (rows[stats.indexOf(s)]![c] = Number(jsValue(p.column(`${c}\u0000${s}`), 0) ?? NaN)));
        QS.forEach((_q, j) => (rows[4 + j]![c] = (q.column(c).values as Float64Array)[j]));
      });
      return toArrow(
        partFromRecords(rows, {
          statistic: "utf8",
          ...Object.fromEntries(columns.map((c) => [c, "float64" as DType])),
        }),
      );
    },
    "describe",
  );
}

/** Records into one partition with the given types. */
export function partFromRecords(rows: Record<string, unknown>[], types: Record<string, DType>): Part {
  const names = Object.keys(types);
  return new Part(
    names,
    names.map((n) =>
      columnFromValues(
        types[n]!,
        rows.map((r) => r[n]),
      ),
    ),
    rows.length,
  );
}

// ---- groupby ----

export type AggSpec = Record<string, AggName | AggName[]>;

export class GroupBy {
  /** @internal */
  constructor(
    readonly frame: DataFrame,
    readonly by: string[],
    private readonly sort: boolean,
  ) {}

  /**
   * Aggregations per group: `{ fare: "sum", perMile: ["mean", "max"] }`. A column with one
   * aggregation keeps its name; with a list, each output is `column_aggregation`. The result has
   * the keys first, one row per group (null keys left out, as pandas' dropna), sorted by the keys.
   */
  agg(spec: AggSpec, options: TreeOptions = {}): DataFrame {
    if (typeof spec !== "object" || spec === null || Array.isArray(spec))
      throw new ArgumentError(`agg takes { column: "mean" | ["mean", "max"] }, got ${JSON.stringify(spec)}`);
    const df = this.frame;
    df.checkColumns(Object.keys(spec), "agg");
    const outputs: AggPlan["outputs"] = [];
    for (const [column, a] of Object.entries(spec)) {
      const list = Array.isArray(a) ? a : [a];
      if (list.length === 0) throw new ArgumentError(`agg: no aggregation for ${JSON.stringify(column)}`);
      for (const agg of list) {
        const t = df.typeOf(column);
        outputs.push({
          name: Array.isArray(a) ? `${column}_${agg}` : column,
          column,
          type: t,
          agg: checkAgg(agg, column, t),
        });
      }
    }
    return this.build(outputs, options);
  }

  /** @internal */
  build(outputs: AggPlan["outputs"], options: TreeOptions): DataFrame {
    const df = this.frame;
    const names = [...this.by, ...outputs.map((o) => o.name)];
    const dupes = names.filter((n, i) => names.indexOf(n) !== i);
    if (dupes.length > 0)
      throw new ArgumentError(`the result would have two columns named ${JSON.stringify(dupes[0])}`);
    const plan: AggPlan = { keys: this.by, keyTypes: this.by.map((k) => df.typeOf(k)), sort: this.sort, outputs };
    const name = token("groupby-agg", df.name, plan, options.splitEvery ?? null, options.splitOut ?? 1);
    const layer = new Map<string, GraphNode>();
    const outs = aggTree(df, plan, name, layer, options);
    const schema: Schema = { names, types: [...plan.keyTypes, ...outputs.map((o) => outType(o.agg, o.type))] };
    // The final tasks are the partitions (keys name[j]).
    return new DataFrame(LayeredGraph.merge([df.graph], name, layer), name, outs.length, schema);
  }

  private all(agg: AggName, options: TreeOptions & { ddof?: number }): DataFrame {
    const cols = this.frame.schema.names.filter(
      (n, j) =>
        !this.by.includes(n) &&
        (agg === "sum" || agg === "mean" || agg === "var" || agg === "std"
          ? isNumeric(this.frame.schema.types[j]!) || this.frame.schema.types[j] === "bool"
          : true),
    );
    return this.build(
      cols.map((c) => ({
        name: c,
        column: c,
        type: this.frame.typeOf(c),
        agg,
        ...(options.ddof !== undefined ? { ddof: options.ddof } : {}),
      })),
      options,
    );
  }

  sum(options: TreeOptions = {}): DataFrame {
    return this.all("sum", options);
  }
  mean(options: TreeOptions = {}): DataFrame {
    return this.all("mean", options);
  }
  count(options: TreeOptions = {}): DataFrame {
    return this.all("count", options);
  }
  min(options: TreeOptions = {}): DataFrame {
    return this.all("min", options);
  }
  max(options: TreeOptions = {}): DataFrame {
    return this.all("max", options);
  }
  /** Variance with `ddof` (default 1, as pandas). */
  var(options: TreeOptions & { ddof?: number } = {}): DataFrame {
    return this.all("var", options);
  }
  std(options: TreeOptions & { ddof?: number } = {}): DataFrame {
    return this.all("std", options);
  }
  nunique(options: TreeOptions = {}): DataFrame {
    return this.all("nunique", options);
  }
  /** Rows per group, as a column "size". */
  size(options: TreeOptions = {}): DataFrame {
    return this.build(
      [{ name: "size", column: this.by[0]!, type: this.frame.typeOf(this.by[0]!), agg: "size" }],
      options,
    );
  }
}

export function groupby(df: DataFrame, by: string | string[], options: { sort?: boolean } = {}): GroupBy {
  const keys = df.checkColumns(by, "groupby");
  if (keys.length === 0) throw new ArgumentError("groupby needs at least one key column");
  return new GroupBy(df, keys, options.sort ?? true);
}

/** How often each value of `column` occurs: columns [column, "count"], most frequent first (ties by value), nulls left out. */
export function valueCounts(df: DataFrame, column: string, options: TreeOptions = {}): DataFrame {
  df.checkColumns([column], "valueCounts");
  const sized = new GroupBy(df, [column], false).build(
    [{ name: "count", column, type: df.typeOf(column), agg: "size" }],
    options,
  );
  return sized.partitionwise(
    "value-counts-sort",
    DF.sort,
    [
      ["count", column],
      [false, true],
    ],
    sized.schema,
  );
}

/** Rows whose `subset` values (default all columns) appeared before dropped, first occurrences kept in order. */
export function dropDuplicates(df: DataFrame, options: TreeOptions & { subset?: string[] } = {}): DataFrame {
  const subset = options.subset ? df.checkColumns(options.subset, "dropDuplicates") : null;
  const { splitEvery, splitOut } = checkTree(options);
  const name = token("drop-duplicates", df.name, subset, splitEvery, splitOut);
  const layer = new Map<string, GraphNode>();
  const keyCols = subset ?? df.schema.names.slice();
  for (let i = 0; i < df.npartitions; i++)
    layer.set(`${name}-p[${i}]`, new Task(DF.distinct, [new TaskRef(df.key(i)), subset]));
  const outs: string[] = [];
  for (let j = 0; j < splitOut; j++) {
    let level = Array.from({ length: df.npartitions }, (_, i) => {
      if (splitOut === 1) return `${name}-p[${i}]`;
      const split = `${name}-s[${i}]`;
      if (!layer.has(split)) layer.set(split, new Task(DF.split, [new TaskRef(`${name}-p[${i}]`), keyCols, splitOut]));
      const pick = `${name}-s[${i},${j}]`;
      layer.set(pick, new Task(DF.pick, [new TaskRef(split), j]));
      return pick;
    });
    let depth = 0;
    while (level.length > splitEvery) {
      const next: string[] = [];
      for (let g = 0; g < level.length; g += splitEvery) {
        const k = `${name}-c${depth}[${j},${g / splitEvery}]`;
        layer.set(k, new Task(DF.distinct, [level.slice(g, g + splitEvery).map((x) => new TaskRef(x)), subset]));
        next.push(k);
      }
      level = next;
      depth++;
    }
    layer.set(`${name}[${j}]`, new Task(DF.distinct, [level.map((x) => new TaskRef(x)), subset]));
    outs.push(`${name}[${j}]`);
  }
  return new DataFrame(LayeredGraph.merge([df.graph], name, layer), name, outs.length, df.schema);
}
