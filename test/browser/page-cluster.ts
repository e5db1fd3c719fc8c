// Runs in a Chromium page (bundled by in-page.test.ts): a scheduler, two workers and a client,
// all in the page over inproc, through meshwork's browser entry. Reports what it saw on window.

import { Client, delayed, progress, RemoteError, Scheduler, Worker } from "../../browser/index.js";
import { storeUrl } from "../../src/io/store.js";

async function run(): Promise<Record<string, unknown>> {
  const scheduler = await Scheduler.start({ address: "inproc://page-scheduler" });
  const workers = await Promise.all(
    [1, 2].map((i) => Worker.start({ scheduler: scheduler.address, name: `page-${i}` })),
  );
  const client = await Client.connect(scheduler.address);
  const inc = await client.submit((x: number) => x + 1, 41);
  const squares = await client.gather(client.map((x: number) => x * x, [1, 2, 3]));
  const sum = await client.submit((a: Float64Array) => a.reduce((s, v) => s + v, 0), new Float64Array([1.5, 2.5]));
  const chained = await client.submit(
    (x: number) => x * 10,
    client.submit((x: number) => x + 1, 1),
  );
  let error = "";
  try {
    await client.submit(() => {
      throw new TypeError("thrown in a page worker");
    });
  } catch (err) {
    error = err instanceof RemoteError ? `${err.remoteName}: ${err.message}` : String(err);
  }
  // progress() in a page: no stream by default (nothing drawn), lines into one given; the scheduler
  // counts a map's tasks, the "sync" scheduler a delayed graph's.
  let progressText = "";
  const lines = { write: (t: string) => void (progressText += t) };
  await progress(
    client.map((x: number) => x + 1, [1, 2, 3, 4, 5], { pure: false }),
    { stream: lines, interval: 20 },
  );
  const add = delayed((a: number, b: number) => a + b);
  const progressSync = await progress(add(add(1, 2), add(3, 4)).compute({ scheduler: "sync" }), { stream: lines });
  await progress(client.map((x: number) => x * 3, [1, 2], { pure: false })); // no stream: nothing, and no error
  const info = await client.workers();
  await client.close();
  for (const w of workers) await w.close();
  await scheduler.close();
  // A relative store path, as fromZarr("data/air.zarr") gets it: resolved against the page's URL.
  const resolved = storeUrl("data/air.zarr");
  return {
    progressText,
    progressSync,
    resolved,
    inc,
    squares,
    sum,
    chained,
    error,
    workers: info.length,
    kinds: info.map((w) => w.kind),
    hasBuffer: typeof (globalThis as { Buffer?: unknown }).Buffer,
    hasProcess: typeof (globalThis as { process?: unknown }).process,
  };
}

const w = window as unknown as { __result?: unknown; __error?: string };
run().then(
  (r) => (w.__result = r),
  (err: Error) => (w.__error = `${err.name}: ${err.message}\n${err.stack}`),
);
