// Making a graph smaller before it runs: drop what the outputs do not need (cull), and merge
// tasks whose functions know how to merge (fuse: an elementwise chain becomes one loop per
// block). A task is merged into its consumer only when nothing else needs its result, unless it
// is one that is cheap to run again (a read from storage: builtins.ts's registerRepeatable), which
// is merged into each consumer that can absorb it.

import { fuserFor, isRepeatable } from "./builtins.js";
import { Task, type GraphNode } from "./task.js";

/** Only the nodes `outputs` need, directly or through others. */
export function cull(graph: ReadonlyMap<string, GraphNode>, outputs: readonly string[]): Map<string, GraphNode> {
  const keep = new Map<string, GraphNode>();
  const stack = outputs.filter((k) => graph.has(k));
  while (stack.length > 0) {
    const k = stack.pop()!;
    if (keep.has(k)) continue;
    const node = graph.get(k)!;
    keep.set(k, node);
    for (const d of node.deps) if (graph.has(d) && !keep.has(d)) stack.push(d);
  }
  // Keep the original (creation) order: ordering uses it to break ties.
  const ordered = new Map<string, GraphNode>();
  for (const [k, v] of graph) if (keep.has(k)) ordered.set(k, v);
  return ordered;
}

/**
 * Merges producers into their only consumer where a fuser is registered for the consumer's
 * function; a repeatable producer with several consumers is copied into each that absorbs it, and
 * stays as a task for the others (it is gone when every one has absorbed it).
 */
export function fuse(graph: ReadonlyMap<string, GraphNode>, outputs: readonly string[]): Map<string, GraphNode> {
  const out = new Map(graph);
  const users = new Map<string, number>();
  for (const node of out.values()) for (const d of node.deps) users.set(d, (users.get(d) ?? 0) + 1);
  const pinned = new Set(outputs);
  for (const key of [...out.keys()]) {
    let node = out.get(key);
    if (!(node instanceof Task) || typeof node.fn !== "string") continue;
    const fuser = fuserFor(node.fn);
    if (!fuser) continue;
    let merged = true;
    while (merged) {
      merged = false;
      for (const dep of node.deps) {
        const producer = out.get(dep);
        if (!(producer instanceof Task) || pinned.has(dep)) continue;
        const shared = users.get(dep)! > 1;
        if (shared && !isRepeatable(producer.fn)) continue;
        const fused: Task | null = fuser(node, dep, producer);
        if (!fused) continue;
        if (shared) {
          // A copy of the producer runs inside the merged task; the producer stays for its other users.
          users.set(dep, users.get(dep)! - 1);
          for (const d of producer.deps) if (!node.deps.includes(d)) users.set(d, (users.get(d) ?? 0) + 1);
        } else {
          out.delete(dep);
          users.delete(dep);
          // The producer's inputs now feed the merged task instead (one user each, as before, unless
          // the consumer already used one of them: then it is counted once).
          for (const d of producer.deps) if (node.deps.includes(d)) users.set(d, (users.get(d) ?? 1) - 1);
        }
        node = fused;
        out.set(key, node);
        merged = true;
        break;
      }
    }
  }
  return out;
}

export interface OptimizeOptions {
  /** Merge elementwise chains (default true). */
  fuse?: boolean;
}

export function optimize(
  graph: ReadonlyMap<string, GraphNode>,
  outputs: readonly string[],
  options: OptimizeOptions = {},
): Map<string, GraphNode> {
  const culled = cull(graph, outputs);
  return options.fuse === false ? culled : fuse(culled, outputs);
}
