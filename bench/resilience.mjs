// Resilience benchmark, for the figures of the resilience issue, with Dask's in the same run:
//   - scheduler memory per held task: 1,000,000 tasks held in memory by the scheduler's state
//     (heap after GC, this process), and N tasks held by a real scheduler process (its resident
//     memory, as Dask's is measured: bench/dask_resilience.py);
//   - time from a worker's loss to a result it alone held being back (recomputed elsewhere), for a
//     worker thread (terminated) and a worker process (SIGKILL);
//   - time to retire a worker holding 1 GiB of unique results.
//
//   npm run bench:resilience            (builds first)
//   node --expose-gc bench/resilience.mjs --runs 5 --tasks 20000 [--no-dask]
//
// Prints one JSON object. Medians of --runs runs; the machine is shared.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { Client, LocalCluster, Scheduler, wait } from "../dist/node/index.js";
import { SchedulerState, serialize } from "../dist/src/internal.js";
import { benchOptions } from "./options.mjs";

const o = benchOptions({ runs: 5, tasks: 20_000, held: 1_000_000, "no-dask": false });
const RUNS = o.runs;
const TASKS = o.tasks;
const HELD = o.held;
const withDask = !o["no-dask"];
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const round1 = (x) => Math.round(x * 10) / 10;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (typeof globalThis.gc !== "function") {
  console.error("run with node --expose-gc (npm run bench:resilience does)");
  process.exit(2);
}
function heap() {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}

/** Bytes of scheduler heap per task held in memory, for `n` tasks submitted as a client's map would. */
function stateBytesPerTask(n) {
  const s = new SchedulerState({ storyCapacity: 100_000 });
  s.handle({ op: "client-added", client: "c" });
  for (const w of ["w1", "w2"])
    s.handle({
      op: "worker-added",
      worker: w,
      hello: { address: `addr-${w}`, kind: "thread", nthreads: 1, memoryLimit: 0, resources: {}, name: w },
    });
  const fn = { id: "fn-inc", source: "(x) => x + 1", name: "inc" };
  const before = heap();
  const batch = 10_000;
  for (let b = 0; b < n; b += batch) {
    const tasks = [];
    for (let i = b; i < Math.min(n, b + batch); i++) {
      tasks.push({
        key: `inc-${i.toString(16).padStart(16, "0")}`,
        fn: { kind: "source", id: fn.id },
        args: serialize([i]).payload,
        deps: [],
        priority: [0, 1, i],
        retries: 0,
      });
    }
    s.handle({ op: "update-graph", client: "c", tasks, fns: b === 0 ? [fn] : [], wants: tasks.map((t) => t.key) });
    for (const t of tasks)
      s.handle({
        op: "task-finished",
        worker: t.key.endsWith("0") ? "w1" : "w2",
        key: t.key,
        nbytes: 8,
        duration: 0.01,
      });
  }
  const after = heap();
  if (s.tasks.size !== n) throw new Error(`expected ${n} tasks held, have ${s.tasks.size}`);
  return { tasks: n, heap_mb: round1((after - before) / 1e6), bytes_per_held_task: Math.round((after - before) / n) };
}

