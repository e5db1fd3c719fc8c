// map as Dask's (one iterable per argument, zipped; options only as a trailing plain object),
// every options object checked against its valid names, and built-in functions as tasks.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ArgumentError, Client, LocalCluster, type Future } from "../../node/index.js";
import { startCluster } from "../helpers/cluster.js";

describe("map zips iterables as Dask's does", () => {
  test("map(fn, xs, ys) calls fn(x, y) for each pair, in order", async () => {
    await using c = await startCluster();
    const fs: Future<number>[] = c.client.map((x: number, y: number) => x * 10 + y, [1, 2, 3], [4, 5, 6]);
    assert.deepEqual(await c.client.gather(fs), [14, 25, 36]);
  });

  test("any iterables: a Set, a generator and an array of three arguments", async () => {
    await using c = await startCluster();
    function* gen() {
      yield "a";
      yield "b";
    }
    const fs = c.client.map((x: number, s: string, b: boolean) => `${x}${s}${b}`, new Set([1, 2]), gen(), [
      true,
      false,
    ]);
    assert.deepEqual(await c.client.gather(fs), ["1atrue", "2bfalse"]);
  });

  test("iterables of different lengths are an ArgumentError giving the lengths", async () => {
    await using c = await startCluster();
    assert.throws(
      () => c.client.map((x: number, y: number) => x + y, [1, 2, 3], [1, 2]),
      (e: unknown) => e instanceof ArgumentError && /same length.*3, 2/.test(e.message),
    );
  });

  test("options are recognised only as a trailing plain object, and apply to every task", async () => {
    await using c = await startCluster();
    const fs = c.client.map((_: number) => Math.random(), [1, 2], { pure: false });
    const [a, b] = await c.client.gather(fs);
    assert.notEqual(a, b);
    // A plain object in the middle is a mistake, not options.
    assert.throws(
      () => (c.client.map as (...a: unknown[]) => unknown)((x: number) => x, { pure: false }, [1]),
      /iterable of items \(argument 2\).*options go last/,
    );
    // Futures and Maps are not options: a Map is an iterable of entries.
    const fromMap = c.client.map(
      (e: [string, number]) => e[1] * 2,
      new Map([
        ["a", 1],
        ["b", 2],
      ]),
    );
    assert.deepEqual(await c.client.gather(fromMap), [2, 4]);
    assert.throws(() => (c.client.map as (...a: unknown[]) => unknown)((x: number) => x), /at least one iterable/);
  });

  test("with(options).map zips too, and trailing options add to the fixed ones", async () => {
    await using c = await startCluster();
    const fs = c.client.with({ priority: 5 }).map((x: number, y: number) => x - y, [5, 6], [1, 1], { pure: false });
    assert.deepEqual(await c.client.gather(fs), [4, 5]);
  });

  test("types: each iterable is typed after its argument", () => {
    const typed = (client: Client) => {
      const ok: Future<string>[] = client.map((x: number, s: string) => s.repeat(x), [1], ["a"]);
      // @ts-expect-error: the second iterable must hold strings
      client.map((x: number, s: string) => s.repeat(x), [1], [2]);
      return ok;
    };
    assert.equal(typeof typed, "function");
  });
});

describe("every options object is checked", () => {
  test("a misspelt task option is an ArgumentError naming it, the nearest valid name and all valid ones", async () => {
    await using c = await startCluster();
    const check = (f: () => unknown, name: string, near: string) =>
      assert.throws(f, (e: unknown) => {
        assert.ok(e instanceof ArgumentError, String(e));
        assert.match(e.message, new RegExp(`"${name}" \\(did you mean "${near}"\\?\\)`));
        assert.match(
          e.message,
          /valid ones are "key", "pure", "retries", "priority", "workers", "resources", "noWorkerTimeout"/,
        );
        return true;
      });
    check(() => c.client.with({ retires: 3 } as never), "retires", "retries");
    check(() => c.client.with({ priorty: 5 } as never), "priorty", "priority");
    check(() => c.client.with({ worker: ["x"] } as never), "worker", "workers");
    check(() => c.client.map((x: number) => x, [1], { retires: 3 } as never), "retires", "retries");
    check(() => c.client.with({}).map((x: number) => x, [1], { prority: 1 } as never), "prority", "priority");
    assert.throws(() => c.client.with({ workers: 3 } as never), /workers must be/);
    assert.throws(() => c.client.with({ pure: "no" } as never), /pure must be true or false/);
    assert.throws(() => c.client.with({ resources: { gpu: "1" } } as never), /resources must be/);
    assert.throws(() => c.client.with({ noWorkerTimeout: -1 }), /noWorkerTimeout/);
  });

  test("Client.connect and LocalCluster.start refuse unknown options, listing the valid ones", async () => {
    await using c = await startCluster();
    await assert.rejects(
      Client.connect(c.cluster.address, { tokn: "x" } as never),
      (e: unknown) =>
        e instanceof ArgumentError &&
        /unknown Client.connect option "tokn" \(did you mean "token"\?\).*"setAsDefault"/.test(e.message),
    );
    await assert.rejects(
      LocalCluster.start({ worker: 2 } as never),
      (e: unknown) =>
        e instanceof ArgumentError &&
        /unknown LocalCluster.start option "worker" \(did you mean "workers"\?\).*"memoryLimit"/.test(e.message),
    );
  });

  test("compute and persist refuse unknown options", async () => {
    const { delayed } = await import("../../node/index.js");
    const d = delayed((x: number) => x + 1)(1);
    await assert.rejects(
      d.compute({ schedular: "sync" } as never),
      /unknown compute option "schedular" \(did you mean "scheduler"\?\)/,
    );
    await assert.rejects(d.persist({ fuze: true } as never), /unknown compute option "fuze" \(did you mean "fuse"\?\)/);
  });
});

describe("built-in functions are tasks", () => {
  test("README's client.with({ pure: false }).submit(Math.random) gives a fresh number each time", async () => {
    await using c = await startCluster();
    const a = await c.client.with({ pure: false }).submit(Math.random);
    const b = await c.client.with({ pure: false }).submit(Math.random);
    assert.equal(typeof a, "number");
    assert.notEqual(a, b);
    assert.equal(await c.client.submit(Math.max, 3, 9, 4), 9);
    assert.deepEqual(await c.client.gather(c.client.map(JSON.stringify, [[1], { a: 2 }])), ["[1]", '{"a":2}']);
  });

  test("a bound or non-standard native function is still refused with advice", async () => {
    await using c = await startCluster();
    assert.throws(
      () => c.client.submit(Math.max.bind(null, 1)),
      (e: unknown) => e instanceof ArgumentError && /built-in or bound/.test(e.message),
    );
  });
});
