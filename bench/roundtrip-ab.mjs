// One submit().result() round trip on an in-process LocalCluster (2 worker threads), two built
// checkouts side by side: each runs in a process of its own, kept alive, and the two take turns
// batch by batch (A B, B A, …), so a change in the host's load hits both alike. Finer than
// bench/compare.mjs (which alternates whole benchmark runs) for a difference of a few per cent.
//
//   node bench/roundtrip-ab.mjs --base /tmp/old --rounds 30 --batch 300
//   nice -n -20 node bench/roundtrip-ab.mjs --base /tmp/old --new /tmp/new    (as root: the host's other work yields)
//
//   nice -n -20 node bench/roundtrip-ab.mjs --base /tmp/old --pairs 8 --control
//
// --map N times a map of N tasks, gathered, instead of a round trip (--batch maps a batch; the
// figures are then per map, and roundtrip_ms is a map's milliseconds).
//
// --pairs K starts fresh processes K times (rounds each), since a process's layout and JIT choices
// move its figures by a few per cent; --control adds a third process of the old checkout, taking
// turns with the other two, so that old ÷ old in the same run shows what "within noise" is.
//
// Prints one JSON object: per side the median over rounds of each batch's median round trip (ms)
// and of the process's CPU time per round trip (µs, every thread: scheduler, client, workers, GC),
// and on Linux that CPU time split by thread (main: scheduler and client; worker: the busiest
// other thread; rest: V8's GC helpers and the others), summed over every batch;
// the median, min and max over rounds of new ÷ old (and control ÷ old), and the median of each set
// of processes. Warm: three batches each before timing.

import { fork } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { benchOptions } from "./options.mjs";

const here = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** Linux's USER_HZ: the unit of /proc's CPU times. */
const TICKS_PER_S = 100;

if (process.argv[2] === "--side") {
  await side(process.argv[3], Number(process.argv[4] ?? 0));
} else {
  await main();
}

/** A side: a cluster and a client of one checkout, timing batches when the parent asks. */
async function side(dir, mapTasks) {
  const m = await import(pathToFileURL(`${dir}/dist/node/index.js`).href);
  const cluster = await m.LocalCluster.start({ workers: 2 });
  const client = await m.Client.connect(cluster.address);
  const inc = (x) => x + 1;
  await client.submit(inc, -1);
  const items = Array.from({ length: mapTasks }, (_, i) => i);
  // One unit of a batch: a round trip, or with --map N a map of N tasks gathered.
  const unit = mapTasks
    ? async () => {
        const fs = client.map(inc, items, { pure: false });
        await client.gather(fs);
        for (const f of fs) f.release();
      }
    : (i) => client.with({ pure: false }).submit(inc, i);
  process.on("message", async ({ n, stop }) => {
    if (stop) {
      await client.close();
      await cluster.close();
      process.exit(0);
    }
    const times = [];
    const threads0 = threadTicks();
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await unit(i);
      times.push(performance.now() - t);
    }
    const cpu = process.cpuUsage(cpu0);
    process.send({ ms: median(times), cpuUs: (cpu.user + cpu.system) / n, threads: ticksSince(threads0) });
  });
  process.send({ ready: true });
}

