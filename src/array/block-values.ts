// Functions of blocks that give small values rather than blocks: a loss and a gradient per row
// block, a count, a summary. `mapBlockValues` gives one value per block; `reduceBlocks` combines
// them in a tree whose last level runs on the machine that asked, where the partials arrive with
// their tasks' completion (a value of ≤ 1 KiB rides along with it): no extra round trip for the
// root. Blocks are read where they are; only the values travel.

import { isTaskHandle } from "../client/arguments.js";
import { ArgumentError } from "../errors.js";
import { builtin } from "../graph/builtins.js";
import {
  COLLECTION,
  computeWith,
  type Collection,
  type CollectionParts,
  type ComputeOptions,
} from "../graph/collection.js";
import { Delayed } from "../graph/delayed.js";
import { LayeredGraph, Task, TaskRef, type Callable, type GraphNode } from "../graph/task.js";
import { randomId } from "../util/ids.js";
import { blockIndices, sameChunks } from "./chunks.js";
import { ChunkedArray } from "./core.js";
import { K } from "./kernels/register.js";
import { DEFAULT_SPLIT_EVERY } from "./reductions.js";

export interface BlockValuesOptions {
  /** Arguments after the blocks, the same for every block (small values: numbers, typed arrays, plain objects). */
  args?: readonly unknown[];
  /**
   * Arguments after `args`, per block: called here, while the graph is built, with the block's
   * index in the grid and its position in row-major order.
   */
  blockArgs?: (index: number[], position: number) => readonly unknown[];
  /** The prefix of the tasks' keys (default: the function's name). */
  name?: string;
}

export interface ReduceBlocksOptions extends BlockValuesOptions {
  /**
   * How partial values become one: a function `(...values) => value` (sent to workers as source, so
   * it must not use outside variables; the last level runs here), an uploaded module's function
   * (every level runs on workers, down to one value), or "sum" (default): numbers, typed
   * arrays and NDArrays added elementwise, and arrays and plain objects of them entry by entry.
   */
  combine?: Callable;
  /** How many partials one combining step takes (default 16, as Dask's `split_every`). */
  splitEvery?: number;
}

/**
 * Values computed from blocks: `compute()` gives one value per block of the first array (row-major
 * order) for `mapBlockValues`, their combination for `reduceBlocks`. A collection, so it computes
 * on any scheduler and can be an argument of `delayed` calls.
 */
export class BlockValues<T> implements Collection<T> {
  /** @internal */
  constructor(
    private readonly graph: LayeredGraph,
    private readonly outputs: readonly string[],
    private readonly combineHere: ((values: unknown[]) => unknown) | null,
    private readonly combineTask: Callable | null,
  ) {}

  /** Tasks in its graph (before optimization). */
  get taskCount(): number {
    return this.graph.size;
  }

  [COLLECTION](): CollectionParts<T> {
    const keys = [...this.outputs];
    const here = this.combineHere;
    const fn = this.combineTask;
    return {
      graph: this.graph,
      keys,
      finalize: (values) => (here ? here(values) : values) as T,
      finalizeTask: () =>
        fn
          ? new Task(
              fn,
              keys.map((k) => new TaskRef(k)),
            )
          : new Task("identity", [keys.map((k) => new TaskRef(k))]),
      rebuild: (held) => {
        const layer = new Map<string, GraphNode>();
        for (const k of keys) layer.set(k, held.get(k)!);
        return new BlockValues<T>(LayeredGraph.of(`held-${keys[0] ?? "values"}`, layer), keys, here, fn);
      },
    };
  }

  /** Computes the value (on the default scheduler unless `options.scheduler` says otherwise). */
  async compute(options?: ComputeOptions): Promise<T> {
    const [v] = await computeWith(options, [this] as const);
    return v as T;
  }
}

/**
 * `fn(blockOfA, blockOfB, …, ...args, ...blockArgs(index))` for every block of the first array,
 * giving one value per block. Arrays are matched block by block along their leading axes: an array
 * of fewer dimensions than the first is matched to the first's leading axes (y [n] beside the row
 * blocks of X [n, p]), and each must be cut as the first is along the axes matched. `fn` is a
 * function (sent to workers as source: no outside variables), an uploaded module's function, or a
 * builtin's name.
 */
export function mapBlockValues<T>(
  fn: Callable | ((...args: never[]) => T),
  arrays: readonly ChunkedArray[],
  options: BlockValuesOptions = {},
): BlockValues<T[]> {
  const { graph, keys } = blockTasks(fn, arrays, options);
  return new BlockValues<T[]>(graph, keys, null, null);
}

/**
 * `fn` of every block (as `mapBlockValues`), combined: the partials are combined `splitEvery` at
 * a time by tasks until at most `splitEvery` are left, and those are combined here.
 *
 * ```ts
 * // Σ over row blocks of Xᵀ·r: one pass per block, the p-vectors added in a tree.
 * const g = await mw.reduceBlocks((x, r) => ..., [X, r]).compute();
 * ```
 */
