// What every lazy collection (a delayed value, a chunked array) offers so that one `compute` or
// `persist` works for all of them on any scheduler: its graph, the keys of its pieces, how the
// pieces' values become the collection's value, and how to rebuild it over pieces already held.

import { checkKnownOptions, describe } from "../client/arguments.js";
import { ArgumentError } from "../errors.js";
import type { Logger } from "../log.js";
import { beginComputation, type Computation } from "./computation.js";
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

declare const VALUE_TYPE: unique symbol;

/**
 * A phantom (type-only) property by which a collection's type can say its value more precisely
 * than its COLLECTION method does: a 0-d array's is a number, though arrays in general give
 * NDArray | number | boolean. Never present at run time.
 */
export type Valued<T> = { readonly [K in typeof VALUE_TYPE]?: T };

/** The value a collection computes to (a chunked array → NDArray or number; Delayed<T> → T). */
export type Computed<C> = C extends Valued<infer V> ? (unknown extends V ? CollectionValue<C> : V) : CollectionValue<C>;
type CollectionValue<C> = C extends Collection<infer T> ? T : C;

/** A graph ready to run: optimized, with every key's place in the run order. */
export interface PreparedGraph {
  graph: Map<string, GraphNode>;
  outputs: string[];
  order: Map<string, number>;
  /** The compute or persist this graph is for, which schedulers report their counts to (progress()). */
  computation?: Computation;
}

/**
 * Something that runs graphs: the local scheduler, or a distributed client. `persist` returns,
 * per output, a node that holds its value from now on (a Literal here, a FutureNode on a cluster).
 */
export interface GraphScheduler {
  computeGraph(g: PreparedGraph): Promise<unknown[]>;
  persistGraph(g: PreparedGraph): Promise<GraphNode[]>;
  /**
   * For a series of computations over the same data (an iterative fit): a scheduler on which
   * persisted pieces stay where they were computed until the session closes. Schedulers that
   * keep them anyway (a cluster's client, this thread) have none; "threads" holds its pool.
   */
  session?(): Promise<SchedulerSession>;
  /** Where diagnostics of computations run here go (a client's runtime's logger). Default: the realm's. */
  readonly logger?: Logger | undefined;
}

/** A scheduler held for a series of computations; `close` lets it go (idempotent). */
export interface SchedulerSession {
  readonly scheduler: GraphScheduler;
  close(): Promise<void>;
}

