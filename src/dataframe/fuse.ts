// Which dataframe tasks absorb the Parquet read that feeds them (graph/optimize.ts's fusion): a
// groupby's or reduction's partial, and a sort's sample (which reads only the sort columns) and
// range split. One task reads its row group and goes
// on with the partition where it is, so the partition read is never a result of its own: it is not
// measured, held until its consumer has run, or turned back into bytes, and a string column read
// as dictionary codes can stay codes (a groupby by it never gathers its bytes). Only the graph is
// looked at here, on the client.

import { registerFuser } from "../graph/builtins.js";
import { Task, TaskRef } from "../graph/task.js";
import type { ParquetReadSpec } from "./io/parquet.js";
import { DF } from "./register.js";

/** Consumers that may take a read partition as their first argument, by builtin name → their key in the kernels. */
const ABSORBS: Record<string, ReadThenKernel> = {
  [DF.aggPartial]: "aggPartial",
  [DF.sortSample]: "sortSample",
  [DF.rangeSplit]: "rangeSplit",
};

// Not a join's partition: fused, it would depend only on the broadcast side, which one worker
// holds, so placement would favour that worker for every partition instead of following the reads.
export type ReadThenKernel = "aggPartial" | "sortSample" | "rangeSplit";

/** The consumer with the read done in it: `readThen(spec, kernel, ...the consumer's other arguments)`. */
export function fuseParquetRead(consumer: Task, inputKey: string, producer: Task): Task | null {
  const kernel = typeof consumer.fn === "string" ? ABSORBS[consumer.fn] : undefined;
  if (kernel === undefined || producer.fn !== DF.parquetRead || consumer.via !== undefined) return null;
  const [first, ...rest] = consumer.args;
  // Only as the first argument, and only there (a self-join reads the same partition twice).
  if (!(first instanceof TaskRef) || first.key !== inputKey || consumer.deps.filter((d) => d === inputKey).length !== 1)
    return null;
  if (rest.some((a) => a instanceof TaskRef && a.key === inputKey)) return null;
  let spec = producer.args[0] as ParquetReadSpec;
  if (kernel === "sortSample") spec = onlyColumns(spec, rest[0] as string[]);
  return new Task(DF.readThen, [spec, kernel, ...rest]);
}

/** The read narrowed to `columns` when it has no filters (whose columns it must read) and keeps them all. */
function onlyColumns(spec: ParquetReadSpec, columns: string[]): ParquetReadSpec {
  if (spec.filters.length > 0 || !columns.every((c) => spec.keep.includes(c) && spec.read.includes(c))) return spec;
  return { ...spec, read: columns, types: columns.map((c) => spec.types[spec.read.indexOf(c)]!), keep: columns };
}

for (const fn of Object.keys(ABSORBS)) registerFuser(fn, fuseParquetRead);
