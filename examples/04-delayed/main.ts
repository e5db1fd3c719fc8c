// Example 4: lazy task graphs written as ordinary calls. `delayed(fn)` records calls instead of
// making them; the calls' results can feed other calls, and nothing runs until compute. Here: load
// a few "files", clean each, summarize each, and combine — first in this thread, then on a cluster.
//
//   npx tsx examples/04-delayed/main.ts

import { Client, LocalCluster, compute, delayed } from "meshwork";

// Task functions travel to workers as source, so they use only their arguments.
const load = delayed(
  (day: number) => Array.from({ length: 1000 }, (_, i) => Math.sin(day * 1000 + i) * 10 + (i % 97 === 0 ? NaN : 0)),
  { name: "load" },
);
const clean = delayed((xs: number[]) => xs.filter((x) => !Number.isNaN(x)), { name: "clean" });
const summarize = delayed(
  (xs: number[]) => ({ n: xs.length, sum: xs.reduce((a, b) => a + b, 0), max: Math.max(...xs) }),
  { name: "summarize" },
);
const combine = delayed(
  (parts: { n: number; sum: number; max: number }[]) => ({
    days: parts.length,
    n: parts.reduce((a, p) => a + p.n, 0),
    mean: parts.reduce((a, p) => a + p.sum, 0) / parts.reduce((a, p) => a + p.n, 0),
    max: Math.max(...parts.map((p) => p.max)),
  }),
  { name: "combine" },
);

const days = [1, 2, 3, 4, 5, 6, 7];
const report = combine(days.map((d) => summarize(clean(load(d)))));
console.log(`report = ${report}: nothing computed yet`);

// No cluster yet: compute runs the graph in this thread.
const local = await report.compute();
console.log("in this thread:", local);

// With a client connected, the same graph runs on the cluster's workers.
const cluster = await LocalCluster.start({ workers: 2 });
const client = await Client.connect(cluster.address);
const [remote, maxima] = await compute(report, summarize(clean(load(1))));
console.log("on the cluster:", remote);
console.log("and day 1 alone:", maxima);
console.log(`same answer both ways: ${JSON.stringify(local) === JSON.stringify(remote)}`);

await client.close();
await cluster.close();
