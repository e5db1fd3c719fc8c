// One fresh process: import meshwork, start a 2-worker LocalCluster, connect, run one task, close.
// Prints its timings as JSON. Used by bench/tasks.mjs so every start is cold.
const t0 = performance.now();
const { LocalCluster, Client } = await import("../dist/node/index.js");
const t1 = performance.now();
const cluster = await LocalCluster.start({ workers: 2 });
const client = await Client.connect(cluster.address);
const t2 = performance.now();
await client.submit((x) => x + 1, 1);
const t3 = performance.now();
await client.close();
await cluster.close();
const t4 = performance.now();
console.log(
  JSON.stringify({ import_ms: t1 - t0, start_connect_ms: t2 - t1, first_result_ms: t3 - t2, close_ms: t4 - t3 }),
);
