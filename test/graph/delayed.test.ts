// delayed: calls recorded as a graph and run on compute, in this thread ("sync") or on a cluster.
// Keys (pure ones equal exactly when the work is the same), nested arguments, shared work done
// once, async tasks, errors that keep their identity here and their stack from a worker, closures
// refused only where they cannot go, persisted values reused, and which scheduler is the default.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fromArray } from "../../node/array.js";
import {
  ArgumentError,
  ClosureError,
  compute,
  computeWith,
  Delayed,
  delayed,
  Future,
  FutureNode,
  persistWith,
  prepare,
  RemoteError,
  COLLECTION,
  type Task,
} from "../../src/internal.js";
import { startCluster, useCluster } from "../helpers/cluster.js";

const sync = { scheduler: "sync" } as const;
const inc = delayed((x: number) => x + 1, { name: "inc" });
const add = delayed((x: number, y: number) => x + y, { name: "add" });

// Where a task ran: this thread sets the marker, worker threads do not have it.
(globalThis as { meshworkTestThread?: string }).meshworkTestThread = "this thread";
const where = delayed(() => (globalThis as { meshworkTestThread?: string }).meshworkTestThread ?? "a worker", {
  name: "where",
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("delayed calls", () => {
  test("with no client connected, compute runs the graph in this thread", async () => {
    assert.equal(await where().compute(), "this thread");
    const [a, b, plain] = await compute(add(inc(1), inc(2)), inc(10), "not a collection");
    assert.deepEqual([a, b, plain], [5, 11, "not a collection"]);
    assert.deepEqual(await compute(), []);
  });

  test("a call is recorded, not made: nothing runs until compute", async () => {
    let calls = 0;
    const counted = delayed(
      (x: number) => {
        calls++;
        return x * 2;
      },
      { local: true },
    );
    const d = counted(counted(3));
    assert.ok(d instanceof Delayed, String(d));
    assert.equal(d.taskCount, 2);
    assert.match(String(d), /^Delayed\(.+\)$/);
    assert.equal(calls, 0);
    assert.equal(await d.compute(sync), 12);
    assert.equal(calls, 2);
  });

  test("arguments may be delayed values nested in arrays and plain objects", async () => {
    const combine = delayed(
      (parts: { a: number; rest: number[] }, label: string) =>
        `${label}: ${parts.a + parts.rest.reduce((s, x) => s + x, 0)}`,
    );
    const d = combine({ a: inc(0), rest: [inc(1), 10, inc(inc(2))] }, "sum");
    assert.equal(await d.compute(sync), "sum: 17");
  });

  test("delayed(value) wraps a value; one holding delayed values depends on them; delayed(d) is d", async () => {
    assert.equal(await delayed(5).compute(sync), 5);
    assert.deepEqual(await delayed([inc(1), { b: inc(2) }, "c"]).compute(sync), [2, { b: 3 }, "c"]);
    const d = inc(1);
    assert.equal(delayed(d), d);
    assert.match(delayed(1).key, /^literal-/);
    assert.match(delayed(1, { name: "one" }).key, /^one-/);
  });

  test("a collection as an argument is its whole value", async () => {
    const shape = delayed((a: { shape: readonly number[] }) => [...a.shape]);
    assert.deepEqual(
      await shape(
        fromArray(
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
          { chunks: 1 },
        ),
      ).compute(sync),
      [2, 3],
    );
  });

  test("tasks may be async functions; their results are awaited", async () => {
    const later = delayed(
      async (x: number) => {
        await sleep(1);
        return x * 10;
      },
      { local: true },
    );
    assert.equal(await add(later(1), later(2)).compute(sync), 30);
  });

  test("compute(a, b) runs one graph: a task both need runs once", async () => {
    let loads = 0;
    const load = delayed(
      () => {
        loads++;
        return 10;
      },
      { local: true },
    );
    const base = load();
    const [a, b] = await computeWith(sync, [inc(base), add(base, base)]);
    assert.deepEqual([a, b], [11, 20]);
    assert.equal(loads, 1);
    await computeWith(sync, [inc(base)]);
    assert.equal(loads, 2, "separate computes do not share results");
  });
});

describe("keys", () => {
  test("non-pure calls get a new key every time (the default: a function may be random or read the clock)", () => {
    assert.notEqual(inc(1).key, inc(1).key);
    assert.match(inc(1).key, /^inc-/);
    assert.match(
      delayed(function parse(s: string) {
        return s;
      })("x").key,
      /^parse-/,
      "the function's name by default",
    );
  });

  test("pure calls of the same function on equal arguments share a key, so the work is done once", async () => {
    const f = delayed((x: unknown, y?: unknown) => [x, y], { pure: true });
    const same = delayed((x: unknown, y?: unknown) => [x, y], { pure: true }); // same source, no closure
    assert.equal(f(1, [2, { a: new Float64Array([3]) }]).key, f(1, [2, { a: new Float64Array([3]) }]).key);
    assert.equal(f(1).key, same(1).key);
    assert.notEqual(f(inc(1)).key, f(inc(1)).key, "two non-pure calls are different arguments");
    const x = inc(1);
    assert.equal(f(x).key, f(x).key);
    assert.equal(f(new Map([[1, "a"]])).key, f(new Map([[1, "a"]])).key);
    assert.equal(delayed([1, 2], { pure: true }).key, delayed([1, 2], { pure: true }).key);
  });

  test("pure keys differ whenever the arguments or the function could give a different value", async () => {
    const f = delayed((...xs: unknown[]) => xs, { pure: true });
    const differing: [unknown[], unknown[]][] = [
      [[1], [2]],
      [[1], ["1"]],
      [[0], [-0]],
      [["a\u0000string:b"], ["a", "b"]],
      [[{ a: 1 }], [{ b: 1 }]],
      [[[1, 2]], [[1], [2]]],
      [[new Map([[1, 2]])], [new Map([[3, 4]])]],
      [[new Set([1])], [new Set([2])]],
      [[new Date(1)], [new Date(2)]],
      [[new Float64Array([1])], [new Float64Array([2])]],
      [[new Float64Array([1])], [new BigUint64Array([0x3ff0000000000000n])]],
      [[new URL("http://a")], [new URL("http://a")]], // objects it cannot look into are told apart by identity
    ];
    for (const [a, b] of differing) assert.notEqual(f(...a).key, f(...b).key, `${String(a)} vs ${String(b)}`);

    // Closures and bound functions: the source alone does not say what they compute.
    const plus = (k: number) => delayed((x: number) => x + k, { pure: true, local: true });
    assert.notEqual(plus(1)(0).key, plus(2)(0).key);
    assert.deepEqual(await computeWith(sync, [plus(1)(0), plus(2)(0)]), [1, 2]);
    function scale(this: unknown, k: number, x: number) {
      return k * x;
    }
    const [by2, by3] = [
      delayed(scale.bind(null, 2), { pure: true, local: true }),
      delayed(scale.bind(null, 3), { pure: true, local: true }),
    ];
    assert.notEqual(by2(5).key, by3(5).key);
    assert.deepEqual(await computeWith(sync, [by2(5), by3(5)]), [10, 15]);
  });

  test("an argument that contains itself is refused with a clear error", () => {
    const loop: { self?: unknown } = {};
    loop.self = [loop];
    assert.throws(
      () => inc(loop as never),
      (err: unknown) => err instanceof ArgumentError && /contains itself/.test(err.message),
    );
    const shared = { a: 1 };
    assert.doesNotThrow(() => add(shared as never, [shared, shared] as never), "the same object twice is not a cycle");
  });
});

describe("errors and bad input", () => {
  test("a task that throws rejects compute with that very error; its dependents do not run; the next compute works", async () => {
    const boom = new TypeError("boom");
    let dependents = 0;
    const bad = delayed(
      () => {
        throw boom;
      },
      { local: true },
    )();
    const after = delayed(
      (x: number) => {
        dependents++;
        return x;
      },
      { local: true },
    );
    await assert.rejects(after(bad).compute(sync), (err: unknown) => err === boom);
    const asyncBoom = new RangeError("later");
    const badLater = delayed(
      async () => {
        await sleep(1);
        throw asyncBoom;
      },
      { local: true },
    )();
    await assert.rejects(after(badLater).compute(sync), (err: unknown) => err === asyncBoom);
    assert.equal(dependents, 0);
    assert.equal(await add(inc(1), 1).compute(sync), 3);
  });

  test("bad options and arguments are ArgumentErrors that say what is wrong, and nothing runs", async () => {
    let runs = 0;
    const f = () => {
      runs++;
      return 1;
    };
    const badDelayed: [unknown, RegExp][] = [
      [null, /options must be an object/],
      [[], /options must be an object/],
      [{ pure: "yes" }, /pure must be true or false/],
      [{ name: "" }, /name must be a non-empty string/],
      [{ name: 7 }, /name must be a non-empty string/],
      [{ nmae: "load" }, /unknown delayed option "nmae"/],
    ];
    for (const [options, message] of badDelayed)
      assert.throws(
        () => delayed(f, options as never),
        (e: unknown) => e instanceof ArgumentError && message.test(e.message),
        String(options),
      );
    const d = delayed(f, { local: true })();
    const badCompute: [unknown, RegExp][] = [
      [null, /options must be an object/],
      [7, /options must be an object/],
      [{ scheduler: "thread" }, /unknown scheduler "thread"/],
      [{ scheduler: {} }, /scheduler must be "sync", "threads" or a Client/],
      [{ scheduler: 3 }, /scheduler must be/],
      [{ fuse: "no" }, /fuse must be true or false/],
      [{ schedular: "sync" }, /unknown compute option "schedular"/],
    ];
    for (const [options, message] of badCompute) {
      await assert.rejects(
        d.compute(options as never),
        (e: unknown) => e instanceof ArgumentError && message.test(e.message),
        String(options),
      );
      await assert.rejects(d.persist(options as never), ArgumentError);
    }
    await assert.rejects(computeWith(sync, d as never), /take an array of values/);
    assert.equal(runs, 0);
    assert.equal(await d.compute(sync), 1, "the same Delayed still computes");
  });
});

describe("persist in this thread", () => {
  test("persist computes once; later graphs use the value instead of running the task again", async () => {
    let runs = 0;
    const expensive = delayed(
      () => {
        runs++;
        return 21;
      },
      { local: true },
    )();
    const held = await expensive.persist(sync);
    assert.equal(runs, 1);
    assert.equal(held.key, expensive.key);
    assert.equal(held.taskCount, 1);
    assert.equal(await add(held, held).compute(sync), 42);
    const [again, other] = await persistWith(sync, [held, "passes through"]);
    assert.equal(await (again as Delayed<number>).compute(sync), 21);
    assert.equal(other, "passes through");
    assert.equal(runs, 1);
  });
});

describe("the local scheduler", () => {
  test("runs ready tasks in the prepared order", async () => {
    const ran: string[] = [];
    const step = delayed(
      (label: string, ..._inputs: unknown[]) => {
        ran.push(label);
        return label;
      },
      { local: true },
    );
    const leaves = Array.from({ length: 8 }, (_, i) => step(`leaf${i}`));
    const mids = [0, 1, 2, 3].map((i) => step(`mid${i}`, leaves[2 * i], leaves[2 * i + 1]));
    const top = step("top", step("left", mids[0], mids[1]), step("right", mids[2], mids[3]), step("lonely"));
    const prepared = prepare([top[COLLECTION]()]);
    const labels = new Map<string, string>();
    for (const [key, node] of prepared.graph) labels.set(key, (node as Task).args[0] as string);
    const planned = [...prepared.order.keys()]
      .sort((a, b) => prepared.order.get(a)! - prepared.order.get(b)!)
      .map((k) => labels.get(k));
    await top.compute(sync);
    assert.deepEqual(ran, planned);
    assert.ok(
      ran.indexOf("mid0") < ran.indexOf("leaf2"),
      `a pair is combined before the next pair starts: ${ran.join(" ")}`,
    );
  });

  test("drops a value as soon as the last task needing it has run (outputs are kept)", async () => {
    const refs: WeakRef<object>[] = [];
    const make = delayed(
      () => {
        const block = { data: new Float64Array(100_000) };
        refs.push(new WeakRef(block));
        return block;
      },
      { local: true },
    );
    const use = delayed((b: { data: Float64Array }) => b.data.length);
    // Runs after `use`, in a later turn (a WeakRef keeps its target for the turn that made it).
    const collected = delayed(
      async (_n: number) => {
        await sleep(0);
        (globalThis as { gc?: () => void }).gc!();
        return refs.at(-1)!.deref() === undefined;
      },
      { local: true },
    );
    const block = make();
    assert.equal(await collected(use(block)).compute(sync), true, "dropped after its only user ran");
    const [kept] = await computeWith(sync, [collected(use(block)), block]);
    assert.equal(kept, false, "an output is held until the end");
  });

  test("yields to the event loop while it works, so timers and I/O are not starved", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      const spin = delayed((ms: number) => {
        const end = performance.now() + ms;
        while (performance.now() < end);
        return ms;
      });
      const ticksSeen = delayed((..._xs: number[]) => ticks, { local: true });
      const seen = await ticksSeen(...Array.from({ length: 30 }, () => spin(2))).compute(sync); // 60 ms of work
      assert.ok(seen >= 2, `the timer ran ${seen} times during the compute`);
    } finally {
      clearInterval(timer);
    }
  });
});

