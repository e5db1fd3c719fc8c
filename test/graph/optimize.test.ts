// Making graphs smaller before they run: cull keeps exactly what the outputs need; fuse merges a
// producer into its consumer only when that consumer is its only user and it is not an output
// (or, for a producer cheap to run again, into each user that absorbs it), and the merged graph
// computes the same values with fewer tasks.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  computeWith,
  cull,
  Delayed,
  fuse,
  LayeredGraph,
  optimize,
  registerBuiltin,
  registerFuser,
  registerRepeatable,
  Task,
  TaskRef,
  type GraphNode,
} from "../../src/internal.js";

const ref = (k: string) => new TaskRef(k);

// A builtin that can absorb its inputs: test.sum adds its arguments, and a test.sum input can be
// replaced by that input's own arguments. Counting calls shows how many tasks really ran.
let sumCalls = 0;
registerBuiltin("test.sum", ((...xs: number[]) => {
  sumCalls++;
  return xs.reduce((a, b) => a + b, 0);
}) as never);
registerBuiltin("test.negate", ((x: number) => -x) as never);
registerFuser("test.sum", (consumer, inputKey, producer) => {
  if (producer.fn !== "test.sum") return null;
  return new Task(
    "test.sum",
    consumer.args.flatMap((a) => (a instanceof TaskRef && a.key === inputKey ? producer.args : [a])),
  );
});
// A second fuser for the same consumer, for another kind of producer: test.negate(x) inside a
// test.sum becomes a test.sum argument of -x when x is a number.
registerFuser("test.sum", (consumer, inputKey, producer) => {
  if (producer.fn !== "test.negate" || typeof producer.args[0] !== "number") return null;
  return new Task(
    "test.sum",
    consumer.args.map((a) => (a instanceof TaskRef && a.key === inputKey ? -(producer.args[0] as number) : a)),
  );
});
const sum = (...args: unknown[]) => new Task("test.sum", args);
// A read from storage, as the io builtins are: cheap to run again, so it is copied into each
// consumer that can absorb it: test.sum(read(x), y) becomes test.sum-read(x, y), which reads too.
let readCalls = 0;
registerBuiltin("test.read", ((x: number) => (readCalls++, x)) as never);
registerBuiltin(
  "test.sum-read",
  ((x: number, ...ys: number[]) => (readCalls++, ys.reduce((a, b) => a + b, x))) as never,
);
registerRepeatable("test.read");
registerFuser("test.sum", (consumer, inputKey, producer) => {
  const [first, ...rest] = consumer.args;
  if (producer.fn !== "test.read" || !(first instanceof TaskRef) || first.key !== inputKey) return null;
  return new Task("test.sum-read", [producer.args[0], ...rest]);
});

/** The value of `key` in `graph` on the local scheduler, with or without fusing. */
async function value(graph: Map<string, GraphNode>, key: string, fuse: boolean): Promise<unknown> {
  const [v] = await computeWith({ scheduler: "sync", fuse }, [new Delayed(key, LayeredGraph.of("test", graph))]);
  return v;
}

describe("cull", () => {
  const graph = new Map<string, GraphNode>([
    ["a", sum(1)],
    ["unused", sum(100)],
    ["b", sum(ref("a"), 2)],
    ["other", sum(ref("unused"))],
    ["c", sum(ref("b"), ref("a"))],
  ]);

  test("keeps exactly what the outputs need, directly or through others, in the graph's order", () => {
    assert.deepEqual([...cull(graph, ["c"]).keys()], ["a", "b", "c"]);
    assert.deepEqual([...cull(graph, ["b"]).keys()], ["a", "b"]);
    assert.deepEqual([...cull(graph, ["other", "a"]).keys()], ["a", "unused", "other"]);
    assert.deepEqual([...cull(graph, []).keys()], []);
  });

  test("inputs held outside the graph are neither kept nor an error", () => {
    const g = new Map<string, GraphNode>([["x", sum(ref("a-future"), 1)]]);
    assert.deepEqual([...cull(g, ["x"]).keys()], ["x"]);
  });

  test("what is culled never runs", async () => {
    sumCalls = 0;
    assert.equal(await value(graph, "b", false), 3);
    assert.equal(sumCalls, 2, "a and b only");
  });
});

