// Gathering the workers' stories of a key for a client (scheduler/worker-stories.ts): answers
// joined with the workers' names, the wait ended by every answer, a worker leaving or the
// timeout, the reply bounded, and answers nobody asked for ignored.

import assert from "node:assert/strict";
import { mock, test } from "node:test";
import {
  MAX_WORKER_STORY_ENTRIES,
  WORKER_STORY_TIMEOUT_MS,
  WorkerStories,
} from "../../src/scheduler/worker-stories.js";

const entry = (stimulus: string) => ({ start: "ready", finish: "executing", stimulus, time: 1 });
const workers = new Map([
  ["worker-1", "alpha"],
  ["worker-2", "beta"],
]);

test("each worker's entries come back with its name once all asked have answered; strangers' answers are ignored", async () => {
  const stories = new WorkerStories();
  const asked: string[] = [];
  const reply = stories.ask("c1", "k", workers, (w, id, key) => asked.push(`${w} ${id} ${key}`));
  assert.deepEqual(asked, ["worker-1 1 k", "worker-2 1 k"]);
  stories.answered("worker-3", { op: "story-entries", id: 1, entries: [entry("forged")] }); // not asked
  stories.answered("worker-1", { op: "story-entries", id: 9, entries: [entry("forged")] }); // no such request
  stories.answered("worker-2", { op: "story-entries", id: 1, entries: [entry("b1")] });
  stories.answered("worker-2", { op: "story-entries", id: 1, entries: [entry("again")] }); // answered already
  stories.answered("worker-1", { op: "story-entries", id: 1, entries: [entry("a1"), { ...entry("a2"), note: "n" }] });
  assert.deepEqual(await reply, [
    { key: "k", start: "ready", finish: "executing", stimulus: "b1", time: 1, worker: "beta" },
    { key: "k", start: "ready", finish: "executing", stimulus: "a1", time: 1, worker: "alpha" },
    { key: "k", start: "ready", finish: "executing", stimulus: "a2", time: 1, worker: "alpha", note: "n" },
  ]);
});

test("a worker leaving ends the wait for it; the timeout ends the wait for all", async () => {
  mock.timers.enable({ apis: ["setTimeout"] });
  try {
    const stories = new WorkerStories();
    const left = stories.ask("c1", "k", workers, () => {});
    stories.answered("worker-1", { op: "story-entries", id: 1, entries: [entry("a1")] });
    stories.left("worker-2");
    assert.equal((await left).length, 1);
    const slow = stories.ask("c1", "k", workers, () => {});
    stories.answered("worker-2", { op: "story-entries", id: 2, entries: [entry("b1")] });
    mock.timers.tick(WORKER_STORY_TIMEOUT_MS);
    assert.deepEqual(
      (await slow).map((e) => e.worker),
      ["beta"],
    );
  } finally {
    mock.timers.reset();
  }
});

test("a reply holds at most MAX_WORKER_STORY_ENTRIES, and a client waits for at most four at once", async () => {
  const stories = new WorkerStories();
  const many = Array.from({ length: 1_000 }, (_, i) => entry(`s${i}`));
  const eleven = new Map(Array.from({ length: 11 }, (_, i) => [`worker-${i}`, `w${i}`]));
  const reply = stories.ask("c1", "k", eleven, () => {});
  for (const w of eleven.keys()) stories.answered(w, { op: "story-entries", id: 1, entries: many });
  assert.equal((await reply).length, MAX_WORKER_STORY_ENTRIES);
  const open = [0, 1, 2, 3].map(() => stories.ask("c2", "k", workers, () => {}));
  await assert.rejects(
    stories.ask("c2", "k", workers, () => {}),
    { name: "BackpressureError" },
  );
  assert.deepEqual(await stories.ask("c3", "k", new Map(), () => {}), [], "another client, and no workers: at once");
  stories.close();
  assert.deepEqual(await Promise.all(open), [[], [], [], []], "closing answers what waits");
});
