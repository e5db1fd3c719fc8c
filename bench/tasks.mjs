// Futures benchmark: round trip, map + gather, a chain of dependent tasks, asCompleted with add,
// and LocalCluster start — on meshwork and on Dask.distributed in the same run, side by side.
//
//   npm run bench:tasks                  (builds first)
//   node bench/tasks.mjs --runs 5 --no-dask
//
// Prints one JSON object: figures for both, ratios (meshwork ÷ Dask, "× faster"), and whether each
// target of the futures issue is met. Medians of --runs runs (default 3); the machine is shared.

import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { LocalCluster, Client, Scheduler, asCompleted } from "../dist/node/index.js";
import { benchOptions } from "./options.mjs";

const o = benchOptions({
  runs: 3,
  "map-n": 10_000,
  "chain-n": 2_000,
  "ac-total": 5_000,
  "ac-inflight": 100,
  roundtrips: 500,
  "no-dask": false,
  "gc-release": false,
  "no-ws": false,
});
const RUNS = o.runs;
const MAP_N = o["map-n"];
const CHAIN_N = o["chain-n"];
const AC_TOTAL = o["ac-total"];
const AC_INFLIGHT = o["ac-inflight"];
const RT_N = o.roundtrips;
const withDask = !o["no-dask"];
const GC_RELEASE = o["gc-release"];

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
/** Median of the timed runs; the first entry of `xs` is the untimed warm-up run. */
const stats = (xs) => ({
  median: median(xs.slice(1)),
  runs: xs.slice(1).map((x) => +x.toFixed(3)),
  warmup_s: +xs[0].toFixed(3),
});
const inc = (x) => x + 1;

async function startups() {
  const out = [];
  for (let i = 0; i < RUNS; i++) {
    const text = execFileSync(process.execPath, [new URL("./startup-child.mjs", import.meta.url).pathname], {
      encoding: "utf8",
    });
    out.push(JSON.parse(text.trim().split("\n").pop()));
  }
  return out;
}

/** The futures workloads on a connected client; each runs once untimed first (reported as warmup_s). */
async function workloads(client) {
  await client.submit(inc, -1); // warm up

  // Round trips: the first RT_N untimed (the JIT's first pass; reported as cold), then RT_N timed.
  const roundTrips = async () => {
    const out = [];
    for (let i = 0; i < RT_N; i++) {
      const t = performance.now();
      await client.with({ pure: false }).submit(inc, i);
      out.push(performance.now() - t);
    }
    return out;
  };
  const coldRts = await roundTrips();
  const rts = await roundTrips();
  // Each workload runs once untimed first (the JIT's first pass), reported as warmup_s.
  // Futures are released where Python's reference counting drops Dask's (bench/dask_tasks.py): the
  // map's when its list is dropped after gather, each chain link when the next replaces it, each
  // asCompleted future once used. With --gc-release they are left to the garbage collector instead.
  const release = (fs) => {
    if (!GC_RELEASE) for (const f of fs) f.release();
  };
  const items = Array.from({ length: MAP_N }, (_, i) => i);
  const mapRuns = [];
  for (let r = -1; r < RUNS; r++) {
    const t = performance.now();
    const fs = client.map(inc, items, { pure: false });
    const res = await client.gather(fs);
    mapRuns.push((performance.now() - t) / 1000);
    release(fs);
    if (res[MAP_N - 1] !== MAP_N) throw new Error("map gave a wrong result");
  }

  const chainRuns = [];
  for (let r = -1; r < RUNS; r++) {
    const sub = client.with({ pure: false });
    const t = performance.now();
    let f = sub.submit(inc, 0);
    for (let i = 1; i < CHAIN_N; i++) {
      const next = sub.submit(inc, f);
      release([f]);
      f = next;
    }
    const v = await f;
    chainRuns.push((performance.now() - t) / 1000);
    release([f]);
    if (v !== CHAIN_N) throw new Error(`chain gave ${v}, expected ${CHAIN_N}`);
  }

  const acRuns = [];
  for (let r = -1; r < RUNS; r++) {
    const sub = client.with({ pure: false });
    const t = performance.now();
    const ac = asCompleted(
      sub.map(
        inc,
        Array.from({ length: AC_INFLIGHT }, (_, i) => i),
      ),
    );
    let submitted = AC_INFLIGHT;
    let done = 0;
    for await (const f of ac) {
      const x = await f;
      release([f]);
      done++;
      if (submitted < AC_TOTAL) {
        ac.add(sub.submit(inc, x));
        submitted++;
      }
    }
    acRuns.push((performance.now() - t) / 1000);
    if (done !== AC_TOTAL) throw new Error(`asCompleted yielded ${done}, expected ${AC_TOTAL}`);
  }

  return {
    roundtrip_ms: {
      median: median(rts),
      p90: [...rts].sort((a, b) => a - b)[Math.floor(rts.length * 0.9)],
      runs: rts.length,
      cold_median: median(coldRts),
    },
    map_tasks_per_s: MAP_N / median(mapRuns.slice(1)),
    map_s: stats(mapRuns),
    chain_tasks_per_s: CHAIN_N / median(chainRuns.slice(1)),
    chain_s: stats(chainRuns),
    as_completed_tasks_per_s: AC_TOTAL / median(acRuns.slice(1)),
    as_completed_s: stats(acRuns),
  };
}

