// `meshwork demo`: a local cluster running example computations, saying what happened.

import { parseArgs } from "node:util";
import {
  asCompleted,
  Client,
  delayed,
  LocalCluster,
  progress,
  RemoteError,
  type Future,
  type ProgressOptions,
} from "../index.js";
import * as mw from "../array.js";
import { ms, untilSignal, UsageError, version, wholeNumber } from "./common.js";

export const DEMO_HELP = `meshwork demo — start a local cluster of worker threads and run example computations on it.

It also serves the worker page: open the printed link in a browser and that tab joins the cluster.
In a terminal the demo then keeps computing until Ctrl-C, so you can watch tabs take work.

Options:
  --workers N   worker threads to start (default 2)
  --port P      port of the worker page (default: a free one)
  --serve       keep computing after the steps even when not in a terminal
  --no-serve    exit after the steps even in a terminal
  --log-level L debug, info (default), warn, error or silent
  --debug       print the stack of an error
  -h, --help    print this help`;

export async function demo(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      workers: { type: "string", default: "2" },
      port: { type: "string", default: "0" },
      serve: { type: "boolean" },
      "no-serve": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(DEMO_HELP);
    return 0;
  }
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1)
    throw new UsageError(`--workers must be a whole number ≥ 1, got "${values.workers}"`);

  const say = (what: string) => console.log(`  ${what}`);
  let t = performance.now();
  const port = wholeNumber("--port", values.port, 0);
  const serve = values["no-serve"] ? false : (values.serve ?? (Boolean(process.stdin.isTTY) && !process.env["CI"]));
  const cluster = await LocalCluster.start({ workers, page: { port } });
  const client = await Client.connect(cluster.address);
  console.log(
    `meshwork ${version()} demo: a scheduler and ${workers} worker threads in this process, started in ${ms(t)}`,
  );
  console.log(`  scheduler: ${cluster.address} (and ${cluster.networkAddress} for browser tabs)`);
  console.log(`  browser tabs: open ${cluster.pageUrl} to lend a tab to this cluster`);
  if (cluster.dashboardLink) console.log(`  dashboard: open ${cluster.dashboardLink} to watch it work`);
  try {
    console.log("\n1. submit and await one task");
    t = performance.now();
    say(`submit(x => x + 1, 41) → ${await client.submit((x: number) => x + 1, 41)} in ${ms(t)}`);

    // The long steps show progress() on stdout, between the steps' own lines (nothing when CI is set).
    const bar: ProgressOptions = { stream: process.stdout };
    console.log("\n2. map 10,000 tasks and gather the results, with progress(futures)");
    const inc = (x: number) => x + 1;
    t = performance.now();
    const futures = client.map(
      inc,
      Array.from({ length: 10_000 }, (_, i) => i),
      { pure: false },
    );
    await progress(futures, bar);
    const results = await client.gather(futures);
    const elapsed = performance.now() - t;
    for (const future of futures) future.release(); // the workers free the results now, not when the collector runs
    say(
      `sum of results ${results.reduce((a, b) => a + b, 0)} (expected ${(10_000 * 10_001) / 2}); ${Math.round(10_000 / (elapsed / 1000)).toLocaleString("en")} tasks/s`,
    );

    console.log("\n3. a chain of 1,000 tasks, each taking the previous result as its input");
    t = performance.now();
    let f: Future<number> = client.submit(inc, 0);
    for (let i = 1; i < 1000; i++) {
      const next = client.submit(inc, f);
      f.release(); // its dependent keeps it on the cluster until it has run
      f = next;
    }
    say(`last result ${await f} after ${ms(t)}`);
    f.release();

    console.log("\n4. asCompleted: 200 evaluations, 8 in flight, each new one near the best so far");
    const objective = (x: number) => ({ x, value: (x - 3.7) ** 2 });
    t = performance.now();
    let best = { x: 0, value: Infinity };
    let width = 8;
    const search = asCompleted(Array.from({ length: 8 }, (_, i) => client.submit(objective, i - 4)));
    let submitted = 8;
    for await (const next of search) {
      const r = await next;
      next.release();
      if (r.value < best.value) best = r;
      else width *= 0.95;
      if (submitted++ < 200) search.add(client.submit(objective, best.x + (Math.random() - 0.5) * width));
    }
    say(`best x = ${best.x.toFixed(4)} (the answer is 3.7), in ${ms(t)}`);

    console.log("\n5. a task that throws: its future rejects with the remote error");
    try {
      await client.submit((s: string) => JSON.parse(s) as unknown, "{not json");
    } catch (err) {
      if (!(err instanceof RemoteError)) throw err;
      say(`${err.remoteName}: ${err.message.slice(err.remoteName.length + 2)}`);
    }

    console.log(
      "\n6. a chunked array: x is 4000 × 4000 random numbers in 16 blocks; x + x.T, averaged down the columns, summed",
    );
    const x = mw.random([4000, 4000], { chunks: [1000, 1000], seed: 1 });
    const y = x.add(x.T).mean({ axis: 0 }).sum();
    say(`y = ${y}`);
    t = performance.now();
    const value = (await progress(y.compute(), bar)) as number; // every task of y's graph, not only its output
    say(`y.compute() → ${value.toFixed(3)} (close to 4000: each column of x + x.T averages 1) in ${ms(t)}`);

    console.log("\n7. delayed: a lazy graph written as ordinary calls, computed on the cluster");
    const square = delayed((v: number) => v * v, { pure: true });
    const total = delayed((...vs: number[]) => vs.reduce((a, b) => a + b, 0), { pure: true });
    const sumOfSquares = total(...Array.from({ length: 10 }, (_, i) => square(i + 1)));
    t = performance.now();
    say(
      `total(square(1), …, square(10)) → ${await sumOfSquares.compute()} (${sumOfSquares.taskCount} tasks) in ${ms(t)}`,
    );

    console.log("\nworkers:");
    for (const w of await client.workers())
      say(`${w.name} (${w.kind}) ${w.tasks.done} tasks done, ${w.tasks.inMemory} results held`);

    if (serve) await keepComputing(client, cluster.pageUrl!);
    else
      console.log(
        `\n(not waiting for browser tabs: ${process.stdin.isTTY ? "--no-serve" : "not a terminal"}; \`meshwork demo --serve\` keeps it running)`,
      );
  } finally {
    t = performance.now();
    await client.close();
    await cluster.close();
  }
  console.log(`\nclosed the cluster in ${ms(t)}. Next: examples/ has runnable examples; the README shows the API.`);
  return 0;
}

