// Task modules on browser tabs: upload builds a module for Node and for browsers, and a tab imports
// the browser build (packages' browser builds, no Node banner). A module that imports Node's
// built-ins runs on Node workers only; with only tabs, its tasks say so and fail after their
// noWorkerTimeout instead of hanging or failing on the tab.

import assert from "node:assert/strict";
import { test } from "node:test";
import { delayed, NoWorkerError, type Client } from "../../node/index.js";
import { fromArray, type NDArray } from "../../node/array.js";
import { fromArrow } from "../../node/dataframe.js";
import { tableFromArrays } from "@uwdata/flechette";
import { chromiumMissing, tabCluster, tabsJoined } from "../helpers/chromium.js";
import { within } from "../helpers/within.js";

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url);
const FS_PATH = fixture("ops-fs.ts").pathname;
const FS_FIRST_LINE = "// A task module that needs Node: it imports node:fs, so it has no browser build, and its tasks";

/** Opens the worker page in a tab; collects its errors and console. */
async function openTab(c: Awaited<ReturnType<typeof tabCluster>>, problems: string[], said: string[]): Promise<void> {
  const page = await c.chrome.browser.newPage();
  page.on("pageerror", (e) => problems.push(String(e)));
  page.on("console", (m) => (m.type() === "error" ? problems : said).push(m.text()));
  await page.goto(c.net.pageUrl);
}

test("with only a tab, an uploaded module importing an npm package runs there (submit, map, delayed, mapBlocks, mapPartitions); one importing node:fs says it needs Node and fails after noWorkerTimeout", {
  skip: chromiumMissing(),
  timeout: 90_000,
}, async () => {
  await using c = await tabCluster(0);
  const client: Client = c.client;
  const problems: string[] = [];
  const said: string[] = [];
  await openTab(c, problems, said);
  await tabsJoined(client, 1);
  assert.equal((await client.workers()).length, 1);

  const gz = await client.upload<typeof import("../fixtures/ops-gzip.js")>(fixture("ops-gzip.ts"));
  assert.equal(gz.LEVEL, "gzip-6"); // a non-function export is its value
  const text = "meshwork ".repeat(200);
  const r = await within(client.submit(gz.roundTrip, text).result(), 20_000, "roundTrip on the tab", said);
  assert.deepEqual([r.text, r.platform], [text, "browser"]);
  assert.ok(r.gzipped < text.length / 10, `gzipped ${r.gzipped} bytes`);
  const clamped = await within(
    client.gather(client.map(gz.clampAll, [new Float64Array([-1, 5, 20]), new Float64Array([30])], [10, 25])),
    20_000,
    "map on the tab",
    said,
  );
  assert.deepEqual(
    clamped.map((a) => [...a]),
    [[0, 5, 10], [25]],
  );
  const chained = delayed(gz.clampAll)(delayed(gz.clampAll)(new Float64Array([-5, 50]), 40), 30);
  assert.deepEqual(
    [...(await within(chained.compute({ scheduler: client }), 20_000, "delayed on the tab", said))],
    [0, 30],
  );
  const ops = await client.upload<typeof import("../fixtures/ops.js")>(fixture("ops.ts"));
  const doubled = (await within(
    fromArray(new Float64Array([1, 2, 3, 4]), { chunks: 2 })
      .mapBlocks(ops.doubleBlock)
      .compute({ scheduler: client }),
    20_000,
    "mapBlocks on the tab",
    said,
  )) as NDArray;
  assert.deepEqual(doubled.toArray(), [2, 4, 6, 8]);
  const frame = fromArrow(tableFromArrays({ fare: new Float64Array([1, 2, 3]) }), { npartitions: 2 }).mapPartitions(
    ops.scaleColumn,
    { args: ["fare", 10], meta: { fare: "float64" } },
  );
  const scaled = await within(frame.compute({ scheduler: client }), 20_000, "mapPartitions on the tab", said);
  assert.deepEqual([...(scaled.getChild("fare")!.toArray() as Float64Array)], [10, 20, 30]);

  // node:fs: the tab never gets the task; the client hears why at once, and NoWorkerError after the timeout.
  const fsOps = await client.upload<typeof import("../fixtures/ops-fs.js")>(fixture("ops-fs.ts"));
  const heard: string[] = [];
  const stop = client.on("no-worker", (e) => heard.push(e.reason));
  const started = Date.now();
  await assert.rejects(
    within(
      client.with({ noWorkerTimeout: 1_500 }).submit(fsOps.firstLine, FS_PATH).result(),
      20_000,
      "the Node-only task",
    ),
    (e: unknown) =>
      e instanceof NoWorkerError &&
      /runs on Node workers only \(its task module needs Node: it imports Node's built-in node:fs \(ops-fs\.ts:3\)\), and the workers that may take it are browser tabs \(tab-/.test(
        e.message,
      ),
  );
  assert.ok(Date.now() - started >= 1_400, "waited for its noWorkerTimeout");
  stop();
  assert.equal(heard.length, 1);
  assert.match(heard[0]!, /runs on Node workers only .*node:fs/);
  assert.deepEqual(problems, []);
});

test("with a tab and a Node worker, tasks of a module importing node:fs all run on the Node worker, while the tab runs the browser build of another", {
  skip: chromiumMissing(),
  timeout: 90_000,
}, async () => {
  await using c = await tabCluster(1);
  const client: Client = c.client;
  const problems: string[] = [];
  const said: string[] = [];
  await openTab(c, problems, said);
  const [tab] = await tabsJoined(client, 1);
  assert.ok((await client.workers()).some((w) => w.kind === "node"));

  const fsOps = await client.upload<typeof import("../fixtures/ops-fs.js")>(fixture("ops-fs.ts"));
  const gz = await client.upload<typeof import("../fixtures/ops-gzip.js")>(fixture("ops-gzip.ts"));
  // Twelve at once: by load alone, the idle tab would take half of them, and there each would fail
  // (PlatformError): that all twelve give the line says none ran there.
  const lines = client.with({ pure: false }).map(
    fsOps.firstLine,
    Array.from({ length: 12 }, () => FS_PATH),
  );
  assert.deepEqual(
    await within(client.gather(lines), 20_000, "node:fs tasks", said),
    Array.from({ length: 12 }, () => FS_FIRST_LINE),
  );
  const onTab = await within(
    client.with({ workers: tab!.id }).submit(gz.roundTrip, "tab").result(),
    20_000,
    "roundTrip on the tab",
    said,
  );
  assert.deepEqual([onTab.text, onTab.platform], ["tab", "browser"]);
  assert.deepEqual(problems, []);
});