/** The session of `choice` (see GraphScheduler.session), or the scheduler itself with nothing to close. */
export async function openSession(choice: SchedulerChoice | undefined): Promise<SchedulerSession> {
  const s = resolveScheduler(choice);
  if (typeof s.session === "function") return s.session();
  return { scheduler: s, close: async () => {} };
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

type DefaultClient = GraphScheduler & { readonly closedError: unknown };
/**
 * Clients that asked to be the default, oldest first. When the newest closes, the one before it is
 * the default again (as Dask's default_client), rather than computations moving to this thread.
 */
const defaultClients: DefaultClient[] = [];
const named = new Map<string, () => GraphScheduler>();

/** @internal A client just connected: it becomes the default, as in Dask. */
export function setDefaultClient(client: DefaultClient): void {
  clearDefaultClient(client);
  defaultClients.push(client);
}

/** @internal A client closed: it stops being the default. */
export function clearDefaultClient(client: unknown): void {
  const i = defaultClients.indexOf(client as DefaultClient);
  if (i >= 0) defaultClients.splice(i, 1);
}

/** @internal Platforms register "sync" and "threads". */
export function registerScheduler(name: string, make: () => GraphScheduler): void {
  named.set(name, make);
}

export function resolveScheduler(choice: SchedulerChoice | undefined): GraphScheduler {
  if (choice === undefined) {
    for (let i = defaultClients.length - 1; i >= 0; i--) if (!defaultClients[i]!.closedError) return defaultClients[i]!;
    choice = "sync";
  }
  if (typeof choice === "string") {
    const make = named.get(choice);
    if (!make) {
      throw new ArgumentError(
        choice === "threads"
          ? `the "threads" scheduler needs a platform with worker threads (import meshwork in Node)`
          : `unknown scheduler ${JSON.stringify(choice)}; use "sync", "threads" or a Client`,
      );
    }
    return make();
  }
  if (typeof choice === "object" && choice !== null && typeof choice.computeGraph === "function") return choice;
  throw new ArgumentError(`scheduler must be "sync", "threads" or a Client, got ${describe(choice)}`);
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

const OPTION_NAMES = ["scheduler", "fuse"];

function checkOptions(options: unknown, values: unknown): ComputeOptions {
  if (!Array.isArray(values))
    throw new ArgumentError(
      `computeWith and persistWith take an array of values, e.g. computeWith(options, [x, y]); got ${describe(values)}`,
    );
  if (options === undefined) return {};
  // A misspelt option would otherwise be ignored, and the work would run somewhere else than asked.
  checkKnownOptions("compute options", options, OPTION_NAMES);
  const { fuse } = options as ComputeOptions;
  if (fuse !== undefined && typeof fuse !== "boolean")
    throw new ArgumentError(`fuse must be true or false, got ${describe(fuse)}`);
  return options as ComputeOptions;
}

/**
 * Runs the collections among `values` as one graph with `run` (compute or persist on the chosen
 * scheduler); `out` makes each collection's result from the outputs by key, other values pass through.
 */
async function runCollections<R>(
  options: ComputeOptions | undefined,
  values: readonly unknown[],
  run: (scheduler: GraphScheduler, g: PreparedGraph) => Promise<R[]>,
  out: (parts: CollectionParts, byKey: Map<string, R>) => unknown,
): Promise<unknown[]> {
  const opts = checkOptions(options, values);
  const parts = values.map((v) => (isCollection(v) ? v[COLLECTION]() : null));
  const real = parts.filter((p): p is CollectionParts => p !== null);
  if (real.length === 0) return [...values];
  const prepared = prepare(real, opts);
  const computation = (prepared.computation = beginComputation());
  let results: R[];
  try {
    results = await run(resolveScheduler(opts.scheduler), prepared);
  } catch (err) {
    computation.finish(false);
    throw err;
  }
  computation.finish(true);
  const byKey = new Map<string, R>();
  prepared.outputs.forEach((k, i) => byKey.set(k, results[i]!));
  return values.map((v, i) => {
    const p = parts[i];
    return p ? out(p, byKey) : v;
  });
}

/**
 * Computes collections to concrete values; anything else passes through unchanged. Collections
 * are optimized together, so pieces they share are computed once.
 */
export async function computeWith<T extends readonly unknown[]>(
  options: ComputeOptions | undefined,
  values: T,
): Promise<{ -readonly [I in keyof T]: Computed<T[I]> }> {
  return (await runCollections<unknown>(
    options,
    values,
    (s, g) => s.computeGraph(g),
    (p, byKey) => p.finalize(p.keys.map((k) => byKey.get(k))),
  )) as never;
}

/** Computes collections and keeps their pieces where they were computed; gives back the same collections over them. */
export async function persistWith<T extends readonly unknown[]>(
  options: ComputeOptions | undefined,
  values: T,
): Promise<{ -readonly [I in keyof T]: T[I] }> {
  return (await runCollections<GraphNode>(
    options,
    values,
    (s, g) => s.persistGraph(g),
    (p, held) => p.rebuild(held),
  )) as never;
}

/**
 * Gives up the results a persisted collection holds on a cluster (its futures); they are freed
 * once nothing else holds them. Python's reference counting does this when a persisted Dask
 * collection goes away; here the garbage collector does it eventually, and this does it now.
 * Computing the collection afterwards fails. Collections not persisted on a cluster hold nothing.
 */
export function release(collection: Collection): void {
  if (!isCollection(collection))
    throw new ArgumentError("release takes a collection (a persisted array or delayed value)");
  for (const layer of collection[COLLECTION]().graph.layers.values()) {
    for (const node of layer.values()) {
      if (node instanceof FutureNode) (node.future as { release?: () => void }).release?.();
    }
  }
}

/** Computes collections on the default scheduler: `const [a, b] = await compute(x.sum(), y)`. */
export function compute<T extends readonly unknown[]>(
  ...values: T
): Promise<{ -readonly [I in keyof T]: Computed<T[I]> }> {
  return computeWith(undefined, values);
}

/** Persists collections on the default scheduler: `const [xp] = await persist(x)`. */
export function persist<T extends readonly unknown[]>(...values: T): Promise<{ -readonly [I in keyof T]: T[I] }> {
  return persistWith(undefined, values);
}

export { FutureNode, Literal };
