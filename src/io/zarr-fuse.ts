// Which elementwise tasks absorb the Zarr read that feeds them (graph/optimize.ts's fusion): a
// plain sum over the first axis of float values (x.sum({ axis: 0 }), x.mean({ axis: 0 })), which
// zarr-reduce.ts computes while decoding. Only metadata is looked at here, on the client.

import type { Program } from "../array/kernels/expr.js";
import { K } from "../array/kernels/register.js";
import { registerFuser } from "../graph/builtins.js";
import { Task, TaskRef } from "../graph/task.js";
import { IO } from "./register.js";
import type { ZarrReadSpec } from "./zarr-chunks.js";

/** Whether `program` over the block `spec` reads is a plain sum over the first axis of float values. */
export function isFirstAxisSum(program: Program, spec: ZarrReadSpec): boolean {
  const op = program.operands[0];
  return (
    (spec.dtype === "float32" || spec.dtype === "float64") &&
    spec.dataType === spec.dtype &&
    program.ndim === spec.shape.length &&
    program.ndim >= 2 &&
    program.operands.length === 1 &&
    op !== undefined &&
    op.input === 0 &&
    op.nd === program.ndim &&
    op.axes === undefined &&
    program.expr.op === "in" &&
    program.expr.dt === spec.dtype &&
    program.reduce?.op === "sum" &&
    program.reduce.axes.length === 1 &&
    program.reduce.axes[0] === 0
  );
}

/** The elementwise task over a Zarr read, as one task, where isFirstAxisSum holds. */
export function fuseZarrSum(consumer: Task, inputKey: string, producer: Task): Task | null {
  if (producer.fn !== IO.zarrRead || consumer.args.length !== 2) return null;
  const [program, input] = consumer.args as [Program, unknown];
  const spec = producer.args[0] as ZarrReadSpec;
  if (!(input instanceof TaskRef) || input.key !== inputKey || !isFirstAxisSum(program, spec)) return null;
  return new Task(IO.zarrReadSum, [spec, program]);
}

registerFuser(K.expr, fuseZarrSum);
