// The isomorphic core runs in a real browser: Debian's Chromium loads meshwork's browser entry and
// runs a scheduler, two workers and a client in one page (no Node globals there to lean on).

import assert from "node:assert/strict";
import { test } from "node:test";
import { bundleForBrowser, chromiumMissing, runModulePage } from "../helpers/chromium.js";

test("scheduler, workers and client run in a Chromium page through the browser entry", {
  skip: chromiumMissing(),
}, async () => {
  const bundle = await bundleForBrowser(new URL("./page-cluster.ts", import.meta.url));
  const { url, error, result, pageErrors } = await runModulePage(bundle.outputFiles[0]!.text, 30_000);
  assert.equal(error, undefined, String(error));
  const r = result as Record<string, unknown>;
  assert.deepEqual(pageErrors, []);
  assert.equal(r.hasBuffer, "undefined", "a real browser page: no Node Buffer");
  assert.equal(r.hasProcess, "undefined");
  assert.equal(r.inc, 42);
  assert.deepEqual(r.squares, [1, 4, 9]);
  assert.equal(r.sum, 4);
  assert.equal(r.chained, 20);
  assert.equal(r.workers, 2);
  assert.deepEqual(
    r.kinds,
    ["browser", "browser"],
    "a Worker started from the browser entry says it runs on a browser (it gets modules' browser builds)",
  );
  assert.equal(r.error, "TypeError: TypeError: thrown in a page worker");
  assert.equal(r.resolved, `${url}/data/air.zarr/`, "a relative store path resolves against the page's URL");
  assert.equal(r.progressSync, 10);
  assert.match(
    r.progressText as string,
    /progress: 5 \/ 5 tasks \(100%\), in [^\n]+\n(?:[^\n]*\n)*progress: 3 \/ 3 tasks \(100%\), in [^\n]+\n$/,
  );
});