async function meshwork() {
  const starts = await startups();
  const cluster = await LocalCluster.start({ workers: 2 });
  const client = await Client.connect(cluster.address);
  const figures = await workloads(client);
  await client.close();
  await cluster.close();
  return {
    ...figures,
    startup_ms: {
      median: median(starts.map((s) => s.start_connect_ms)),
      runs: starts.map((s) => +s.start_connect_ms.toFixed(1)),
    },
    import_ms: { median: median(starts.map((s) => s.import_ms)), runs: starts.map((s) => +s.import_ms.toFixed(1)) },
  };
}

/** The same workloads with a WebSocket scheduler here and two `meshwork worker` processes. */
async function meshworkOverWebSocket() {
  const scheduler = await Scheduler.start({
    address: "ws://127.0.0.1:0",
    token: "bench-client",
    workerToken: "bench-worker",
  });
  const cli = new URL("../dist/node/cli.js", import.meta.url).pathname;
  const procs = [0, 1].map(() =>
    spawn(process.execPath, [cli, "worker", scheduler.address, "--token", "bench-worker", "--threads", "1"], {
      stdio: ["ignore", "pipe", "inherit"],
    }),
  );
  await Promise.all(
    procs.map(
      (p) =>
        new Promise((resolve) => {
          let out = "";
          p.stdout.on("data", (d) => {
            out += d;
            if (/serves data at/.test(out)) resolve();
          });
        }),
    ),
  );
  const client = await Client.connect(scheduler.address, { token: "bench-client" });
  const figures = await workloads(client);
  await client.close();
  for (const p of procs) p.kill("SIGTERM");
  await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r() : p.once("exit", r)))));
  await scheduler.close();
  return figures;
}

function dask() {
  const python = "/usr/bin/python3";
  if (!existsSync(python)) return { skipped: "no /usr/bin/python3" };
  const probe = spawnSync(python, ["-c", "import distributed"], { encoding: "utf8" });
  if (probe.status !== 0) return { skipped: "Dask is not installed (apt-get install python3-distributed)" };
  const script = new URL("./dask_tasks.py", import.meta.url).pathname;
  const out = spawnSync(
    python,
    [
      script,
      "--runs",
      String(RUNS),
      "--map-n",
      String(MAP_N),
      "--chain-n",
      String(CHAIN_N),
      "--ac-total",
      String(AC_TOTAL),
      "--ac-inflight",
      String(AC_INFLIGHT),
    ],
    {
      encoding: "utf8",
      maxBuffer: 1 << 24,
    },
  );
  if (out.status !== 0) return { skipped: `Dask run failed: ${out.stderr.slice(-500)}` };
  return JSON.parse(out.stdout.trim().split("\n").pop());
}

const mw = await meshwork();
const mwWs = o["no-ws"] ? { skipped: "--no-ws" } : await meshworkOverWebSocket();
const dk = withDask ? dask() : { skipped: "--no-dask" };
const has = !dk.skipped;
const r = (a, b) => (has ? +(a / b).toFixed(1) : null);
const report = {
  benchmark: "tasks",
  machine: {
    cpus: (await import("node:os")).availableParallelism(),
    node: process.version,
    loadavg: (await import("node:os")).loadavg(),
  },
  params: {
    runs: RUNS,
    map_n: MAP_N,
    chain_n: CHAIN_N,
    ac_total: AC_TOTAL,
    ac_inflight: AC_INFLIGHT,
    roundtrips: RT_N,
    release: GC_RELEASE ? "garbage collector" : "explicit, where Python's reference counting releases",
  },
  meshwork: mw,
  // Scheduler in this process, two `meshwork worker` processes, everything over WebSocket.
  meshwork_websocket: mwWs,
  dask: dk,
  // How many times better meshwork is than Dask on each figure (> 1: meshwork better).
  ratio_vs_dask: {
    roundtrip: has ? r(dk.roundtrip_ms.median, mw.roundtrip_ms.median) : null,
    map: r(mw.map_tasks_per_s, dk.map_tasks_per_s),
    chain: r(mw.chain_tasks_per_s, dk.chain_tasks_per_s),
    as_completed: r(mw.as_completed_tasks_per_s, dk.as_completed_tasks_per_s),
    startup: has ? r(dk.startup_ms.median, mw.startup_ms.median) : null,
  },
  targets: {
    "roundtrip_ms <= 0.5": mw.roundtrip_ms.median <= 0.5,
    "map_tasks_per_s >= 30000": mw.map_tasks_per_s >= 30_000,
    "chain_tasks_per_s >= 5000": mw.chain_tasks_per_s >= 5_000,
    "as_completed_tasks_per_s >= 10000": mw.as_completed_tasks_per_s >= 10_000,
    "startup_ms <= 200": mw.startup_ms.median <= 200,
  },
};
console.log(JSON.stringify(report, null, 2));
