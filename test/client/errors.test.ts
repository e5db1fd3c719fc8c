// Errors and bad input: remote errors keep their stack, dependents fail with the same cause,
// retries re-run, misuse gets a clear named error, and every future settles. After each failure
// the cluster still computes.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ArgumentError,
  CancelledError,
  ClientClosedError,
  ClosureError,
  RemoteError,
  SerializationError,
} from "../../node/index.js";
import { startCluster } from "../helpers/cluster.js";
import { waitFor } from "../helpers/wait-for.js";

declare const onlyOnTheClient: number;

describe("task errors", () => {
  test("a task that throws rejects with RemoteError carrying the remote name, message and stack", async () => {
    await using c = await startCluster();
    const f = c.client.submit(function explode(x: number) {
      throw new TypeError(`bad value ${x}`);
    }, 3);
    const err = await f.then(
      () => assert.fail("should reject"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof RemoteError);
    assert.equal(err.remoteName, "TypeError");
    assert.match(err.message, /TypeError: bad value 3/);
    assert.match(err.remoteStack ?? "", /at explode/, "the worker-side stack names the function that threw");
    assert.match(err.stack ?? "", /--- remote ---/);
    assert.equal(f.status, "error");
    assert.equal(await f.exception(), err);
  });

  test("dependents of a failed task fail with the same cause, blaming the task that threw", async () => {
    await using c = await startCluster();
    const bad = c.client.submit((x: number) => {
      if (x > 0) throw new RangeError("too big");
      return x;
    }, 1);
    const dep = c.client.submit((x: number) => x + 1, bad);
    const depdep = c.client.submit((x: number) => x + 1, dep);
    for (const f of [dep, depdep]) {
      const err = (await f.exception()) as RemoteError;
      assert.ok(err instanceof RemoteError);
      assert.equal(err.remoteName, "RangeError");
      assert.equal(err.key, bad.key);
    }
  });

  test("retries re-run a failing task; it succeeds if a later attempt does", async () => {
    await using c = await startCluster({ workers: 1 });
    // The worker thread's globalThis survives between attempts, so the task can count them.
    const flaky = () => {
      const g = globalThis as { attempts?: number };
      g.attempts = (g.attempts ?? 0) + 1;
      if (g.attempts < 3) throw new Error(`attempt ${g.attempts} fails`);
      return g.attempts;
    };
    assert.equal(await c.client.with({ retries: 2 }).submit(flaky), 3);
    const noRetry = c.client.with({ pure: false }).submit(() => {
      throw new Error("always");
    });
    await assert.rejects(noRetry, /always/);
  });

  test("a result that cannot be sent fails its task with a clear error", async () => {
    await using c = await startCluster();
    const f = c.client.submit(() => ({ callback: () => 1 }));
    const err = (await f.exception()) as RemoteError;
    assert.equal(err.remoteName, "SerializationError");
    assert.match(err.message, /callback.*function/);
  });

  test("a global the worker does not have: the ReferenceError says why", async () => {
    await using c = await startCluster();
    // `document` exists in browsers only; submit allows it (it is a global name), the thread lacks it.
    const f = c.client.submit(() => (globalThis as unknown as { document: { title: string } }).document.title);
    await assert.rejects(f, RemoteError);
    // A global of this thread only: allowed at submit (globals are not closures), missing on the worker.
    (globalThis as Record<string, unknown>).onlyOnTheClient = 1;
    try {
      const g = c.client.submit(() => (globalThis as unknown as { x: number }).x + onlyOnTheClient);
      const err = (await g.exception()) as RemoteError;
      assert.equal(err.remoteName, "ReferenceError");
      assert.match(err.message, /sent to workers as source code/);
    } finally {
      delete (globalThis as Record<string, unknown>).onlyOnTheClient;
    }
  });

  test("the cluster keeps serving after task errors", async () => {
    await using c = await startCluster();
    const bad = c.client.map(
      (x: number) => {
        throw new Error(`no ${x}`);
      },
      [1, 2, 3, 4],
    );
    await Promise.all(bad.map((f) => f.settled()));
    assert.deepEqual(await c.client.gather(c.client.map((x: number) => x * 2, [1, 2, 3])), [2, 4, 6]);
  });
});

describe("bad input to the client", () => {
  test("submit with a non-function is an ArgumentError, thrown at once", async () => {
    await using c = await startCluster();
    assert.throws(() => c.client.submit(42 as never), ArgumentError);
    assert.throws(() => c.client.submit("x => x" as never), /expects a function/);
    assert.throws(() => c.client.map((x: number) => x, 5 as never), /iterable/);
  });

  test("arguments that cannot travel (a function or symbol inside them) fail at submit, naming where", async () => {
    await using c = await startCluster();
    assert.throws(
      () => c.client.submit((o: unknown) => o, { options: { cb: () => 1 } }),
      (e: unknown) => e instanceof SerializationError && /options\.cb/.test(e.message) && /function/.test(e.message),
    );
    assert.throws(() => c.client.submit((o: unknown) => o, [1, Symbol("s")]), /symbol/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => c.client.submit((o: unknown) => o, cyclic), /cycle/);
    assert.equal(await c.client.submit((x: number) => x, 1), 1, "still serving");
  });

  test("a function using a variable from outside itself fails with ClosureError naming it", async () => {
    await using c = await startCluster();
    const factor = 3;
    const offset = 1;
    const err = (() => {
      try {
        c.client.submit((x: number) => x * factor + offset, 2);
      } catch (e) {
        return e;
      }
    })();
    assert.ok(err instanceof ClosureError);
    assert.deepEqual(err.variables, ["factor", "offset"]);
    assert.match(err.message, /`factor`, `offset`/);
    assert.match(err.message, /as arguments|task module/);
    // The fix the message suggests works:
    assert.equal(await c.client.submit((x: number, f: number, o: number) => x * f + o, 2, factor, offset), 7);
  });

  test("bound functions cannot be shipped as source; standard built-ins go by name", async () => {
    await using c = await startCluster();
    assert.equal(await c.client.submit(Math.sqrt, 4), 2);
    assert.throws(() => c.client.submit(((x: number) => x).bind(null), 4), /built-in or bound/);
  });

  test("methods written in shorthand ship like functions", async () => {
    await using c = await startCluster();
    const ops = {
      double(x: number) {
        return x * 2;
      },
    };
    assert.equal(await c.client.submit(ops.double, 21), 42);
  });

  test("bad task options are ArgumentErrors", async () => {
    await using c = await startCluster();
    assert.throws(() => c.client.with({ retries: -1 }), /retries/);
    assert.throws(() => c.client.with({ priority: Number.NaN }), /priority/);
    assert.throws(() => c.client.map((x: number) => x, [1], { key: "k" }), /single `key`/);
  });
});

describe("transport errors are reported as what they are", () => {
  test("a result larger than the client accepts fails with the transport's error, not as lost data", async () => {
    await using c = await startCluster({ client: { transport: { maxPacketBytes: 1_000_000 } } });
    const f = c.client.submit((n: number) => new Uint8Array(n), 2_000_000);
    const err = await f.then(
      () => assert.fail("should not arrive"),
      (e: unknown) => e as Error,
    );
    assert.doesNotMatch(err.name, /LostDataError/);
    assert.match(
      `${err.message} ${String((err as { cause?: unknown }).cause ?? "")}`,
      /exceeds the limit of 1000000 bytes/,
    );
  });
});

describe("every future settles", () => {
  test("awaiting a cancelled future rejects with CancelledError; other work is untouched", async () => {
    await using c = await startCluster({ workers: 1 });
    const slow = c.client.with({ pure: false }).submit(async () => {
      await new Promise((r) => setTimeout(r, 200));
      return 1;
    });
    const dependent = c.client.submit((x: number) => x + 1, slow);
    const other = c.client.submit((x: number) => x * 5, 5);
    await slow.cancel();
    await assert.rejects(slow, CancelledError);
    await assert.rejects(dependent, CancelledError);
    assert.equal(slow.status, "cancelled");
    assert.equal(await other, 25);
  });

  test("futures of a closed client reject with ClientClosedError, and gather does too", async () => {
    await using c = await startCluster();
    const client2 = await c.connect();
    const pending = client2.with({ pure: false }).submit(async () => {
      await new Promise((r) => setTimeout(r, 300));
      return 1;
    });
    const done = client2.submit((x: number) => x, 9);
    assert.equal(await done, 9);
    await client2.close();
    await assert.rejects(pending, ClientClosedError);
    await assert.rejects(client2.gather([done]), ClientClosedError);
    assert.throws(() => client2.submit((x: number) => x, 1), ClientClosedError);
    assert.equal(await c.client.submit((x: number) => x + 1, 1), 2, "the other client still works");
  });

  test("closing the cluster settles every pending future", async () => {
    await using c = await startCluster({ workers: 1 });
    const pending = c.client.with({ pure: false }).submit(async () => {
      await new Promise((r) => setTimeout(r, 10_000));
      return 1;
    });
    await waitFor(async () => (await c.client.workers())[0]!.tasks.processing > 0, { message: "the task to start" });
    await c.cluster.close();
    await assert.rejects(pending, ClientClosedError);
  });

  test("a worker that vanishes mid-task: the task is recomputed elsewhere and the future settles", async () => {
    await using c = await startCluster({ workers: 2 });
    const slowOnce = async (x: number) => {
      await new Promise((r) => setTimeout(r, 300));
      return x * 2;
    };
    const fs = c.client.with({ pure: false }).map(slowOnce, [1, 2]);
    await waitFor(async () => (await c.client.workers()).reduce((n, w) => n + w.tasks.processing, 0) === 2, {
      message: "both tasks to be on workers",
    });
    const [victim] = c.cluster.workers;
    await c.cluster.killWorker(victim!.workerId);
    assert.deepEqual(await c.client.gather(fs), [2, 4]);
    assert.equal((await c.client.workers()).length, 1);
  });
});
