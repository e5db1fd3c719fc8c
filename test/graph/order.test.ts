// The run order of a graph (dask.order's ideas): inputs before the tasks that use them, the
// heavier input first, a task placed as soon as its inputs are, so that running in order keeps
// few values alive. Memory is measured by simulation: run the order, drop each value after its
// last user, and count what is alive at the peak.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ArgumentError, order, Task, TaskRef, type GraphNode } from "../../src/internal.js";

const ref = (k: string) => new TaskRef(k);
const task = (...inputs: string[]) => new Task("f", inputs.map(ref));

/** Keys in run order. */
function sequence(o: Map<string, number>): string[] {
  return [...o.keys()].sort((a, b) => o.get(a)! - o.get(b)!);
}

/** The most (by `weight`, 1 each by default) alive at once when the graph runs in `o`; fails if a task runs before an input. */
function peak(
  graph: Map<string, GraphNode>,
  outputs: string[],
  o: Map<string, number>,
  weight: (key: string) => number = () => 1,
): number {
  const users = new Map<string, number>();
  for (const node of graph.values()) for (const d of new Set(node.deps)) users.set(d, (users.get(d) ?? 0) + 1);
  const done = new Set<string>();
  let alive = 0;
  let most = 0;
  for (const k of sequence(o)) {
    for (const d of graph.get(k)!.deps) assert.ok(done.has(d), `${k} runs before its input ${d}`);
    done.add(k);
    alive += weight(k);
    most = Math.max(most, alive);
    for (const d of new Set(graph.get(k)!.deps)) {
      const left = users.get(d)! - 1;
      users.set(d, left);
      if (left === 0 && !outputs.includes(d)) alive -= weight(d); // outputs are kept to the end
    }
  }
  return most;
}

/** The order the graph was built in: what running without ordering would do. */
function creationOrder(graph: Map<string, GraphNode>): Map<string, number> {
  return new Map([...graph.keys()].map((k, i) => [k, i]));
}

/** 4^depth leaves, each loaded and reduced to a partial result, combined four at a time. */
function treeReduction(depth: number): { graph: Map<string, GraphNode>; root: string } {
  const graph = new Map<string, GraphNode>();
  let level: string[] = [];
  for (let i = 0; i < 4 ** depth; i++) {
    graph.set(`load-${i}`, task());
    graph.set(`part-${i}`, task(`load-${i}`));
    level.push(`part-${i}`);
  }
  for (let d = 0; level.length > 1; d++) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 4) {
      const k = `combine-${d}-${i / 4}`;
      graph.set(k, task(...level.slice(i, i + 4)));
      next.push(k);
    }
    level = next;
  }
  return { graph, root: level[0]! };
}

/** The graph of (x + x.T).sum() over n × n blocks: block (i, j) needs x[i, j] and x[j, i]. */
function addTransposeSum(n: number): Map<string, GraphNode> {
  const graph = new Map<string, GraphNode>();
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) graph.set(`x-${i},${j}`, task());
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) graph.set(`xT-${i},${j}`, task(`x-${j},${i}`));
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) graph.set(`add-${i},${j}`, task(`x-${i},${j}`, `xT-${i},${j}`));
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) graph.set(`sum-${i},${j}`, task(`add-${i},${j}`));
  for (let i = 0; i < n; i++) graph.set(`rowsum-${i}`, task(...Array.from({ length: n }, (_, j) => `sum-${i},${j}`)));
  graph.set("total", task(...Array.from({ length: n }, (_, i) => `rowsum-${i}`)));
  return graph;
}

/** A deterministic pseudo-random DAG: each node takes up to three earlier nodes as inputs. */
function randomDag(seed: number, size: number): Map<string, GraphNode> {
  let s = seed;
  const rand = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const graph = new Map<string, GraphNode>();
  for (let i = 0; i < size; i++) {
    const inputs = i === 0 ? [] : Array.from({ length: Math.floor(rand() * 4) }, () => `n${Math.floor(rand() * i)}`);
    graph.set(`n${i}`, task(...inputs));
  }
  return graph;
}

