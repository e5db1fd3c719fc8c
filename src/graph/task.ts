// Task graphs: a key names a value, and a node says how to get it: run a function on arguments
// (which may refer to other keys), take a literal value, or take the result a future stands for.
// Collections keep their graphs as layers (one per operation) so that combining two collections
// costs a map of layers, not a copy of every task; a graph is flattened only when computed.

import { TaskRef } from "../protocol/refs.js";

/** A function a task runs: one compiled into meshwork (by registered name) or a user's function. */
export type Callable = string | ((...args: never[]) => unknown);

/**
 * Run `fn(...args)`; TaskRefs inside `args` (also nested in arrays and plain objects) are replaced
 * by those keys' values. With `via` (a builtin's name), run `via(fn, ...args)` instead: a kernel that
 * calls a user's function (see Task.calling).
 */
export class Task {
  readonly deps: readonly string[];
  constructor(
    readonly fn: Callable,
    readonly args: readonly unknown[],
    deps?: readonly string[],
    readonly via?: string,
  ) {
    this.deps = deps ?? findRefs(args);
  }

  /**
   * A task where builtin `kernel` calls the user's `fn` (`kernel(fn, ...args)`): a collection
   * kernel taking a user's function (mapPartitions). `fn` travels as the task's function, as in
   * mapBlocks: source for a plain function, a reference for an uploaded module's export, so the
   * worker loads it as it loads any task's function (and a module that needs Node keeps the task
   * on Node workers).
   */
  static calling(kernel: string, fn: Callable, args: readonly unknown[]): Task {
    return new Task(fn, args, undefined, kernel);
  }
}

/** A value known at graph-building time. */
export class Literal {
  readonly deps: readonly string[] = [];
  constructor(readonly value: unknown) {}
}

/** The result of a future: computed already, or being computed, by a distributed client. */
export class FutureNode {
  readonly deps: readonly string[] = [];
  constructor(readonly future: { readonly key: string }) {}
}

export type GraphNode = Task | Literal | FutureNode;

/** A layer: the tasks one operation added, by key. */
export type Layer = ReadonlyMap<string, GraphNode>;

/** A graph as its layers, by layer name. Layers are never changed once made, so graphs share them. */
export class LayeredGraph {
  constructor(readonly layers: ReadonlyMap<string, Layer>) {}

  static of(name: string, layer: Layer): LayeredGraph {
    return new LayeredGraph(new Map([[name, layer]]));
  }

  /** This graph with the layers of `others` and then `name: layer` added (a name seen before keeps its layer). */
  static merge(graphs: readonly LayeredGraph[], name?: string, layer?: Layer): LayeredGraph {
    if (graphs.length === 1 && !name) return graphs[0]!;
    const layers = new Map<string, Layer>();
    for (const g of graphs) for (const [n, l] of g.layers) if (!layers.has(n)) layers.set(n, l);
    if (name && layer) layers.set(name, layer);
    return new LayeredGraph(layers);
  }

  /** Every node by key, in one map. */
  flatten(): Map<string, GraphNode> {
    const out = new Map<string, GraphNode>();
    for (const layer of this.layers.values()) for (const [k, v] of layer) out.set(k, v);
    return out;
  }

  get size(): number {
    let n = 0;
    for (const l of this.layers.values()) n += l.size;
    return n;
  }
}

/** Keys referred to by TaskRefs anywhere in `value` (arrays and plain objects are searched). */
export function findRefs(value: unknown): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== "object") return;
    if (v instanceof TaskRef) {
      if (!seen.has(v.key)) {
        seen.add(v.key);
        out.push(v.key);
      }
      return;
    }
    if (Array.isArray(v)) {
      for (const x of v) walk(x);
      return;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto === Object.prototype || proto === null) for (const x of Object.values(v)) walk(x);
  };
  walk(value);
  return out;
}

/** `value` with every TaskRef replaced by `lookup(key)`; unchanged parts are shared, not copied. */
export function substitute(value: unknown, lookup: (key: string) => unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof TaskRef) return lookup(value.key);
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      const w = substitute(v, lookup);
      if (w !== v && out === null) out = value.slice(0, i);
      if (out !== null) out.push(w);
    }
    return out ?? value;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  let out: Record<string, unknown> | null = null;
  for (const [k, v] of Object.entries(value)) {
    const w = substitute(v, lookup);
    if (w !== v) out ??= { ...(value as Record<string, unknown>) };
    if (out !== null) out[k] = w;
  }
  return out ?? value;
}

export { TaskRef };
