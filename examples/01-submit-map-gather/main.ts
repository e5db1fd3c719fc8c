// Example 1: a local cluster of worker threads, and the basic moves — submit a function and await
// its future, map over items, pass futures as arguments, gather, and see an error come back.
//
//   npx tsx examples/01-submit-map-gather/main.ts

import { Client, LocalCluster, RemoteError } from "meshwork";

const cluster = await LocalCluster.start({ workers: 2 });
const client = await Client.connect(cluster.address);

// submit: runs on a worker; the future is awaitable.
const eleven = client.submit((x: number) => x + 1, 10);
console.log("submit(x => x + 1, 10) →", await eleven);

// map: one task per item; gather: all results, in order.
const squares = client.map((x: number) => x * x, [1, 2, 3, 4, 5]);
console.log("gather(map(x => x * x, [1..5])) →", await client.gather(squares));

// Futures as arguments become dependencies; the worker gets their values.
const total = client.submit((xs: number[]) => xs.reduce((a, b) => a + b, 0), squares);
console.log("sum of the squares, computed on the cluster →", await total);

// Typed arrays travel as raw bytes and keep their type.
const noise = client.submit((n: number) => Float64Array.from({ length: n }, (_, i) => Math.sin(i)), 1_000_000);
const mean = client.submit((a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length, noise);
console.log("mean of sin(i) over a million samples →", (await mean).toExponential(3));

// A task that throws rejects its future with the remote error, stack included.
try {
  await client.submit((x: number) => {
    if (x < 0) throw new RangeError(`negative input: ${x}`);
    return Math.sqrt(x);
  }, -4);
} catch (err) {
  if (err instanceof RemoteError)
    console.log(`a failing task → ${err.remoteName}: ${err.message.split(": ").slice(1).join(": ")}`);
}

for (const w of await client.workers()) {
  console.log(
    `worker ${w.name} (${w.kind}): ${w.tasks.done} tasks done, holding ${w.tasks.inMemory} results (${w.memory} bytes)`,
  );
}

await client.close();
await cluster.close();
