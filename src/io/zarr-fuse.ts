// Which elementwise tasks absorb the Zarr read that feeds them (graph/optimize.ts's fusion): a
// plain or NaN-skipping sum over the first axis of float values (x.sum, mean, nansum, nanmean and
// count over axis 0: the last three are xarray's skipna reductions), which zarr-reduce.ts computes
// while decoding. Only metadata is looked at here, on the client.

import type { Program, ReduceOp } from "../array/kernels/expr.js";
import { K } from "../array/kernels/register.js";
import { registerFuser } from "../graph/builtins.js";
import { Task, TaskRef } from "../graph/task.js";
import { IO } from "./register.js";
import type { ZarrReadSpec } from "./zarr-chunks.js";

/**
 * The reductions over the first axis a read computes while decoding, and whether each may count:
 * sum (mean's first step), nansum (with its count: nanmean's), and count.
 */
const FUSED_REDUCE: Partial<Record<ReduceOp, { counted: boolean }>> = {
  sum: { counted: false },
  nansum: { counted: true },
  count: { counted: false },
};

/** Whether the block `spec` reads holds float values read as stored, with rows along a first axis (what zarr-reduce.ts sums). */
export function rowsReadable(spec: ZarrReadSpec): boolean {
  return (
    (spec.dtype === "float32" || spec.dtype === "float64") && spec.dataType === spec.dtype && spec.shape.length >= 2
  );
}

/** Whether `program` over the block `spec` reads is a sum, NaN-skipping sum or count over the first axis of float values, as read. */
export function isFirstAxisSum(program: Program, spec: ZarrReadSpec): boolean {
  const op = program.operands[0];
  const reduce = program.reduce;
  const fused = reduce ? FUSED_REDUCE[reduce.op] : undefined;
  return (
    rowsReadable(spec) &&
    program.ndim === spec.shape.length &&
    program.operands.length === 1 &&
    op !== undefined &&
    op.input === 0 &&
    op.nd === program.ndim &&
    op.axes === undefined &&
    program.expr.op === "in" &&
    program.expr.dt === spec.dtype &&
    fused !== undefined &&
    (!reduce!.count || fused.counted) &&
    reduce!.axes.length === 1 &&
    reduce!.axes[0] === 0
  );
}

/** The elementwise task (counting or not) over a Zarr read, as one task, where isFirstAxisSum holds. */
export function fuseZarrSum(consumer: Task, inputKey: string, producer: Task): Task | null {
  if (producer.fn !== IO.zarrRead || consumer.args.length !== 2) return null;
  const [program, input] = consumer.args as [Program, unknown];
  const spec = producer.args[0] as ZarrReadSpec;
  if (!(input instanceof TaskRef) || input.key !== inputKey || !isFirstAxisSum(program, spec)) return null;
  if (consumer.fn === K.exprCount ? !program.reduce!.count : program.reduce!.count) return null;
  return new Task(IO.zarrReadSum, [spec, program]);
}

registerFuser(K.expr, fuseZarrSum);
registerFuser(K.exprCount, fuseZarrSum);
