// A worker turning FnRefs into functions: a task module without a build for this worker's platform
// (a tab sent a module that needs Node) fails its tasks with a PlatformError that says why.

import assert from "node:assert/strict";
import { test } from "node:test";
import { PlatformError } from "../../src/errors.js";
import { CodeCache } from "../../src/worker/code.js";

test("a tab given a task of a module that needs Node answers PlatformError naming the Node import, not an import failure", async () => {
  const code = new CodeCache();
  code.loadModule({ hash: "m-fs", source: "", exports: ["firstLine"], nodeOnly: "it imports Node's built-in node:fs (ops-fs.ts:3)" });
  await assert.rejects(
    Promise.resolve().then(() => code.resolve({ kind: "module", module: "m-fs", name: "firstLine" })),
    (e: unknown) => e instanceof PlatformError && e.code === "PLATFORM" && /task module m-fs runs on Node workers only \(it imports Node's built-in node:fs \(ops-fs\.ts:3\)\); this worker is a browser tab/.test(e.message),
  );
  // A module with a build for it imports as before.
  code.loadModule({ hash: "m-ok", source: "export const twice = (x) => 2 * x;", exports: ["twice"] });
  const twice = await code.resolve({ kind: "module", module: "m-ok", name: "twice" });
  assert.equal(twice(21), 42);
});
