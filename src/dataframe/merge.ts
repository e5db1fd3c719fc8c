// Joins. Stage 1 has the broadcast join: the small side (one partition, or small enough by what
// its metadata says, or asked for) is joined into one partition if it has several and sent to the
// tasks of the big side, which join partition by partition. Hash-shuffle joins of two big frames
// (and right/outer joins) come with the shuffles of stage 2; asking for them says so.

import { ArgumentError, NotSupportedError, SchemaError } from "../errors.js";
import { LayeredGraph, Task, TaskRef, type GraphNode } from "../graph/task.js";
import { DataFrame, token } from "./frame.js";
import type { MergeSpec } from "./kernels/merge.js";
import { DF } from "./register.js";

export interface MergeOptions {
  /** Key columns with the same names on both sides. */
  on?: string | string[];
  leftOn?: string | string[];
  rightOn?: string | string[];
  /** "inner" (default) or "left"; "right" and "outer" need the shuffle joins of stage 2. */
  how?: "inner" | "left" | "right" | "outer";
  /** Suffixes for columns both sides have (default ["_x", "_y"], as pandas). */
  suffixes?: [string, string];
  /** Broadcast the right side even when it is big (it is joined into one partition first). */
  broadcast?: boolean;
}

/**
 * The largest right side broadcast without being asked, when its size is known from metadata
 * (Parquet's uncompressed sizes, an Arrow table's buffers): every task of the left side receives
 * it, so it should fit many times in a worker's memory. dask's default is a partition count (≤ 1
 * partition, or `broadcast=True`); a byte figure fits frames read from files better.
 */
export const BROADCAST_MAX_BYTES = 64 * 1024 * 1024;

const list = (v: string | string[] | undefined): string[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);

export function merge(left: DataFrame, right: DataFrame, options: MergeOptions = {}): DataFrame {
  if (!(right instanceof DataFrame)) throw new ArgumentError("merge joins two DataFrames: left.merge(right, { on })");
  const how = options.how ?? "inner";
  if (how === "right" || how === "outer") {
    throw new NotSupportedError(`merge how: "${how}" needs a hash-shuffle join, which meshwork/dataframe does not have yet (stage 2 of issue 17); inner and left joins broadcast a small right side. For a right join, swap the frames and use how: "left"`);
  }
  if (how !== "inner" && how !== "left") throw new ArgumentError(`merge how is "inner" or "left" (right and outer come later), got ${JSON.stringify(how)}`);
  let leftOn = list(options.leftOn ?? options.on);
  let rightOn = list(options.rightOn ?? options.on);
  if (options.on !== undefined && (options.leftOn !== undefined || options.rightOn !== undefined)) throw new ArgumentError("merge takes either on or leftOn/rightOn, not both");
  if (!leftOn || !rightOn) {
    // pandas' default: the columns both sides have.
    const common = left.schema.names.filter((n) => right.schema.names.includes(n));
    if (common.length === 0) throw new ArgumentError(`merge: no key columns given and the frames share none (left: ${left.columns.join(", ")}; right: ${right.columns.join(", ")})`);
    leftOn = rightOn = common;
  }
  left.checkColumns(leftOn, "merge (left side)");
  right.checkColumns(rightOn, "merge (right side)");
  if (leftOn.length !== rightOn.length) throw new ArgumentError(`merge: ${leftOn.length} left keys and ${rightOn.length} right keys`);
  leftOn.forEach((l, k) => {
    const lt = left.typeOf(l);
    const rt = right.typeOf(rightOn![k]!);
    if (lt !== rt) throw new SchemaError(`merge on columns of different types: left ${JSON.stringify(l)} is ${lt}, right ${JSON.stringify(rightOn![k])} is ${rt}; convert one with astype({ ${JSON.stringify(rightOn![k])}: "${lt}" }) first`);
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
  if (dupes.length > 0) throw new ArgumentError(`merge would give two columns the name ${JSON.stringify(dupes[0])}; choose other suffixes`);
  const spec: MergeSpec = { how, leftOn, rightOn, leftNames, rightColumns, rightNames };
  const schema = { names: all, types: [...left.schema.types, ...rightColumns.map((n) => right.typeOf(n))] };

  const small = right.npartitions <= 1 || options.broadcast === true || (right.nbytes !== undefined && right.nbytes <= BROADCAST_MAX_BYTES);
  if (!small) {
    throw new NotSupportedError(
      `merge: the right side has ${right.npartitions} partitions${right.nbytes === undefined ? " of unknown size" : ` and about ${Math.round(right.nbytes / 1e6)} MB`}, and hash-shuffle joins of two large frames are not in meshwork/dataframe yet (stage 2 of issue 17). ` +
        `It broadcasts a right side of one partition or of at most ${BROADCAST_MAX_BYTES / 2 ** 20} MiB; pass { broadcast: true } to broadcast this one anyway (each task then holds all of it).`,
    );
  }
  const name = token("merge", left.name, right.name, spec);
  const layer = new Map<string, GraphNode>();
  let rightKey = right.key(0);
  if (right.npartitions !== 1) {
    rightKey = `${name}-right`;
    layer.set(rightKey, new Task(DF.concat, [right.keys().map((k) => new TaskRef(k))]));
  }
  const out = new DataFrame(LayeredGraph.merge([left.graph, right.graph], name, layer), name, left.npartitions, schema);
  for (let i = 0; i < left.npartitions; i++) layer.set(out.key(i), new Task(DF.merge, [new TaskRef(left.key(i)), new TaskRef(rightKey), spec]));
  return out;
}
