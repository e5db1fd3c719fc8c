// Functions compiled into meshwork that tasks name instead of carrying source: the array kernels,
// finalizers, and the like. Every process that runs tasks has them, so a graph of ten thousand
// chunk tasks sends a name per task, not code. Optimizers may also register how two tasks of
// known functions merge into one (elementwise chains becoming one loop).

import type { Task } from "./task.js";

export type BuiltinFn = (...args: never[]) => unknown;

const functions = new Map<string, BuiltinFn>();

/**
 * How a consumer task absorbs one of its inputs: given the consumer, the key of the input and the
 * task producing it, returns the merged task, or null when they do not merge.
 */
export type Fuser = (consumer: Task, inputKey: string, producer: Task) => Task | null;
/** Per consumer function, its fusers in the order registered (array kernels, then io's …). */
const fusers = new Map<string, Fuser[]>();

export function registerBuiltin(name: string, fn: BuiltinFn): void {
  const known = functions.get(name);
  if (known && known !== fn) throw new Error(`builtin ${name} is registered twice`);
  functions.set(name, fn);
}

/** The builtin called `name`, or undefined. */
export function builtin(name: string): BuiltinFn | undefined {
  return functions.get(name);
}

/**
 * Adds a way for tasks of `consumerFn` to absorb inputs. Several may be registered for one
 * function (each knows its own kind of producer); the first that merges a pair wins.
 */
export function registerFuser(consumerFn: string, fuser: Fuser): void {
  const list = fusers.get(consumerFn);
  if (list) list.push(fuser);
  else fusers.set(consumerFn, [fuser]);
}

/**
 * Functions whose tasks are cheap to run again beside holding their result: reads from storage
 * (a decoded chunk is tens of megabytes held; reading it again is milliseconds). Such a task used
 * by several consumers is fused into each consumer that can absorb it (optimize.ts), so a store
 * read once for a climatology and once more for the anomaly from it is read twice instead of
 * every chunk being held until the climatology is done.
 */
const repeatable = new Set<string>();

export function registerRepeatable(fn: string): void {
  repeatable.add(fn);
}

export function isRepeatable(fn: unknown): boolean {
  return typeof fn === "string" && repeatable.has(fn);
}

/** The fusers registered for `consumerFn`, as one, or undefined. */
export function fuserFor(consumerFn: string): Fuser | undefined {
  const list = fusers.get(consumerFn);
  if (!list) return undefined;
  if (list.length === 1) return list[0];
  return (consumer, inputKey, producer) => {
    for (const f of list) {
      const merged = f(consumer, inputKey, producer);
      if (merged) return merged;
    }
    return null;
  };
}

registerBuiltin("identity", ((x: unknown) => x) as BuiltinFn);
