// Collections on a client: compute's graph (the collections' tasks plus a finalize task per
// collection that assembles its value on a worker), and a prepared graph as task messages.

import { ArgumentError } from "../errors.js";
import { COLLECTION, type Collection, type PreparedGraph, prepare } from "../graph/collection.js";
import { FutureNode, Literal, Task } from "../graph/task.js";
import type { FnDef, FnRef, TaskMsg } from "../protocol/messages.js";
import { serialize } from "../protocol/serialize.js";
import { hash64 } from "../util/ids.js";
import { describe, isTaskHandle, sourceRef } from "./arguments.js";
import { describeFunction } from "./functions.js";
import type { KeyState } from "./future.js";

/** The graph client.compute submits: one output per collection, its value assembled on a worker. */
export function computeGraph(list: readonly Collection[]): PreparedGraph {
  const parts = list.map((c, i) => {
    if (typeof (c as Partial<Collection>)?.[COLLECTION] !== "function")
      throw new ArgumentError(`compute takes collections (delayed values, arrays); item ${i} is ${describe(c)}`);
    return c[COLLECTION]();
  });
  const prepared = prepare(parts);
  const outputs: string[] = [];
  let last = Math.max(-1, ...prepared.order.values());
  for (const p of parts) {
    const task = p.finalizeTask?.();
    if (!task) {
      outputs.push(p.keys[0]!);
      continue;
    }
    const key = `finalize-${hash64(...p.keys)}`;
    prepared.graph.set(key, task);
    prepared.order.set(key, ++last);
    outputs.push(key);
  }
  return { ...prepared, outputs };
}

/** What graphTasks needs of the client. */
export interface GraphContext {
  /** The record of a key this client holds a future for. */
  known(key: string): KeyState | undefined;
  /** Turns futures among a task's arguments into references (and refuses other clients'). */
  replace: (v: object) => unknown;
  /** The count of updates sent before this one: its tasks come after theirs at equal priority. */
  generation: number;
  noWorkerTimeout: number | undefined;
}

/**
 * A prepared graph's nodes as task messages, and the functions they need sent as source. Keys
 * already held as futures (pending or finished) are not sent again; functions compiled into
 * meshwork go by name, the user's as source. Throws before anything is queued when a node cannot
 * be sent (a closure, an unsendable value), so no task is left to run for nobody.
 */
export function graphTasks(g: PreparedGraph, c: GraphContext): { tasks: TaskMsg[]; fns: FnDef[] } {
  const tasks: TaskMsg[] = [];
  const fns: FnDef[] = [];
  for (const [key, node] of g.graph) {
    if (node instanceof FutureNode) {
      if (!c.known(key))
        throw new ArgumentError(`${key} is held by a future of another client, or one already released`);
      continue;
    }
    const known = c.known(key);
    if (known && (known.status === "pending" || known.status === "finished")) continue;
    let ref: FnRef;
    let args: readonly unknown[];
    if (node instanceof Literal) {
      ref = { kind: "builtin", name: "identity" };
      args = [node.value];
    } else if (node instanceof Task) {
      args = node.args;
      if (typeof node.fn === "string") {
        ref = { kind: "builtin", name: node.fn };
      } else if (isTaskHandle(node.fn)) {
        ref = { kind: "module", module: node.fn.module, name: node.fn.name };
      } else {
        const def = describeFunction(node.fn);
        ref = sourceRef(def);
        fns.push(def);
      }
      // A kernel calling the user's function (Task.calling): the worker runs via(fn, ...args).
      if (node.via !== undefined && ref.kind !== "builtin") ref = { ...ref, via: node.via };
    } else {
      throw new ArgumentError(`cannot submit graph node ${String(node)}`);
    }
    const { payload, refs } = serialize(args, { replace: c.replace });
    tasks.push({
      key,
      fn: ref,
      args: payload,
      deps: refs,
      priority: [0, c.generation, g.order.get(key) ?? 0],
      retries: 0,
      noWorkerTimeout: c.noWorkerTimeout,
    });
  }
  return { tasks, fns };
}
