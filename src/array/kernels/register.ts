// The array kernels as builtins (every worker and the local scheduler have them by name), and the
// rule that merges one elementwise task into the next (fusion).

import { registerBuiltin, registerFuser, type BuiltinFn } from "../../graph/builtins.js";
import { Task, TaskRef } from "../../graph/task.js";
import type { DType } from "../dtype.js";
import type { NDArray } from "../ndarray.js";
import {
  addBlocks,
  assemble,
  assembleParts,
  type BlockGrid,
  fullBlock,
  rangeBlock,
  reshapeBlock,
  sliceBlock,
} from "./blocks.js";
import { runCounted, runProgram, type Expr, type Operand, type Program } from "./expr.js";
import { tensordotBlocks } from "./linalg.js";
import {
  nanMeanAggregate,
  nanMomentsAggregate,
  nanMomentsChunk,
  nanMomentsCombine,
  sumCountCombine,
} from "./nan-reduce.js";
import { randomBlock } from "./random.js";
import { sumValues } from "./values.js";
import {
  aggregate,
  argAggregate,
  argChunk,
  argCombine,
  cast,
  combine,
  momentsAggregate,
  momentsChunk,
  momentsCombine,
} from "./reduce.js";

/** Builtin names, used by the graph builders. */
export const K = {
  expr: "array.expr",
  /** A program whose reduction also counts (nanmean's first step): gives a SumCount, not a block. */
  exprCount: "array.expr-count",
  assemble: "array.assemble",
  assembleParts: "array.assemble-parts",
  finalize: "array.finalize",
  slice: "array.slice",
  reshape: "array.reshape",
  addBlocks: "array.add-blocks",
  /** The last sum of a contraction's partials, cast to the result's dtype: (dtype, ...blocks). */
  addCast: "array.add-cast",
  cast: "array.cast",
  full: "array.full",
  range: "array.range",
  random: "array.random",
  combine: "array.combine",
  aggregate: "array.aggregate",
  momentsChunk: "array.moments-chunk",
  momentsCombine: "array.moments-combine",
  momentsAggregate: "array.moments-aggregate",
  argChunk: "array.arg-chunk",
  argCombine: "array.arg-combine",
  argAggregate: "array.arg-aggregate",
  sumCountCombine: "array.sum-count-combine",
  nanMeanAggregate: "array.nanmean-aggregate",
  nanMomentsChunk: "array.nan-moments-chunk",
  nanMomentsCombine: "array.nan-moments-combine",
  nanMomentsAggregate: "array.nan-moments-aggregate",
  tensordot: "array.tensordot",
  /** reduceBlocks' default combine: numbers, typed arrays, NDArrays (and arrays and objects of them) added. */
  sumValues: "array.sum-values",
} as const;

const fns: Record<string, (...args: never[]) => unknown> = {
  [K.expr]: (program: Program, ...inputs: NDArray[]) => runProgram(program, inputs),
  [K.exprCount]: (program: Program, ...inputs: NDArray[]) => runCounted(program, inputs),
  [K.assemble]: assemble,
  [K.assembleParts]: assembleParts,
  // The value compute gives: the assembled array, or the element of a 0-d one.
  [K.finalize]: (grid: BlockGrid, ndim: number) => {
    const a = assemble(grid, ndim);
    return ndim === 0 ? a.item() : a;
  },
  [K.slice]: sliceBlock,
  [K.reshape]: reshapeBlock,
  [K.addBlocks]: addBlocks,
  [K.addCast]: (dtype: DType, ...blocks: NDArray[]) => cast(addBlocks(...blocks), dtype),
  [K.cast]: cast,
  [K.full]: fullBlock,
  [K.range]: rangeBlock,
  [K.random]: randomBlock,
  [K.combine]: combine,
  [K.aggregate]: aggregate,
  [K.momentsChunk]: momentsChunk,
  [K.momentsCombine]: momentsCombine,
  [K.momentsAggregate]: momentsAggregate,
  [K.argChunk]: argChunk,
  [K.argCombine]: argCombine,
  [K.argAggregate]: argAggregate,
  [K.sumCountCombine]: sumCountCombine,
  [K.nanMeanAggregate]: nanMeanAggregate,
  [K.nanMomentsChunk]: nanMomentsChunk,
  [K.nanMomentsCombine]: nanMomentsCombine,
  [K.nanMomentsAggregate]: nanMomentsAggregate,
  [K.tensordot]: tensordotBlocks,
  [K.sumValues]: sumValues,
};
for (const [name, fn] of Object.entries(fns)) registerBuiltin(name, fn as BuiltinFn);

/**
 * Merges an elementwise producer into an elementwise consumer: the producer's expression takes the
 * place of every use of its result, its inputs join the consumer's, and a transposed use pushes the
 * transpose down onto the producer's inputs. The producer must not reduce (a reduction's result is
 * smaller than its inputs), and for a transposed use its inputs must have all of its dimensions.
 * The consumer keeps its function (a counting program stays one).
 */
