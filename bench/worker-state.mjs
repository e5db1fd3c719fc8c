// The worker's state machine alone: what WorkerState costs per task, without sockets or threads.
// Each task goes compute-task (half of them with an input fetched from a peer, answered by
// data-arrived) → nextReady → task-done → free-keys, in turns of 1,000 tasks handled as the shell
// hands them over (one handle per turn's events). Validation off, as in production.
//
//   node bench/worker-state.mjs --runs 5 --tasks 200000
//   flock /tmp/meshwork-bench.lock node bench/compare.mjs --base /tmp/old --bench worker-state.mjs -- --runs 5
//
// Prints one JSON object: the median ns per task over --runs runs (after one warm-up run), with the
// worker's story kept (the default) and without it (storyCapacity: 0), runs alternating in one process.

import { serialize, WorkerState } from "../dist/src/internal.js";
import { benchOptions } from "./options.mjs";

const o = benchOptions({ runs: 5, tasks: 200_000 });
const TURN = 1_000;
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const args = serialize([1]).payload;
const fn = { kind: "source", id: "f" };

function run(tasks, storyCapacity) {
  const w = new WorkerState("self", { limit: 0, validate: false, storyCapacity });
  let stimuli = 0;
  const start = performance.now();
  for (let first = 0; first < tasks; first += TURN) {
    const keys = [];
    const computes = [];
    const arriving = new Map();
    for (let i = first; i < first + TURN; i++) {
      const key = `t${i}`;
      keys.push(key);
      const deps = i % 2 === 0 ? [{ key: `d${i}`, who: ["peer"], nbytes: 8 }] : [];
      if (deps.length > 0) arriving.set(`d${i}`, { value: i, nbytes: 8 });
      computes.push({
        op: "compute-task",
        task: { op: "compute-task", key, fn, args, deps, priority: [0, i] },
        stimulus: ++stimuli,
      });
    }
    w.handle(computes);
    w.handle({
      op: "data-arrived",
      from: "peer",
      values: arriving,
      missing: [],
      stimulus: ++stimuli,
    });
    for (let t = w.nextReady(); t; t = w.nextReady())
      w.handle({ op: "task-done", task: t, value: 1, nbytes: 8, duration: 0.01, stimulus: ++stimuli });
    w.handle({ op: "free-keys", keys: [...keys, ...arriving.keys()], stimulus: ++stimuli });
  }
  const ms = performance.now() - start;
  if (w.tasks.size !== 0 || w.memory !== 0) throw new Error("tasks or results left: the run is wrong");
  return (ms * 1e6) / tasks;
}

run(Math.min(o.tasks, 50_000), undefined); // warm-up
run(Math.min(o.tasks, 50_000), 0);
const ns = [];
const noStory = [];
for (let r = 0; r < o.runs; r++) {
  ns.push(run(o.tasks, undefined));
  noStory.push(run(o.tasks, 0));
}
console.log(
  JSON.stringify({
    params: { tasks: o.tasks, runs: o.runs, turn: TURN },
    worker_state_ns_per_task: { median: Math.round(median(ns)), runs: ns.map(Math.round) },
    without_story_ns_per_task: { median: Math.round(median(noStory)), runs: noStory.map(Math.round) },
  }),
);
