// How `df.filter(expr).len()` and `readParquet(…).len()` become one task per partition when the
// graph is optimized (graph/optimize.ts): the length task absorbs the filter (filter-len counts
// the rows the filter keeps, with the filter's loop in its counting mode, without making them),
// and a count absorbs the Parquet read (parquet-count reads only the filter's column and counts
// it page by page, or takes the length from the footer): io/parquet-count.ts.

import { registerFuser } from "../graph/builtins.js";
import { Task, TaskRef } from "../graph/task.js";

interface Names {
  len: string;
  filter: string;
  filterLen: string;
  parquetRead: string;
  parquetCount: string;
}

/** Whether `task` calls builtin `fn` with `arity` arguments, the first the result of `inputKey` when given. */
function isCall(task: Task, fn: string, arity: number, inputKey?: string): boolean {
  if (task.fn !== fn || task.via !== undefined || task.args.length !== arity) return false;
  if (inputKey === undefined) return true;
  const first = task.args[0];
  return first instanceof TaskRef && first.key === inputKey;
}

export function registerCountFusers(DF: Names): void {
  // One fuser for both consumers: optimize.ts keeps calling the fuser found for the task it
  // started from, so a length that has absorbed a filter must still find the read.
  const fuser = (consumer: Task, inputKey: string, producer: Task): Task | null => {
    if (isCall(consumer, DF.len, 1, inputKey)) {
      if (isCall(producer, DF.filter, 2) && producer.args[0] instanceof TaskRef)
        return new Task(DF.filterLen, [producer.args[0], producer.args[1]]);
      if (isCall(producer, DF.parquetRead, 1)) return new Task(DF.parquetCount, [producer.args[0], null]);
    } else if (isCall(consumer, DF.filterLen, 2, inputKey) && isCall(producer, DF.parquetRead, 1))
      return new Task(DF.parquetCount, [producer.args[0], consumer.args[1]]);
    return null;
  };
  registerFuser(DF.len, fuser);
  registerFuser(DF.filterLen, fuser);
}
