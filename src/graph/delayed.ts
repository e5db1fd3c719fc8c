// delayed: lazy task graphs written as ordinary calls. `delayed(fn)(a, b)` records the call
// instead of making it; arguments may be other delayed values, futures or collections (nested in
// arrays and plain objects too), and become the task's inputs. Nothing runs until compute or
// persist, on the local scheduler or a cluster.

import { Future } from "../client/future.js";
import { ArgumentError } from "../errors.js";
import { hash64, randomId } from "../util/ids.js";
import { COLLECTION, computeWith, isCollection, persistWith, type Collection, type CollectionParts, type ComputeOptions } from "./collection.js";
import { FutureNode, LayeredGraph, Literal, Task, TaskRef, type GraphNode } from "./task.js";

export interface DelayedOptions {
  /**
   * The same function on the same arguments is the same task (its key comes from their content),
   * so it is computed once. Default false, as in Dask: a function may be impure (random, time).
   */
  pure?: boolean;
  /** The key's prefix, shown in stories and errors. Default: the function's name. */
  name?: string;
}

/** A value, a future or a delayed value of it: what a delayed call accepts for each argument. */
export type DelayedArg<T> =
  | T
  | Delayed<T>
  | Future<T>
  | Collection<T>
  // Inside arrays and plain objects too: `combine([a, b])` with a and b delayed.
  | (T extends readonly (infer E)[] ? readonly DelayedArg<E>[] : T extends object ? { [K in keyof T]: DelayedArg<T[K]> } : never);
export type DelayedArgs<A extends readonly unknown[]> = { [K in keyof A]: DelayedArg<A[K]> };

/** A lazy value: the result of a recorded call (or a wrapped value). */
export class Delayed<T = unknown> implements Collection<T> {
  /** @internal */
  constructor(
    readonly key: string,
    readonly graph: LayeredGraph,
  ) {}

  [COLLECTION](): CollectionParts<T> {
    return {
      graph: this.graph,
      keys: [this.key],
      finalize: (values) => values[0] as T,
      rebuild: (held) => new Delayed<T>(this.key, LayeredGraph.of(`held-${this.key}`, new Map([[this.key, held.get(this.key)!]]))),
    };
  }

  /** Computes the value (on the default scheduler unless `options.scheduler` says otherwise). */
  async compute(options?: ComputeOptions): Promise<T> {
    const [v] = await computeWith(options, [this] as const);
    return v as T;
  }

  /** Computes it and keeps the result where it was computed; the returned Delayed refers to it. */
  async persist(options?: ComputeOptions): Promise<Delayed<T>> {
    const [v] = await persistWith(options, [this] as const);
    return v as Delayed<T>;
  }

  /** Tasks in this value's graph. */
  get taskCount(): number {
    return this.graph.size;
  }

  toString(): string {
    return `Delayed(${this.key})`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/**
 * `delayed(fn)` gives a function that records calls to `fn` as tasks; `delayed(value)` wraps a
 * value so it can take part in a graph.
 *
 * ```ts
 * const inc = delayed((x: number) => x + 1);
 * const total = delayed((...xs: number[]) => xs.reduce((a, b) => a + b));
 * await total(inc(1), inc(2)).compute();   // 5
 * ```
 */
export function delayed<A extends unknown[], R>(fn: (...args: A) => R, options?: DelayedOptions): (...args: DelayedArgs<A>) => Delayed<Awaited<R>>;
export function delayed<T>(value: T, options?: DelayedOptions): Delayed<T>;
export function delayed(target: unknown, options: DelayedOptions = {}): unknown {
  if (typeof options !== "object" || options === null) throw new ArgumentError(`delayed options must be an object, got ${String(options)}`);
  if (target instanceof Delayed) return target;
  if (typeof target !== "function") {
    const { value, graph } = lift(target);
    const key = `${options.name ?? "literal"}-${randomId(6)}`;
    return new Delayed(key, LayeredGraph.merge(graph, key, new Map([[key, value instanceof TaskRef ? new Task("identity", [value]) : new Literal(value)]])));
  }
  const fn = target as (...args: never[]) => unknown;
  const name = options.name ?? (fn.name || "delayed");
  return (...args: unknown[]) => {
    const { value, graph } = lift(args);
    const token = options.pure ? hash64(Function.prototype.toString.call(fn), describeArgs(value)) : randomId(8);
    const key = `${name}-${token}`;
    return new Delayed(key, LayeredGraph.merge(graph, key, new Map([[key, new Task(fn, value as unknown[])]])));
  };
}

/** Replaces delayed values, futures and collections inside `value` by TaskRefs, collecting their graphs. */
function lift(value: unknown): { value: unknown; graph: LayeredGraph[] } {
  const graphs: LayeredGraph[] = [];
  const walk = (v: unknown): unknown => {
    if (v === null || typeof v !== "object") return v;
    if (v instanceof Delayed) {
      graphs.push(v.graph);
      return new TaskRef(v.key);
    }
    if (v instanceof Future) {
      graphs.push(LayeredGraph.of(`future-${v.key}`, new Map([[v.key, new FutureNode(v)]])));
      return new TaskRef(v.key);
    }
    if (isCollection(v)) return liftCollection(v, graphs);
    if (Array.isArray(v)) return v.map(walk);
    const proto = Object.getPrototypeOf(v);
    if (proto === Object.prototype || proto === null) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  const out = walk(value);
  return { value: out, graph: graphs };
}

/** A collection as one input: its finalizing task (an array assembled from its blocks), or its only piece. */
function liftCollection(c: Collection, graphs: LayeredGraph[]): TaskRef {
  const parts = c[COLLECTION]();
  graphs.push(parts.graph);
  const task = parts.finalizeTask?.();
  if (!task) {
    if (parts.keys.length !== 1) throw new ArgumentError("a collection of several pieces with no way to assemble them cannot be an argument");
    return new TaskRef(parts.keys[0]!);
  }
  const key = `finalize-${hash64(...parts.keys)}`;
  graphs.push(LayeredGraph.of(key, new Map<string, GraphNode>([[key, task]])));
  return new TaskRef(key);
}

/** A stable description of arguments for pure keys (refs by key, binary data by content). */
function describeArgs(value: unknown): string {
  const parts: string[] = [];
  const walk = (v: unknown): void => {
    if (v instanceof TaskRef) parts.push(`@${v.key}`);
    else if (ArrayBuffer.isView(v)) parts.push(`#${v.constructor.name}:${hash64(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))}`);
    else if (Array.isArray(v)) {
      parts.push("[");
      v.forEach(walk);
      parts.push("]");
    } else if (v !== null && typeof v === "object") {
      parts.push("{");
      for (const [k, x] of Object.entries(v)) {
        parts.push(k);
        walk(x);
      }
      parts.push("}");
    } else parts.push(`${typeof v}:${String(v)}`);
  };
  walk(value);
  return parts.join("\u0000");
}
