// A browser tab reads data itself: a scheduler serves a directory at /data/ (--serve-data), a
// Chromium tab is its only worker, and fromZarr over http://…/data/ computes with every chunk
// fetched by the tab's Web Worker with the tab's token. The io code (zarrita, the codecs) is not
// in the tab's worker script: it loads as chunks from the page server on the first io task.

import assert from "node:assert/strict";
import { test } from "node:test";
import * as mw from "../../node/array.js";
import type { DataRequestInfo } from "../../node/servers/data-server.js";
import { chromiumMissing, tabCluster, tabsJoined } from "../helpers/chromium.js";
import { fixture } from "../io/fixtures.js";
import { within } from "../helpers/within.js";

test("a tab, the only worker, reads its Zarr chunks from the scheduler's /data/ with its token, loading the io code on first use", {
  skip: chromiumMissing(),
  timeout: 90_000,
}, async () => {
  const seen: DataRequestInfo[] = [];
  await using c = await tabCluster(0, { serveData: { directory: fixture("zarr2"), onRequest: (i) => seen.push(i) } });
  const { net, client, chrome } = c;
  const page = await chrome.browser.newPage();
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(String(e)));
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  await page.goto(net.pageUrl);
  const [tab] = await tabsJoined(client);
  assert.deepEqual(
    (await client.workers()).map((w) => w.kind),
    ["browser"],
  );

  // What the tab's Web Worker has fetched, by its own Resource Timing entries.
  const webWorker = page.workers()[0]!;
  const fetched = () =>
    webWorker.evaluate(() => performance.getEntriesByType("resource").map((e) => new URL(e.name).pathname));
  assert.ok(!(await fetched()).some((p) => p.includes("zarr-chunks")), "the io code is not loaded before an io task");

  const http = net.address.replace(/^ws/, "http");
  // blosc_lz4 is decoded by meshwork's own JavaScript; zstd by numcodecs' WebAssembly (another lazy chunk).
  for (const path of ["blosc_lz4", "zstd"]) {
    const x = await mw.fromZarr(`${http}/data/codecs.zarr`, { path });
    assert.equal(x.taskCount, 4);
    const got = (await within(x.compute({ scheduler: client }), 30_000, `${path} computed in the tab`)) as mw.NDArray;
    const expected = (await (
      await mw.fromZarr(fixture("zarr2/codecs.zarr"), { path })
    ).compute({ scheduler: "sync" })) as mw.NDArray;
    assert.deepEqual(got.shape, [40, 30]);
    assert.deepEqual(
      got.contiguous().toTypedArray(),
      expected.contiguous().toTypedArray(),
      `${path}: the values read from the file`,
    );
  }

  // Every chunk was read once, with the tab token (the page link's; never the worker token),
  // and the tab's Web Worker made those requests: they are in its own timeline.
  const chunks = seen.filter((s) => /^codecs\.zarr\/(blosc_lz4|zstd)\/\d\.\d$/.test(s.path));
  assert.equal(chunks.length, 8, JSON.stringify(seen));
  assert.ok(
    chunks.every((s) => s.status === 200 && s.role === "tab" && s.bytes > 0),
    JSON.stringify(chunks),
  );
  const after = await fetched();
  for (const p of ["/data/codecs.zarr/blosc_lz4/0.0", "/data/codecs.zarr/zstd/1.1"])
    assert.ok(after.includes(p), `${p} fetched by the tab: ${after.join(" ")}`);
  assert.ok(
    after.some((p) => /^\/chunks\/zarr-chunks-\w+\.js$/.test(p)),
    `the io chunk loaded: ${after.join(" ")}`,
  );
  assert.ok(
    after.some((p) => /^\/chunks\/zstd-\w+\.js$/.test(p)),
    `the zstd codec loaded: ${after.join(" ")}`,
  );
  assert.equal((await client.workers()).find((w) => w.id === tab!.id)!.kind, "browser");
  assert.deepEqual(problems, []);

  // From the tab: no token or a wrong one is refused; the tab's own token reads.
  // (A string: tsx would wrap a named function in a helper the page does not have.)
  const statuses = await page.evaluate(`(async () => {
    const status = async (token) => (await fetch("/data/codecs.zarr/raw/.zarray", token ? { headers: { authorization: "Bearer " + token } } : {})).status;
    return [await status(), await status("not-the-token"), await status(new URLSearchParams(location.hash.slice(1)).get("token"))];
  })()`);
  assert.deepEqual(statuses, [401, 403, 200]);
});