describe("on a cluster", () => {
  const c = useCluster({ workers: 2 });

  test("compute runs on the cluster, given the client as the scheduler or as the default", async () => {
    assert.equal(await where().compute({ scheduler: c.client }), "a worker");
    assert.equal(await where().compute(), "a worker", "a connected client is the default");
    assert.equal(await where().compute(sync), "this thread");
    assert.deepEqual(await compute(add(inc(1), inc(2)), inc(inc(0))), [5, 2]);
  });

  test("async task functions run on workers too", async () => {
    const later = delayed(async (x: number) => {
      await new Promise((r) => setTimeout(r, 1));
      return x * 10;
    });
    assert.equal(await add(later(1), later(2)).compute(), 30);
  });

  test("a task that throws rejects with RemoteError carrying the worker's stack; the cluster computes afterwards", async () => {
    const bad = delayed(function explode(x: number) {
      throw new TypeError(`bad ${x}`);
    })(inc(1));
    const err = await inc(bad)
      .compute()
      .then(
        () => assert.fail("should reject"),
        (e: unknown) => e,
      );
    assert.ok(err instanceof RemoteError, String(err));
    assert.equal(err.remoteName, "TypeError");
    assert.match(err.message, /bad 2/);
    assert.match(err.remoteStack ?? "", /at explode/);
    assert.equal(await add(inc(1), 1).compute(), 3);
  });

  test("a function with a closure is a ClosureError at delayed() whatever the scheduler; with local: true it runs in this thread only, and a cluster refuses it before sending anything", async () => {
    const k = 3;
    // The same check as submit, made where the function is given: before any scheduler is chosen.
    const refused = (e: unknown) => e instanceof ClosureError && e.variables.join() === "k";
    assert.throws(() => delayed((x: number) => x + k), refused);
    assert.throws(() => delayed((x: number) => x + k, { pure: true, name: "plus" }), refused);
    assert.throws(() => delayed(Math.max.bind(null, 1)), ArgumentError, "a bound function cannot travel either");
    assert.doesNotThrow(() => delayed(Math.max), "a standard built-in travels by name");
    // The escape, for code that only ever runs in this thread: it keeps its closure there.
    const first = inc(1);
    const d = delayed((x: number) => x + k, { local: true })(first);
    assert.equal(await d.compute(sync), 5);
    for (const scheduler of [c.client, "threads"] as const) {
      const err = await d.compute({ scheduler }).then(
        () => assert.fail("should reject"),
        (e: unknown) => e,
      );
      assert.ok(refused(err), String(err));
    }
    await c.client.workers(); // a round trip: anything submitted would have reached the scheduler by now
    assert.equal(
      c.cluster.scheduler.state.tasks.has(first.key),
      false,
      "the task before the closure was not sent either",
    );
  });

  test("futures are arguments: the cluster uses them in place, this thread fetches them", async () => {
    const [x] = await c.client.scatter([10]);
    const y = c.client.submit((v: number) => v * 2, x!);
    assert.equal(await add(x!, y).compute(), 30);
    assert.equal(await add(x!, y).compute(sync), 30);
    assert.deepEqual(await delayed({ x, list: [y] }).compute(), { x: 10, list: [20] });
  });

  test("persist keeps the result on the cluster; later graphs use it without running it again", async () => {
    const base = inc(41);
    const held = await base.persist();
    const node = held.graph.flatten().get(held.key);
    assert.ok(node instanceof FutureNode && node.future instanceof Future, "backed by a future");
    assert.equal(await held.compute(), 42);
    assert.equal(await add(held, 1).compute(), 43);
    assert.equal(await add(held, 2).compute(sync), 44, "this thread fetches it from the cluster");
    const runs = (await c.client.story(held.key)).filter((e) => e.finish === "processing").length;
    assert.equal(runs, 1);
  });

  test("compute(a, b) on a cluster runs a shared task once", async () => {
    const base = inc(0);
    assert.deepEqual(await compute(inc(base), add(base, base)), [2, 2]);
    const runs = (await c.client.story(base.key)).filter((e) => e.finish === "processing").length;
    assert.equal(runs, 1);
  });
});

