// Verification benchmark (issue 20): `map` of 10,000 tasks on untrusted workers, where every task
// runs on two workers and their results' digests are compared, against the same map on trusted
// workers, in the same run. Target: ≤ 2.2× the time. Two in-process clusters (a scheduler and
// worker threads each, as a LocalCluster), one trusting its workers and one trusting none;
// the runs alternate between them.
//
//   flock /tmp/meshwork-bench.lock node bench/verify.mjs --runs 5 --workers 2
//
// Prints one JSON object: medians (s), tasks/s, the ratio and whether the target holds. Also the
// cost of the digest itself (native and plain-JavaScript SHA-256) on small and large results.

import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { Client, Scheduler } from "../dist/node/index.js";
import { WorkerGroup } from "../dist/node/hosts/worker-group.js";
import { digestOf, serialize, Sha256 } from "../dist/src/internal.js";
import { benchOptions } from "./options.mjs";

const o = benchOptions({ runs: 5, "map-n": 10_000, workers: Math.min(4, availableParallelism()) });
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const inc = (x) => x + 1;

async function start(untrustedWorkers) {
  const scheduler = await Scheduler.start({ untrustedWorkers, keepAlive: false });
  const workers = new WorkerGroup({
    scheduler: scheduler.address,
    listen: "inproc://",
    kind: "thread",
    namePrefix: untrustedWorkers ? "untrusted" : "trusted",
    logLevel: "warn",
    keepAlive: false,
  });
  await workers.grow(o.workers);
  const client = await Client.connect(scheduler.address);
  return {
    client,
    close: async () => {
      await client.close();
      await workers.close();
      await scheduler.close();
    },
  };
}

async function mapOnce(client) {
  const items = Array.from({ length: o["map-n"] }, (_, i) => i);
  const t = performance.now();
  const fs = client.map(inc, items, { pure: false });
  const res = await client.gather(fs);
  const s = (performance.now() - t) / 1000;
  for (const f of fs) f.release();
  if (res[items.length - 1] !== items.length) throw new Error("map gave a wrong result");
  return s;
}

function digestCost() {
  const native = () => {
    const h = createHash("sha256");
    return { update: (b) => h.update(b), hex: () => h.digest("hex") };
  };
  const js = () => new Sha256();
  const out = {};
  for (const [name, value, reps] of [
    ["small_number", 12345, 100_000],
    ["array_1MiB", new Float64Array(1 << 17), 50],
  ]) {
    const payload = serialize(value).payload;
    for (const [impl, make] of [
      ["native", native],
      ["js", js],
    ]) {
      const t = performance.now();
      for (let i = 0; i < reps; i++) digestOf(payload, make);
      out[`${name}_${impl}_us`] = +(((performance.now() - t) * 1000) / reps).toFixed(2);
    }
  }
  return out;
}

const trusted = await start(false);
const untrusted = await start(true);
try {
  const t = [];
  const u = [];
  await mapOnce(trusted.client); // warm-up, untimed
  await mapOnce(untrusted.client);
  for (let r = 0; r < o.runs; r++) {
    t.push(await mapOnce(trusted.client));
    u.push(await mapOnce(untrusted.client));
  }
  const ratio = median(u) / median(t);
  console.log(
    JSON.stringify({
      benchmark: "verify",
      map_n: o["map-n"],
      workers: o.workers,
      runs: o.runs,
      trusted_s: {
        median: +median(t).toFixed(3),
        runs: t.map((x) => +x.toFixed(3)),
        tasks_per_s: Math.round(o["map-n"] / median(t)),
      },
      untrusted_verified_s: {
        median: +median(u).toFixed(3),
        runs: u.map((x) => +x.toFixed(3)),
        tasks_per_s: Math.round(o["map-n"] / median(u)),
      },
      ratio: +ratio.toFixed(3),
      target: "≤ 2.2",
      met: ratio <= 2.2,
      digest: digestCost(),
    }),
  );
} finally {
  await trusted.close();
  await untrusted.close();
}
