// Task modules: client.upload bundles a module, stores it on the scheduler by content hash, and
// makes its exports runnable on every worker, present and future.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ArgumentError, RemoteError } from "../../node/index.js";
import { startCluster } from "../helpers/cluster.js";

const OPS = new URL("../fixtures/ops.ts", import.meta.url);

test("upload returns handles for the module's exported functions, usable in submit and map", async () => {
  await using c = await startCluster();
  const ops = await c.client.upload<typeof import("../fixtures/ops.js")>(OPS);
  assert.equal(await c.client.submit(ops.scale, 6, 7), 42);
  const maxes = c.client.map(ops.blur, [new Float64Array([3, 3, 3]), new Float64Array([0, 900])]);
  assert.deepEqual(
    (await c.client.gather(maxes)).map((a) => [...a]),
    [
      [3, 3, 3],
      [100, 100],
    ],
  );
  const blurred = await c.client.submit(ops.blur, new Float64Array([0, 30, 60, 300]));
  assert.ok(blurred instanceof Float64Array);
  assert.deepEqual([...blurred], [10, 30, 100, 100]);
});

test("a worker that joins after the upload can run the module's functions", async () => {
  await using c = await startCluster({ workers: 1 });
  const ops = await c.client.upload<typeof import("../fixtures/ops.js")>(OPS.pathname);
  const late = await c.cluster.addWorker();
  const f = c.client.with({ workers: late.workerId }).submit(ops.scale, 2, 21);
  assert.equal(await f, 42);
});

test("the module is imported once per worker: its state persists between tasks", async () => {
  await using c = await startCluster({ workers: 1 });
  const ops = await c.client.upload<typeof import("../fixtures/ops.js")>(OPS);
  await c.client.gather(c.client.with({ pure: false }).map((x: number) => x, [1]));
  await c.client.gather([
    c.client.submit(ops.scale, 1, 1),
    c.client.submit(ops.scale, 2, 1),
    c.client.submit(ops.scale, 3, 1),
  ]);
  assert.equal(await c.client.with({ pure: false }).submit(ops.callsSoFar), 3);
});

test("uploading the same module twice gives the same content hash", async () => {
  await using c = await startCluster({ workers: 1 });
  const a = await c.client.upload<typeof import("../fixtures/ops.js")>(OPS);
  const b = await c.client.upload<typeof import("../fixtures/ops.js")>(OPS);
  assert.equal(a.scale.module, b.scale.module);
  assert.match(a.scale.module, /^[0-9a-f]{16}$/);
});

test("a missing file or a module that does not compile is an ArgumentError; a non-function export is its value, not a task", async () => {
  await using c = await startCluster({ workers: 1 });
  await assert.rejects(
    c.client.upload(new URL("../fixtures/nope.ts", import.meta.url)),
    (e: unknown) => e instanceof ArgumentError && /no such file/.test(e.message),
  );
  await assert.rejects(
    c.client.upload(new URL("../fixtures/broken.ts", import.meta.url)),
    (e: unknown) => e instanceof ArgumentError && /cannot bundle/.test(e.message),
  );
  const ops = (await c.client.upload(OPS)) as unknown as Record<string, unknown>;
  assert.equal(ops["VERSION"], "1");
  assert.throws(
    () => c.client.submit(ops["VERSION"] as never),
    (e: unknown) => e instanceof ArgumentError && /expects a function/.test(e.message),
  );
  // A plain object shaped like a handle is data, not a function of a module.
  assert.throws(() => c.client.submit({ module: "x", name: "y" } as never), ArgumentError);
  assert.equal(RemoteError.name, "RemoteError");
});

test("uploaded functions are functions everywhere one is taken: delayed and mapBlocks too; other exports are their values", async () => {
  await using c = await startCluster();
  const ops = await c.client.upload<typeof import("../fixtures/ops.js")>(OPS);
  assert.equal(typeof ops.scale, "function");
  assert.equal(ops.VERSION, "1");
  const { delayed } = await import("../../node/index.js");
  const scaled = delayed(ops.scale)(delayed(ops.scale)(2, 3), 7);
  assert.equal(await scaled.compute({ scheduler: c.client }), 42);
  const mw = await import("../../node/array.js");
  const x = mw.fromArray(new Float64Array([0, 30, 60, 300]), { chunks: 4 });
  const doubled = (await x.mapBlocks(ops.doubleBlock).compute({ scheduler: c.client })) as InstanceType<
    typeof mw.NDArray
  >;
  assert.deepEqual(doubled.toArray(), [0, 60, 120, 600]);
  // Two handles with the same inputs are two computations, not one key.
  assert.notEqual(x.mapBlocks(ops.doubleBlock).name, x.mapBlocks(ops.negateBlock).name);
  const [a, b] = await mw.computeWith({ scheduler: c.client }, [
    x.mapBlocks(ops.doubleBlock),
    x.mapBlocks(ops.negateBlock),
  ]);
  assert.deepEqual(
    [(a as InstanceType<typeof mw.NDArray>).toArray(), (b as InstanceType<typeof mw.NDArray>).toArray()],
    [
      [0, 60, 120, 600],
      [-0, -30, -60, -300],
    ],
  );
  // Called in the client, a handle says where it runs.
  assert.throws(
    () => ops.scale(1, 2),
    (e: unknown) => e instanceof ArgumentError && /runs on workers/.test(e.message),
  );
});

test("upload builds a module for Node and for browsers: the browser build takes packages' browser builds and has no Node banner; one importing node:fs is Node-only and says which import", async () => {
  const { bundleModule } = await import("../../node/platform/bundle.js");
  const gzip = await bundleModule(new URL("../fixtures/ops-gzip.ts", import.meta.url));
  assert.ok(gzip.browser, "a browser build");
  assert.equal(gzip.nodeOnly, undefined);
  assert.match(gzip.source, /node:module/); // the Node build: require() for bundled CommonJS, fflate's Node build
  assert.doesNotMatch(gzip.browser, /node:|createRequire|worker_threads/);
  assert.deepEqual(gzip.values, { LEVEL: "gzip-6" });
  const fs = await bundleModule(new URL("../fixtures/ops-fs.ts", import.meta.url));
  assert.equal(fs.browser, undefined);
  assert.equal(fs.nodeOnly, "it imports Node's built-in node:fs (ops-fs.ts:3)");
  // On a cluster of Node workers it runs as any module does.
  await using c = await startCluster({ workers: 1 });
  const ops = await c.client.upload<typeof import("../fixtures/ops-fs.js")>(
    new URL("../fixtures/ops-fs.ts", import.meta.url),
  );
  assert.equal(
    await c.client.submit(ops.firstLine, new URL("../fixtures/ops-fs.ts", import.meta.url).pathname),
    "// A task module that needs Node: it imports node:fs, so it has no browser build, and its tasks",
  );
  const gz = await c.client.upload<typeof import("../fixtures/ops-gzip.js")>(
    new URL("../fixtures/ops-gzip.ts", import.meta.url),
  );
  const r = await c.client.submit(gz.roundTrip, "hello hello hello");
  assert.deepEqual([r.text, r.platform], ["hello hello hello", "node"]);
  assert.ok(r.gzipped > 18, `a gzip member: 18 bytes of header and trailer, then data (${r.gzipped})`);
});