test("the default is the most recently connected open client; then the one before it; with none open, this thread", async () => {
  await using c = await startCluster({ workers: 1 });
  const first = c.client;
  const second = await c.connect();
  // A graph can use a future only on its own client (or in this thread): that tells which one ran it.
  const [ofFirst] = await first.scatter([1]);
  const [ofSecond] = await second.scatter([2]);
  assert.equal(await inc(ofSecond!).compute(), 3, "the newest client is the default");
  await assert.rejects(inc(ofFirst!).compute(), /another client/);
  await c.connect({ setAsDefault: false });
  assert.equal(await inc(ofSecond!).compute(), 3, "a client connected with setAsDefault: false is not");
  await second.close();
  assert.equal(await inc(ofFirst!).compute(), 2, "the previous client, still open, is the default again");
  assert.equal(await where().compute(), "a worker");
  await first.close();
  assert.equal(await where().compute(), "this thread");
});

test("a Delayed prints its key, what computes it and how many tasks: not only its key", () => {
  const inc = delayed(function inc(x: number) {
    return x + 1;
  });
  const add = delayed(function add(a: number, b: number) {
    return a + b;
  });
  const d = add(inc(1), 2);
  assert.match(String(d), /^Delayed\(add-[0-9a-f]+: add\(<inc-[0-9a-f]+…?>, 2\), 2 tasks\)$/);
  assert.match(String(delayed([1, "two"])), /^Delayed\(literal-[0-9a-f]+: \[1, "two"\], 1 task\)$/);
});
