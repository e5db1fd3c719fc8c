// Which grouped folds absorb the Zarr read that feeds them (graph/optimize.ts's fusion): sums,
// means and counts along the first axis of float values (air.groupby("time.month").mean()), which
// zarr-group.ts computes while decoding. Only metadata is looked at here, on the client.

import { registerFuser } from "../graph/builtins.js";
import { Task, TaskRef } from "../graph/task.js";
import { IO } from "../io/register.js";
import type { ZarrReadSpec } from "../io/zarr-chunks.js";
import { rowsReadable } from "../io/zarr-fuse.js";
import { XK, type GroupChunkSpec } from "./kernels.js";

/** The folds that are sums of each group's rows (var and std need a second pass over the values). */
const SUMS = new Set<GroupChunkSpec["op"]>(["sum", "mean", "count"]);

/** The grouped fold of a Zarr read, as one task, where it is a sum along the first axis of float values as read. */
export function fuseZarrGroups(consumer: Task, inputKey: string, producer: Task): Task | null {
  if (producer.fn !== IO.zarrRead || consumer.args.length !== 2) return null;
  const [spec, input] = consumer.args as [GroupChunkSpec, unknown];
  const read = producer.args[0] as ZarrReadSpec;
  if (!(input instanceof TaskRef) || input.key !== inputKey || spec.axis !== 0 || !SUMS.has(spec.op) || !rowsReadable(read)) return null;
  return new Task(XK.groupChunkZarr, [spec, read]);
}

registerFuser(XK.groupChunk, fuseZarrGroups);
