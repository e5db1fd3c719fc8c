// The scheduler's state machine alone: what SchedulerState costs per round trip, without sockets,
// threads or a client. Each round trip is the three events one submit().result() brings:
// update-graph (one task), task-finished (with its value inline), release-keys; two workers.
// Validation off, as in production.
//
//   node bench/scheduler-state.mjs --runs 9 --trips 50000
//   node bench/compare.mjs --base /tmp/old --bench scheduler-state.mjs -- --runs 9
//
// Also runs on a checkout from before the scheduler took events (2d451c3 and older: updateGraph,
// taskFinished, releaseKeys and takeInstructions), so that the two can be compared: copy this file
// into the old checkout's bench/ first (compare.mjs runs each side's own copy).
//
// Prints one JSON object: the median ns per round trip over --runs runs (after a warm-up run).

import { SchedulerState, serialize } from "../dist/src/internal.js";
import { benchOptions } from "./options.mjs";

const o = benchOptions({ runs: 9, trips: 50_000 });
const FN = { id: "fn-inc", source: "(x) => x + 1", name: "inc" };
const worker = (name) => ({
  address: `addr-${name}`,
  kind: "thread",
  nthreads: 1,
  memoryLimit: 0,
  resources: {},
  name,
});
const evented = typeof SchedulerState.prototype.handle === "function";
const value = serialize(42).payload;
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** The state's three calls, whichever its interface: each returns the instructions made. */
function driver(s) {
  if (evented)
    return {
      submit: (t, fns) => s.handle({ op: "update-graph", client: "c", tasks: [t], fns, wants: [t.key] }),
      finish: (w, key) => s.handle({ op: "task-finished", worker: w, key, nbytes: 8, duration: 0.01, value }),
      release: (key) => s.handle({ op: "release-keys", client: "c", keys: [key] }),
    };
  return {
    submit: (t, fns) => (s.updateGraph("c", [t], fns, [t.key]), s.takeInstructions()),
    finish: (w, key) => (s.taskFinished(w, key, 8, 0.01, value), s.takeInstructions()),
    release: (key) => (s.releaseKeys("c", [key]), s.takeInstructions()),
  };
}

function run(trips) {
  const s = new SchedulerState({ validate: false });
  if (evented) {
    s.handle({ op: "client-added", client: "c" });
    for (const w of ["w1", "w2"])
      s.handle({ op: "worker-added", worker: w, hello: worker(w), trusted: true, host: "" });
  } else {
    s.addClient("c");
    for (const w of ["w1", "w2"]) s.addWorker(w, worker(w), true, "");
    s.takeInstructions();
  }
  const d = driver(s);
  let sent = 0;
  const start = performance.now();
  for (let i = 0; i < trips; i++) {
    const key = `inc-${i}-0123456789abcdef`;
    const t = { key, fn: { kind: "source", id: FN.id }, args: value, deps: [], priority: [0, 0, i], retries: 0 };
    const out = d.submit(t, i === 0 ? [FN] : []);
    sent += out.length + d.finish(out[0].id, key).length + d.release(key).length;
  }
  const ns = ((performance.now() - start) * 1e6) / trips;
  // compute-task, key-in-memory and free-keys each time: anything less and the run measured the wrong thing.
  if (sent < 3 * trips) throw new Error(`only ${sent} instructions for ${trips} round trips: the run is wrong`);
  if (s.tasks.size !== 0) throw new Error(`${s.tasks.size} tasks left: the run is wrong`);
  return ns;
}

run(Math.min(o.trips, 20_000)); // warm-up
const ns = [];
for (let r = 0; r < o.runs; r++) ns.push(run(o.trips));
console.log(
  JSON.stringify({
    params: { trips: o.trips, runs: o.runs, evented },
    scheduler_state_ns_per_round_trip: { median: Math.round(median(ns)), runs: ns.map(Math.round) },
  }),
);