describe("order", () => {
  test("every task comes after its inputs, and every key gets one place from 0 up", () => {
    for (let seed = 1; seed <= 10; seed++) {
      const graph = randomDag(seed, 200);
      const used = new Set([...graph.values()].flatMap((n) => n.deps));
      const sinks = [...graph.keys()].filter((k) => !used.has(k));
      const o = order(graph, sinks.slice(0, 3)); // not every sink is an output: the rest still get a place
      assert.deepEqual(
        [...o.values()].sort((a, b) => a - b),
        [...graph.keys()].map((_, i) => i),
        `seed ${seed}`,
      );
      peak(graph, sinks, o); // asserts inputs first
    }
  });

  test("a tree reduction holds a few partial results per level, not all the leaves", () => {
    const { graph, root } = treeReduction(4); // 256 leaves
    const most = peak(graph, [root], order(graph, [root]));
    assert.ok(most <= 14, `at most 3 waiting per level and the task running: ${most} alive`);
    assert.ok(peak(graph, [root], creationOrder(graph)) >= 256, "running in creation order would hold every partial");
  });

  test("(x + x.T).sum(): x[i, j] and x[j, i] are combined as soon as both exist, so a handful of blocks are alive", () => {
    const graph = addTransposeSum(12);
    const block = (k: string) => (/^(x|xT|add)-/.test(k) ? 1 : 0); // partial sums are numbers; blocks are what weigh
    const most = peak(graph, ["total"], order(graph, ["total"]), block);
    assert.ok(most <= 5, `blocks alive at once: ${most}`);
    assert.ok(
      peak(graph, ["total"], creationOrder(graph), block) > 144,
      "in creation order every x block is alive at once",
    );
  });

  test("the heavier input goes first, so the light one is not held while the heavy one is computed", () => {
    const graph = new Map<string, GraphNode>([
      ["leaf", task()],
      ["c0", task()],
      ["c1", task("c0")],
      ["c2", task("c1")],
      ["c3", task("c2")],
      ["out", task("leaf", "c3")], // the light input is named first
    ]);
    assert.deepEqual(sequence(order(graph, ["out"])), ["c0", "c1", "c2", "c3", "leaf", "out"]);
  });

  test("a task is placed as soon as its inputs are, even when the walk has not reached it yet", () => {
    // The walk starts from out-a and goes down to x; once x has its place, b and out-b can run,
    // so they come next rather than after the whole of out-a's branch (x is freed sooner).
    const graph = new Map<string, GraphNode>([
      ["x", task()],
      ["b", task("x")],
      ["a0", task("x")],
      ["a1", task("a0")],
      ["a2", task("a1")],
      ["out-a", task("a2")],
      ["out-b", task("b")],
    ]);
    assert.deepEqual(sequence(order(graph, ["out-a", "out-b"])), ["x", "b", "out-b", "a0", "a1", "a2", "out-a"]);
  });

  test("ties are broken by creation order, the same way every time", () => {
    const build = () => {
      const graph = new Map<string, GraphNode>();
      for (let i = 0; i < 6; i++) {
        graph.set(`load-${i}`, task());
        graph.set(`clean-${i}`, task(`load-${i}`));
      }
      graph.set("total", task(...[5, 3, 1, 0, 2, 4].map((i) => `clean-${i}`)));
      return graph;
    };
    const first = order(build(), ["total"]);
    assert.deepEqual(order(build(), ["total"]), first);
    const loads = sequence(first).filter((k) => k.startsWith("load-"));
    assert.deepEqual(
      loads,
      [0, 1, 2, 3, 4, 5].map((i) => `load-${i}`),
      "equal branches run in the order they were made",
    );
  });

  test("a cycle is an ArgumentError that names the keys on it", () => {
    const graph = new Map<string, GraphNode>([
      ["a", task("c")],
      ["b", task("a")],
      ["c", task("b")],
      ["after", task("a")], // stuck behind the cycle, but not on it
    ]);
    assert.throws(
      () => order(graph, ["after"]),
      (err: unknown) => {
        assert.ok(err instanceof ArgumentError, String(err));
        assert.match(err.message, /cycle: a → c → b → a$/);
        return true;
      },
    );
    assert.throws(() => order(new Map([["self", task("self")]]), ["self"]), /cycle: self → self/);
  });

  test("inputs outside the graph (results held elsewhere) are not waited for", () => {
    const graph = new Map<string, GraphNode>([["uses-future", task("held-on-a-cluster")]]);
    assert.deepEqual(sequence(order(graph, ["uses-future"])), ["uses-future"]);
  });

  test("many outputs are ordered in linear time (40,000 blocks took 3 s when outputs were a list)", () => {
    const graph = new Map<string, GraphNode>();
    for (let i = 0; i < 40_000; i++) graph.set(`block-${i}`, task());
    const started = performance.now();
    const o = order(graph, [...graph.keys()]);
    const ms = performance.now() - started;
    assert.equal(o.size, 40_000);
    assert.ok(ms < 1500, `${ms.toFixed(0)} ms`);
  });
});
