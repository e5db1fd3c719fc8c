// Few: a set that keeps one member in a field and upgrades to a Set for more.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Few } from "../../src/util/few.js";

test("Few behaves as a Set through zero, one and many members, in insertion order", () => {
  const f = new Few<string>();
  assert.deepEqual([f.size, [...f], f.has("a"), f.delete("a")], [0, [], false, false]);
  f.add("a").add("a");
  assert.deepEqual([f.size, [...f], f.has("a"), f.has("b")], [1, ["a"], true, false]);
  f.add("b").add("c").add("b");
  assert.deepEqual([f.size, [...f]], [3, ["a", "b", "c"]]);
  assert.equal(f.delete("b"), true);
  assert.equal(f.delete("b"), false);
  assert.deepEqual([...f], ["a", "c"]);
  for (const x of f) f.delete(x); // deleting while iterating
  assert.equal(f.size, 0);
  f.add("z");
  assert.equal(f.delete("z"), true);
  assert.equal(f.size, 0);
  f.add("p").add("q");
  f.clear();
  assert.deepEqual([f.size, [...f], f.has("p")], [0, [], false]);
});
