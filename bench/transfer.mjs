// Worker-to-worker transfer between processes over WebSocket, side by side with Dask in the same
// run; compression on a throttled link; the cost of the compression decision.
//
//   npm run bench:transfer                     (builds first)
//   node bench/transfer.mjs --runs 15 --sizes 64,256 --no-dask [--no-huge-pages] [--receive-ahead-off-too]
//
// Method (as bench/dask_transfer.py and ../shared/anchors/dask/bench_transfer.py): for each case a
// fresh array is made on worker process A (not timed); then a consumer runs on A (no transfer) and
// one on B, which fetches the array from A directly. e2e MB/s = payload / B's wall time
// (MB = 1e6 bytes); medians of --runs after one untimed warm-up. Dask runs as two servers (its
// compression none and lz4, bench/dask_transfer.py --serve) and takes turns with meshwork in every
// round, the order flipping each round. Dask's best configuration for a case is the setting with
// the lower median; the ratio is the median over rounds of its time over meshwork's in the same
// round (also given: against whichever setting was faster in each round, which favours Dask, as
// the better of two draws would favour either side). With --receive-ahead-off-too a third meshwork
// cluster whose workers prepare no receive buffers ahead (MESHWORK_RECEIVE_AHEAD=0) takes turns
// too, to show what that preparation brings in the same run. Prints one JSON object.

import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { Client, Scheduler } from "../dist/node/index.js";
import { decide } from "../dist/src/protocol/compression.js";
import { relaunchWithHugePages, withHugePages } from "../dist/node/hosts/huge-pages.js";
import { benchOptions } from "./options.mjs";

// 15 rounds by default: single rounds here range from 0.2× to 5.7× Dask, and fewer leave the
// median's interval wider than the differences it is meant to show.
const o = benchOptions({
  runs: 15,
  sizes: "64,256",
  throttle: "20MB",
  "throttle-size": 64,
  "no-dask": false,
  "no-huge-pages": false,
  "receive-ahead-off-too": false,
});
const RUNS = o.runs;
const SIZES = o.sizes.split(",").map(Number);
const THROTTLE = o.throttle;
const THROTTLE_MIB = o["throttle-size"];
const withDask = !o["no-dask"];
const HUGE_PAGES = !o["no-huge-pages"];
const AHEAD_OFF_TOO = o["receive-ahead-off-too"];
// This process too (the raw-TCP reference below runs here), as bench/array.mjs does.
if (HUGE_PAGES) {
  const relaunched = relaunchWithHugePages();
  if (relaunched) process.exit(await relaunched);
}
const CLI = new URL("../dist/node/cli.js", import.meta.url).pathname;
const MiB = 2 ** 20;

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/**
 * A 90 % bootstrap interval for the median of `xs`: how far the median of per-round ratios could
 * move with other draws of the same rounds (resampled 2000 times with a fixed seed, so a run's
 * JSON can be recomputed).
 */
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
  medians.sort((a, b) => a - b);
  return [medians[100], medians[1899]];
}

/** Makes n float64 values: random, or i % 16 (very compressible). Runs on a worker. */
function make(n, kind) {
  const a = new Float64Array(n);
  if (kind === "random") for (let i = 0; i < n; i++) a[i] = Math.random();
  else for (let i = 0; i < n; i++) a[i] = i % 16;
  return a;
}
/**
 * Dask's consumer is numpy's `x.sum()`, vectorised; this is its plain-JavaScript equivalent at its
 * best: eight running totals (one total makes the loop wait on each add: 2-3× slower).
 */
function consume(a) {
  let s0 = 0,
    s1 = 0,
    s2 = 0,
    s3 = 0,
    s4 = 0,
    s5 = 0,
    s6 = 0,
    s7 = 0;
  for (let i = 0; i + 8 <= a.length; i += 8) {
    s0 += a[i];
    s1 += a[i + 1];
    s2 += a[i + 2];
    s3 += a[i + 3];
    s4 += a[i + 4];
    s5 += a[i + 5];
    s6 += a[i + 6];
    s7 += a[i + 7];
  }
  for (let i = a.length - (a.length % 8); i < a.length; i++) s0 += a[i];
  return s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
}

