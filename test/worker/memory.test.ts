// A worker's memory limit: results spill to a store (least recently used first) above 60 % of the
// limit, come back on use, and the worker pauses above 80 % when spilling cannot help.

import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { test } from "node:test";
import { deserialize, serialize, WorkerState } from "../../src/internal.js";
import { MapStore } from "./map-store.js";
import { DiskSpillStore, makeSpillDirectory } from "../../node/platform/spill.js";

const put = (w: WorkerState, key: string, bytes: number) =>
  w.handle({
    op: "data-put",
    key,
    value: new Uint8Array(bytes).fill(key.charCodeAt(0)),
    nbytes: bytes,
    stimulus: "test",
  });
const free = (w: WorkerState, keys: string[]) => w.handle({ op: "free-keys", keys, stimulus: "test" });

test("above 60 % of the limit the least recently used results spill; reading one brings it back", () => {
  const store = new MapStore();
  const w = new WorkerState("self", { limit: 100, spill: store });
  put(w, "a", 30);
  put(w, "b", 30);
  assert.deepEqual([w.memory, w.spilledBytes], [60, 0]);
  put(w, "c", 30); // 90 > 60: a goes
  assert.deepEqual([...store.stored.keys()], ["a"]);
  assert.deepEqual([w.memory, w.spilledBytes, w.paused], [60, 30, false]);
  assert.ok(w.holds("a"));
  w.value("b"); // b is now the most recently used
  const a = w.value("a") as Uint8Array; // back from the store; c (least recently used) goes
  assert.equal(a[29], "a".charCodeAt(0));
  assert.deepEqual([...store.stored.keys()], ["c"]);
  assert.deepEqual([w.memory, w.spilledBytes], [60, 30]);
  free(w, ["c"]); // freeing a spilled result removes it from the store
  assert.deepEqual([store.stored.size, w.spilledBytes, w.holds("c")], [0, 0, false]);
});

test("without a store, or with one result bigger than the room, the worker pauses above 80 % and resumes when freed", () => {
  const w = new WorkerState("self", { limit: 100 });
  put(w, "a", 50);
  put(w, "b", 25);
  assert.equal(w.paused, false);
  put(w, "c", 10); // 85 > 80
  assert.equal(w.paused, true);
  free(w, ["a"]);
  assert.equal(w.paused, false);
  const s = new WorkerState("self", { limit: 100, spill: new MapStore() });
  put(s, "x", 90); // alone and too big to fit under the target: it stays, and the worker pauses
  assert.deepEqual([s.memory, s.paused], [90, true]);
});

test("no limit: nothing spills, nothing pauses", () => {
  const store = new MapStore();
  const w = new WorkerState("self", { limit: 0, spill: store });
  for (let i = 0; i < 10; i++) put(w, `k${i}`, 1000);
  assert.deepEqual([store.stored.size, w.paused, w.memory], [0, false, 10_000]);
});

test("the disk store gives back what it was given, typed arrays aligned, and close removes its directory", () => {
  const dir = makeSpillDirectory("test worker/1");
  const store = new DiskSpillStore(dir);
  const value = {
    a: new Float64Array([1.5, -0, NaN, 3]),
    b: [new Int16Array([1, -2]), "text", 7n],
    c: new Uint8Array([9, 8, 7]),
  };
  store.write("k", serialize(value).payload);
  store.write("k2", serialize(new Float32Array(1000).fill(0.25)).payload);
  assert.equal(readdirSync(dir).length, 2);
  const back = deserialize(store.read("k")) as typeof value;
  assert.ok(Object.is(back.a[1], -0) && Number.isNaN(back.a[2]));
  assert.deepEqual([...back.a.slice(0, 2)], [1.5, -0]);
  assert.deepEqual(back.b, [new Int16Array([1, -2]), "text", 7n]);
  assert.deepEqual(back.c, new Uint8Array([9, 8, 7]));
  assert.equal((deserialize(store.read("k2")) as Float32Array)[999], 0.25);
  store.remove("k");
  assert.equal(readdirSync(dir).length, 1);
  assert.throws(() => store.read("k"), /nothing spilled under k/);
  store.close();
  assert.equal(existsSync(dir), false);
});
