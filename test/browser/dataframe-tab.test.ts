// A browser tab computes dataframe partitions: a scheduler serves the Parquet fixtures at /data/, a
// Chromium tab is its only worker, and a frame read over http://…/data/ is filtered, derived and
// grouped in the tab's Web Worker (row groups fetched by byte range with the tab's token; the
// dataframe code, hyparquet and flechette loaded as chunks on its first dataframe task), giving
// what this thread computes from the files.

import assert from "node:assert/strict";
import { test } from "node:test";
import * as dd from "../../node/dataframe.js";
import type { DataRequestInfo } from "../../node/servers/data-server.js";
import { chromiumMissing, tabCluster, tabsJoined } from "../helpers/chromium.js";
import { within } from "../helpers/within.js";
import { columnsOf, fixture } from "../dataframe/helpers.js";

test("a tab, the only worker, reads row groups by byte range and computes filter, assign and groupby", {
  skip: chromiumMissing(),
  timeout: 90_000,
}, async () => {
  const seen: DataRequestInfo[] = [];
  await using c = await tabCluster(0, { serveData: { directory: fixture("trips"), onRequest: (i) => seen.push(i) } });
  const { net, client, chrome } = c;
  const page = await chrome.browser.newPage();
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(String(e)));
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  await page.goto(net.pageUrl);
  await tabsJoined(client);
  assert.deepEqual(
    (await client.workers()).map((w) => w.kind),
    ["browser"],
  );

  const fetched = () =>
    page.workers()[0]!.evaluate(() => performance.getEntriesByType("resource").map((e) => new URL(e.name).pathname));
  const dfChunk = (paths: string[]) => paths.some((p) => /^\/chunks\/kernels-\w+\.js$/.test(p));
  assert.ok(
    !dfChunk(await fetched()),
    "the dataframe code (kernels, hyparquet, flechette) is not loaded before a dataframe task",
  );

  const http = net.address.replace(/^ws/, "http");
  const files = [0, 1, 2].map((i) => `${http}/data/part-${i}.parquet`);
  const query = (df: dd.DataFrame) =>
    df
      .filter((d) => d.distance > 2)
      .assign({ perMile: (d) => d.fare / d.distance })
      .groupby("vendor")
      .agg({ perMile: ["mean", "max"], fare: "sum", zone: "nunique" });
  const remote = await dd.readParquet(files, { columns: ["vendor", "zone", "distance", "fare"] });
  assert.equal(remote.npartitions, 9);
  const inTab = columnsOf(await within(query(remote).compute({ scheduler: client }), 60_000, "computed in the tab"));
  const here = columnsOf(
    await query(
      await dd.readParquet(
        files.map((_, i) => fixture(`trips/part-${i}.parquet`)),
        { columns: ["vendor", "zone", "distance", "fare"] },
      ),
    ).compute({ scheduler: "sync" }),
  );
  assert.deepEqual(inTab, here);
  assert.deepEqual(inTab["vendor"], [1, 2, 3, 4]);

  // Shuffles in the tab: a hash-shuffle join of every how and a sort, as this thread computes them.
  const local = await dd.readParquet(
    files.map((_, i) => fixture(`trips/part-${i}.parquet`)),
    { columns: ["vendor", "zone", "distance", "fare"] },
  );
  // filter(…).len() as the counting scan (one parquet-count task per row group) in the tab.
  assert.equal(
    await within(remote.filter((d) => d.distance > 2).len({ scheduler: client }), 60_000, "a counting scan in the tab"),
    await local.filter((d) => d.distance > 2).len({ scheduler: "sync", fuse: false }),
  );
  const zonesOf = (df: dd.DataFrame) => df.groupby("zone").agg({ fare: "max" });
  for (const how of ["inner", "outer"] as const) {
    const join = (df: dd.DataFrame) =>
      df
        .merge(zonesOf(df), { on: "zone", how, broadcast: false, npartitions: 3 })
        .select(["vendor", "zone", "fare_x", "fare_y"]);
    const tab = columnsOf(
      await within(join(remote).compute({ scheduler: client }), 60_000, `a ${how} shuffle join in the tab`),
    );
    assert.deepEqual(tab, columnsOf(await join(local).compute({ scheduler: "sync" })), how);
  }
  const sortedInTab = await within(
    remote.sortValues(["zone", "fare"], { ascending: [true, false], npartitions: 3, scheduler: client }),
    60_000,
    "sort samples in the tab",
  );
  assert.deepEqual(
    columnsOf(await sortedInTab.compute({ scheduler: client })),
    columnsOf(
      await (
        await local.sortValues(["zone", "fare"], { ascending: [true, false], npartitions: 3, scheduler: "sync" })
      ).compute({ scheduler: "sync" }),
    ),
  );

  // The tab read byte ranges (column chunks and footers), never a whole file, with the tab token.
  const byTab = seen.filter((s) => s.role === "tab");
  assert.ok(byTab.length > 0, JSON.stringify(seen));
  assert.ok(
    byTab.every((s) => s.status === 206),
    `ranges only: ${JSON.stringify(byTab.map((s) => [s.path, s.status]))}`,
  );
  const after = await fetched();
  assert.ok(dfChunk(after), `the dataframe code loaded as a chunk: ${after.join(" ")}`);
  assert.deepEqual(problems, []);
});
