// Example 3: a chunked array larger than a laptop's patience for plain loops, on a local cluster.
// x is 20000 × 20000 random numbers (3.2 GB of float64) in 100 blocks; `x.add(x.T).mean({ axis: 0 })
// .sum()` builds a graph, and compute runs it on the workers, where the elementwise work and the
// first step of the mean fuse into one loop per block. Every column of x + x.T averages 1, so the
// answer is close to n. Then x is persisted (kept on the workers) and summed.
//
//   npx tsx examples/03-arrays/main.ts          (MESHWORK_EXAMPLE_N=4000 for a quick run)

import { Client, LocalCluster } from "meshwork";
import * as mw from "meshwork/array";

const n = Number(process.env["MESHWORK_EXAMPLE_N"] ?? 20_000);
const chunk = Math.max(1, Math.round(n / 10));

const cluster = await LocalCluster.start({ workers: 2 });
const client = await Client.connect(cluster.address); // the newest client is where arrays compute

const x = mw.random([n, n], { chunks: [chunk, chunk], seed: 1 });
const y = x.add(x.T).mean({ axis: 0 }).sum();
console.log(`x = ${x}`);
console.log(`y = ${y}`);

let t = performance.now();
const answer = (await y.compute()) as number;
console.log(`y.compute() → ${answer.toFixed(3)} (n = ${n}) in ${((performance.now() - t) / 1000).toFixed(2)} s`);

t = performance.now();
const xp = await x.persist();
console.log(
  `x.persist() → ${xp.numblocks.reduce((a, b) => a * b)} blocks held on the workers in ${((performance.now() - t) / 1000).toFixed(2)} s`,
);
t = performance.now();
const total = (await xp.sum().compute()) as number;
console.log(
  `xp.sum() → ${total.toFixed(1)} (about n²/2 = ${(n * n) / 2}) in ${((performance.now() - t) / 1000).toFixed(2)} s`,
);

// The same graph on this machine without a cluster gives the same bits.
const small = mw.random([500, 500], { chunks: [128, 128], seed: 7 });
const w = small.add(small.T).mean({ axis: 0 }).sum();
const [onCluster, here] = [await w.compute(), await w.compute({ scheduler: "sync" })];
console.log(`same result on the cluster and in this thread: ${onCluster === here}`);

await client.close();
await cluster.close();
