// Array benchmark: the workload of the collections issue on meshwork and on Dask, in one run.
//
//   npm run bench:array                     (builds first)
//   node --expose-gc bench/array.mjs --runs 5 --n 20000 --chunk 2000 [--no-dask] [--no-local] [--no-huge-pages]
//
// W: x = random([n, n], { chunks: [c, c] }); x.add(x.T).mean({ axis: 0 }).sum().compute()
// on a 2-worker LocalCluster (threads), beside Dask's LocalCluster(n_workers=2, threads_per_worker=1);
// then persist x and sum the persisted array. Also, for reference, the same W on meshwork's
// single-machine schedulers and on Dask's threaded scheduler.
//
// The machine is shared and its speed drifts by 2× within minutes, so the two systems take turns:
// Dask runs as a server (bench/dask_array.py --serve, its cluster kept up) and each round runs a
// meshwork workload then the same Dask workload (the order flips every round). Round 0 is a
// warm-up and is not counted; figures are medians of the --runs rounds after it, and the ratio
// is the median of the per-round ratios. Peak memory: resident memory of this process (scheduler,
// client and workers are threads of it) during the cluster runs, sampled every 50 ms; Dask's is
// its process tree's. Prints one JSON object with the figures, the ratios and the targets.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { Client, LocalCluster } from "../dist/node/index.js";
import * as mw from "../dist/node/array.js";
import { relaunchWithHugePages } from "../dist/node/hosts/huge-pages.js";
import { benchOptions } from "./options.mjs";

// Large buffers in huge pages, as NumPy (and so Dask) has them: the benchmark starts itself again
// with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (node/hosts/huge-pages.ts); --no-huge-pages to compare.
const o = benchOptions({ runs: 5, n: 20000, chunk: 2000, "no-dask": false, "no-local": false, "no-huge-pages": false });
if (!o["no-huge-pages"]) {
  const relaunched = relaunchWithHugePages();
  if (relaunched) process.exit(await relaunched);
}
const RUNS = o.runs;
const N = o.n;
const C = o.chunk;
const withDask = !o["no-dask"];
const withLocal = !o["no-local"];

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const stats = (xs) => ({
  median: +median(xs.slice(1)).toFixed(3),
  runs: xs.slice(1).map((x) => +x.toFixed(3)),
  warmup_s: +xs[0].toFixed(3),
});

/** Runs `fn` and measures its seconds and the largest resident memory of this process meanwhile. */
async function measured(fn) {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  const t = performance.now();
  try {
    const value = await fn();
    return { s: (performance.now() - t) / 1000, value, peak: Math.max(peak, process.memoryUsage.rss()) };
  } finally {
    clearInterval(timer);
  }
}

/** Dask as a server: one JSON request per line, one JSON answer per line. */
async function startDask() {
  const py = "/usr/bin/python3";
  if (!existsSync(py)) return { skipped: "no /usr/bin/python3 (apt-get install python3-distributed)" };
  const child = spawn(
    py,
    [new URL("./dask_array.py", import.meta.url).pathname, "--serve", "--n", String(N), "--chunk", String(C)],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error("the Dask server stopped");
    return JSON.parse(value);
  };
  const hello = await next();
  return {
    version: hello.dask,
    async request(cmd) {
      child.stdin.write(JSON.stringify(cmd) + "\n");
      return next();
    },
    close() {
      child.stdin.end();
      return new Promise((r) => child.on("close", r));
    },
  };
}

async function release() {
  globalThis.gc?.();
  await new Promise((r) => setTimeout(r, 300));
}

const out = {
  shape: [N, N],
  chunks: [C, C],
  runs: RUNS,
  node: process.version,
  huge_pages: process.env.GLIBC_TUNABLES?.includes("hugetlb=1") ?? false,
};
const dask = withDask ? await startDask() : null;
if (dask?.skipped) out.dask = { skipped: dask.skipped };
const daskOn = dask && !dask.skipped;

const cluster = await LocalCluster.start({ workers: 2 });
const client = await Client.connect(cluster.address);
await client.submit((x) => x + 1, 1);

const m = { W: [], persist: [], sum: [], peak: 0, value: NaN };
const l = { sync: [], threads: [], peak: 0 };
const d = { W: [], persist: [], sum: [], threads: [], value: NaN };
const perRound = { W: [], persist: [], sum: [] };

