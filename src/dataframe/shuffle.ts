// Shuffles as task graphs (dask's "tasks" shuffle): a split task per input partition cuts it into
// k pieces (by the hash of its keys, or by ranges of sort keys), a pick task per (input, piece)
// names each piece, and an output task per piece joins its piece of every split. Pieces move from
// the worker of their split to the worker of their output over the data plane; the client only
// sends the graph. n·k pick tasks: one stage, not dask's staged shuffle (see MAX_SHUFFLE_PIECES).

import { ArgumentError } from "../errors.js";
import { parseBytes } from "../util/bytes.js";
import { LayeredGraph, Task, TaskRef, type GraphNode } from "../graph/task.js";
import type { ComputeOptions } from "../graph/collection.js";
import { DataFrame, token } from "./frame.js";
import { LazyValue } from "./lazy.js";
import type { Part } from "./part.js";
import "./fuse.js"; // the read fused into the sort's sample and split
import { DF } from "./register.js";

/**
 * The most pieces (inputs × outputs) a shuffle makes in one stage. Each piece is a task the
 * scheduler holds (~876 bytes each, docs/BENCHMARKS.md), so 10⁵ pieces are ~90 MB of scheduler
 * memory and as many small transfers; dask switches to a staged shuffle around there
 * (`max_branch`). Past it meshwork refuses with a message rather than build a graph that slow.
 */
export const MAX_SHUFFLE_PIECES = 100_000;

/**
 * Rows each input partition contributes to the sample the sort's bounds are chosen from (dask
 * takes quantiles of ~100 points per partition): each sample row stands for 1/128 of its
 * partition's rows, which is how finely the bounds can cut, and the sample stays a few kB.
 */
export const SORT_SAMPLES_PER_PARTITION = 128;

function checkPieces(df: DataFrame, k: number, what: string): void {
  if (!Number.isInteger(k) || k < 1)
    throw new ArgumentError(`${what}: npartitions must be a whole number ≥ 1, got ${k}`);
  if (df.npartitions * k > MAX_SHUFFLE_PIECES) {
    throw new ArgumentError(
      `${what}: ${df.npartitions} partitions into ${k} make ${df.npartitions * k} pieces, more than the ${MAX_SHUFFLE_PIECES} (MAX_SHUFFLE_PIECES) a one-stage shuffle makes; repartition to fewer, bigger partitions first`,
    );
  }
}

/**
 * The graph of a shuffle: `split(i)` is the task cutting partition i into k pieces (a list);
 * output j is `final(pieces j of every split)`.
 */
function shuffleGraph(
  df: DataFrame,
  name: string,
  k: number,
  split: (i: number) => Task,
  final: (pieces: TaskRef[]) => Task,
): LayeredGraph {
  const layer = new Map<string, GraphNode>();
  const pieces: TaskRef[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < df.npartitions; i++) {
    const s = `${name}-split[${i}]`;
    layer.set(s, split(i));
    for (let j = 0; j < k; j++) {
      const p = `${name}-piece[${i},${j}]`;
      layer.set(p, new Task(DF.pick, [new TaskRef(s), j]));
      pieces[j]!.push(new TaskRef(p));
    }
  }
  for (let j = 0; j < k; j++) layer.set(`${name}[${j}]`, final(pieces[j]!));
  return LayeredGraph.merge([df.graph], name, layer);
}

/**
 * The frame's rows in `k` partitions by the hash of their `on` columns (FNV-1a of the key's text,
 * the same for equal keys of any integer or float type; rows with a null key go together): equal
 * keys end in the same partition. Rows keep their order within a partition's piece; pieces are
 * joined in the order of the input partitions.
 */
export function hashShuffle(df: DataFrame, on: string[], k: number): DataFrame {
  checkPieces(df, k, "shuffle");
  df.checkColumns(on, "shuffle");
  const name = token("shuffle", df.name, on, k);
  const graph = shuffleGraph(
    df,
    name,
    k,
    (i) => new Task(DF.split, [new TaskRef(df.key(i)), on, k]),
    (pieces) => new Task(DF.concat, [pieces]),
  );
  return new DataFrame(graph, name, k, df.schema, null, df.nbytes);
}

export interface SortOptions extends ComputeOptions {
  /** Ascending (default true): one for all columns or one per column. */
  ascending?: boolean | boolean[];
  /** Output partitions (default: the input's); fewer when the data has fewer distinct sort keys. */
  npartitions?: number;
}

