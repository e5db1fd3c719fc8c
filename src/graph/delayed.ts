// delayed: lazy task graphs written as ordinary calls. `delayed(fn)(a, b)` records the call
// instead of making it; arguments may be other delayed values, futures or collections (nested in
// arrays and plain objects too), and become the task's inputs. Nothing runs until compute or
// persist, on the local scheduler or a cluster.

import { checkKnownOptions, describe, isTaskHandle } from "../client/arguments.js";
import { describeFunction } from "../client/functions.js";
import { Future } from "../client/future.js";
import { ArgumentError } from "../errors.js";
import { hash64, randomId } from "../util/ids.js";
import {
  COLLECTION,
  computeWith,
  isCollection,
  persistWith,
  release,
  type Collection,
  type CollectionParts,
  type ComputeOptions,
} from "./collection.js";
import { findRefs, FutureNode, LayeredGraph, Literal, Task, TaskRef, type GraphNode } from "./task.js";

export interface DelayedOptions {
  /**
   * The same function on the same arguments is the same task (its key comes from their content),
   * so it is computed once. Default false, as in Dask: a function may be impure (random, time).
   */
  pure?: boolean;
  /** The key's prefix, shown in stories and errors. Default: the function's name. */
  name?: string;
  /**
   * The function runs only in this thread (`{ scheduler: "sync" }`), so it may keep its closure
   * (variables from outside its body) or be bound. Without it, `delayed(fn)` checks `fn` at once as
   * `submit` does, whatever the scheduler: a closure is a ClosureError there and then. Default false.
   */
  local?: boolean;
}

/** A value, a future or a delayed value of it: what a delayed call accepts for each argument. */
export type DelayedArg<T> =
  | T
  | Delayed<T>
  | Future<T>
  | Collection<T>
  // Inside arrays and plain objects too: `combine([a, b])` with a and b delayed.
  | (T extends readonly (infer E)[]
      ? readonly DelayedArg<E>[]
      : T extends object
        ? { [K in keyof T]: DelayedArg<T[K]> }
        : never);
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
      rebuild: (held) =>
        new Delayed<T>(this.key, LayeredGraph.of(`held-${this.key}`, new Map([[this.key, held.get(this.key)!]]))),
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

  /** Gives up the result a persisted value holds on a cluster (see `release`). */
  release(): void {
    release(this);
  }

  /** Tasks in this value's graph. */
  get taskCount(): number {
    return this.graph.size;
  }

  /** Its key and what computes it: `Delayed(inc-3f2a…: inc(1, <add-9c01…>), 3 tasks)`. */
  toString(): string {
    const node = this.graph.layers.get(this.key)?.get(this.key);
    let what = "";
    if (node instanceof Task) {
      // An arrow function has no name; its key starts with the name delayed was given.
      const fn =
        typeof node.fn === "string"
          ? node.fn
          : node.fn.name || this.key.slice(0, Math.max(0, this.key.lastIndexOf("-"))) || "anonymous";
      what = `: ${fn}(${node.args.map(shortArg).join(", ")})`;
    } else if (node instanceof Literal) {
      what = `: ${shortArg(node.value)}`;
    }
    const n = this.taskCount;
    return `Delayed(${this.key}${what}, ${n} task${n === 1 ? "" : "s"})`;
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
export function delayed<A extends unknown[], R>(
  fn: (...args: A) => R,
  options?: DelayedOptions,
): (...args: DelayedArgs<A>) => Delayed<Awaited<R>>;
export function delayed<T>(value: T, options?: DelayedOptions): Delayed<T>;
export function delayed(target: unknown, options: DelayedOptions = {}): unknown {
  const { pure, name, local } = checkOptions(options);
  if (target instanceof Delayed) return target;
  if (typeof target !== "function") {
    const { value, graph } = lift(target);
    const key = `${name ?? "literal"}-${pure ? hash64(describeArgs(value)) : randomId(6)}`;
    // A value with delayed values or futures inside depends on them: it is a task, not a literal.
    const node = findRefs(value).length > 0 ? new Task("identity", [value]) : new Literal(value);
    return new Delayed(key, LayeredGraph.merge(graph, key, new Map([[key, node]])));
  }
  const fn = target as (...args: never[]) => unknown;
  // The check a cluster makes before sending it, made here for every scheduler alike (issue 21: a
  // closure worked in this thread and failed on a cluster). Uploaded functions travel by name.
  if (!local && !isTaskHandle(fn)) describeFunction(fn);
  const prefix = name ?? (fn.name || "delayed");
  let fnId: string | undefined;
  return (...args: unknown[]) => {
    const { value, graph } = lift(args);
    const token = pure ? hash64((fnId ??= functionId(fn)), describeArgs(value)) : randomId(8);
    const key = `${prefix}-${token}`;
    return new Delayed(key, LayeredGraph.merge(graph, key, new Map([[key, new Task(fn, value as unknown[])]])));
  };
}

/** An argument as a few characters: numbers and short strings as they are, inputs as <key>, the rest by kind. */
function shortArg(v: unknown): string {
  if (v instanceof TaskRef) return `<${v.key.length > 24 ? `${v.key.slice(0, 24)}…` : v.key}>`;
  if (typeof v === "number" || typeof v === "boolean" || v === null || v === undefined || typeof v === "bigint")
    return String(v);
  if (typeof v === "string") return JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v);
  if (Array.isArray(v)) return v.length <= 3 ? `[${v.map(shortArg).join(", ")}]` : `[${v.length} items]`;
  if (ArrayBuffer.isView(v))
    return `${v.constructor.name}(${(v as unknown as { length?: number }).length ?? v.byteLength})`;
  return typeof v === "object" ? `{…}` : typeof v;
}

