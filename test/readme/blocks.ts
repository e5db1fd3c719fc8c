// How each code block of README.md is tested (readme.test.ts). A block is named by the heading it
// sits under and its first line. Every ts/js block is either run (RUN: the block as written, in a
// module of its own, with the scaffolding below, and type-checked with the project's settings) or mirrored by a named test (MIRRORED, with the
// reason); sh blocks have their commands checked (readme.test.ts: scripts, files, CLI flags); a
// block of any other kind (html, a page's script) must be MIRRORED by a browser test. A block that
// is none of these fails the test, and so does an entry here that names no block.
//
// Scaffolding, and nothing else, is added to a run block:
// - imports of the names the README's first blocks import (`Client`, `LocalCluster`, `asCompleted`,
//   `wait` from "meshwork", `mw` from "meshwork/array") when the block uses one without importing it;
// - `before` (values the prose assumes: `client`, `fn`, `x` …) and `after` (checks of what the
//   block's comments promise, and closing what it leaves open);
// - `replace`: exact substitutions, each of which must match (sizes scaled down to test size, a line
//   that throws on purpose wrapped in a check that it throws what the README says).
// "meshwork" resolves as in a user's project: the package by its name, through its exports (dist/).

export interface RunEntry {
  before?: string;
  after?: string;
  replace?: [from: string, to: string][];
}

export interface MirrorEntry {
  /** The test that covers the block: "path › test name". */
  test: string;
  /** Why it is mirrored rather than run. */
  reason: string;
}

/** A cluster and a client for blocks that use `client` as the prose set it up. */
const CLUSTER = `
const cluster = await LocalCluster.start({ workers: 2 });
const client = await Client.connect(cluster.address);
`;
const CLOSE = `
await client.close();
await cluster.close();
`;

