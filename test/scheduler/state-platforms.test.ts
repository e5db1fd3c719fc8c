// Task modules on two platforms: each worker is sent the build of a module for its kind (tabs the
// browser build), and the tasks of a module that needs Node are placed on Node workers only; with
// only tabs to take them they wait in no-worker, saying why.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { Instruction, ModuleDef, TaskMsg } from "../../src/internal.js";
import { serialize } from "../../src/internal.js";
import { balance, cluster, feed, finish, lines, submit, take } from "../helpers/scheduler.js";

const PURE: ModuleDef = {
  hash: "m-pure",
  source: "export const f = () => 'node build';",
  exports: ["f"],
  browser: { hash: "b-pure", source: "export const f = () => 'browser build';" },
};
const FS: ModuleDef = {
  hash: "m-fs",
  source: "import 'node:fs'; export const f = () => 1;",
  exports: ["f"],
  nodeOnly: "it imports Node's built-in node:fs (fs.ts:1)",
};

function modTask(key: string, module: string): TaskMsg {
  return {
    key,
    fn: { kind: "module", module, name: "f" },
    args: serialize([]).payload,
    deps: [],
    priority: [0, 0, 0],
    retries: 0,
  };
}

function tab(s: ReturnType<typeof cluster>, id: string): void {
  feed(s, {
    op: "worker-added",
    worker: id,
    hello: { address: `addr-${id}`, kind: "browser", nthreads: 1, memoryLimit: 0, resources: {}, name: id },
  });
}

const loads = (out: Instruction[]) =>
  out
    .filter((i) => i.msg.op === "load-module")
    .map((i) => ({ to: i.id, module: (i.msg as { module: ModuleDef }).module }));

test("each worker is sent the build of an uploaded module for its platform: Node workers the Node build, tabs the browser build", () => {
  const s = cluster(["w1"]);
  tab(s, "tab1");
  take(s);
  feed(s, { op: "upload-module", module: PURE });
  assert.deepEqual(loads(take(s)), [
    { to: "w1", module: { hash: "m-pure", source: PURE.source, exports: ["f"] } },
    { to: "tab1", module: { hash: "m-pure", source: PURE.browser!.source, exports: ["f"] } },
  ]);
  // A tab joining later gets it too, built for it; a module that needs Node comes with no source and the reason.
  feed(s, { op: "upload-module", module: FS });
  take(s);
  tab(s, "tab2");
  assert.deepEqual(loads(take(s)), [
    { to: "tab2", module: { hash: "m-pure", source: PURE.browser!.source, exports: ["f"] } },
    { to: "tab2", module: { hash: "m-fs", source: "", exports: ["f"], nodeOnly: FS.nodeOnly } },
  ]);
});

test("tasks of a module that needs Node go to Node workers only, also when the tab is idle; the others go to tabs too", () => {
  const s = cluster([]);
  tab(s, "tab1");
  feed(s, {
    op: "worker-added",
    worker: "w1",
    hello: { address: "addr-w1", kind: "node", nthreads: 1, memoryLimit: 0, resources: {}, name: "w1" },
  });
  feed(s, { op: "upload-module", module: PURE });
  feed(s, { op: "upload-module", module: FS });
  take(s);
  const out = submit(s, [
    modTask("F1", "m-fs"),
    modTask("F2", "m-fs"),
    modTask("F3", "m-fs"),
    modTask("P1", "m-pure"),
    modTask("P2", "m-pure"),
  ]);
  // The three of the Node-only module queue on w1 (the tab, less busy, gets the others).
  assert.deepEqual(lines(out), [
    "w1 compute-task F1",
    "w1 compute-task F2",
    "w1 compute-task F3",
    "tab1 compute-task P1",
    "tab1 compute-task P2",
  ]);
  // The tab runs its two and idles; stealing never moves w1's queue to it.
  finish(s, "tab1", "P1");
  finish(s, "tab1", "P2");
  balance(s);
  assert.deepEqual(lines(take(s)), []);
  assert.deepEqual(
    [...s.workers.get("w1")!.processing].map((t) => t.key),
    ["F1", "F2", "F3"],
  );
});

test("with only tabs, a task of a module that needs Node waits in no-worker saying why, and runs once a Node worker joins", () => {
  const s = cluster([]);
  tab(s, "tab1");
  feed(s, { op: "upload-module", module: FS });
  take(s);
  const out = submit(s, [modTask("F1", "m-fs")]);
  assert.deepEqual(lines(out), ["c key-waiting F1"]);
  assert.equal(
    (out[0]!.msg as { reason: string }).reason,
    "it runs on Node workers only (its task module needs Node: it imports Node's built-in node:fs (fs.ts:1)), and the workers that may take it are browser tabs (tab1)",
  );
  assert.equal(s.tasks.get("F1")!.state, "no-worker");
  feed(s, {
    op: "worker-added",
    worker: "w1",
    hello: { address: "addr-w1", kind: "thread", nthreads: 1, memoryLimit: 0, resources: {}, name: "w1" },
  });
  assert.deepEqual(lines(take(s)), ["w1 load-module ", "w1 compute-task F1"]);
});