describe("fuse", () => {
  test("a chain whose links each have one user becomes one task with the same value", async () => {
    const graph = new Map<string, GraphNode>([
      ["a", sum(1, 2)],
      ["b", sum(ref("a"), 3)],
      ["c", sum(ref("b"), 4)],
    ]);
    const fused = fuse(graph, ["c"]);
    assert.deepEqual([...fused.keys()], ["c"]);
    assert.deepEqual((fused.get("c") as Task).args, [1, 2, 3, 4]);
    assert.deepEqual(fused.get("c")!.deps, []);
    sumCalls = 0;
    assert.equal(await value(graph, "c", true), 10);
    assert.equal(sumCalls, 1);
    assert.equal(await value(graph, "c", false), 10);
    assert.equal(sumCalls, 4);
  });

  test("several fusers for one consumer: each merges its own kind of producer", async () => {
    const graph = new Map<string, GraphNode>([
      ["a", sum(1, 2)],
      ["n", new Task("test.negate", [5])],
      ["m", new Task("test.negate", [ref("a")])],
      ["c", sum(ref("a"), ref("n"), 4)],
      ["d", sum(ref("m"), 1)],
    ]);
    const fused = fuse(graph, ["c", "d"]);
    assert.deepEqual(
      [...fused.keys()].sort(),
      ["a", "c", "d", "m"],
      "a has two users; n merged into c by the second fuser; m's input is not a number",
    );
    assert.deepEqual((fused.get("c") as Task).args, [ref("a"), -5, 4]);
    assert.equal(await value(graph, "c", true), 2);
    assert.equal(await value(graph, "c", false), 2);
    assert.equal(await value(graph, "d", true), -2);
  });

  test("a producer with two users is not merged into either", () => {
    const graph = new Map<string, GraphNode>([
      ["shared", sum(1)],
      ["left", sum(ref("shared"), 2)],
      ["right", sum(ref("shared"), 3)],
      ["both", new Task("test.negate", [ref("left")])],
    ]);
    const fused = fuse(graph, ["both", "right"]);
    assert.ok(fused.has("shared"), "still computed once, for both users");
    assert.deepEqual(fused.get("right")!.deps, ["shared"]);
  });

  test("a repeatable producer (a read) with several users is copied into each that absorbs it, and kept for the others", async () => {
    const graph = new Map<string, GraphNode>([
      ["read", new Task("test.read", [7])],
      ["left", sum(ref("read"), 1)],
      ["right", sum(ref("read"), 2)],
      ["neg", new Task("test.negate", [ref("read")])],
    ]);
    const outputs = ["left", "right", "neg"];
    const fused = fuse(graph, outputs);
    assert.deepEqual([...fused.keys()], ["read", "left", "right", "neg"]);
    assert.equal((fused.get("left") as Task).fn, "test.sum-read");
    assert.deepEqual(fused.get("left")!.deps, [], "left reads for itself");
    assert.deepEqual(fused.get("right")!.deps, [], "and right");
    assert.deepEqual(fused.get("neg")!.deps, ["read"], "neg has no fuser: the read is kept for it");
    const computed = (fuseIt: boolean) =>
      computeWith(
        { scheduler: "sync", fuse: fuseIt },
        outputs.map((k) => new Delayed(k, LayeredGraph.of("test", graph))),
      );
    readCalls = 0;
    assert.deepEqual(await computed(true), [8, 9, -7]);
    assert.equal(readCalls, 3, "read inside left and right, and once for neg");
    readCalls = 0;
    assert.deepEqual(await computed(false), [8, 9, -7]);
    assert.equal(readCalls, 1, "unfused: read once, its value held for its three users");
    const all = new Map<string, GraphNode>([
      ["read", new Task("test.read", [7])],
      ["a", sum(ref("read"), 1)],
      ["b", sum(ref("read"), 2)],
    ]);
    assert.deepEqual(
      [...fuse(all, ["a", "b"]).values()].map((t) => (t as Task).fn),
      ["test.sum-read", "test.sum-read"],
    );
    assert.deepEqual([...fuse(all, ["a", "b"]).keys()], ["a", "b"], "absorbed by every user: gone");
    assert.ok(fuse(all, ["read", "a", "b"]).has("read"), "an output is not copied away");
  });

  test("an output is never merged into its consumer: its own value is wanted", async () => {
    const graph = new Map<string, GraphNode>([
      ["a", sum(1)],
      ["b", sum(ref("a"), 2)],
      ["c", sum(ref("b"), 3)],
    ]);
    assert.deepEqual([...fuse(graph, ["b", "c"]).keys()], ["b", "c"], "a merged into b; b kept for its own sake");
    const [b, c] = await computeWith({ scheduler: "sync" }, [
      new Delayed("b", LayeredGraph.of("test", graph)),
      new Delayed("c", LayeredGraph.of("test", graph)),
    ]);
    assert.deepEqual([b, c], [3, 6]);
  });

  test("only consumers whose function has a registered fuser absorb inputs", () => {
    const graph = new Map<string, GraphNode>([
      ["a", sum(1)],
      ["neg", new Task("test.negate", [ref("a")])],
      ["user", new Task((x: number) => x, [ref("neg")])],
    ]);
    assert.deepEqual([...fuse(graph, ["user"]).keys()], ["a", "neg", "user"]);
  });

  test("a diamond merges once its two sides have become one task's inputs (users are recounted)", async () => {
    // top uses left and right, which both use base: once left and right are merged into top,
    // base has one user left and is merged too.
    const graph = new Map<string, GraphNode>([
      ["base", sum(3, 4)],
      ["left", sum(ref("base"), 1)],
      ["right", sum(ref("base"), 2)],
      ["top", sum(ref("left"), ref("right"))],
    ]);
    const fused = fuse(graph, ["top"]);
    assert.deepEqual([...fused.keys()], ["top"]);
    sumCalls = 0;
    assert.equal(await value(graph, "top", true), 17);
    assert.equal(sumCalls, 1);
    assert.equal(await value(graph, "top", false), 17);
  });

  test("optimize culls, then fuses unless told not to", () => {
    const graph = new Map<string, GraphNode>([
      ["a", sum(1)],
      ["b", sum(ref("a"))],
      ["unused", sum(5)],
    ]);
    assert.deepEqual([...optimize(graph, ["b"]).keys()], ["b"]);
    assert.deepEqual([...optimize(graph, ["b"], { fuse: false }).keys()], ["a", "b"]);
  });
});