for (let round = 0; round <= RUNS; round++) {
  const seed = round;
  const meshworkTurn = async () => {
    const x = mw.random([N, N], { chunks: [C, C], seed });
    const w = await measured(() => x.add(x.T).mean({ axis: 0 }).sum().compute({ scheduler: client }));
    m.W.push(w.s);
    m.value = w.value;
    const p = await measured(() => x.persist({ scheduler: client }));
    m.persist.push(p.s);
    const s = await measured(() => p.value.sum().compute({ scheduler: client }));
    m.sum.push(s.s);
    m.peak = Math.max(m.peak, w.peak, p.peak, s.peak);
    p.value.release(); // what dropping the last reference does in Python
    await release();
  };
  const daskTurn = async () => {
    const w = await dask.request({ op: "W", seed });
    d.W.push(w.s);
    d.value = w.value;
    const ps = await dask.request({ op: "persist_sum", seed });
    d.persist.push(ps.persist_s);
    d.sum.push(ps.sum_s);
  };
  if (!daskOn) await meshworkTurn();
  else if (round % 2 === 0) {
    await meshworkTurn();
    await daskTurn();
  } else {
    await daskTurn();
    await meshworkTurn();
  }
  if (daskOn) {
    const i = m.W.length - 1;
    perRound.W.push(m.W[i] / d.W[i]);
    perRound.persist.push(m.persist[i] / d.persist[i]);
    perRound.sum.push(m.sum[i] / d.sum[i]);
  }
  if (withLocal) {
    const x = mw.random([N, N], { chunks: [C, C], seed });
    const y = x.add(x.T).mean({ axis: 0 }).sum();
    const sync = await measured(() => y.compute({ scheduler: "sync" }));
    l.sync.push(sync.s);
    await release();
    const threads = await measured(() => y.compute({ scheduler: "threads" }));
    l.threads.push(threads.s);
    l.peak = Math.max(l.peak, sync.peak, threads.peak);
    await release();
    if (daskOn) d.threads.push((await dask.request({ op: "W", seed, scheduler: "threads" })).s);
  }
}
await client.close();
await cluster.close();

out.meshwork_cluster = {
  scheduler: "LocalCluster({ workers: 2 }) (worker threads)",
  W_s: stats(m.W),
  persist_s: stats(m.persist),
  sum_persisted_s: stats(m.sum),
  check_mean_over_n: +(m.value / N).toFixed(4),
  peak_rss_bytes: m.peak,
};
if (withLocal)
  out.meshwork_local = {
    W_sync_s: stats(l.sync),
    W_threads_s: stats(l.threads),
    peak_rss_bytes: l.peak,
    note: "sync: this thread only; threads: a pool of worker threads started for the computation",
  };
if (daskOn) {
  const peak = await dask.request({ op: "peak", seed: 0 });
  await dask.close();
  out.dask = {
    version: dask.version,
    cluster: {
      scheduler: "LocalCluster(n_workers=2, threads_per_worker=1)",
      W_s: stats(d.W),
      persist_s: stats(d.persist),
      sum_persisted_s: stats(d.sum),
      check_mean_over_n: +(d.value / N).toFixed(4),
    },
    threads: withLocal ? { scheduler: "threaded, num_workers=2", W_s: stats(d.threads) } : undefined,
    peak_rss_bytes: peak.peak_rss_bytes,
  };
  const r = (xs) => +median(xs.slice(1)).toFixed(3);
  out.ratios = {
    note: "meshwork ÷ Dask, the median of the per-round ratios (each round runs both back to back)",
    W_vs_dask_cluster: r(perRound.W),
    persist_vs_dask_cluster: r(perRound.persist),
    sum_persisted_vs_dask_cluster: r(perRound.sum),
    W_vs_dask_threads: withLocal
      ? +(out.meshwork_cluster.W_s.median / out.dask.threads.W_s.median).toFixed(3)
      : undefined,
  };
  out.targets = {
    "W ≤ 0.6 × Dask cluster": out.ratios.W_vs_dask_cluster <= 0.6,
    "sum of persisted no slower than Dask": out.ratios.sum_persisted_vs_dask_cluster <= 1,
    "peak memory < 8 GB": m.peak < 8e9,
  };
}
console.log(JSON.stringify(out, null, 2));
