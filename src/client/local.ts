// The single-machine scheduler: runs a graph with no cluster, in this thread or on a pool of local
// threads. Ready tasks start in graph order (lowest first), and a value is dropped as soon as the
// last task needing it has run, so memory follows the order's plan.

import "../array/kernels/register.js";
import "../io/register.js";
import "../xarray/kernels.js";
import "../dataframe/register.js";
import "../glm/kernels/register.js";
import { ArgumentError } from "../errors.js";
import { builtin } from "../graph/builtins.js";
import { FutureNode, Literal, Task, substitute, type Callable, type GraphNode } from "../graph/task.js";
import { registerScheduler, type GraphScheduler, type PreparedGraph } from "../graph/collection.js";
import { Heap } from "../util/heap.js";

/** Where the local scheduler's tasks run. */
export interface Executor {
  /** Tasks run at once (1 in this thread). */
  readonly concurrency: number;
  run(fn: Callable, args: unknown[]): unknown;
}

/** Runs tasks in this thread. */
export const inThread: Executor = {
  concurrency: 1,
  run(fn, args) {
    return resolveCallable(fn)(...(args as never[]));
  },
};

/** The function behind a Callable in this process. */
export function resolveCallable(fn: Callable): (...args: never[]) => unknown {
  if (typeof fn === "function") return fn;
  const b = builtin(fn);
  if (!b) throw new ArgumentError(`no builtin function named ${JSON.stringify(fn)} in this process`);
  return b;
}

/** Run tasks back to back for at most this long before letting the event loop in (ms). */
const SLICE_MS = 10;

export class LocalScheduler implements GraphScheduler {
  readonly closedError = null;
  constructor(private readonly executor: Executor = inThread) {}

  async computeGraph(g: PreparedGraph): Promise<unknown[]> {
    const values = await run(g, this.executor);
    return g.outputs.map((k) => values.get(k));
  }

  async persistGraph(g: PreparedGraph): Promise<GraphNode[]> {
    const values = await run(g, this.executor);
    return g.outputs.map((k) => new Literal(values.get(k)));
  }
}

/** Runs every task of `g`; resolves with the outputs' values, or rejects with the first task's error. */
export function run(g: PreparedGraph, executor: Executor): Promise<Map<string, unknown>> {
  const { graph, order } = g;
  const outputs = new Set(g.outputs);
  for (const k of outputs)
    if (!graph.has(k)) return Promise.reject(new ArgumentError(`output ${k} is not in the graph`));
  const values = new Map<string, unknown>();
  const missing = new Map<string, number>(); // inputs not computed yet
  const users = new Map<string, number>(); // tasks still to run that need the value
  const dependents = new Map<string, string[]>();
  const ready = new Heap<string>((a, b) => order.get(a)! < order.get(b)!);
  for (const [k, node] of graph) {
    const deps = [...new Set(node.deps)];
    let n = 0;
    for (const d of deps) {
      if (!graph.has(d)) throw new ArgumentError(`${k} needs ${d}, which is not in the graph`);
      n++;
      users.set(d, (users.get(d) ?? 0) + 1);
      let list = dependents.get(d);
      if (!list) dependents.set(d, (list = []));
      list.push(k);
    }
    missing.set(k, n);
    if (n === 0) ready.push(k);
  }
  let remaining = graph.size;
  let inFlight = 0;
  let failed = false;
  g.computation?.addSource(() => ({
    read: () => ({ total: graph.size, done: graph.size - remaining, erred: failed ? 1 : 0, processing: inFlight }),
  }));

  return new Promise((resolve, reject) => {
    const finish = (key: string, node: GraphNode, value: unknown): void => {
      if (failed) return;
      values.set(key, value);
      remaining--;
      for (const d of new Set(node.deps)) {
        const left = users.get(d)! - 1;
        users.set(d, left);
        if (left === 0 && !outputs.has(d)) values.delete(d);
      }
      for (const dep of dependents.get(key) ?? []) {
        const left = missing.get(dep)! - 1;
        missing.set(dep, left);
        if (left === 0) ready.push(dep);
      }
    };
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      reject(err);
    };
    const pump = (): void => {
      const start = performance.now();
      while (!failed && inFlight < executor.concurrency && ready.size > 0) {
        if (performance.now() - start > SLICE_MS) {
          setTimeout(pump, 0);
          return;
        }
        const key = ready.pop()!;
        const node = graph.get(key)!;
        let result: unknown;
        try {
          result = startNode(node, values, executor);
        } catch (err) {
          fail(err);
          return;
        }
        if (isThenable(result)) {
          inFlight++;
          Promise.resolve(result).then(
            (v) => {
              inFlight--;
              finish(key, node, v);
              pump();
            },
            (err: unknown) => {
              inFlight--;
              fail(err);
            },
          );
        } else {
          finish(key, node, result);
        }
      }
      if (!failed && remaining === 0) {
        const out = new Map<string, unknown>();
        for (const k of outputs) out.set(k, values.get(k));
        resolve(out);
      }
    };
    pump();
  });
}

function startNode(node: GraphNode, values: Map<string, unknown>, executor: Executor): unknown {
  if (node instanceof Literal) return node.value;
  if (node instanceof FutureNode) {
    const f = node.future as { result?: () => Promise<unknown> };
    if (typeof f.result !== "function")
      throw new ArgumentError(`${node.future.key} is held by a cluster this scheduler cannot reach`);
    return f.result();
  }
  if (node instanceof Task) {
    const args = substitute(node.args, (k) => values.get(k)) as unknown[];
    return node.via !== undefined ? executor.run(node.via, [node.fn, ...args]) : executor.run(node.fn, args);
  }
  throw new ArgumentError(`unknown graph node ${String(node)}`);
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";
}

registerScheduler("sync", () => new LocalScheduler(inThread));