/** A scheduler here and two `meshwork worker` processes of one thread each. */
async function cluster(workerFlags, extraEnv = {}) {
  const scheduler = await Scheduler.start({
    address: "ws://127.0.0.1:0",
    token: "bench-client",
    workerToken: "bench-worker",
  });
  // Worker processes with large buffers in huge pages, as Dask's (NumPy's) receive buffers are.
  const env = { ...(HUGE_PAGES ? withHugePages() : process.env), ...extraEnv };
  const procs = [0, 1].map(() =>
    spawn(
      process.execPath,
      [CLI, "worker", scheduler.address, "--token", "bench-worker", "--threads", "1", ...workerFlags],
      { stdio: ["ignore", "pipe", "inherit"], env },
    ),
  );
  await Promise.all(
    procs.map(
      (p) =>
        new Promise((resolve, reject) => {
          let out = "";
          p.stdout.on("data", (d) => {
            out += d;
            if (/serves data at/.test(out)) resolve();
          });
          p.once("exit", (code) => reject(new Error(`worker exited with ${code}: ${out}`)));
        }),
    ),
  );
  const client = await Client.connect(scheduler.address, { token: "bench-client" });
  const [A, B] = await client.workers();
  return {
    client,
    A,
    B,
    async close() {
      await client.close();
      for (const p of procs) p.kill("SIGTERM");
      await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r() : p.once("exit", r)))));
      await scheduler.close();
    },
  };
}

/** One round on a meshwork cluster: an array made on A (not timed), a consumer on A, one on B. */
async function round(c, mib, kind) {
  const n = (mib * MiB) / 8;
  const src = c.client.with({ workers: c.A.id, pure: false }).submit(make, n, kind);
  await src.settled();
  let t = performance.now();
  await c.client.with({ workers: c.A.id, pure: false }).submit(consume, src);
  const tl = (performance.now() - t) / 1000;
  t = performance.now();
  await c.client.with({ workers: c.B.id, pure: false }).submit(consume, src);
  const tr = (performance.now() - t) / 1000;
  src.release();
  return { local_s: tl, remote_s: tr };
}

/** Medians and e2e MB/s of rounds ({ local_s, remote_s } each). */
function summary(mib, rounds) {
  const local = rounds.map((r) => +r.local_s.toFixed(4));
  const remote = rounds.map((r) => +r.remote_s.toFixed(4));
  const bytes = mib * MiB;
  return {
    payload_bytes: bytes,
    local_s: { median: median(local), runs: local },
    remote_s: { median: median(remote), runs: remote },
    e2e_MBps: +(bytes / median(remote) / 1e6).toFixed(1),
  };
}

async function transfer(c, mib, kind, runs) {
  const rounds = [];
  for (let r = -1; r < runs; r++) {
    const one = await round(c, mib, kind);
    if (r >= 0) rounds.push(one);
  }
  return summary(mib, rounds);
}

/**
 * Dask with one compression setting, as a server (bench/dask_transfer.py --serve, its cluster kept
 * up): one case per request, so the rounds can alternate with meshwork's.
 */
async function startDask(compression) {
  const python = "/usr/bin/python3";
  const child = spawn(
    python,
    [new URL("./dask_transfer.py", import.meta.url).pathname, "--serve", "--compression", compression],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`the Dask server (${compression}) stopped`);
    return JSON.parse(value);
  };
  const hello = await next();
  return {
    version: hello.dask,
    async round(mib, kind, seed) {
      child.stdin.write(JSON.stringify({ mib, kind, seed }) + "\n");
      return next();
    },
    close() {
      child.stdin.end();
      return new Promise((r) => child.on("close", r));
    },
  };
}

function daskMissing() {
  if (!withDask) return "--no-dask";
  const python = "/usr/bin/python3";
  if (!existsSync(python) || spawnSync(python, ["-c", "import distributed"]).status !== 0)
    return "Dask is not installed (apt-get install python3-distributed)";
  return null;
}

// 1. Unthrottled loopback: every size and kind, compression "auto" (the default), beside Dask with
//    compression none and lz4 (one cluster each, kept up). Every round, meshwork and the two Dask
//    clusters take turns in an order that flips each round, so all meet the same state of the machine.
const plain = await cluster([]);
const aheadOff = AHEAD_OFF_TOO ? await cluster([], { MESHWORK_RECEIVE_AHEAD: "0" }) : null;
const offCases = {};
const offRatios = {};
const skipped = daskMissing();
const DASK_SETTINGS = ["none", "lz4"];
const daskServers = skipped
  ? {}
  : Object.fromEntries(await Promise.all(DASK_SETTINGS.map(async (s) => [s, await startDask(s)])));
