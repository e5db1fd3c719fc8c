// A worker turning FnRefs into functions: a task module without a build for this worker's platform
// (a tab sent a module that needs Node) fails its tasks with a PlatformError that says why; a user's
// function with `via` (a collection kernel calling it) runs through that kernel.

import assert from "node:assert/strict";
import { test } from "node:test";
import { PlatformError } from "../../src/errors.js";
import { CodeCache } from "../../src/worker/code.js";

test("a tab given a task of a module that needs Node answers PlatformError naming the Node import, not an import failure", async () => {
  const code = new CodeCache();
  code.loadModule({
    hash: "m-fs",
    source: "",
    exports: ["firstLine"],
    nodeOnly: "it imports Node's built-in node:fs (ops-fs.ts:3)",
  });
  await assert.rejects(
    Promise.resolve().then(() => code.resolve({ kind: "module", module: "m-fs", name: "firstLine" })),
    (e: unknown) =>
      e instanceof PlatformError &&
      e.code === "PLATFORM" &&
      /task module m-fs runs on Node workers only \(it imports Node's built-in node:fs \(ops-fs\.ts:3\)\); this worker is a browser tab/.test(
        e.message,
      ),
  );
  // A module with a build for it imports as before.
  code.loadModule({ hash: "m-ok", source: "export const twice = (x) => 2 * x;", exports: ["twice"] });
  const twice = await code.resolve({ kind: "module", module: "m-ok", name: "twice" });
  assert.equal(twice(21), 42);
});

test("a user's function with `via` runs through that builtin kernel, module or source alike; a via naming no builtin, or not a string, is refused", async () => {
  const { registerBuiltin } = await import("../../src/graph/builtins.js");
  const { validate } = await import("../../src/protocol/validate.js");
  const { ProtocolError } = await import("../../src/errors.js");
  const { Serialized } = await import("../../src/protocol/refs.js");
  registerBuiltin("test.apply-plus-one", ((fn: (x: number) => number, x: number) => fn(x) + 1) as never);
  const code = new CodeCache();
  code.loadModule({ hash: "m-via", source: "export const twice = (x) => 2 * x;", exports: ["twice"] });
  const viaModule = await code.resolve({ kind: "module", module: "m-via", name: "twice", via: "test.apply-plus-one" });
  assert.equal(viaModule(20), 41);
  // Without via, the same export is itself: the wrapped and the plain function are cached apart.
  assert.equal((await code.resolve({ kind: "module", module: "m-via", name: "twice" }))(20), 40);
  code.define({ id: "f-neg", source: "(x) => -x", name: "neg" });
  const viaSource = code.resolve({ kind: "source", id: "f-neg", via: "test.apply-plus-one" });
  assert.equal(typeof viaSource, "function", "a source function resolves at once");
  assert.equal((viaSource as (x: number) => number)(5), -4);
  assert.throws(
    () => code.resolve({ kind: "source", id: "f-neg", via: "no.such-kernel" }),
    /no builtin function "no.such-kernel"/,
  );
  const task = (fn: unknown) => ({
    op: "compute-task",
    key: "k",
    fn,
    args: new Serialized(new Uint8Array(0), []),
    deps: [],
    priority: [0],
  });
  assert.throws(
    () => validate(task({ kind: "source", id: "f", via: 7 }) as never),
    (e: unknown) => e instanceof ProtocolError && /fn\.via must be a string/.test(e.message),
  );
  assert.doesNotThrow(() =>
    validate(task({ kind: "module", module: "m", name: "n", via: "df.map-partitions" }) as never),
  );
});