export const RUN: Record<string, RunEntry> = {
  'Using it › import { Client, LocalCluster, asCompleted, wait } from "meshwork";': {
    replace: [["await total;", "check(await total, 14);"]],
  },
  "Per-task options › client.with({ retries: 2, priority: 10 }).submit(fn, x);": {
    before: `${CLUSTER}const fn = (v: number) => v + 1;
const x = 1;
const items = [1, 2, 3];`,
    after: CLOSE,
  },
  "Waiting for many futures › const ac = asCompleted(fs);                  // futures in the order they finish": {
    before: `${CLUSTER}const fs = client.map((v: number) => v * 2, [1, 2, 3]);
let steps = 0;
const keepGoing = () => steps++ < 3;
const step = (v: number) => v + 1;`,
    after: `check(steps, 6); // asked once per finished future: the 3 mapped and the 3 it added\n${CLOSE}`,
  },
  'Arrays › import { Client, LocalCluster } from "meshwork";': {
    // 3.2 GB in this thread would take minutes: the same code on 2000² in 200² blocks.
    replace: [
      [
        "mw.random([20000, 20000], { chunks: [2000, 2000], seed: 1 })",
        "mw.random([2000, 2000], { chunks: [200, 200], seed: 1 })",
      ],
      ["String(y);", 'check(String(y), "mw.Array<sum, shape=[], dtype=float64, chunksize=[], blocks=1, tasks=421>");'],
    ],
    after: `await client.close(); // its cluster's threads do not keep the process alive`,
  },
  'Real data: Zarr, NetCDF and labeled arrays › import * as mw from "meshwork/array";': {
    // The README's file names, made from the test fixtures in a directory of its own.
    before: `const { cpSync, mkdtempSync } = await import("node:fs");
const here = mkdtempSync(process.cwd() + "/data-"); // inside the runner's directory, removed with it
cpSync(FIXTURES + "xr/climate.zarr", here + "/data/air.zarr", { recursive: true });
cpSync(FIXTURES + "nc/y2020.nc", here + "/y2020.nc");
cpSync(FIXTURES + "nc/y2021.nc", here + "/y2021.nc");
process.chdir(here);`,
    after: `check(monthly.dims.join(), "time,lat,lon");`,
  },
  'Tables: meshwork/dataframe › import * as dd from "meshwork/dataframe";': {
    before: `const here = (await import("node:fs")).mkdtempSync(process.cwd() + "/trips-");
process.chdir(here);
{
  const { fromRecords } = await import("meshwork/dataframe");
  const rows = Array.from({ length: 400 }, (_, i) => ({ vendor: 1 + (i % 3), distance: (i % 40) / 2, fare: 3 + (i % 40) }));
  await fromRecords(rows, { npartitions: 2 }).toParquet("data/trips/");
}
const vendors = (await import("meshwork/dataframe")).fromRecords([{ vendor: 1, name: "Yellow" }, { vendor: 2, name: "Green" }]);`,
    after: `check(table.numRows, 3);`,
  },
  'Regression: meshwork/glm › import * as mw from "meshwork/array";': {
    replace: [
      ["[1_000_000, 10], { chunks: [125_000, -1]", "[20_000, 10], { chunks: [5_000, -1]"],
      ["[1_000_000], { chunks: [125_000]", "[20_000], { chunks: [5_000]"],
    ],
    after: `check(model.coef.length, 10);`,
  },
  'Delayed, compute and persist › import { compute, delayed } from "meshwork";': {
    before: `const x = mw.ones([10], { chunks: 5 });`,
    replace: [["await t.compute();", "check(await t.compute(), 66);"]],
    after: `check([a, b], [66, 10]);`,
  },
  "Shipping code to workers › const factor = 3;": {
    before: CLUSTER,
    // The line that throws on purpose: it must throw what the comment under it quotes.
    replace: [
      [
        "client.submit((x: number) => x * factor, 2);\n",
        'throwsLike(() => client.submit((x: number) => x * factor, 2), "ClosureError", "Function (anonymous) refers to `factor` from outside its own body.", "Pass the value as an argument (client.submit(fn, ...args)), or put the function in a task module (client.upload(url)).");\n',
      ],
    ],
    after: CLOSE,
  },
  "Shipping code to workers › // ops.ts": {
    // Two files in one block: split at the `// name.ts` lines; main.ts runs.
    before: `${CLUSTER}const image = new Float64Array([1, 2, 3]);`,
    after: `check((await blurred)[1], 2);\n${CLOSE}`,
  },
  'Data › import { registerWireClass } from "meshwork";': {
    before: `class Point {
  constructor(readonly x: number, readonly y: number) {}
}`,
  },
  'Logging › import { consoleLogger, setLogger } from "meshwork";': {
    before: `const seen: string[] = [];
const myLog = { info: (m: string) => seen.push(m), warn: (m: string) => seen.push(m), error: (m: string) => seen.push(m) };`,
    replace: [
      [
        'await LocalCluster.start({ logLevel: "info" });',
        'const started = await LocalCluster.start({ logLevel: "info" });',
      ],
    ],
    after: `await started.close();
setLogger(consoleLogger("warn"));`,
  },
  'Progress › import { progress } from "meshwork";': {
    before: `${CLUSTER}const f = (v: number) => v * 2;
const items = [1, 2, 3, 4];
const x = mw.ones([40], { chunks: 10 });`,
    after: `check(await y.compute(), 40);
check(v, 40);
${CLOSE}`,
  },
  "The dashboard › const cluster = await LocalCluster.start({ workers: 2 });   // dashboard: on by default, 127.0.0.1, a free port":
    {
      after: `check(/^http:\\/\\/127\\.0\\.0\\.1:\\d+\\/dashboard#token=\\S+$/.test(cluster.dashboardLink ?? ""), true);
check(client.dashboardLink, cluster.dashboardLink);
${CLOSE}`,
    },
  'Workers come and go › const cluster = await LocalCluster.start({ workers: 4, memoryLimit: "2GB" });   // thread-n is worker-n':
    {
      after: `check((await client.workers()).map((w) => w.name + "=" + w.id).sort().slice(0, 2), ["thread-1=worker-1", "thread-2=worker-2"]);\n${CLOSE}`,
    },
};

export const MIRRORED: Record<string, MirrorEntry> = {
  'Using meshwork from a web page › // app.js, loaded by <script type="module" src="app.js">: the link is': {
    test: "test/browser/browser-client.test.ts › examples/08-browser-client: a page on another origin imports /meshwork.js, connects with the token from its link's fragment, and shows tasks' and an array's results",
    reason:
      "it runs in a web page: examples/08-browser-client/app.js is this block with its results written to the page, and that test runs it in Chromium",
  },
  'A cluster across processes and machines › const client = await Client.connect("ws://127.0.0.1:8786", { token: "<client token>" });':
    {
      test: "test/node/network.test.ts › scheduler and worker processes: a dependency moves worker to worker across processes",
      reason:
        "it needs a `meshwork scheduler` process and the client token it prints; that test starts one, reads the token and connects with it",
    },
  "Logging › const runtime = createRuntime();": {
    test: "test/node/runtime-stores.test.ts › two LocalClusters in one realm, each serving /data/ with its own token: each reads its own, neither the other's, and closing one forgets its token",
    reason:
      "it needs a data/ directory holding air.zarr; that test runs these steps (a runtime of its own, a LocalCluster serving /data/, a client of that runtime, fromZarr with { stores: client }) over the Zarr fixtures, next to a second cluster",
  },
};
