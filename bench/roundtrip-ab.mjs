// One submit().result() round trip on an in-process LocalCluster (2 worker threads), two built
// checkouts side by side: each runs in a process of its own, kept alive, and the two take turns
// batch by batch (A B, B A, …), so a change in the host's load hits both alike. Finer than
// bench/compare.mjs (which alternates whole benchmark runs) for a difference of a few per cent.
//
//   node bench/roundtrip-ab.mjs --base /tmp/old --rounds 30 --batch 300
//   nice -n -20 node bench/roundtrip-ab.mjs --base /tmp/old --new /tmp/new    (as root: the host's other work yields)
//
// Prints one JSON object: per side the median over rounds of each batch's median round trip (ms)
// and of the process's CPU time per round trip (µs, every thread: scheduler, client, workers, GC);
// and the median, min and max over rounds of new ÷ old. Warm: three batches each before timing.

import { fork } from "node:child_process";
import { loadavg } from "node:os";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { benchOptions } from "./options.mjs";

const here = resolve(dirname(fileURLToPath(import.meta.url)), "..");

if (process.argv[2] === "--side") {
  await side(process.argv[3]);
} else {
  await main();
}

/** A side: a cluster and a client of one checkout, timing batches when the parent asks. */
async function side(dir) {
  const m = await import(pathToFileURL(`${dir}/dist/node/index.js`).href);
  const cluster = await m.LocalCluster.start({ workers: 2 });
  const client = await m.Client.connect(cluster.address);
  const inc = (x) => x + 1;
  await client.submit(inc, -1);
  process.on("message", async ({ n, stop }) => {
    if (stop) {
      await client.close();
      await cluster.close();
      process.exit(0);
    }
    const times = [];
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await client.with({ pure: false }).submit(inc, i);
      times.push(performance.now() - t);
    }
    const cpu = process.cpuUsage(cpu0);
    process.send({ ms: median(times), cpuUs: (cpu.user + cpu.system) / n });
  });
  process.send({ ready: true });
}

async function main() {
  const o = benchOptions({ base: "", new: here, rounds: 30, batch: 300 });
  if (!o.base) {
    console.error("--base DIR (a built checkout to compare with) is required");
    process.exit(2);
  }
  const start = (dir) =>
    new Promise((ok) => {
      const p = fork(fileURLToPath(import.meta.url), ["--side", resolve(dir)]);
      p.once("message", () => ok(p));
    });
  const batch = (p) =>
    new Promise((ok) => {
      p.once("message", ok);
      p.send({ n: o.batch });
    });
  const load = [loadavg()[0]];
  const old = await start(o.base);
  const now = await start(o.new);
  for (let i = 0; i < 3; i++) for (const p of [old, now]) await batch(p);
  const a = [];
  const b = [];
  for (let r = 0; r < o.rounds; r++) {
    if (r % 2 === 0) {
      a.push(await batch(old));
      b.push(await batch(now));
    } else {
      b.push(await batch(now));
      a.push(await batch(old));
    }
  }
  load.push(loadavg()[0]);
  for (const p of [old, now]) p.send({ stop: true });
  const ratios = a.map((x, i) => b[i].ms / x.ms);
  const cpuRatios = a.map((x, i) => b[i].cpuUs / x.cpuUs);
  const round = (x, d = 3) => +x.toFixed(d);
  console.log(
    JSON.stringify({
      benchmark: "roundtrip-ab",
      checkouts: { old: o.base, new: o.new },
      params: { rounds: o.rounds, batch: o.batch },
      load_start_end: load,
      old: { roundtrip_ms: round(median(a.map((x) => x.ms)), 4), cpu_us: round(median(a.map((x) => x.cpuUs)), 1) },
      new: { roundtrip_ms: round(median(b.map((x) => x.ms)), 4), cpu_us: round(median(b.map((x) => x.cpuUs)), 1) },
      new_over_old: {
        roundtrip: { median: round(median(ratios)), min: round(Math.min(...ratios)), max: round(Math.max(...ratios)) },
        cpu: {
          median: round(median(cpuRatios)),
          min: round(Math.min(...cpuRatios)),
          max: round(Math.max(...cpuRatios)),
        },
      },
    }),
  );
}

function median(xs) {
  return [...xs].sort((x, y) => x - y)[xs.length >> 1];
}
