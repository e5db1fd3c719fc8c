// client.workerStory(key): what each worker recorded of a key (Dask's worker.story), gathered by
// the scheduler from its workers, bounded per client; and the bounds on what a worker may answer.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { RemoteError } from "../../node/index.js";
import { MAX_STORY_ENTRIES_PER_WORKER, MAX_STORY_FIELD_LENGTH, validate } from "../../src/protocol/validate.js";
import { startCluster } from "../helpers/cluster.js";

test("workerStory tells what the worker that ran a task and the one that fetched it as an input did with it", async () => {
  await using c = await startCluster({ workers: 2 });
  const [w1, w2] = await c.client.workers();
  const a = c.client.with({ key: "a", workers: [w1!.name] }).submit((x: number) => x + 1, 1);
  const b = c.client.with({ key: "b", workers: [w2!.name] }).submit((x: number) => x * 2, a);
  assert.equal(await b, 4);
  const story = await c.client.workerStory("a");
  const on = (name: string) => story.filter((e) => e.worker === name).map((e) => `${e.start}>${e.finish}`);
  assert.deepEqual(on(w1!.name), ["released>waiting", "waiting>ready", "ready>executing", "executing>memory"]);
  assert.deepEqual(on(w2!.name), ["released>flight", "flight>memory"]);
  const fetched = story.find((e) => e.worker === w2!.name && e.finish === "memory")!;
  assert.equal(fetched.key, "a");
  assert.equal(fetched.note, `from ${w1!.address}`);
  assert.match(fetched.stimulus, /^data-arrived-\d+$/);
  assert.ok(Math.abs(fetched.time - Date.now()) < 60_000, "times are the worker's clock, ms since the epoch");
  assert.deepEqual(await c.client.workerStory("never-seen"), []);
});

test("a client waits for at most four worker stories at once; the fifth is refused (BackpressureError on the scheduler)", async () => {
  await using c = await startCluster({ workers: 1 });
  const asked = [0, 1, 2, 3, 4].map(() => c.client.workerStory("x"));
  const settled = await Promise.allSettled(asked);
  assert.deepEqual(
    settled.map((s) => s.status),
    ["fulfilled", "fulfilled", "fulfilled", "fulfilled", "rejected"],
  );
  const refused = (settled[4] as PromiseRejectedResult).reason as RemoteError;
  assert.equal(refused.remoteName, "BackpressureError");
  assert.match(refused.message, /4 worker stories at once/);
  assert.deepEqual(await c.client.workerStory("x"), [], "answered again once the others are");
});

test("a worker's answer is bounded: too many entries, or fields too long, close its connection as malformed", () => {
  const entry = { start: "ready", finish: "executing", stimulus: "task-loop", time: 1 };
  assert.doesNotThrow(() => validate({ op: "story-entries", id: 1, entries: [entry] }));
  const many = Array.from({ length: MAX_STORY_ENTRIES_PER_WORKER + 1 }, () => entry);
  assert.throws(() => validate({ op: "story-entries", id: 1, entries: many }), /limit 1000/);
  const long = { ...entry, note: "x".repeat(MAX_STORY_FIELD_LENGTH + 1) };
  assert.throws(() => validate({ op: "story-entries", id: 1, entries: [long] }), /at most 1024 characters/);
});