/**
 * Sorted by `by` (stable; nulls and NaN last, as pandas' na_position="last"): the divisions are
 * computed now (a sample of every partition, one small compute), then a range shuffle sends each
 * row to the partition whose range holds it and each output partition is sorted.
 */
export async function sortValues(
  df: DataFrame,
  byIn: string | string[],
  options: SortOptions = {},
  index: string | null = null,
): Promise<DataFrame> {
  const what = index === null ? "sortValues" : "setIndex";
  const by = df.checkColumns(byIn, what);
  if (by.length === 0)
    throw new ArgumentError(`${what} needs at least one column; the columns are ${df.columns.join(", ")}`);
  const asc = options.ascending ?? true;
  const ascending = Array.isArray(asc) ? asc : by.map(() => asc);
  if (ascending.length !== by.length || ascending.some((a) => typeof a !== "boolean"))
    throw new ArgumentError(
      `${what}: ascending is a boolean or one boolean per column (${by.length}), got ${JSON.stringify(options.ascending)}`,
    );
  const k = options.npartitions ?? df.npartitions;
  checkPieces(df, k, what);

  // The divisions, now: a sample of each partition, joined into bounds by one task.
  const sname = token("sort-sample", df.name, by, ascending, k);
  const slayer = new Map<string, GraphNode>();
  for (let i = 0; i < df.npartitions; i++)
    slayer.set(
      `${sname}[${i}]`,
      new Task(DF.sortSample, [new TaskRef(df.key(i)), by, ascending, SORT_SAMPLES_PER_PARTITION]),
    );
  slayer.set(sname, new Task(DF.sortBounds, [[...slayer.keys()].map((x) => new TaskRef(x)), by, ascending, k]));
  const { ascending: _ascending, npartitions: _npartitions, ...computeOptions } = options;
  const found = await new LazyValue<{ bounds: Part; first: Part; last: Part }>(
    LayeredGraph.merge([df.graph], sname, slayer),
    sname,
    (v) => v as { bounds: Part; first: Part; last: Part },
    what,
  ).compute(computeOptions);
  const bounds = found.bounds;

  // The bounds are part of the name: the same frame over other data (a file rewritten) gets other keys.
  const boundValues = Array.from({ length: bounds.length }, (_, j) => by.map((b) => String(bounds.column(b).raw(j))));
  const name = token(index === null ? "sort" : "set-index", df.name, by, ascending, k, boundValues);
  const graph = shuffleGraph(
    df,
    name,
    bounds.length + 1,
    (i) => new Task(DF.rangeSplit, [new TaskRef(df.key(i)), by, ascending, bounds]),
    (pieces) => new Task(DF.sortParts, [pieces, by, ascending]),
  );
  // Divisions (dask's): where one ascending column is sorted, partition j holds values in
  // [divisions[j], divisions[j+1]) (the last one up to and including its end, then the nulls).
  let divisions: unknown[] | null = null;
  if (by.length === 1 && ascending[0] && found.first.length > 0) {
    const col = (p: Part, i: number) => divisionValue(p, by[0]!, i);
    divisions = [
      col(found.first, 0),
      ...Array.from({ length: bounds.length }, (_, j) => col(bounds, j)),
      col(found.last, 0),
    ];
  }
  const sorted = new DataFrame(
    graph,
    name,
    bounds.length + 1,
    df.schema,
    divisions,
    df.nbytes,
    divisions ? by[0]! : null,
  );
  if (index === null) return sorted;
  // setIndex: the index column first, as pandas prints an index before the columns.
  return sorted.select([index, ...df.columns.filter((c) => c !== index)]);
}

/** A division as the user sees values: numbers, strings, booleans, Dates for timestamps and dates. */
function divisionValue(p: Part, name: string, i: number): unknown {
  const c = p.column(name);
  const v = c.get(i);
  return c.type === "date32" || c.type.startsWith("timestamp") ? new Date(v as number) : v;
}

export interface RepartitionOptions {
  /** The number of partitions wanted. */
  npartitions: number;
}

export interface RepartitionBySizeOptions extends ComputeOptions {
  /** Bytes a partition should hold at most (its buffers): a number or "100MB", "64 MiB" … */
  partitionSize: number | string;
}

/**
 * Partitions of about `partitionSize` bytes, in order: the partitions' sizes are computed now (one
 * small compute, as dask's `repartition(partition_size=…)`), then neighbours are joined while
 * they fit and bigger partitions are cut into even pieces by rows.
 */
