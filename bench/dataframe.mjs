// DataFrame benchmark (issue 17): a taxi-like Parquet dataset (50M rows, ~1.8 GB), meshwork/dataframe
// on a 2-worker LocalCluster beside Dask DataFrame on LocalCluster(n_workers=2, threads_per_worker=1)
// (Debian's python3-distributed 2022.12 with its pandas 1.5, plus pyarrow to read Parquet) and
// DuckDB (@duckdb/node-api, 2 threads) as the single-machine reference, in one run.
//
//   npm run bench:dataframe                  (builds first; 50M rows)
//   flock /tmp/meshwork-bench.lock node --expose-gc bench/dataframe.mjs [--rows 5e7] [--runs 3]
//        [--data /tmp/meshwork-bench-df] [--workloads filter_count,groupby_low,groupby_high,join,sort]
//        [--rows-per-file 2000000] [--python PATH] [--no-dask] [--no-duckdb]
//
// The data (made once under --data, never in the repository) is written by pyarrow through
// bench/dask_dataframe.py --make (its docstring lists the columns): --rows rows in files of
// --rows-per-file rows, one row group each (so Dask's partition per file and meshwork's partition
// per row group are the same partitions), and a 1M-row drivers.parquet to join with. Python: a venv
// over Debian's packages that adds pyarrow (Debian 12 has none), made at DATA/pyenv when missing:
// `/usr/bin/python3 -m venv --system-site-packages DATA/pyenv && DATA/pyenv/bin/pip install pyarrow`;
// Dask, distributed, pandas and NumPy stay Debian's.
//
// Workloads, each reading only the columns it uses, timed from opening the files (metadata) to
// the answer, as a user's lines do:
//   filter_count   meshwork  (await readParquet(trips, { columns: ["distance"] })).filter((d) => d.distance > 10).len()
//                  Dask      len(df[df.distance > 10])            DuckDB  count(*) … where distance > 10
//   groupby_low    .groupby("vendor").agg({ fare: "mean" })       (4 groups)
//   groupby_high   .groupby("zone").agg({ fare: "sum" })          (200,000 groups; each side's defaults: one output partition)
//   join           trips[driver, fare].merge(drivers[driver, rating], { on: "driver" }).sum() of fare and rating
//                  (drivers is one partition: both broadcast it)
//   sort           [pickup, fare, distance].sortValues("pickup"), held on the workers (persist), then its
//                  length and first pickup; DuckDB creates a temporary table ordered by pickup
// Every file is read once before any timing, so every side reads from the page cache. The sides
// take turns: Dask and DuckDB run as servers (bench/dask_dataframe.py --serve and
// bench/duckdb-dataframe.mjs, each a process of its own, their cluster and database kept up), and
// each round runs, per workload, the three sides in an order that rotates every round. Round 0 is
// every side's first call and is reported apart; medians are over the --runs warm rounds after it.
// The ratio is the median over rounds of Dask's time over meshwork's in the same round (> 1:
// meshwork faster), with a 90 % bootstrap interval from 5 rounds on. Peak memory: resident memory
// sampled every 20 ms during the turn, for meshwork this process (client, scheduler and workers are
// threads of it), for Dask its process and the cluster's (nannies, workers), for DuckDB its process;
// beside it the resident memory when the turn started. Each side's answer is checked against the
// others'. Prints one JSON object.

import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import * as dd from "../dist/node/dataframe.js";
import { Client, LocalCluster } from "../dist/node/index.js";
import { benchOptions } from "./options.mjs";

const o = benchOptions({
  rows: 5e7,
  runs: 3,
  data: "/tmp/meshwork-bench-df",
  workloads: "filter_count,groupby_low,groupby_high,join,sort",
  "rows-per-file": 2_000_000,
  python: "",
  "no-dask": false,
  "no-duckdb": false,
});
const RUNS = o.runs;
const ROWS = Math.round(o.rows);
const TRIPS = join(o.data, `trips-${ROWS}`);
const DRIVERS = join(o.data, "drivers.parquet");
const PYENV = join(o.data, "pyenv");

