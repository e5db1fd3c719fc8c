// Shuffles side by side with Dask: the same frames (8 partitions of 500k rows: an int key, a float,
// an id; and a second frame a quarter as long) made on 2 workers of 1 thread each, then a hash
// shuffle, a shuffle join and a sort, each timed from the call to its partitions held on the workers (persist), best of 2.
// Prints JSON. Run after `npm run build`, under the benchmark lock:
//   node bench/dataframe-shuffle.mjs [--parts 8] [--rows 500000]

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import * as dd from "../dist/node/dataframe.js";
import { Client, LocalCluster } from "../dist/node/index.js";

const arg = (name, d) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const PARTS = arg("parts", 8);
const ROWS = arg("rows", 500_000);
const RUNS = 2;

async function meshwork() {
  const cluster = await LocalCluster.start({ workers: 2, logLevel: "error" });
  const client = await Client.connect(cluster.address);
  const on = { scheduler: client };
  try {
    const keys = Math.floor((PARTS * ROWS) / 2);
    // Numbers from a linear congruential generator, made on the workers (not NumPy's, the same shapes).
    const make = (t, rows, keys, tag) => {
      const seed = t.getChild("seed").at(0);
      const k = new BigInt64Array(rows);
      const v = new Float64Array(rows);
      const id = new BigInt64Array(rows);
      let x = (seed * 2654435761 + 1) >>> 0;
      for (let i = 0; i < rows; i++) {
        x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
        k[i] = BigInt(x % keys);
        x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
        v[i] = x / 4294967296;
        id[i] = BigInt(seed * rows + i);
      }
      return { k, [tag]: v, id };
    };
    const seeds = (n, from) =>
      dd.fromRecords(
        Array.from({ length: n }, (_, i) => ({ seed: from + i })),
        { npartitions: n, dtypes: { seed: "int32" } },
      );
    const A = await seeds(PARTS, 0)
      .mapPartitions(make, { args: [ROWS, keys, "v"], meta: { k: "int64", v: "float64", id: "int64" } })
      .persist(on);
    const B = await seeds(PARTS, 1000)
      .mapPartitions(make, { args: [Math.floor(ROWS / 4), keys, "w"], meta: { k: "int64", w: "float64", id: "int64" } })
      .persist(on);
    const ops = {
      // Each run into a different number of partitions, so no run finds another's results held.
      shuffle: (r) => A.shuffle("k", { npartitions: PARTS + r }).persist(on),
      merge: (r) =>
        A.merge(B.select(["k", "w"]), { on: "k", how: "inner", broadcast: false, npartitions: PARTS + r }).persist(on),
      sortValues: async (r) => (await A.sortValues("v", { ...on, npartitions: PARTS + r })).persist(on),
    };
    const out = {};
    for (const [name, op] of Object.entries(ops)) {
      const times = [];
      let rows = 0;
      for (let r = 0; r < RUNS; r++) {
        const t0 = performance.now();
        const held = await op(r);
        times.push((performance.now() - t0) / 1000);
        rows = await held.len(on);
        held.release();
      }
      out[name] = { s: Number(Math.min(...times).toFixed(3)), runs: times.map((t) => Number(t.toFixed(3))), rows };
    }
    return out;
  } finally {
    await client.close();
    await cluster.close();
  }
}

function dask() {
  const py = "/usr/bin/python3";
  if (!existsSync(py)) return { skipped: "no /usr/bin/python3 (apt-get install python3-distributed)" };
  const r = spawnSync(
    py,
    [
      new URL("./dask_shuffle.py", import.meta.url).pathname,
      "--parts",
      String(PARTS),
      "--rows",
      String(ROWS),
      "--runs",
      String(RUNS),
    ],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
  );
  if (r.status !== 0) return { failed: r.status };
  return JSON.parse(r.stdout.trim().split("\n").pop());
}

const load = (await import("node:os")).loadavg()[0];
const m = await meshwork();
const d = dask();
const ratio = Object.fromEntries(Object.keys(m).map((k) => [k, d[k] ? Number((m[k].s / d[k].s).toFixed(2)) : null]));
console.log(
  JSON.stringify(
    { parts: PARTS, rows: ROWS, load1: Number(load.toFixed(1)), meshwork: m, dask: d, "meshwork/dask time": ratio },
    null,
    1,
  ),
);
