// Which dataframe tasks absorb the Parquet read that feeds them (graph/optimize.ts's fusion): a
// groupby's or reduction's partial and a join's partition. One task reads its row group and goes
// on with the partition where it is, so the partition read is never a result of its own: it is not
// measured, held until its consumer has run, or turned back into bytes, and a string column read
// as dictionary codes can stay codes (a groupby by it never gathers its bytes). Only the graph is
// looked at here, on the client.

import { registerFuser } from "../graph/builtins.js";
import { Task, TaskRef } from "../graph/task.js";
import { DF } from "./register.js";

/** Consumers that may take a read partition as their first argument, by builtin name → their key in the kernels. */
const ABSORBS: Record<string, "aggPartial" | "merge"> = {
  [DF.aggPartial]: "aggPartial",
  [DF.merge]: "merge",
};

/** The consumer with the read done in it: `readThen(spec, kernel, ...the consumer's other arguments)`. */
export function fuseParquetRead(consumer: Task, inputKey: string, producer: Task): Task | null {
  const kernel = typeof consumer.fn === "string" ? ABSORBS[consumer.fn] : undefined;
  if (kernel === undefined || producer.fn !== DF.parquetRead || consumer.via !== undefined) return null;
  const [first, ...rest] = consumer.args;
  // Only as the first argument, and only there (a self-join reads the same partition twice).
  if (!(first instanceof TaskRef) || first.key !== inputKey || consumer.deps.filter((d) => d === inputKey).length !== 1)
    return null;
  if (rest.some((a) => a instanceof TaskRef && a.key === inputKey)) return null;
  return new Task(DF.readThen, [producer.args[0], kernel, ...rest]);
}

for (const fn of Object.keys(ABSORBS)) registerFuser(fn, fuseParquetRead);
