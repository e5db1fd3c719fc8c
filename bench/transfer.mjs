// Worker-to-worker transfer between processes over WebSocket, side by side with Dask in the same
// run; compression on a throttled link; the cost of the compression decision.
//
//   npm run bench:transfer                     (builds first)
//   node bench/transfer.mjs --runs 3 --sizes 64,256 --no-dask [--no-huge-pages]
//
// Method (as bench/dask_transfer.py and ../shared/anchors/dask/bench_transfer.py): for each case a
// fresh array is made on worker process A (not timed); then a consumer runs on A (no transfer) and
// one on B, which fetches the array from A directly. e2e MB/s = payload / B's wall time
// (MB = 1e6 bytes); medians of --runs after one untimed warm-up. Prints one JSON object.

import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { Client, Scheduler } from "../dist/node/index.js";
import { decide } from "../dist/src/protocol/compression.js";
import { relaunchWithHugePages, withHugePages } from "../dist/node/huge-pages.js";

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const RUNS = Number(opt("runs", 3));
const SIZES = opt("sizes", "64,256").split(",").map(Number);
const THROTTLE = opt("throttle", "20MB");
const THROTTLE_MIB = Number(opt("throttle-size", 64));
const withDask = !argv.includes("--no-dask");
const HUGE_PAGES = !argv.includes("--no-huge-pages");
// This process too (the raw-TCP reference below runs here), as bench/array.mjs does.
if (HUGE_PAGES) {
  const relaunched = relaunchWithHugePages();
  if (relaunched) process.exit(await relaunched);
}
const CLI = new URL("../dist/node/cli.js", import.meta.url).pathname;
const MiB = 2 ** 20;

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

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
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
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
async function cluster(workerFlags) {
  const scheduler = await Scheduler.start({ address: "ws://127.0.0.1:0", token: "bench-client", workerToken: "bench-worker" });
  // Worker processes with large buffers in huge pages, as Dask's (NumPy's) receive buffers are.
  const env = HUGE_PAGES ? withHugePages() : process.env;
  const procs = [0, 1].map(() => spawn(process.execPath, [CLI, "worker", scheduler.address, "--token", "bench-worker", "--threads", "1", ...workerFlags], { stdio: ["ignore", "pipe", "inherit"], env }));
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

async function transfer(c, mib, kind, runs) {
  const n = (mib * MiB) / 8;
  const local = [];
  const remote = [];
  for (let r = -1; r < runs; r++) {
    const src = c.client.with({ workers: c.A.id, pure: false }).submit(make, n, kind);
    await src.settled();
    let t = performance.now();
    await c.client.with({ workers: c.A.id, pure: false }).submit(consume, src);
    const tl = (performance.now() - t) / 1000;
    t = performance.now();
    await c.client.with({ workers: c.B.id, pure: false }).submit(consume, src);
    const tr = (performance.now() - t) / 1000;
    src.release();
    if (r >= 0) {
      local.push(+tl.toFixed(4));
      remote.push(+tr.toFixed(4));
    }
  }
  const bytes = mib * MiB;
  return { payload_bytes: bytes, local_s: { median: median(local), runs: local }, remote_s: { median: median(remote), runs: remote }, e2e_MBps: +(bytes / median(remote) / 1e6).toFixed(1) };
}

// 1. Unthrottled loopback: every size and kind, compression "auto" (the default).
const plain = await cluster([]);
const cases = {};
for (const mib of SIZES) for (const kind of ["random", "mod16"]) cases[`${mib}MiB/${kind}`] = await transfer(plain, mib, kind, RUNS);
await plain.close();

// 2. Throttled links: the same transfer with compression auto and off.
const throttled = {};
for (const mode of ["auto", "off"]) {
  const c = await cluster(["--throttle", THROTTLE, "--compression", mode]);
  for (const kind of ["random", "mod16"]) throttled[`${mode}/${THROTTLE_MIB}MiB/${kind}`] = await transfer(c, THROTTLE_MIB, kind, Math.min(RUNS, 2));
  await c.close();
}
const sooner = (kind) => +(throttled[`off/${THROTTLE_MIB}MiB/${kind}`].remote_s.median / throttled[`auto/${THROTTLE_MIB}MiB/${kind}`].remote_s.median).toFixed(2);

// 3. The platform's ceiling: raw TCP between two processes, read with onread straight into one
//    fresh buffer (no WebSocket, no meshwork), to show how close the transport gets.
async function rawTcp(mib, runs) {
  const server = spawn(process.execPath, ["--input-type=module", "-e", `
    import net from "node:net";
    const src = Buffer.allocUnsafeSlow(${mib * MiB}).fill(7);
    const s = net.createServer((c) => c.on("data", () => c.write(src)));
    s.listen(0, "127.0.0.1", () => console.log(s.address().port));
    process.on("SIGTERM", () => process.exit(0));`], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise((resolve) => server.stdout.once("data", (d) => resolve(Number(String(d).trim()))));
  const { connect: netConnect } = await import("node:net");
  const times = [];
  for (let r = -1; r < runs; r++) {
    const N = mib * MiB;
    const dst = Buffer.allocUnsafeSlow(N);
    let fill = 0;
    const t = performance.now();
    await new Promise((resolve) => {
      const c = netConnect({ port, host: "127.0.0.1", onread: { buffer: () => dst.subarray(fill), callback: (n) => { fill += n; if (fill === N) { c.destroy(); resolve(); } } } });
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

function dask() {
  const python = "/usr/bin/python3";
  if (!existsSync(python) || spawnSync(python, ["-c", "import distributed"]).status !== 0) return { skipped: "Dask is not installed (apt-get install python3-distributed)" };
  const out = spawnSync(python, [new URL("./dask_transfer.py", import.meta.url).pathname, "--runs", String(RUNS), "--sizes-mib", SIZES.join(",")], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (out.status !== 0) return { skipped: `Dask run failed: ${out.stderr.slice(-400)}` };
  return JSON.parse(out.stdout.trim().split("\n").pop());
}
const dk = withDask ? dask() : { skipped: "--no-dask" };
const daskBest = {};
if (!dk.skipped) {
  for (const key of Object.keys(cases)) daskBest[key] = Math.max(...Object.values(dk.settings).map((s) => s[key]?.e2e_MBps ?? 0));
}

console.log(
  JSON.stringify(
    {
      benchmark: "transfer",
      machine: { cpus: (await import("node:os")).availableParallelism(), node: process.version, loadavg: (await import("node:os")).loadavg() },
      params: { runs: RUNS, sizes_mib: SIZES, throttle: THROTTLE, throttle_size_mib: THROTTLE_MIB, worker_huge_pages: HUGE_PAGES },
      meshwork: { unthrottled: cases, throttled },
      // For reference: what Node's own sockets do here, into one fresh buffer, without anything on top.
      node_raw_tcp_MBps: rawTcpMBps,
      dask: dk,
      comparison: Object.fromEntries(
        Object.entries(cases).map(([k, v]) => [k, { meshwork_MBps: v.e2e_MBps, dask_best_MBps: daskBest[k] !== undefined ? +daskBest[k].toFixed(1) : null, ratio: daskBest[k] ? +(v.e2e_MBps / daskBest[k]).toFixed(2) : null }]),
      ),
      throttled_link: { compressible_arrives_times_sooner: sooner("mod16"), random_auto_over_off: +(throttled[`auto/${THROTTLE_MIB}MiB/random`].remote_s.median / throttled[`off/${THROTTLE_MIB}MiB/random`].remote_s.median).toFixed(3) },
      decision_on_64MiB_random_ms: { median: +median(decisions).toFixed(4), p90: +[...decisions].sort((a, b) => a - b)[90].toFixed(4) },
      targets: {
        "e2e >= Dask best (every case)": withDask && !dk.skipped ? Object.entries(cases).every(([k, v]) => v.e2e_MBps >= daskBest[k]) : null,
        "decision < 1 ms": median(decisions) < 1,
        "compressible >= 5x sooner on 20 MB/s": sooner("mod16") >= 5,
        "random within 5% of uncompressed": Math.abs(throttled[`auto/${THROTTLE_MIB}MiB/random`].remote_s.median / throttled[`off/${THROTTLE_MIB}MiB/random`].remote_s.median - 1) <= 0.05,
      },
    },
    null,
    2,
  ),
);