export function fuseExpr(consumer: Task, inputKey: string, producer: Task): Task | null {
  if (producer.fn !== K.expr) return null;
  const C = consumer.args[0] as Program;
  const P = producer.args[0] as Program;
  if (P.reduce) return null;
  const cInputs = consumer.args.slice(1);
  const pInputs = producer.args.slice(1);
  const fromP = new Set<number>();
  cInputs.forEach((x, i) => {
    if (x instanceof TaskRef && x.key === inputKey) fromP.add(i);
  });
  if (fromP.size === 0) return null;
  const transposedUse = C.operands.some((op) => fromP.has(op.input) && op.axes);
  if (transposedUse && P.operands.some((op) => op.nd !== P.ndim)) return null;

  // New inputs: the consumer's others, then the producer's.
  const inputs: unknown[] = [];
  const cMap = new Map<number, number>();
  cInputs.forEach((x, i) => {
    if (!fromP.has(i)) cMap.set(i, inputs.push(x) - 1);
  });
  const pBase = inputs.length;
  inputs.push(...pInputs);

  const operands: Operand[] = [];
  const operandFor = new Map<string, number>();
  const useOperand = (op: Operand): number => {
    const id = `${op.input}|${op.axes?.join(",") ?? ""}`;
    let i = operandFor.get(id);
    if (i === undefined) operandFor.set(id, (i = operands.push(op) - 1));
    return i;
  };
  const constBase = C.consts.length;
  const consts = [...C.consts, ...P.consts];

  /** The producer's expression as seen through one of the consumer's operands. */
  const inlined = (cOp: Operand): Expr => {
    const remap = P.operands.map((pOp) =>
      useOperand({ input: pBase + pOp.input, nd: pOp.nd, axes: compose(pOp.axes, cOp.axes) }),
    );
    return mapLeaves(P.expr, (e) => (e.op === "in" ? { ...e, o: remap[e.o]! } : { ...e, slot: e.slot + constBase }));
  };
  const replacement = C.operands.map((op) => (fromP.has(op.input) ? inlined(op) : null));
  const ownOperand = C.operands.map((op) =>
    fromP.has(op.input) ? -1 : useOperand({ ...op, input: cMap.get(op.input)! }),
  );
  const expr = mapLeaves(C.expr, (e) => (e.op === "in" ? (replacement[e.o] ?? { ...e, o: ownOperand[e.o]! }) : e));
  const program: Program = { ndim: C.ndim, expr, operands, consts, reduce: C.reduce };
  return new Task(consumer.fn, [program, ...inputs]);
}

/** Transposing by `inner` and then by `outer`, as one transpose. */
function compose(inner: number[] | undefined, outer: number[] | undefined): number[] | undefined {
  if (!outer) return inner;
  if (!inner) return outer;
  return outer.map((k) => inner[k]!);
}

registerFuser(K.expr, fuseExpr);
registerFuser(K.exprCount, fuseExpr);

/**
 * Merges a transpose into the contraction that reads it: `X.T.matmul(v)` contracts the blocks of
 * X over their first axis instead of copying each block transposed first. Only a producer that is
 * a plain transposed view (no arithmetic, no cast), and only when the transpose keeps the order of
 * the free axes (always so for matrices), since the product lays its result out in that order.
 */
export function fuseTransposeIntoTensordot(consumer: Task, inputKey: string, producer: Task): Task | null {
  if (producer.fn !== K.expr) return null;
  const P = producer.args[0] as Program;
  const source = producer.args[1];
  if (
    P.reduce ||
    P.expr.op !== "in" ||
    P.operands.length !== 1 ||
    producer.args.length !== 2 ||
    !(source instanceof TaskRef)
  )
    return null;
  const order = P.operands[0]!.axes;
  if (!order || P.operands[0]!.nd !== P.ndim) return null;
  const [a, b, axA, axB, ...rest] = consumer.args as [unknown, unknown, number[], number[], ...unknown[]];
  const remap = (axes: number[]): number[] | null => {
    const contracted = axes.map((x) => order[x]!);
    const free = [...order.keys()].filter((x) => !axes.includes(x)).map((x) => order[x]!);
    return free.every((x, i) => i === 0 || free[i - 1]! < x) ? contracted : null;
  };
  const uses = (x: unknown): boolean => x instanceof TaskRef && x.key === inputKey;
  let [na, nb, nA, nB] = [a, b, axA, axB];
  if (uses(a)) {
    const r = remap(axA);
    if (!r) return null;
    [na, nA] = [source, r];
  }
  if (uses(b)) {
    const r = remap(axB);
    if (!r) return null;
    [nb, nB] = [source, r];
  }
  if (na === a && nb === b) return null;
  return new Task(consumer.fn, [na, nb, nA, nB, ...rest]);
}

registerFuser(K.tensordot, fuseTransposeIntoTensordot);

/** `e` with each leaf (an input or a constant) replaced by `leaf(it)`; inner nodes are copied. */
function mapLeaves(e: Expr, leaf: (e: Extract<Expr, { op: "in" | "const" }>) => Expr): Expr {
  switch (e.op) {
    case "in":
    case "const":
      return leaf(e);
    case "cast":
    case "un":
      return { ...e, a: mapLeaves(e.a, leaf) };
    case "bin":
      return { ...e, a: mapLeaves(e.a, leaf), b: mapLeaves(e.b, leaf) };
    case "where":
      return { ...e, c: mapLeaves(e.c, leaf), a: mapLeaves(e.a, leaf), b: mapLeaves(e.b, leaf) };
  }
}
