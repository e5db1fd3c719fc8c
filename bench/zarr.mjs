// Zarr benchmark: xarray's workloads on a ~2 GB float32 Zarr store (issue 15), meshwork's
// labeled arrays (meshwork/xarray) beside xarray + Dask, in one run, reading local files and then
// the same store over HTTP.
//
//   npm run bench:zarr                       (builds first)
//   node --expose-gc bench/zarr.mjs --runs 7 --data /tmp/meshwork-bench-zarr [--workloads mean,climatology,anomaly]
//        [--no-array] [--no-dask] [--no-http] [--no-huge-pages]
//
// The store (made once under --data, never in the repository): time × lat × lon = 2048 × 500 × 500
// float32 (daily from 2000-01-01), chunks of 32 × 500 × 500 (32 MB), Blosc LZ4 level 5 with byte
// shuffle (xarray's default), fill value NaN, written by xarray through bench/dask_zarr.py --make
// as ../shared/anchors/more/xarray_zarr_mean.py does (or by meshwork, said so in the JSON, when
// Debian's Python is not there).
//
// Workloads, each timed with opening the store (its metadata and coordinates), as a user's lines do;
// xarray's reductions skip NaN by default, and so do meshwork/xarray's (a nanmean):
//   mean          meshwork  (await openDataset(store)).get("air").mean({ dim: "time" })
//                 xarray    xr.open_zarr(store).air.mean("time")
//   climatology   air.groupby("time.month").mean()           ds.air.groupby("time.month").mean("time")
//   anomaly       air.groupby("time.month").sub(clim).mean({ dim: ["lat", "lon"] }), clim the climatology
//                 (ds.air.groupby("time.month") - clim).mean(["lat", "lon"])
//                 clim left lazy on both sides, as the lines are written: one computation reads the
//                 store for the climatology and for the anomaly. Reduced to the global-mean anomaly
//                 series (2048 values), the usual plot of it, so the time is the grouped arithmetic
//                 and not a second reduction tree over time (std("time") would add one).
// and, meshwork only, the array-level mean the fused read was first written for
// (`(await mw.fromZarr(store, { path: "air" })).mean({ axis: 0 })`), --no-array to leave it out.
// meshwork runs on a 2-worker LocalCluster (threads); xarray on Dask's threaded scheduler (2
// threads) and on LocalCluster(n_workers=2, threads_per_worker=1).
//
// Every file of the store is read once before any timing, so every side reads from the page
// cache (fincore's figure before and after is in the JSON). The machine is shared and drifts, so
// the sides take turns: Dask runs as a server (bench/dask_zarr.py --serve, its cluster kept up),
// and each round runs, per source and workload, meshwork and the two Dask schedulers in an order
// that rotates every round. Round 0 is every side's first call (JIT, code loading, connections)
// and is reported apart; medians are over the --runs warm rounds after it. Dask's best is the
// scheduler with the lower warm median; the ratio is the median over rounds of its time over
// meshwork's in the same round (> 1: meshwork is faster), with a 90 % bootstrap interval from 5
// rounds on. Peak memory: resident memory sampled every 20 ms during the runs, for meshwork this
// process (client, scheduler and workers are threads of it), for Dask its process (threaded) or
// its process and the cluster's (cluster); beside it the resident memory when the turn started
// (what earlier turns left). The HTTP variant serves the store from a child process
// (bench/range-server.mjs, Range requests) that neither side counts; Dask reads it through
// fsspec's HTTP file system (aiohttp). Prints one JSON object.

import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Client, LocalCluster } from "../dist/node/index.js";
import * as mw from "../dist/node/array.js";
import { relaunchWithHugePages } from "../dist/node/hosts/huge-pages.js";
import { Coordinate, DataArray, Dataset, openDataset } from "../dist/node/xarray.js";
import { COLLECTION, optimize, Task } from "../dist/src/internal.js";
import { benchOptions } from "./options.mjs";