/** meshwork's side of each workload (Dask's is in bench/dask_dataframe.py, DuckDB's in bench/duckdb-dataframe.mjs). */
const WORKLOADS = {
  filter_count: async (on) => ({
    rows: await (await dd.readParquet(TRIPS, { columns: ["distance"] })).filter((d) => d.distance > 10).len(on),
  }),
  groupby_low: async (on) => {
    const t = await (await dd.readParquet(TRIPS, { columns: ["vendor", "fare"] }))
      .groupby("vendor")
      .agg({ fare: "mean" })
      .compute(on);
    return { groups: t.numRows, sum: sumOf(t.getChild("fare")) };
  },
  groupby_high: async (on) => {
    const t = await (await dd.readParquet(TRIPS, { columns: ["zone", "fare"] }))
      .groupby("zone")
      .agg({ fare: "sum" })
      .compute(on);
    return { groups: t.numRows, sum: sumOf(t.getChild("fare")) };
  },
  join: async (on) => {
    const trips = await dd.readParquet(TRIPS, { columns: ["driver", "fare"] });
    const drivers = await dd.readParquet(DRIVERS, { columns: ["driver", "rating"] });
    const r = await trips
      .merge(drivers, { on: "driver" })
      .sum({ columns: ["fare", "rating"] })
      .compute(on);
    return { sum: r.fare, sum_rating: r.rating };
  },
  sort: async (on) => {
    const df = await dd.readParquet(TRIPS, { columns: ["pickup", "fare", "distance"] });
    const held = await (await df.sortValues("pickup", on)).persist(on);
    try {
      const rows = await held.len(on);
      const first = (await held.head(1, on)).getChild("pickup").at(0);
      return { rows, first_us: Math.round(Number(first) * 1000) }; // Arrow gives timestamp[us] as fractional epoch ms
    } finally {
      held.release();
    }
  },
};
const workloads = o.workloads.split(",").filter(Boolean);
for (const w of workloads)
  if (!WORKLOADS[w]) throw new Error(`unknown workload "${w}"; the workloads are ${Object.keys(WORKLOADS).join(", ")}`);

function sumOf(column) {
  let s = 0;
  for (const v of column.toArray()) s += Number(v);
  return s;
}

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

// ---- Python, the data, the page cache ----

/** The Python that has Debian's Dask and pyarrow: --python, else DATA/pyenv (made when missing); null when none can be had. */
function python() {
  if (o.python) return { path: o.python, made: false };
  const py = join(PYENV, "bin", "python");
  const probe = (p) =>
    spawnSync(p, ["-c", "import dask.dataframe, distributed, pyarrow, psutil"], { stdio: "ignore" }).status === 0;
  if (existsSync(py) && probe(py)) return { path: py, made: false };
  if (!existsSync("/usr/bin/python3")) return null;
  const mk = spawnSync("/usr/bin/python3", ["-m", "venv", "--system-site-packages", PYENV], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  const pip =
    mk.status === 0
      ? spawnSync(join(PYENV, "bin", "pip"), ["install", "-q", "pyarrow"], { stdio: ["ignore", "inherit", "inherit"] })
      : mk;
  return pip.status === 0 && probe(py) ? { path: py, made: true } : null;
}

function parquetFiles(dir) {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".parquet"))
    .map((f) => join(dir, f));
}

/** Reads every file once, through one small buffer (so this process's peak memory does not count the reads). */
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