export async function repartitionBySize(df: DataFrame, options: RepartitionBySizeOptions): Promise<DataFrame> {
  const target = parseBytes(options.partitionSize);
  if (target < 1)
    throw new ArgumentError(
      `repartition: partitionSize must be at least one byte, got ${JSON.stringify(options.partitionSize)}`,
    );
  const sname = token("partition-sizes", df.name);
  const slayer = new Map<string, GraphNode>();
  for (let i = 0; i < df.npartitions; i++) slayer.set(`${sname}[${i}]`, new Task(DF.nbytes, [new TaskRef(df.key(i))]));
  slayer.set(sname, new Task("identity", [[...slayer.keys()].map((k) => new TaskRef(k))]));
  const { partitionSize: _size, ...computeOptions } = options;
  const sizes = await new LazyValue<number[]>(
    LayeredGraph.merge([df.graph], sname, slayer),
    sname,
    (v) => v as number[],
    "partition sizes",
  ).compute(computeOptions);

  // Each output: a run of whole inputs, or one piece of an input cut in `of` pieces.
  const outs: ({ inputs: number[] } | { input: number; piece: number; of: number })[] = [];
  let run: number[] = [];
  let runBytes = 0;
  const flush = () => {
    if (run.length > 0) outs.push({ inputs: run });
    run = [];
    runBytes = 0;
  };
  sizes.forEach((size, i) => {
    if (size > target) {
      flush();
      const of = Math.ceil(size / target);
      for (let piece = 0; piece < of; piece++) outs.push({ input: i, piece, of });
      return;
    }
    if (run.length > 0 && runBytes + size > target) flush();
    run.push(i);
    runBytes += size;
  });
  flush();
  if (outs.length === 0) outs.push({ inputs: [0] });

  const name = token("repartition-size", df.name, target);
  const layer = new Map<string, GraphNode>();
  outs.forEach((o, j) => {
    if ("inputs" in o) {
      const ins = o.inputs.map((i) => new TaskRef(df.key(i)));
      layer.set(`${name}[${j}]`, ins.length === 1 ? new Task("identity", [ins[0]]) : new Task(DF.concat, [ins]));
    } else {
      const split = `${name}-split[${o.input}]`;
      if (!layer.has(split)) layer.set(split, new Task(DF.splitRows, [new TaskRef(df.key(o.input)), o.of]));
      layer.set(`${name}[${j}]`, new Task(DF.pick, [new TaskRef(split), o.piece]));
    }
  });
  return new DataFrame(LayeredGraph.merge([df.graph], name, layer), name, outs.length, df.schema, null, df.nbytes);
}

/**
 * The same rows in `npartitions` partitions, in order: fewer by joining neighbours (divisions
 * kept where they fall between the groups), more by cutting each partition into pieces of even
 * row counts (divisions then unknown). No rows move between workers except to be joined.
 */
export function repartition(df: DataFrame, options: RepartitionOptions): DataFrame {
  const m = options?.npartitions;
  if (!Number.isInteger(m) || m < 1)
    throw new ArgumentError(`repartition takes { npartitions } as a whole number ≥ 1, got ${JSON.stringify(options)}`);
  const n = df.npartitions;
  const name = token("repartition", df.name, m);
  const layer = new Map<string, GraphNode>();
  const out = (j: number) => `${name}[${j}]`;
  let divisions: unknown[] | null = null;
  if (m <= n) {
    const starts = Array.from({ length: m + 1 }, (_, j) => Math.floor((j * n) / m));
    for (let j = 0; j < m; j++) {
      const ins = Array.from({ length: starts[j + 1]! - starts[j]! }, (_, t) => new TaskRef(df.key(starts[j]! + t)));
      layer.set(out(j), ins.length === 1 ? new Task("identity", [ins[0]]) : new Task(DF.concat, [ins]));
    }
    if (df.divisions) divisions = starts.map((s) => df.divisions![s]);
  } else {
    let j = 0;
    for (let i = 0; i < n; i++) {
      const count = Math.floor(((i + 1) * m) / n) - Math.floor((i * m) / n);
      const s = `${name}-split[${i}]`;
      layer.set(s, new Task(DF.splitRows, [new TaskRef(df.key(i)), count]));
      for (let t = 0; t < count; t++) layer.set(out(j++), new Task(DF.pick, [new TaskRef(s), t]));
    }
  }
  return new DataFrame(
    LayeredGraph.merge([df.graph], name, layer),
    name,
    m,
    df.schema,
    divisions,
    df.nbytes,
    divisions ? df.index : null,
  );
}