/**
 * Step 8: estimates π in batches of tasks until Ctrl-C, and every few seconds says which workers
 * did the work, so someone who opens the worker page sees their tab take part.
 */
async function keepComputing(client: Client, pageUrl: string): Promise<void> {
  console.log(`\n8. the worker page: open ${pageUrl}`);
  console.log("   in a browser; the tab joins and takes work. Estimating π in batches of 200 tasks until Ctrl-C.");
  const estimate = (seed: number) => {
    let s = seed >>> 0 || 1;
    let inside = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      const x = (s >>> 0) / 4294967296;
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      const y = (s >>> 0) / 4294967296;
      if (x * x + y * y < 1) inside++;
    }
    return (4 * inside) / n;
  };
  let stop = false;
  void untilSignal().then(() => (stop = true));
  let batch = 0;
  let sum = 0;
  let count = 0;
  let lastReport = 0;
  while (!stop) {
    const fs = client.map(
      estimate,
      Array.from({ length: 200 }, (_, i) => batch * 200 + i + 1),
      { pure: false },
    );
    const values = await client.gather(fs);
    for (const f of fs) f.release();
    for (const v of values) {
      sum += v;
      count++;
    }
    batch++;
    if (performance.now() - lastReport > 3000) {
      lastReport = performance.now();
      const ws = await client.workers();
      console.log(
        `   π ≈ ${(sum / count).toFixed(6)} from ${count.toLocaleString("en")} tasks; ` +
          ws.map((w) => `${w.name} (${w.kind}) ${w.tasks.done}`).join(", "),
      );
    }
  }
  console.log("   stopping.");
}
