// What every lazy collection (a delayed value, a chunked array) offers so that one `compute` or
// `persist` works for all of them on any scheduler: its graph, the keys of its pieces, how the
// pieces' values become the collection's value, and how to rebuild it over pieces already held.

import { ArgumentError } from "../errors.js";
import { order } from "./order.js";
import { optimize, type OptimizeOptions } from "./optimize.js";
import { FutureNode, Literal, type GraphNode, type LayeredGraph, type Task } from "./task.js";

export const COLLECTION = Symbol.for("meshwork.collection");

export interface CollectionParts<T = unknown> {
  graph: LayeredGraph;
  /** Keys of the pieces, in the order `finalize` takes their values. */
  keys: string[];
  /** The collection's value from its pieces' values (on the machine that asked). */
  finalize(values: unknown[]): T;
  /**
   * A task that does `finalize` where the pieces are (a cluster), for `client.compute`; its
   * arguments refer to the pieces' keys. Undefined when the value is the only piece's value.
   */
  finalizeTask?(): Task;
  /** The same collection over nodes that hold its pieces (futures, or values), by key. */
  rebuild(held: ReadonlyMap<string, GraphNode>): Collection<T>;
}

export interface Collection<T = unknown> {
  [COLLECTION](): CollectionParts<T>;
}

export function isCollection(v: unknown): v is Collection {
  return typeof v === "object" && v !== null && typeof (v as Partial<Collection>)[COLLECTION] === "function";
}

/** The value a collection computes to (a chunked array → NDArray or number; Delayed<T> → T). */
export type Computed<C> = C extends Collection<infer T> ? T : C;

/** A graph ready to run: optimized, with every key's place in the run order. */
export interface PreparedGraph {
  graph: Map<string, GraphNode>;
  outputs: string[];
  order: Map<string, number>;
}

/**
 * Something that runs graphs: the local scheduler, or a distributed client. `persist` returns,
 * per output, a node that holds its value from now on (a Literal here, a FutureNode on a cluster).
 */
export interface GraphScheduler {
  computeGraph(g: PreparedGraph): Promise<unknown[]>;
  persistGraph(g: PreparedGraph): Promise<GraphNode[]>;
}

export type SchedulerChoice = "sync" | "threads" | GraphScheduler;

export interface ComputeOptions extends OptimizeOptions {
  /**
   * Where to run: "sync" (this thread), "threads" (a pool of local worker threads, where the
   * platform has one), or a Client / scheduler object. Default: the most recently connected
   * client that is still open, else "sync".
   */
  scheduler?: SchedulerChoice;
}

// ---- choosing a scheduler (clients register here, so this module does not import them) ----

let defaultClient: (GraphScheduler & { readonly closedError: unknown }) | null = null;
const named = new Map<string, () => GraphScheduler>();

/** @internal A client just connected: it becomes the default, as in Dask. */
export function setDefaultClient(client: GraphScheduler & { readonly closedError: unknown }): void {
  defaultClient = client;
}

/** @internal A client closed: it stops being the default. */
export function clearDefaultClient(client: unknown): void {
  if (defaultClient === client) defaultClient = null;
}

/** @internal Platforms register "sync" and "threads". */
export function registerScheduler(name: string, make: () => GraphScheduler): void {
  named.set(name, make);
}

export function resolveScheduler(choice: SchedulerChoice | undefined): GraphScheduler {
  if (choice === undefined) {
    if (defaultClient && !defaultClient.closedError) return defaultClient;
    choice = "sync";
  }
  if (typeof choice === "string") {
    const make = named.get(choice);
    if (!make) {
      throw new ArgumentError(
        choice === "threads" ? `the "threads" scheduler needs a platform with worker threads (import meshwork in Node)` : `unknown scheduler ${JSON.stringify(choice)}; use "sync", "threads" or a Client`,
      );
    }
    return make();
  }
  if (typeof choice === "object" && choice !== null && typeof choice.computeGraph === "function") return choice;
  throw new ArgumentError(`scheduler must be "sync", "threads" or a Client, got ${String(choice)}`);
}

// ---- compute and persist ----

/** Merges the collections' graphs, optimizes them together and orders the result. */
export function prepare(parts: readonly CollectionParts[], options: OptimizeOptions = {}): PreparedGraph {
  const outputs = parts.flatMap((p) => p.keys);
  const merged = new Map<string, GraphNode>();
  for (const p of parts) for (const [k, v] of p.graph.flatten()) merged.set(k, v);
  const graph = optimize(merged, outputs, options);
  return { graph, outputs, order: order(graph, outputs) };
}

function checkOptions(options: unknown): ComputeOptions {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null) throw new ArgumentError(`compute options must be an object, got ${String(options)}`);
  return options as ComputeOptions;
}

/**
 * Computes collections to concrete values; anything else passes through unchanged. Collections
 * are optimized together, so pieces they share are computed once.
 */
export async function computeWith<T extends readonly unknown[]>(options: ComputeOptions | undefined, values: T): Promise<{ -readonly [I in keyof T]: Computed<T[I]> }> {
  const opts = checkOptions(options);
  const parts = values.map((v) => (isCollection(v) ? v[COLLECTION]() : null));
  const real = parts.filter((p): p is CollectionParts => p !== null);
  if (real.length === 0) return [...values] as never;
  const scheduler = resolveScheduler(opts.scheduler);
  const prepared = prepare(real, opts);
  const results = await scheduler.computeGraph(prepared);
  const byKey = new Map<string, unknown>();
  prepared.outputs.forEach((k, i) => byKey.set(k, results[i]));
  return values.map((v, i) => {
    const p = parts[i];
    return p ? p.finalize(p.keys.map((k) => byKey.get(k))) : v;
  }) as never;
}

/** Computes collections and keeps their pieces where they were computed; gives back the same collections over them. */
export async function persistWith<T extends readonly unknown[]>(options: ComputeOptions | undefined, values: T): Promise<{ -readonly [I in keyof T]: T[I] }> {
  const opts = checkOptions(options);
  const parts = values.map((v) => (isCollection(v) ? v[COLLECTION]() : null));
  const real = parts.filter((p): p is CollectionParts => p !== null);
  if (real.length === 0) return [...values] as never;
  const scheduler = resolveScheduler(opts.scheduler);
  const prepared = prepare(real, opts);
  const nodes = await scheduler.persistGraph(prepared);
  const held = new Map<string, GraphNode>();
  prepared.outputs.forEach((k, i) => held.set(k, nodes[i]!));
  return values.map((v, i) => {
    const p = parts[i];
    return p ? p.rebuild(held) : v;
  }) as never;
}

/** Computes collections on the default scheduler: `const [a, b] = await compute(x.sum(), y)`. */
export function compute<T extends readonly unknown[]>(...values: T): Promise<{ -readonly [I in keyof T]: Computed<T[I]> }> {
  return computeWith(undefined, values);
}

/** Persists collections on the default scheduler: `const [xp] = await persist(x)`. */
export function persist<T extends readonly unknown[]>(...values: T): Promise<{ -readonly [I in keyof T]: T[I] }> {
  return persistWith(undefined, values);
}

export { FutureNode, Literal };
