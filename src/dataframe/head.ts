// Looking at a frame without computing all of it: head takes partitions in growing batches until
// it has its rows; len counts each partition's rows where it is and sums the counts.

import type { Table } from "@uwdata/flechette";
import { ArgumentError } from "../errors.js";
import type { ComputeOptions } from "../graph/collection.js";
import { LayeredGraph, Task, TaskRef, type GraphNode } from "../graph/task.js";
import { toArrow } from "./arrow.js";
import type { DataFrame } from "./frame.js";
import { LazyValue } from "./lazy.js";
import { Part } from "./part.js";
import { DF } from "./register.js";
import { token } from "./token.js";

/** The first `n` rows (default 5) as an Arrow Table, computing only the partitions it takes. */
export async function head(df: DataFrame, n: number, options?: ComputeOptions): Promise<Table> {
  if (!Number.isInteger(n) || n < 0) throw new ArgumentError(`head takes a whole number of rows, got ${n}`);
  const got: Part[] = [];
  let rows = 0;
  let next = 0;
  let batch = 1;
  while (rows < n && next < df.npartitions) {
    const upto = Math.min(df.npartitions, next + batch);
    const name = token("head", df.name, n, next, upto);
    const layer = new Map<string, GraphNode>();
    for (let i = next; i < upto; i++) layer.set(`${name}[${i}]`, new Task(DF.head, [new TaskRef(df.key(i)), n]));
    layer.set(name, new Task(DF.concat, [[...layer.keys()].map((k) => new TaskRef(k))]));
    const p = await new LazyValue<Part>(
      LayeredGraph.merge([df.graph], name, layer),
      name,
      (v) => v as Part,
      "head",
    ).compute(options);
    got.push(p);
    rows += p.length;
    next = upto;
    batch *= 4;
  }
  return toArrow(Part.concat(got, df.schema).slice(0, n));
}

/** The number of rows (computed now). */
export async function len(df: DataFrame, options?: ComputeOptions): Promise<number> {
  const name = token("len", df.name);
  const layer = new Map<string, GraphNode>();
  for (let i = 0; i < df.npartitions; i++) layer.set(`${name}[${i}]`, new Task(DF.len, [new TaskRef(df.key(i))]));
  layer.set(name, new Task(DF.sum, [[...layer.keys()].map((k) => new TaskRef(k))]));
  return new LazyValue<number>(LayeredGraph.merge([df.graph], name, layer), name, (v) => v as number, "len").compute(
    options,
  );
}