/** The options, checked (and copied: changing the object afterwards changes nothing). */
function checkOptions(options: unknown): DelayedOptions {
  checkKnownOptions("delayed options", options, ["pure", "name", "local"]);
  const { pure, name, local } = options as DelayedOptions;
  if (pure !== undefined && typeof pure !== "boolean")
    throw new ArgumentError(`pure must be true or false, got ${describe(pure)}`);
  if (name !== undefined && (typeof name !== "string" || name.length === 0))
    throw new ArgumentError(`name must be a non-empty string, got ${describe(name)}`);
  if (local !== undefined && typeof local !== "boolean")
    throw new ArgumentError(`local must be true or false, got ${describe(local)}`);
  return { pure, name, local };
}

/** Replaces delayed values, futures and collections inside `value` by TaskRefs, collecting their graphs. */
function lift(value: unknown): { value: unknown; graph: LayeredGraph[] } {
  const graphs: LayeredGraph[] = [];
  const path = new Set<object>();
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
    if (!Array.isArray(v) && !isPlain(v)) return v;
    // Arrays and plain objects are searched, so one that contains itself would be searched forever.
    if (path.has(v))
      throw new ArgumentError(
        "a delayed argument contains itself (an array or plain object inside itself); tasks take values without cycles",
      );
    path.add(v);
    let out: unknown;
    if (Array.isArray(v)) out = v.map(walk);
    else {
      const copy: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) copy[k] = walk(x);
      out = copy;
    }
    path.delete(v);
    return out;
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
    if (parts.keys.length !== 1)
      throw new ArgumentError("a collection of several pieces with no way to assemble them cannot be an argument");
    return new TaskRef(parts.keys[0]!);
  }
  const key = `finalize-${hash64(...parts.keys)}`;
  graphs.push(LayeredGraph.of(key, new Map<string, GraphNode>([[key, task]])));
  return new TaskRef(key);
}

/**
 * A stable description of arguments for pure keys: refs by key, binary data by content, arrays,
 * plain objects, maps, sets and dates by what they hold. Anything else (class instances, functions)
 * by identity: the same object gives the same key, and two objects never share one only because
 * they look alike (a Map described by its own properties would make every Map the same argument).
 */
function describeArgs(value: unknown): string {
  const parts: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === "string")
      parts.push(JSON.stringify(v)); // quoted, so no string can pass for structure
    else if (typeof v === "number") parts.push(Object.is(v, -0) ? "-0" : String(v));
    else if (typeof v === "bigint") parts.push(`${v}n`);
    else if (typeof v === "symbol") parts.push(`symbol:${identity(v)}`);
    else if (typeof v !== "object" && typeof v !== "function")
      parts.push(String(v)); // boolean, undefined
    else if (v === null) parts.push("null");
    else if (v instanceof TaskRef) parts.push(`@${v.key}`);
    else if (ArrayBuffer.isView(v))
      parts.push(`#${v.constructor.name}:${hash64(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))}`);
    else if (v instanceof ArrayBuffer) parts.push(`#ArrayBuffer:${hash64(new Uint8Array(v))}`);
    else if (Array.isArray(v)) {
      parts.push("[");
      for (let i = 0; i < v.length; i++) walk(v[i]); // holes too: forEach would skip them
      parts.push("]");
    } else if (v instanceof Map || v instanceof Set) {
      parts.push(v instanceof Map ? "Map{" : "Set{");
      for (const x of v instanceof Map ? v.entries() : v.values()) walk(x);
      parts.push("}");
    } else if (v instanceof Date) parts.push(`Date:${v.getTime()}`);
    else if (isPlain(v)) {
      parts.push("{");
      for (const [k, x] of Object.entries(v)) {
        parts.push(JSON.stringify(k));
        walk(x);
      }
      parts.push("}");
    } else parts.push(`&${identity(v)}`);
  };
  walk(value);
  return parts.join("\u0000");
}

function isPlain(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A random token per object (or symbol), for values that cannot be described by content. */
const identities = new WeakMap<object, string>();
const symbolIds = new Map<symbol, string>();
function identity(v: object | symbol): string {
  if (typeof v === "symbol") {
    const global = Symbol.keyFor(v);
    if (global !== undefined) return `for:${JSON.stringify(global)}`;
    let id = symbolIds.get(v);
    if (!id) symbolIds.set(v, (id = randomId(8)));
    return id;
  }
  let id = identities.get(v);
  if (!id) identities.set(v, (id = randomId(8)));
  return id;
}

/**
 * What a function computes, for pure keys: its source when that says everything (no closure;
 * the same check a cluster makes before sending it), else the function object itself. Two
 * closures with the same source (`(x) => x + k` for different k) are different tasks.
 */
function functionId(fn: (...args: never[]) => unknown): string {
  if (isTaskHandle(fn)) return `${fn.module}#${fn.name}`; // an uploaded module's function
  try {
    return describeFunction(fn).id;
  } catch {
    // A closure, a bound or native function: its source does not say what it computes.
    return `&${identity(fn)}`;
  }
}