function rssOf(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** A scheduler process and `processes` worker processes of `threads` threads each; the client here. */
async function processCluster(processes, threads) {
  const cli = new URL("../dist/node/cli.js", import.meta.url).pathname;
  const env = { ...process.env, MESHWORK_HUGE_PAGES: "0" }; // no relaunch: the pids are the processes'
  const port = 8700 + Math.floor(Math.random() * 90);
  const sched = spawn(
    process.execPath,
    [cli, "scheduler", "--port", String(port), "--token", "bench", "--worker-token", "bench-worker"],
    { stdio: ["ignore", "pipe", "inherit"], env },
  );
  const url = `ws://127.0.0.1:${port}`;
  await new Promise((resolve) => sched.stdout.on("data", (d) => String(d).includes("ws://") && resolve()));
  const pc = { sched, workers: [], client: null, url, cli, env };
  for (let i = 0; i < processes; i++) pc.workers.push(spawnWorker(pc, threads));
  pc.client = await Client.connect(url, { token: "bench" });
  while ((await pc.client.workers()).length < processes * threads) await sleep(50);
  return pc;
}

function spawnWorker(pc, threads) {
  return spawn(process.execPath, [pc.cli, "worker", pc.url, "--token", "bench-worker", "--threads", String(threads)], {
    stdio: ["ignore", "ignore", "inherit"],
    env: pc.env,
  });
}

/** RSS of a real scheduler process before and after `n` tasks are held. */
async function processBytesPerTask(n) {
  const pc = await processCluster(1, 2);
  try {
    await sleep(500);
    const before = rssOf(pc.sched.pid);
    const fs = pc.client.map(
      (x) => x + 1,
      Array.from({ length: n }, (_, i) => i),
    );
    await wait(fs);
    await sleep(500);
    const after = rssOf(pc.sched.pid);
    const out = {
      tasks: n,
      rss_before_mb: round1(before / 1e6),
      rss_after_mb: round1(after / 1e6),
      bytes_per_held_task: Math.round((after - before) / n),
    };
    for (const f of fs) f.release();
    return out;
  } finally {
    await pc.client.close();
    for (const p of [...pc.workers, pc.sched]) p.kill("SIGKILL");
  }
}

/**
 * Kill the only holder of a result (`kill()`), then time: until the scheduler has removed it and
 * sent the lost work to another worker ("computing again", from the scheduler's story), and until
 * the client has the recomputed result (which includes connecting to the new holder).
 */
async function lossTimes(client, state, kill, replace) {
  const computing = [];
  const result = [];
  for (let i = -1; i < RUNS; i++) {
    const f = client.with({ pure: false }).submit((n) => new Float64Array(n).fill(n), 10_000); // 80 KB: held, not inline
    await wait([f]);
    const holder = (await client.workers()).find((w) => w.tasks.inMemory > 0);
    const t = performance.now();
    await kill(holder);
    const v = await f.result();
    const back = performance.now() - t;
    if (v[9_999] !== 10_000) throw new Error("wrong recomputed value");
    const again = state.storyOf(f.key).find((e) => e.time > t && e.finish === "processing");
    if (i >= 0) {
      result.push(back);
      computing.push(again.time - t);
    }
    f.release();
    await replace();
  }
  return {
    to_computing_again_ms: { median: round1(median(computing)), runs: computing.map(round1) },
    to_result_ms: { median: round1(median(result)), runs: result.map(round1) },
  };
}

async function lossToResultThreads() {
  const cluster = await LocalCluster.start({ workers: 2, logLevel: "error" });
  const client = await Client.connect(cluster.address);
  try {
    return await lossTimes(
      client,
      cluster.scheduler.state,
      (w) => cluster.killWorker(w.id),
      () => cluster.addWorker(),
    );
  } finally {
    await client.close();
    await cluster.close();
  }
}

/** The same with worker processes over WebSocket killed with SIGKILL (as Dask's are); the scheduler in this process, for its story. */
async function lossToResultProcesses() {
  const scheduler = await Scheduler.start({ address: "ws://127.0.0.1:0", token: "bench", workerToken: "bench-worker" });
  const pc = {
    url: scheduler.address,
    cli: new URL("../dist/node/cli.js", import.meta.url).pathname,
    env: { ...process.env, MESHWORK_HUGE_PAGES: "0" },
  };
  const procs = [spawnWorker(pc, 1), spawnWorker(pc, 1)];
  const client = await Client.connect(scheduler.address, { token: "bench" });
  try {
    while ((await client.workers()).length < 2) await sleep(50);
    return await lossTimes(
      client,
      scheduler.state,
      async (w) => process.kill(Number(/^node-(\d+)-/.exec(w.name)[1]), "SIGKILL"), // worker processes name their threads node-<pid>-<n>
      async () => {
        procs.push(spawnWorker(pc, 1));
        while ((await client.workers()).length < 2) await sleep(20);
      },
    );
  } finally {
    await client.close();
    for (const p of procs) p.kill("SIGKILL");
    await scheduler.close();
  }
}

async function retireOneGiB() {
  const runs = [];
  for (let i = 0; i < Math.max(3, Math.ceil(RUNS / 2)); i++) {
    const cluster = await LocalCluster.start({ workers: 2, logLevel: "error" });
    const client = await Client.connect(cluster.address);
    try {
      const [a] = cluster.workers;
      const make = (j) => new Float64Array((64 * 1024 * 1024) / 8).fill(j);
      const blocks = client.with({ workers: [a.workerId], pure: false }).map(
        make,
        Array.from({ length: 16 }, (_, j) => j),
      );
      await wait(blocks);
      const t = performance.now();
      const r = await client.retireWorkers(a.workerId);
      runs.push(performance.now() - t);
      if (r.moved.bytes !== 1024 * 1024 * 1024) throw new Error(`moved ${r.moved.bytes} bytes`);
    } finally {
      await client.close();
      await cluster.close();
    }
  }
  return { median_ms: Math.round(median(runs)), runs_ms: runs.map(Math.round), gib_per_s: round1(1000 / median(runs)) };
}

function dask() {
  const python = "/usr/bin/python3";
  if (!existsSync(python)) return { skipped: "no /usr/bin/python3" };
  const probe = spawnSync(python, ["-c", "import distributed, psutil"], { encoding: "utf8" });
  if (probe.status !== 0) return { skipped: "Dask is not installed (apt-get install python3-distributed)" };
  const script = new URL("./dask_resilience.py", import.meta.url).pathname;
  const out = spawnSync(python, [script, "--tasks", String(TASKS), "--runs", String(RUNS)], {
    encoding: "utf8",
    timeout: 15 * 60_000,
  });
  const line = out.stdout.trim().split("\n").pop();
  try {
    return JSON.parse(line);
  } catch {
    return { failed: out.stderr.slice(-2000) };
  }
}

const result = { node: process.version, runs: RUNS };
result.scheduler_state = stateBytesPerTask(HELD);
result.scheduler_process = await processBytesPerTask(TASKS);
result.loss_to_result_threads = await lossToResultThreads();
result.loss_to_result_processes = await lossToResultProcesses();
result.retire_1_gib = await retireOneGiB();
result.dask = withDask ? dask() : { skipped: "--no-dask" };
result.targets = { bytes_per_held_task_under_1kb: result.scheduler_state.bytes_per_held_task < 1024 };
if (result.dask.bytes_per_held_task) {
  result.ratio_vs_dask = {
    scheduler_process_bytes_per_task: +(
      result.scheduler_process.bytes_per_held_task / result.dask.bytes_per_held_task
    ).toFixed(2),
    loss_to_result_processes: +(
      result.loss_to_result_processes.to_result_ms.median / result.dask.loss_to_result_ms.median
    ).toFixed(2),
  };
}
console.log(JSON.stringify(result, null, 2));
process.exit(0);