/** The share of the files' bytes in the page cache, from util-linux's fincore (null without it). */
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
  rows: ROWS,
  runs: RUNS,
  load_average_at_start: loadavg().map((x) => +x.toFixed(2)),
};
const py = o["no-dask"] ? null : python();
if (!existsSync(join(TRIPS, "_done")) || !existsSync(DRIVERS)) {
  if (!py)
    throw new Error(
      `no data at ${TRIPS} and no Python with pyarrow to write it (/usr/bin/python3 -m venv --system-site-packages ${PYENV} && ${PYENV}/bin/pip install pyarrow)`,
    );
  const r = spawnSync(
    py.path,
    [
      new URL("./dask_dataframe.py", import.meta.url).pathname,
      "--make",
      o.data,
      String(ROWS),
      "--rows-per-file",
      String(o["rows-per-file"]),
    ],
    { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error("bench/dask_dataframe.py --make failed");
  out.data_made = JSON.parse(r.stdout.trim().split("\n").pop());
}
const files = [...parquetFiles(TRIPS), DRIVERS];
out.data = {
  trips: TRIPS,
  drivers: DRIVERS,
  files: files.length - 1,
  bytes_on_disk: files.reduce((n, f) => n + statSync(f).size, 0),
  written_by: "pyarrow (bench/dask_dataframe.py --make)",
};
const residentBefore = residentShare(files);
warm(files);
globalThis.gc?.();
out.page_cache = {
  note: "every file read once before timing; all sides read from the page cache",
  resident_before_warming: residentBefore,
  resident_after_warming: residentShare(files),
};

const servers = {};
if (py)
  servers.dask = await lineServer(
    py.path,
    [new URL("./dask_dataframe.py", import.meta.url).pathname, "--serve"],
    "the Dask server",
  );
else out.dask = { skipped: o["no-dask"] ? "--no-dask" : "no Python with Debian's python3-distributed and pyarrow" };
if (!o["no-duckdb"])
  servers.duckdb = await lineServer(
    process.execPath,
    [new URL("./duckdb-dataframe.mjs", import.meta.url).pathname],
    "the DuckDB server",
  );

const cluster = await LocalCluster.start({ workers: 2, logLevel: "error" });
const client = await Client.connect(cluster.address);
const on = { scheduler: client };
await client.submit((x) => x + 1, 1);

/** Per workload and side: times per round (round 0 first), peak memory, the answer. */
const fig = {};
for (const w of workloads) {
  fig[w] = { meshwork: { s: [], peak: 0, before: Infinity, check: null } };
  for (const k of Object.keys(servers)) fig[w][k] = { s: [], peak: 0, before: Infinity, check: null };
}
const turn = (w, side) => async () => {
  const f = fig[w][side];
  if (side === "meshwork") {
    const m = await measured(() => WORKLOADS[w](on));
    f.s.push(m.s);
    f.peak = Math.max(f.peak, m.peak);
    f.before = Math.min(f.before, m.before);
    f.check = m.value;
    await release();
    return;
  }
  const r = await servers[side].request({ workload: w, trips: TRIPS, drivers: DRIVERS });
  if (r.error) throw new Error(`${side} (${w}): ${r.error}`);
  f.s.push(r.s);
  f.peak = Math.max(f.peak, r.peak_rss_bytes);
  f.before = Math.min(f.before, r.rss_before_bytes);
  f.check = r.check;
};

for (let round = 0; round <= RUNS; round++) {
  for (const w of workloads) {
    const turns = Object.keys(fig[w]).map((side) => turn(w, side));
    // Rotate the order every round, so no side always follows the same one.
    for (let i = 0; i < turns.length; i++) await turns[(i + round) % turns.length]();
    console.error(
      `round ${round} ${w}: ${Object.entries(fig[w])
        .map(([k, f]) => `${k} ${f.s.at(-1).toFixed(2)} s`)
        .join(", ")}`,
    );
  }
}
await client.close();
await cluster.close();
for (const s of Object.values(servers)) await s.close();

/** Whether two answers agree: equal counts, sums to 1e-9 relative. */
function agree(a, b) {
  return Object.keys(a).every(
    (k) =>
      typeof a[k] === "number" &&
      typeof b[k] === "number" &&
      Math.abs(a[k] - b[k]) <= 1e-9 * Math.max(1, Math.abs(a[k])),
  );
}

const sideFigures = (f) => ({
  first_call_s: r3(f.s[0]),
  warm_median_s: r3(median(f.s.slice(1))),
  warm_runs_s: f.s.slice(1).map(r3),
  peak_rss_bytes: f.peak,
  rss_at_start_bytes: f.before,
  check: f.check,
});
const SCHEDULERS = {
  meshwork: "LocalCluster({ workers: 2 }) (worker threads)",
  dask: "LocalCluster(n_workers=2, threads_per_worker=1)",
  duckdb: "in-memory database, threads=2 (single machine, no scheduler)",
};
for (const [w, sides] of Object.entries(fig)) {
  const res = {};
  for (const [k, f] of Object.entries(sides)) res[k] = { scheduler: SCHEDULERS[k], ...sideFigures(f) };
  for (const k of Object.keys(servers)) {
    const ratios = sides[k].s.slice(1).map((d, i) => d / sides.meshwork.s[i + 1]);
    res[`vs_${k}`] = {
      note: `${k}'s time over meshwork's, the median over warm rounds of each round's ratio (> 1: meshwork faster)`,
      ratio: r3(median(ratios)),
      ratio_interval_90: ratios.length >= 5 ? medianInterval(ratios) : null,
      ratio_per_round: ratios.map(r3),
      first_call_ratio: r3(sides[k].s[0] / sides.meshwork.s[0]),
      answers_agree: agree(sides.meshwork.check, sides[k].check),
    };
  }
  out[w] = res;
}
if (servers.dask) out.dask_versions = servers.dask.hello;
if (servers.duckdb) out.duckdb_version = servers.duckdb.hello.duckdb;
out.load_average_at_end = loadavg().map((x) => +x.toFixed(2));
out.targets = {};
for (const w of workloads)
  if (out[w].vs_dask) out.targets[`${w}: at least 2x faster than Dask (median ratio >= 2)`] = out[w].vs_dask.ratio >= 2;
out.summary = {};
for (const w of workloads) {
  const r = out[w];
  out.summary[w] = {
    meshwork_s: r.meshwork.warm_median_s,
    ...(r.dask
      ? { dask_s: r.dask.warm_median_s, ratio_vs_dask: r.vs_dask.ratio, interval_90: r.vs_dask.ratio_interval_90 }
      : {}),
    ...(r.duckdb ? { duckdb_s: r.duckdb.warm_median_s, ratio_vs_duckdb: r.vs_duckdb.ratio } : {}),
    peak_mb: Object.fromEntries(Object.keys(fig[w]).map((k) => [k, Math.round(r[k].peak_rss_bytes / 1e6)])),
  };
}
console.log(JSON.stringify(out, null, 2));
