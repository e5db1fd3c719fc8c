// Which grouped tasks absorb the Zarr read that feeds them (graph/optimize.ts's fusion): sums,
// means and counts along the first axis of float values (air.groupby("time.month").mean()), and
// arithmetic with a group's row of another array along it (air.groupby("time.month").sub(clim)),
// which zarr-group.ts does while decoding; and an elementwise program over that arithmetic's rows
// (the anomaly's mean over lat and lon), run on each row while it is in the cache. Only metadata is
// looked at here, on the client.

import type { Program } from "../array/kernels/expr.js";
import { K } from "../array/kernels/register.js";
import { registerFuser } from "../graph/builtins.js";
import { Task, TaskRef } from "../graph/task.js";
import { IO } from "../io/register.js";
import type { ZarrReadSpec } from "../io/zarr-chunks.js";
import { rowsReadable } from "../io/zarr-fuse.js";
import { XK, type GroupBinarySpec, type GroupChunkSpec } from "./kernels.js";

/** The folds that are sums of each group's rows (var and std need a second pass over the values). */
const SUMS = new Set<GroupChunkSpec["op"]>(["sum", "mean", "count"]);

/** The grouped fold of a Zarr read, as one task, where it is a sum along the first axis of float values as read. */
export function fuseZarrGroups(consumer: Task, inputKey: string, producer: Task): Task | null {
  if (producer.fn !== IO.zarrRead || consumer.args.length !== 2) return null;
  const [spec, input] = consumer.args as [GroupChunkSpec, unknown];
  const read = producer.args[0] as ZarrReadSpec;
  if (
    !(input instanceof TaskRef) ||
    input.key !== inputKey ||
    spec.axis !== 0 ||
    !SUMS.has(spec.op) ||
    !rowsReadable(read)
  )
    return null;
  return new Task(XK.groupChunkZarr, [spec, read]);
}

registerFuser(XK.groupChunk, fuseZarrGroups);

/** The arithmetic done while decoding (the other operand's type is checked on the worker). */
const ARITHMETIC = new Set<GroupBinarySpec["op"]>(["add", "sub", "mul", "div"]);

/** Grouped arithmetic on a Zarr read (its first operand), as one task, along the first axis of float values kept in their type. */
export function fuseZarrGroupBinary(consumer: Task, inputKey: string, producer: Task): Task | null {
  if (producer.fn !== IO.zarrRead || consumer.args.length !== 3) return null;
  const [spec, input, other] = consumer.args as [GroupBinarySpec, unknown, unknown];
  const read = producer.args[0] as ZarrReadSpec;
  if (
    !(input instanceof TaskRef) ||
    input.key !== inputKey ||
    spec.axis !== 0 ||
    !ARITHMETIC.has(spec.op) ||
    spec.dtype !== read.dtype ||
    !rowsReadable(read)
  )
    return null;
  return new Task(XK.groupBinaryZarr, [spec, read, other]);
}

registerFuser(XK.groupBinary, fuseZarrGroupBinary);

/**
 * An elementwise program (counting or not) over the rows of a fused read's grouped arithmetic, as
 * one task, where each row of its result depends on that row alone: one operand, not transposed,
 * not reduced along the grouped (first) axis.
 */
export function fuseGroupBinaryProgram(consumer: Task, inputKey: string, producer: Task): Task | null {
  if (producer.fn !== XK.groupBinaryZarr || consumer.args.length !== 2) return null;
  const [program, input] = consumer.args as [Program, unknown];
  const op = program.operands[0];
  if (
    !(input instanceof TaskRef) ||
    input.key !== inputKey ||
    program.operands.length !== 1 ||
    !op ||
    op.input !== 0 ||
    op.axes !== undefined ||
    op.nd !== program.ndim
  )
    return null;
  if (program.reduce?.axes.includes(0)) return null;
  if ((consumer.fn === K.exprCount) !== Boolean(program.reduce?.count)) return null;
  const [spec, read, other] = producer.args as [GroupBinarySpec, ZarrReadSpec, unknown];
  if (program.ndim !== read.shape.length) return null;
  return new Task(XK.groupBinaryZarrProgram, [spec, read, other, program]);
}

registerFuser(K.expr, fuseGroupBinaryProgram);
registerFuser(K.exprCount, fuseGroupBinaryProgram);