const o = benchOptions({
  runs: 7,
  data: "/tmp/meshwork-bench-zarr",
  workloads: "mean,climatology,anomaly",
  "no-array": false,
  "no-dask": false,
  "no-http": false,
  "no-huge-pages": false,
});
// Large buffers in huge pages, as NumPy has them (node/hosts/huge-pages.ts); --no-huge-pages to compare.
if (!o["no-huge-pages"]) {
  const relaunched = relaunchWithHugePages();
  if (relaunched) process.exit(await relaunched);
}
const RUNS = o.runs;
const STORE = join(o.data, "air2g.zarr");
const PY = "/usr/bin/python3";
const withDask = !o["no-dask"] && existsSync(PY);
const withHttp = !o["no-http"];

/** meshwork's side of each workload, from the opened store (xarray's is in bench/dask_zarr.py). */
const WORKLOADS = {
  mean: async (store) => (await openDataset(store)).get("air").mean({ dim: "time" }),
  climatology: async (store) => (await openDataset(store)).get("air").groupby("time.month").mean(),
  anomaly: async (store) => {
    const air = (await openDataset(store)).get("air");
    const clim = air.groupby("time.month").mean();
    return air
      .groupby("time.month")
      .sub(clim)
      .mean({ dim: ["lat", "lon"] });
  },
};
/** The array-level mean (meshwork only): a plain mean over the first axis, what the fused read was first written for. */
const arrayMean = async (store) => (await mw.fromZarr(store, { path: "air" })).mean({ axis: 0 });
const workloads = o.workloads.split(",").filter(Boolean);
for (const w of workloads)
  if (!WORKLOADS[w]) throw new Error(`unknown workload "${w}"; the workloads are ${Object.keys(WORKLOADS).join(", ")}`);
const withArray = !o["no-array"];

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const r3 = (x) => +x.toFixed(3);

/** A 90 % bootstrap interval for the median of `xs` (2000 resamples, fixed seed: a run's JSON can be recomputed). */
function medianInterval(xs) {
  let a = 0x9e3779b9; // mulberry32
  const rand = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const medians = [];
  for (let b = 0; b < 2000; b++) medians.push(median(xs.map(() => xs[Math.floor(rand() * xs.length)])));
  medians.sort((x, y) => x - y);
  return [r3(medians[100]), r3(medians[1899])];
}

// ---- the store, and the page cache ----

async function makeStore() {
  if (existsSync(join(STORE, "air", ".zarray"))) return { made: false, by: "already there" };
  const t = performance.now();
  if (existsSync(PY)) {
    const r = spawnSync(PY, [new URL("./dask_zarr.py", import.meta.url).pathname, "--make", o.data], {
      stdio: ["ignore", "pipe", "inherit"],
      encoding: "utf8",
    });
    if (r.status === 0)
      return { made: true, by: "xarray (bench/dask_zarr.py --make)", s: r3((performance.now() - t) / 1000) };
    console.error("bench/dask_zarr.py --make failed; meshwork writes the store instead");
  }
  // The same layout, codec and coordinates, written by meshwork/xarray.
  const line = (n, a, b) => mw.NDArray.from(Float64Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1)));
  const coords = {
    time: new Coordinate({
      dims: ["time"],
      kind: "datetime",
      values: mw.NDArray.from(Float64Array.from({ length: 2048 }, (_, i) => Date.UTC(2000, 0, 1 + i))),
    }),
    lat: new Coordinate({ dims: ["lat"], values: line(500, 90, -90) }),
    lon: new Coordinate({ dims: ["lon"], values: line(500, 0, 359.5) }),
  };
  const air = new DataArray({
    data: mw.normal([2048, 500, 500], { chunks: [32, 500, 500], seed: 1, loc: 280, scale: 3, dtype: "float32" }),
    dims: ["time", "lat", "lon"],
    coords,
  });
  await new Dataset({ dataVars: { air }, coords }).toZarr(STORE, { scheduler: "threads" });
  return { made: true, by: "meshwork/xarray toZarr (no Debian Python here)", s: r3((performance.now() - t) / 1000) };
}

function storeFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? storeFiles(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** Reads every file once, through one small buffer (so this process's peak memory does not count 1.4 GB of reads). */
function warm(paths) {
  const buf = new Uint8Array(4 * 1024 * 1024);
  for (const p of paths) {
    const fd = openSync(p, "r");
    try {
      while (readSync(fd, buf, 0, buf.length, null) > 0);
    } finally {
      closeSync(fd);
    }
  }
}

/** The share of the store's bytes in the page cache, from util-linux's fincore (null without it). */
function residentShare(files) {
  const r = spawnSync("fincore", ["--bytes", "--noheadings", "--raw", "--output", "RES,SIZE", ...files], {
    encoding: "utf8",
  });
  if (r.status !== 0) return null;
  let res = 0;
  let size = 0;
  for (const line of r.stdout.trim().split("\n")) {
    const [a, b] = line.split(/\s+/).map(Number);
    res += a;
    size += b;
  }
  return size ? +(res / size).toFixed(3) : null;
}

// ---- the sides ----

/** Runs `fn` and measures its seconds and the largest resident memory of this process meanwhile (and when it started). */
async function measured(fn) {
  const before = process.memoryUsage.rss();
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  const t = performance.now();
  try {
    const value = await fn();
    return { s: (performance.now() - t) / 1000, value, peak: Math.max(peak, process.memoryUsage.rss()), before };
  } finally {
    clearInterval(timer);
  }
}

/** The mean of a result's values and of their magnitudes, to check that every side computed the same thing. */
function check(a) {
  const d = a.contiguous().toTypedArray();
  let s = 0;
  let m = 0;
  for (let i = 0; i < d.length; i++) {
    s += d[i];
    m += Math.abs(d[i]);
  }
  return { value: s / d.length, abs_value: m / d.length };
}

/** A line-per-request child process: JSON in, JSON out. */
async function lineServer(cmd, args, what) {
  const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`${what} stopped`);
    return JSON.parse(value);
  };
  const hello = await next();
  return {
    hello,
    async request(msg) {
      child.stdin.write(JSON.stringify(msg) + "\n");
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
  await new Promise((r) => setTimeout(r, 200));
}

// ---- the run ----

const out = {
  node: process.version,
  huge_pages: process.env.GLIBC_TUNABLES?.includes("hugetlb=1") ?? false,
  runs: RUNS,
  load_average_at_start: (await import("node:os")).loadavg().map((x) => +x.toFixed(2)),
};
out.store = { path: STORE, ...(await makeStore()) };
const files = storeFiles(STORE);
out.store.bytes_on_disk = files.reduce((n, f) => n + statSync(f).size, 0);
out.store.zarray = JSON.parse(readFileSync(join(STORE, "air", ".zarray"), "utf8"));
const residentBefore = residentShare(files);
warm(files); // into the page cache: every side reads from memory
globalThis.gc?.();
out.page_cache = {
  note: "every file of the store read once before timing; all sides read from the page cache",
  resident_before_warming: residentBefore,
  resident_after_warming: residentShare(files),
};

const http = withHttp
  ? await lineServer(
      process.execPath,
      [new URL("./range-server.mjs", import.meta.url).pathname, o.data],
      "the range server",
    )
  : null;
const httpStore = http ? `http://127.0.0.1:${http.hello.port}/air2g.zarr` : null;
const dask = withDask
  ? await lineServer(PY, [new URL("./dask_zarr.py", import.meta.url).pathname, "--serve"], "the Dask server")
  : null;
if (!withDask)
  out.dask = {
    skipped: o["no-dask"] ? "--no-dask" : `no ${PY} (apt-get install python3-xarray python3-zarr python3-distributed)`,
  };
const daskHttp = dask && http && dask.hello.http;

const cluster = await LocalCluster.start({ workers: 2 });
const client = await Client.connect(cluster.address);
await client.submit((x) => x + 1, 1);

const sources = { file: STORE, ...(http ? { http: httpStore } : {}) };
/** The tasks meshwork runs for a computation after fusing, by function, and how many are reads fused with their reduction. */
function graphOf(x) {
  const parts = x[COLLECTION]();
  const tasks = [...optimize(parts.graph.flatten(), parts.keys).values()].filter((t) => t instanceof Task);
  const by = {};
  for (const t of tasks) by[String(t.fn)] = (by[String(t.fn)] ?? 0) + 1;
  const fused = tasks.filter((t) => t.fn === "io.zarr-read-sum" || t.fn === "xarray.zarr-group-chunk").length;
  return {
    tasks: tasks.length,
    reads_fused_with_their_reduction: fused,
    reads_unfused: by["io.zarr-read"] ?? 0,
    by_function: by,
  };
}
out.meshwork_graph = {};
for (const w of workloads)
  out.meshwork_graph[w] = { code: WORKLOADS[w].toString(), ...graphOf(await WORKLOADS[w](STORE)) };
if (withArray) out.meshwork_graph.array_mean = { code: arrayMean.toString(), ...graphOf(await arrayMean(STORE)) };

/** Per source and workload: times per round (round 0 first), peak memory, checks. */
const fig = {};
const side = () => ({ s: [], open_s: [], peak: 0, before: Infinity, value: NaN, abs_value: NaN });
for (const src of Object.keys(sources)) {
  fig[src] = {};
  for (const w of workloads) {
    fig[src][w] = { meshwork: side() };
    if (dask && (src === "file" || daskHttp)) for (const k of ["threads", "cluster"]) fig[src][w][`dask_${k}`] = side();
  }
  if (withArray && src === "file") fig[src].array_mean = { meshwork: side() };
}

const meshworkTurn = (src, w) => async () => {
  const f = fig[src][w].meshwork;
  const m = await measured(async () => {
    const t = performance.now();
    const x = await (w === "array_mean" ? arrayMean : WORKLOADS[w])(sources[src]);
    f.open_s.push((performance.now() - t) / 1000);
    const r = await x.compute({ scheduler: client });
    return w === "array_mean" ? r : r.values;
  });
  f.s.push(m.s);
  f.peak = Math.max(f.peak, m.peak);
  f.before = Math.min(f.before, m.before);
  Object.assign(f, check(m.value));
  await release();
};
const daskTurn = (src, w, scheduler) => async () => {
  const f = fig[src][w][`dask_${scheduler}`];
  const r = await dask.request({ scheduler, source: src === "file" ? STORE : httpStore, workload: w });
  if (r.error) throw new Error(`Dask (${scheduler}, ${src}, ${w}): ${r.error}`);
  f.s.push(r.s);
  f.open_s.push(r.open_s);
  f.peak = Math.max(f.peak, r.peak_rss_bytes);
  f.before = Math.min(f.before, r.rss_before_bytes);
  f.value = r.value;
  f.abs_value = r.abs_value;
};

for (let round = 0; round <= RUNS; round++) {
  for (const src of Object.keys(sources)) {
    for (const w of Object.keys(fig[src])) {
      const turns = [meshworkTurn(src, w)];
      if (fig[src][w].dask_threads) turns.push(daskTurn(src, w, "threads"), daskTurn(src, w, "cluster"));
      // Rotate the order every round, so no side always follows the same one.
      for (let i = 0; i < turns.length; i++) await turns[(i + round) % turns.length]();
    }
  }
}
await client.close();
await cluster.close();
await dask?.close();
await http?.close();

const sideFigures = (f) => ({
  first_call_s: r3(f.s[0]),
  warm_median_s: r3(median(f.s.slice(1))),
  warm_runs_s: f.s.slice(1).map(r3),
  open_median_s: r3(median(f.open_s.slice(1))),
  peak_rss_bytes: f.peak,
  rss_at_start_bytes: f.before,
  check_mean: +f.value.toPrecision(8),
  check_abs_mean: +f.abs_value.toPrecision(8),
});
for (const [src, byWorkload] of Object.entries(fig)) {
  out[src] = { source: sources[src] };
  for (const [w, sides] of Object.entries(byWorkload)) {
    const res = {};
    res.meshwork = { scheduler: "LocalCluster({ workers: 2 }) (worker threads)", ...sideFigures(sides.meshwork) };
    if (sides.dask_threads) {
      res.dask_threads = { scheduler: "threaded, num_workers=2", ...sideFigures(sides.dask_threads) };
      res.dask_cluster = {
        scheduler: "LocalCluster(n_workers=2, threads_per_worker=1)",
        ...sideFigures(sides.dask_cluster),
      };
      const best = res.dask_threads.warm_median_s <= res.dask_cluster.warm_median_s ? "threads" : "cluster";
      const perRound = (k) => sides[`dask_${k}`].s.slice(1).map((d, i) => d / sides.meshwork.s[i + 1]);
      const ratios = perRound(best);
      res.vs_dask = {
        note: "Dask's time over meshwork's, the median over warm rounds of each round's ratio (> 1: meshwork faster)",
        dask_best: best,
        ratio: r3(median(ratios)),
        ratio_interval_90: ratios.length >= 5 ? medianInterval(ratios) : null,
        ratio_per_round: ratios.map(r3),
        ratio_vs_threads: r3(median(perRound("threads"))),
        ratio_vs_cluster: r3(median(perRound("cluster"))),
        first_call_ratio: r3(sides[`dask_${best}`].s[0] / sides.meshwork.s[0]),
      };
    } else if (w !== "array_mean" && src === "http" && dask && !daskHttp) {
      res.dask = {
        skipped: "fsspec's HTTP file system needs aiohttp (apt-get install python3-aiohttp): meshwork's figure only",
      };
    }
    if (w === "array_mean" && byWorkload.mean) {
      const perRound = sides.meshwork.s.slice(1).map((a, i) => byWorkload.mean.meshwork.s[i + 1] / a);
      res.labeled_mean_over_array_mean = {
        note: "meshwork's labeled mean (a nanmean) over this array-level mean, per round, median",
        ratio: r3(median(perRound)),
        ratio_per_round: perRound.map(r3),
      };
    }
    out[src][w] = res;
  }
}
if (dask)
  out.dask_versions = {
    dask: dask.hello.dask,
    distributed: dask.hello.distributed,
    xarray: dask.hello.xarray_package ?? dask.hello.xarray,
    numpy: dask.hello.numpy,
    flox: dask.hello.flox,
  };
out.load_average_at_end = (await import("node:os")).loadavg().map((x) => +x.toFixed(2));
out.targets = {};
for (const src of Object.keys(sources))
  for (const w of workloads)
    if (out[src][w].vs_dask)
      out.targets[`${src} ${w}: no slower than Dask's best (median ratio ≥ 1)`] = out[src][w].vs_dask.ratio >= 1;
out.summary = {};
for (const src of Object.keys(sources))
  for (const w of Object.keys(fig[src])) {
    const r = out[src][w];
    out.summary[`${src} ${w}`] = {
      meshwork_s: r.meshwork.warm_median_s,
      ...(r.dask_threads
        ? {
            dask_threads_s: r.dask_threads.warm_median_s,
            dask_cluster_s: r.dask_cluster.warm_median_s,
            ratio_vs_best: r.vs_dask.ratio,
            interval_90: r.vs_dask.ratio_interval_90,
          }
        : {}),
      peak_mb: {
        meshwork: Math.round(r.meshwork.peak_rss_bytes / 1e6),
        ...(r.dask_threads
          ? {
              dask_threads: Math.round(r.dask_threads.peak_rss_bytes / 1e6),
              dask_cluster: Math.round(r.dask_cluster.peak_rss_bytes / 1e6),
            }
          : {}),
      },
    };
  }
console.log(JSON.stringify(out, null, 2));