const cases = {};
const daskCases = Object.fromEntries(DASK_SETTINGS.map((s) => [s, {}]));
/**
 * Per round, Dask's remote time over meshwork's (a speed ratio, > 1 is meshwork ahead): against
 * Dask's best setting for the case (lowest median; the ratio), and against whichever of its
 * settings was faster in that round (leans Dask's way: the better of two draws each round).
 */
const roundRatios = {};
const fasterEachRound = {};
const daskBestSetting = {};
for (const mib of SIZES) {
  for (const kind of ["random", "mod16"]) {
    const key = `${mib}MiB/${kind}`;
    const mine = [];
    const off = [];
    const theirs = Object.fromEntries(DASK_SETTINGS.map((s) => [s, []]));
    for (let r = -1; r < RUNS; r++) {
      const got = {};
      const turns = [
        async () => (got.meshwork = await round(plain, mib, kind)),
        ...Object.entries(daskServers).map(
          ([s, d]) =>
            async () =>
              (got[s] = await d.round(mib, kind, r + 1)),
        ),
      ];
      if (aheadOff) turns.push(async () => (got.off = await round(aheadOff, mib, kind)));
      if (r % 2 !== 0) turns.reverse();
      for (const turn of turns) await turn();
      if (r < 0) continue; // warm-up
      mine.push(got.meshwork);
      if (aheadOff) off.push(got.off);
      for (const s of Object.keys(daskServers)) theirs[s].push(got[s]);
    }
    cases[key] = summary(mib, mine);
    if (aheadOff) {
      offCases[key] = summary(mib, off);
      offRatios[key] = mine.map((m, r) => +(off[r].remote_s / m.remote_s).toFixed(3));
    }
    if (skipped) continue;
    for (const s of DASK_SETTINGS) daskCases[s][key] = summary(mib, theirs[s]);
    const best = DASK_SETTINGS.reduce((a, b) =>
      daskCases[b][key].remote_s.median < daskCases[a][key].remote_s.median ? b : a,
    );
    daskBestSetting[key] = best;
    roundRatios[key] = mine.map((m, r) => +(theirs[best][r].remote_s / m.remote_s).toFixed(3));
    fasterEachRound[key] = mine.map(
      (m, r) => +(Math.min(...DASK_SETTINGS.map((s) => theirs[s][r].remote_s)) / m.remote_s).toFixed(3),
    );
  }
}
await plain.close();
await aheadOff?.close();
const daskVersion = Object.values(daskServers)[0]?.version;
await Promise.all(Object.values(daskServers).map((d) => d.close()));
const dk = skipped
  ? { skipped }
  : {
      dask: daskVersion,
      cluster: "LocalCluster(n_workers=2, threads_per_worker=1), one per compression setting",
      settings: daskCases,
    };

// 2. Throttled links: the same transfer with compression auto and off.
const throttled = {};
for (const mode of ["auto", "off"]) {
  const c = await cluster(["--throttle", THROTTLE, "--compression", mode]);
  for (const kind of ["random", "mod16"])
    throttled[`${mode}/${THROTTLE_MIB}MiB/${kind}`] = await transfer(c, THROTTLE_MIB, kind, Math.min(RUNS, 2));
  await c.close();
}
const sooner = (kind) =>
  +(
    throttled[`off/${THROTTLE_MIB}MiB/${kind}`].remote_s.median /
    throttled[`auto/${THROTTLE_MIB}MiB/${kind}`].remote_s.median
  ).toFixed(2);

