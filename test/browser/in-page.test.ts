// The isomorphic core runs in a real browser: Debian's Chromium loads meshwork's browser entry and
// runs a scheduler, two workers and a client in one page (no Node globals there to lean on).

import assert from "node:assert/strict";
import { test } from "node:test";
import { build } from "esbuild";
import { chromiumMissing, launchChromium, serveFiles } from "../helpers/chromium.js";

test("scheduler, workers and client run in a Chromium page through the browser entry", { skip: chromiumMissing() }, async () => {
  const bundle = await build({
    entryPoints: [new URL("./page-cluster.ts", import.meta.url).pathname],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  await using server = await serveFiles({
    "/": ["text/html", `<!doctype html><meta charset="utf-8"><script type="module" src="/page.js"></script>`],
    "/page.js": ["text/javascript", bundle.outputFiles[0]!.text],
  });
  await using chrome = await launchChromium();
  const page = await chrome.browser.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  await page.goto(server.url);
  await page.waitForFunction("window.__result || window.__error", { timeout: 30_000 });
  const error = await page.evaluate("window.__error");
  assert.equal(error, undefined, String(error));
  const r = (await page.evaluate("window.__result")) as Record<string, unknown>;
  assert.deepEqual(pageErrors, []);
  assert.equal(r.hasBuffer, "undefined", "a real browser page: no Node Buffer");
  assert.equal(r.hasProcess, "undefined");
  assert.equal(r.inc, 42);
  assert.deepEqual(r.squares, [1, 4, 9]);
  assert.equal(r.sum, 4);
  assert.equal(r.chained, 20);
  assert.equal(r.workers, 2);
  assert.equal(r.error, "TypeError: TypeError: thrown in a page worker");
  assert.equal(r.resolved, `${server.url}/data/air.zarr/`, "a relative store path resolves against the page's URL");
});
