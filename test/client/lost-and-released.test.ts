// Results that are lost or released while something still wants them: every future settles with
// the right value or a clear error (found by review: each of these hung or misreported before).

import assert from "node:assert/strict";
import { test } from "node:test";
import { KilledWorkerError, LostDataError } from "../../node/index.js";
import { startCluster } from "../helpers/cluster.js";
import { within } from "../helpers/within.js";
import { waitFor } from "../helpers/wait-for.js";

test("a result lost with its worker is computed again, and awaiting it gives the value, not an error", async () => {
  await using c = await startCluster({ workers: 2 });
  const big = (n: number) => new Float64Array(n).fill(1); // 80 KB: fetched from the worker, not inline
  const f = c.client.submit(big, 10_000);
  await f;
  const holder = (await c.client.workers()).find((w) => w.tasks.inMemory > 0)!;
  await c.cluster.killWorker(holder.id);
  const v = await within(f.result(), 5000, "the recomputed result");
  assert.equal(v.length, 10_000);
  assert.equal(f.status, "finished");
  const story = (await c.client.story(f.key)).map((e) => `${e.start}>${e.finish}`);
  assert.ok(
    story.includes("memory>released") && story.lastIndexOf("processing>memory") > story.indexOf("memory>released"),
    story.join(", "),
  );
});

test("resubmitting a released task that a live dependent still refers to computes it again", async () => {
  await using c = await startCluster();
  const inc = (x: number) => x + 1;
  const a = c.client.submit(inc, 1);
  const b = c.client.submit(inc, a);
  assert.equal(await b, 3);
  a.release();
  await waitFor(async () => (await c.client.story(a.key)).some((e) => e.start === "memory"), {
    message: "the release to reach the scheduler",
  });
  const again = c.client.submit(inc, 1); // same key as `a`
  assert.equal(again.key, a.key);
  assert.equal(await within(again.result(), 5000, "the resubmitted task"), 2);
  const second = await c.connect();
  assert.equal(await within(second.submit(inc, 1).result(), 5000, "the same task from another client"), 2);
});

test("a dependent of released scattered data whose copy is lost fails with LostDataError, not a hang", async () => {
  await using c = await startCluster({ workers: 2 });
  const [x] = await c.client.scatter([new Float64Array(10_000).fill(3)]);
  const g = c.client.submit((a: Float64Array) => new Float64Array(a.length).fill(a[0]! * 2), x!);
  await g;
  x!.release();
  await waitFor(async () => (await c.client.story(x!.key)).some((e) => e.start === "memory"), {
    message: "the release to reach the scheduler",
  });
  const holderOfG = (await c.client.workers()).find((w) => w.tasks.done > 0)!;
  await c.cluster.killWorker(holderOfG.id);
  const h = c.client.submit((a: Float64Array) => a[0], g);
  const err = await within(h.exception(), 5000, "the dependent");
  // Either g survived on the other worker (then h works) or it needed x, which is gone.
  if (err !== undefined) assert.ok(err instanceof LostDataError, `${err}`);
  else assert.equal(await h, 6);
});

test("workers that close gracefully do not count towards KilledWorkerError", async () => {
  await using c = await startCluster({ workers: 1 });
  const slow = c.client.with({ pure: false }).submit(async () => {
    await new Promise((r) => setTimeout(r, 1500));
    return "done";
  });
  for (let i = 0; i < 3; i++) {
    const next = await c.cluster.addWorker();
    await waitFor(
      async () => slow.status !== "pending" || (await c.client.workers()).some((w) => w.tasks.processing > 0),
      {
        message: "the task to run on a worker",
      },
    );
    const running = (await c.client.workers()).find((w) => w.tasks.processing > 0);
    const victim = c.cluster.workers.find((w) => w.workerId === running?.id);
    if (victim && victim !== next) await victim.close("scaling down");
  }
  const result = await within(slow.exception(), 10_000, "the task");
  assert.ok(!(result instanceof KilledWorkerError), `graceful closes counted as kills: ${result}`);
});

test("releasing the last future of a pending task settles whoever still awaits it", async () => {
  await using c = await startCluster({ workers: 1 });
  const f = c.client.with({ pure: false }).submit(async () => {
    await new Promise((r) => setTimeout(r, 300));
    return 1;
  });
  const waiting = f.result();
  f.release();
  await assert.rejects(within(waiting, 5000, "the released future"), LostDataError);
  assert.equal(f.status, "lost");
});