// 3. The platform's ceiling: raw TCP between two processes, read with onread straight into one
//    fresh buffer (no WebSocket, no meshwork), to show how close the transport gets.
async function rawTcp(mib, runs) {
  const server = spawn(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `
    import net from "node:net";
    const src = Buffer.allocUnsafeSlow(${mib * MiB}).fill(7);
    const s = net.createServer((c) => c.on("data", () => c.write(src)));
    s.listen(0, "127.0.0.1", () => console.log(s.address().port));
    process.on("SIGTERM", () => process.exit(0));`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const port = await new Promise((resolve) => server.stdout.once("data", (d) => resolve(Number(String(d).trim()))));
  const { connect: netConnect } = await import("node:net");
  const times = [];
  for (let r = -1; r < runs; r++) {
    const N = mib * MiB;
    const dst = Buffer.allocUnsafeSlow(N);
    let fill = 0;
    const t = performance.now();
    await new Promise((resolve) => {
      const c = netConnect({
        port,
        host: "127.0.0.1",
        onread: {
          buffer: () => dst.subarray(fill),
          callback: (n) => {
            fill += n;
            if (fill === N) {
              c.destroy();
              resolve();
            }
          },
        },
      });
      c.on("connect", () => c.write("go"));
    });
    if (r >= 0) times.push((performance.now() - t) / 1000);
  }
  server.kill("SIGTERM");
  return +((mib * MiB) / median(times) / 1e6).toFixed(1);
}
const rawTcpMBps = {};
for (const mib of SIZES) rawTcpMBps[`${mib}MiB`] = await rawTcp(mib, RUNS);

// 4. The decision alone, on 64 MiB of random float64 (in this process).
const rnd = new Uint8Array(new Float64Array(8 * MiB).map(() => Math.random()).buffer);
for (let i = 0; i < 20; i++) decide(rnd, "auto", { bytesPerSecond: 20e6 });
const decisions = [];
for (let i = 0; i < 100; i++) {
  const t = performance.now();
  decide(rnd, "auto", { bytesPerSecond: 20e6 });
  decisions.push(performance.now() - t);
}

const daskBest = {};
if (!dk.skipped) {
  for (const key of Object.keys(cases))
    daskBest[key] = Math.max(...Object.values(dk.settings).map((s) => s[key]?.e2e_MBps ?? 0));
}

console.log(
  JSON.stringify(
    {
      benchmark: "transfer",
      machine: {
        cpus: (await import("node:os")).availableParallelism(),
        node: process.version,
        loadavg: (await import("node:os")).loadavg(),
      },
      params: {
        runs: RUNS,
        sizes_mib: SIZES,
        throttle: THROTTLE,
        throttle_size_mib: THROTTLE_MIB,
        worker_huge_pages: HUGE_PAGES,
      },
      meshwork: { unthrottled: cases, throttled },
      // The same cluster without buffers prepared ahead (--receive-ahead-off-too), and per case the
      // median over rounds of its time over meshwork's (> 1: preparing ahead is faster).
      ...(aheadOff
        ? {
            receive_ahead_off: {
              unthrottled: offCases,
              ratio: Object.fromEntries(
                Object.entries(offRatios).map(([k, v]) => [k, { median: median(v), interval_90: medianInterval(v) }]),
              ),
            },
          }
        : {}),
      // For reference: what Node's own sockets do here, into one fresh buffer, without anything on top.
      node_raw_tcp_MBps: rawTcpMBps,
      dask: dk,
      comparison: Object.fromEntries(
        Object.entries(cases).map(([k, v]) => [
          k,
          {
            meshwork_MBps: v.e2e_MBps,
            dask_best_MBps: daskBest[k] !== undefined ? +daskBest[k].toFixed(1) : null,
            dask_best_setting: daskBestSetting[k] ?? null,
            // The median over rounds of (Dask's best setting's time) / meshwork's, the two measured in the same round.
            ratio: roundRatios[k] ? median(roundRatios[k]) : null,
            ratio_interval_90: roundRatios[k] ? medianInterval(roundRatios[k]) : null,
            ratio_per_round: roundRatios[k] ?? null,
            // The same against whichever Dask setting was faster in each round (the better of two draws).
            ratio_vs_faster_each_round: fasterEachRound[k] ? median(fasterEachRound[k]) : null,
            ratio_of_medians: daskBest[k] ? +(v.e2e_MBps / daskBest[k]).toFixed(2) : null,
          },
        ]),
      ),
      throttled_link: {
        compressible_arrives_times_sooner: sooner("mod16"),
        random_auto_over_off: +(
          throttled[`auto/${THROTTLE_MIB}MiB/random`].remote_s.median /
          throttled[`off/${THROTTLE_MIB}MiB/random`].remote_s.median
        ).toFixed(3),
      },
      decision_on_64MiB_random_ms: {
        median: +median(decisions).toFixed(4),
        p90: +[...decisions].sort((a, b) => a - b)[90].toFixed(4),
      },
      targets: {
        "e2e >= Dask's best setting (every case, median of per-round ratios)": !dk.skipped
          ? Object.keys(cases).every((k) => median(roundRatios[k]) >= 1)
          : null,
        "decision < 1 ms": median(decisions) < 1,
        "compressible >= 5x sooner on 20 MB/s": sooner("mod16") >= 5,
        "random within 5% of uncompressed":
          Math.abs(
            throttled[`auto/${THROTTLE_MIB}MiB/random`].remote_s.median /
              throttled[`off/${THROTTLE_MIB}MiB/random`].remote_s.median -
              1,
          ) <= 0.05,
      },
    },
    null,
    2,
  ),
);