async function main() {
  const o = benchOptions({ base: "", new: here, rounds: 30, batch: 300, pairs: 1, control: false, map: 0 });
  if (!o.base) {
    console.error("--base DIR (a built checkout to compare with) is required");
    process.exit(2);
  }
  const start = (dir) =>
    new Promise((ok) => {
      const p = fork(fileURLToPath(import.meta.url), ["--side", resolve(dir), String(o.map)]);
      p.once("message", () => ok(p));
    });
  const batch = (p) =>
    new Promise((ok) => {
      p.once("message", ok);
      p.send({ n: o.batch });
    });
  const load = [loadavg()[0]];
  // Per side, every round's batch; per set of processes, the median ratios (a process's own
  // layout and JIT choices move its figures by a few per cent, so fresh processes are the unit).
  const sides = o.control ? ["old", "new", "control"] : ["old", "new"];
  const runs = Object.fromEntries(sides.map((s) => [s, []]));
  const perPair = Object.fromEntries(sides.slice(1).map((s) => [s, []]));
  for (let pair = 0; pair < o.pairs; pair++) {
    const procs = {};
    for (const s of sides) procs[s] = await start(s === "new" ? o.new : o.base);
    for (let i = 0; i < 3; i++) for (const s of sides) await batch(procs[s]);
    const got = Object.fromEntries(sides.map((s) => [s, []]));
    for (let r = 0; r < o.rounds; r++) {
      // Each side goes first, middle and last alike: the order turns every round.
      const order = sides.map((_, i) => sides[(i + r) % sides.length]);
      if (r % 2 === 1) order.reverse();
      for (const s of order) got[s].push(await batch(procs[s]));
    }
    for (const s of sides) procs[s].send({ stop: true });
    for (const s of sides) runs[s].push(...got[s]);
    for (const s of sides.slice(1)) perPair[s].push(median(got[s].map((x, i) => x.ms / got.old[i].ms)));
  }
  load.push(loadavg()[0]);
  const round = (x, d = 3) => +x.toFixed(d);
  const spread = (xs) => ({ median: round(median(xs)), min: round(Math.min(...xs)), max: round(Math.max(...xs)) });
  const over = (s) => ({
    roundtrip: spread(runs[s].map((x, i) => x.ms / runs.old[i].ms)),
    cpu: spread(runs[s].map((x, i) => x.cpuUs / runs.old[i].cpuUs)),
    roundtrip_by_process_set: perPair[s].map((x) => round(x)),
  });
  // Thread CPU is counted in clock ticks (10 ms): summed over every batch, then per round trip.
  const perThread = (s) => {
    const sum = { main: 0, worker: 0, rest: 0 };
    for (const x of runs[s]) for (const k of Object.keys(sum)) sum[k] += x.threads[k];
    const us = 1e6 / TICKS_PER_S / (runs[s].length * o.batch);
    return Object.fromEntries(Object.entries(sum).map(([k, v]) => [k, round(v * us, 1)]));
  };
  const figures = (s) => ({
    roundtrip_ms: round(median(runs[s].map((x) => x.ms)), 4),
    cpu_us: round(median(runs[s].map((x) => x.cpuUs)), 1),
    thread_cpu_us: perThread(s),
  });
  console.log(
    JSON.stringify({
      benchmark: "roundtrip-ab",
      checkouts: { old: o.base, new: o.new },
      params: { rounds: o.rounds, batch: o.batch, pairs: o.pairs, control: o.control, map: o.map },
      load_start_end: load,
      old: figures("old"),
      new: figures("new"),
      new_over_old: over("new"),
      ...(o.control ? { control: figures("control"), control_over_old: over("control") } : {}),
    }),
  );
}

/**
 * Linux only: each thread's CPU time so far, in clock ticks (/proc/self/task/<tid>/stat), by
 * thread id. The main thread (scheduler and client) has the process's id.
 */
function threadTicks() {
  const out = new Map();
  let tids;
  try {
    tids = readdirSync("/proc/self/task");
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(+tid, +fields[11] + +fields[12]); // utime + stime
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** Ticks per thread class since `before`: main, the busiest other thread (the worker running the tasks), the rest (V8's GC helpers, the idle worker, libuv). */
function ticksSince(before) {
  const now = threadTicks();
  let main = 0;
  const others = [];
  for (const [tid, t] of now) {
    const d = t - (before.get(tid) ?? 0);
    if (tid === process.pid) main = d;
    else others.push(d);
  }
  others.sort((a, b) => b - a);
  const worker = others[0] ?? 0;
  return { main, worker, rest: others.slice(1).reduce((a, b) => a + b, 0) };
}

function median(xs) {
  return [...xs].sort((x, y) => x - y)[xs.length >> 1];
}
