// The order tasks should run in so that memory stays low, after dask.order: walk from the
// outputs depth first, taking the input with the larger subtree first (its peak passes while
// little else is held), and as soon as every input of a task has its place, give the task its
// place too. That last rule finishes work that is ready rather than starting more: in
// `x.add(x.T)` the blocks (i, j) and (j, i) are combined as soon as both exist, and freed.

import { ArgumentError } from "../errors.js";
import type { GraphNode } from "./task.js";

/** A position for every key of `graph` (0 runs first); each task comes after its inputs. */
export function order(graph: ReadonlyMap<string, GraphNode>, outputs: readonly string[]): Map<string, number> {
  const keys = [...graph.keys()];
  const index = new Map<string, number>();
  keys.forEach((k, i) => index.set(k, i));
  const deps = new Map<string, string[]>();
  const dependents = new Map<string, string[]>();
  for (const k of keys) dependents.set(k, []);
  for (const [k, node] of graph) {
    const ds = node.deps.filter((d) => graph.has(d)); // others are futures held elsewhere
    deps.set(k, ds);
    for (const d of ds) dependents.get(d)!.push(k);
  }
  const weight = subtreeSizes(keys, deps, dependents);

  const placed = new Map<string, number>();
  let next = 0;
  const remaining = new Map<string, number>(); // inputs not yet placed, per key
  for (const [k, ds] of deps) remaining.set(k, new Set(ds).size);

  const place = (first: string): void => {
    const ready = [first];
    while (ready.length > 0) {
      const k = ready.pop()!;
      if (placed.has(k)) continue;
      placed.set(k, next++);
      // Finish what this unblocks, nearest first (its dependents in the order they were made).
      const ds = dependents.get(k)!;
      const unblocked: string[] = [];
      const seen = new Set<string>();
      for (const d of ds) {
        if (seen.has(d)) continue;
        seen.add(d);
        const left = remaining.get(d)! - 1;
        remaining.set(d, left);
        if (left === 0 && !placed.has(d)) unblocked.push(d);
      }
      for (let i = unblocked.length - 1; i >= 0; i--) ready.push(unblocked[i]!);
    }
  };

  const byWeight = (a: string, b: string): number => weight.get(a)! - weight.get(b)! || index.get(b)! - index.get(a)!;
  // A set: a persisted array of 40,000 blocks has as many outputs, and a list made this quadratic (3 s).
  const roots = new Set(outputs.filter((k) => graph.has(k)));
  // Anything not reachable from the outputs still gets a place (callers usually cull first).
  for (const k of keys) if (dependents.get(k)!.length === 0) roots.add(k);
  for (const root of roots) {
    const stack = [root];
    while (stack.length > 0) {
      const k = stack[stack.length - 1]!;
      if (placed.has(k)) {
        stack.pop();
        continue;
      }
      const pending = [...new Set(deps.get(k)!)].filter((d) => !placed.has(d));
      if (pending.length === 0) {
        stack.pop();
        place(k);
      } else {
        // Ascending, so the heaviest input is on top and goes first.
        pending.sort(byWeight);
        for (const d of pending) stack.push(d);
      }
    }
  }
  return placed;
}

/** Roughly how many tasks each key needs below it (shared inputs counted once per path, as Dask does). */
function subtreeSizes(
  keys: string[],
  deps: Map<string, string[]>,
  dependents: Map<string, string[]>,
): Map<string, number> {
  const size = new Map<string, number>();
  const missing = new Map<string, number>();
  const queue: string[] = [];
  for (const k of keys) {
    const n = deps.get(k)!.length;
    missing.set(k, n);
    if (n === 0) queue.push(k);
  }
  for (let i = 0; i < queue.length; i++) {
    const k = queue[i]!;
    let s = 0;
    for (const d of deps.get(k)!) s += 1 + size.get(d)!;
    size.set(k, Math.min(s, Number.MAX_SAFE_INTEGER));
    for (const d of dependents.get(k)!) {
      const left = missing.get(d)! - 1;
      missing.set(d, left);
      if (left === 0) queue.push(d);
    }
  }
  if (size.size !== keys.length)
    throw new ArgumentError(
      `the graph has a cycle: ${findCycle(
        keys.filter((k) => !size.has(k)),
        deps,
        size,
      ).join(" → ")}`,
    );
  return size;
}

/**
 * One cycle among `stuck` (the keys never sized: those on a cycle and those downstream of one),
 * as keys each needing the next. Every stuck key has a stuck input, so following them must repeat.
 */
function findCycle(stuck: string[], deps: Map<string, string[]>, sized: Map<string, number>): string[] {
  const path: string[] = [];
  const at = new Map<string, number>();
  let k = stuck[0]!;
  while (!at.has(k)) {
    at.set(k, path.length);
    path.push(k);
    k = deps.get(k)!.find((d) => !sized.has(d))!;
  }
  const cycle = path.slice(at.get(k));
  if (cycle.length > 8) cycle.splice(4, cycle.length - 8, "…");
  return [...cycle, k];
}