export function reduceBlocks<T>(
  fn: Callable | ((...args: never[]) => T),
  arrays: readonly ChunkedArray[],
  options: ReduceBlocksOptions = {},
): BlockValues<T> {
  const split = options.splitEvery ?? DEFAULT_SPLIT_EVERY;
  if (!Number.isInteger(split) || split < 2)
    throw new ArgumentError(`splitEvery must be a whole number ≥ 2, got ${split}`);
  const combine = options.combine ?? "sum";
  const combineFn: Callable = combine === "sum" ? K.sumValues : combine;
  if (typeof combineFn !== "function" && typeof combineFn !== "string")
    throw new ArgumentError(`combine must be "sum", a function or a builtin's name, got ${typeof combine}`);
  // An uploaded module's function runs only on workers: then the tree goes down to one value there.
  const uploaded = isTaskHandle(combineFn);
  const here = uploaded
    ? (...values: unknown[]) => values[0]
    : typeof combineFn === "function"
      ? combineFn
      : builtin(combineFn);
  if (!here) throw new ArgumentError(`no builtin function named ${JSON.stringify(combineFn)}`);
  const { graph, keys, name, layer } = blockTasks(fn, arrays, options);
  let level = keys;
  for (let depth = 1; level.length > (uploaded ? 1 : split); depth++) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += split) {
      const key = `${name}-c${depth}[${i / split}]`;
      layer.set(
        key,
        new Task(
          combineFn,
          level.slice(i, i + split).map((k) => new TaskRef(k)),
        ),
      );
      next.push(key);
    }
    level = next;
  }
  return new BlockValues<T>(
    graph,
    level,
    (values) => (values.length === 1 ? values[0] : (here as (...v: unknown[]) => unknown)(...values)),
    combineFn,
  );
}

function blockTasks(
  fn: Callable,
  arrays: readonly ChunkedArray[],
  options: BlockValuesOptions,
): { graph: LayeredGraph; keys: string[]; name: string; layer: Map<string, GraphNode> } {
  if (typeof fn !== "function" && typeof fn !== "string")
    throw new ArgumentError("a block function must be a function or a builtin's name");
  if (!Array.isArray(arrays as unknown) || arrays.length === 0)
    throw new ArgumentError("block values need a non-empty list of arrays");
  arrays.forEach((x, i) => {
    if (!(x instanceof ChunkedArray)) throw new ArgumentError(`array ${i + 1} is not a chunked array`);
  });
  const first = arrays[0]!;
  for (const [i, x] of arrays.entries()) {
    if (x.ndim > first.ndim)
      throw new ArgumentError(
        `array ${i + 1} has more dimensions (${x.ndim}) than the first (${first.ndim}); put the array with the most dimensions first`,
      );
    if (x.ndim === 0) continue;
    const lead = first.chunks.slice(0, x.ndim);
    if (!sameChunks(lead, x.chunks)) {
      const axis = x.chunks.findIndex((c, k) => !sameChunks([c], [lead[k]!]));
      throw new ArgumentError(
        `array ${i + 1} is not cut as the first along axis ${axis}: ${x.shape[axis] === first.shape[axis] ? `blocks [${x.chunks[axis]!.join(", ")}] and [${lead[axis]!.join(", ")}]; rechunk one to the other` : `lengths ${x.shape[axis]} and ${first.shape[axis]} differ`}`,
      );
    }
  }
  const { args = [], blockArgs } = options;
  if (!Array.isArray(args)) throw new ArgumentError("args must be an array");
  if (blockArgs !== undefined && typeof blockArgs !== "function")
    throw new ArgumentError("blockArgs must be a function (index, position) => [...]");
  const label = options.name ?? (typeof fn === "function" ? fn.name || "blockvalues" : fn);
  // Fresh keys per call: the same arrays with new arguments (the next iterate) are new values.
  const name = `${label}-${randomId(8)}`;
  const layer = new Map<string, GraphNode>();
  const graph = LayeredGraph.merge(
    arrays.map((x) => x.graph),
    name,
    layer,
  );
  const keys: string[] = [];
  blockIndices(first.numblocks).forEach((idx, position) => {
    const refs = arrays.map((x) => new TaskRef(x.key(idx.slice(0, x.ndim))));
    const extra = blockArgs ? blockArgs(idx, position) : [];
    if (!Array.isArray(extra))
      throw new ArgumentError(`blockArgs must return an array, got ${typeof extra} for block [${idx.join(", ")}]`);
    const key = `${name}[${idx.join(",")}]`;
    layer.set(key, new Task(fn, [...refs, ...args, ...extra]));
    keys.push(key);
  });
  return { graph, keys, name, layer };
}

/**
 * One Delayed per block, in row-major order of the blocks (Dask's `to_delayed()` gives an object
 * array of the grid's shape; this is its `.ravel()`). Each computes to its block as an NDArray.
 */
export function toDelayed(x: ChunkedArray): Delayed<import("./ndarray.js").NDArray>[] {
  return x.keys().map((k) => new Delayed(k, x.graph));
}
