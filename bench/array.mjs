// Array benchmark: the workload of the collections issue on meshwork and on Dask, in one run.
//
//   npm run bench:array                     (builds first)
//   node bench/array.mjs --runs 3 --n 20000 --chunk 2000 [--no-dask] [--no-local]
//
// W: x = random([n, n], { chunks: [c, c] }); x.add(x.T).mean({ axis: 0 }).sum().compute()
// on a 2-worker LocalCluster (threads), beside Dask's LocalCluster(n_workers=2, threads_per_worker=1)
// and Dask's threaded scheduler. Then persist x and x.sum() on the persisted array. Each figure is
// the median of --runs runs after one untimed warm-up. Peak memory: the process's resident memory
// (scheduler, client and worker threads all live in it), sampled every 50 ms.
// Prints one JSON object with the figures, the ratios and whether the targets are met.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { Client, LocalCluster } from "../dist/node/index.js";
import * as mw from "../dist/node/array.js";

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const RUNS = opt("runs", 3);
const N = opt("n", 20000);
const C = opt("chunk", 2000);
const withDask = !argv.includes("--no-dask");
const withLocal = !argv.includes("--no-local");

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const stats = (xs) => ({ median: +median(xs.slice(1)).toFixed(3), runs: xs.slice(1).map((x) => +x.toFixed(3)), warmup_s: +xs[0].toFixed(3) });

/** Largest resident memory of this process while `fn` runs. */
async function peakRss(fn) {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  try {
    const result = await fn();
    return { result, peak: Math.max(peak, process.memoryUsage.rss()) };
  } finally {
    clearInterval(timer);
  }
}

async function timed(fn) {
  const t = performance.now();
  const v = await fn();
  return { s: (performance.now() - t) / 1000, v };
}

/** W, persist and sum-of-persisted on one scheduler (undefined: the default client). */
async function figures(scheduler) {
  const opts = scheduler ? { scheduler } : undefined;
  const w = [];
  const pers = [];
  const sums = [];
  let value = NaN;
  for (let seed = 0; seed <= RUNS; seed++) {
    const x = mw.random([N, N], { chunks: [C, C], seed });
    const r = await timed(() => x.add(x.T).mean({ axis: 0 }).sum().compute(opts));
    w.push(r.s);
    value = r.v;
    const x2 = mw.random([N, N], { chunks: [C, C], seed });
    const p = await timed(() => x2.persist(opts));
    pers.push(p.s);
    const s = await timed(() => p.v.sum().compute(opts));
    sums.push(s.s);
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 300));
  }
  return { W_s: stats(w), persist_s: stats(pers), sum_persisted_s: stats(sums), check_mean_over_n: +(value / N).toFixed(4) };
}

const out = { shape: [N, N], chunks: [C, C], runs: RUNS, node: process.version };

{
  const cluster = await LocalCluster.start({ workers: 2 });
  const client = await Client.connect(cluster.address);
  await client.submit((x) => x + 1, 1);
  const { result, peak } = await peakRss(() => figures());
  out.meshwork_cluster = { ...result, peak_rss_bytes: peak, scheduler: "LocalCluster({ workers: 2 }) (threads)" };
  await client.close();
  await cluster.close();
}
if (withLocal) {
  const { result, peak } = await peakRss(() => figures("sync"));
  out.meshwork_sync = { ...result, peak_rss_bytes: peak, scheduler: "sync (this thread only)" };
}

if (withDask) {
  const py = "/usr/bin/python3";
  if (!existsSync(py)) {
    out.dask = { skipped: "no /usr/bin/python3 (apt-get install python3-distributed)" };
  } else {
    const r = spawnSync(py, [new URL("./dask_array.py", import.meta.url).pathname, "--runs", String(RUNS), "--n", String(N), "--chunk", String(C)], { encoding: "utf8", maxBuffer: 1 << 24 });
    if (r.status !== 0) out.dask = { failed: r.stderr.slice(-2000) };
    else out.dask = JSON.parse(r.stdout.trim().split("\n").pop());
  }
}

if (out.dask?.cluster) {
  const m = out.meshwork_cluster;
  const d = out.dask.cluster;
  const ratio = (a, b) => +(a / b).toFixed(3);
  out.ratios = {
    W_meshwork_over_dask_cluster: ratio(m.W_s.median, d.W_s.median),
    W_meshwork_over_dask_threads: out.dask.threads ? ratio(m.W_s.median, out.dask.threads.W_s.median) : null,
    persist_meshwork_over_dask: ratio(m.persist_s.median, d.persist_s.median),
    sum_persisted_meshwork_over_dask: ratio(m.sum_persisted_s.median, d.sum_persisted_s.median),
  };
  out.targets = {
    "W ≤ 0.6 × Dask cluster": out.ratios.W_meshwork_over_dask_cluster <= 0.6,
    "sum of persisted no slower than Dask": out.ratios.sum_persisted_meshwork_over_dask <= 1,
    "peak memory < 8 GB": m.peak_rss_bytes < 8e9,
  };
}
console.log(JSON.stringify(out, null, 2));
