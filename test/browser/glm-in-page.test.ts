// meshwork/glm in a real browser: a page imports it by its package name (the "browser" export
// condition), fits a logistic regression in the page's thread and on an in-page cluster, and gets
// the coefficients Node gets for the same data.

import assert from "node:assert/strict";
import { test } from "node:test";
import { build } from "esbuild";
import * as mw from "../../node/array.js";
import { LogisticRegression } from "../../node/glm.js";
import { chromiumMissing, launchChromium, serveFiles } from "../helpers/chromium.js";
import { glmPageData } from "./glm-page-data.js";

test("meshwork/glm resolves to the browser build and fits in a Chromium page, in the page and on an in-page cluster, as in Node", { skip: chromiumMissing() }, async () => {
  const bundle = await build({
    entryPoints: [new URL("./glm-page.ts", import.meta.url).pathname],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const inputs = Object.keys(bundle.metafile.inputs);
  assert.ok(inputs.includes("dist/browser/glm.js"), `"meshwork/glm" resolves to dist/browser/glm.js: ${inputs.filter((f) => f.includes("glm")).join(", ")}`);
  assert.ok(!inputs.some((f) => f.startsWith("dist/node/")), "nothing from the Node build");
  await using server = await serveFiles({
    "/": ["text/html", `<!doctype html><meta charset="utf-8"><script type="module" src="/page.js"></script>`],
    "/page.js": ["text/javascript", bundle.outputFiles[0]!.text],
  });
  await using chrome = await launchChromium();
  const page = await chrome.browser.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  await page.goto(server.url);
  await page.waitForFunction("window.__result || window.__error", { timeout: 60_000 });
  const error = await page.evaluate("window.__error");
  assert.equal(error, undefined, String(error));
  const r = (await page.evaluate("window.__result")) as { here: number[]; there: number[]; converged: boolean; accuracy: number; hasProcess: string };
  assert.deepEqual(pageErrors, []);
  assert.equal(r.hasProcess, "undefined", "a real browser page");
  assert.ok(r.converged);

  const { X, y } = glmPageData();
  const node = await new LogisticRegression({ regularizer: "l2", lambda: 2, tol: 1e-10, scheduler: "sync" }).fit(mw.fromArray(X, { chunks: [37, -1] }), y);
  const want = [...node.coef, node.intercept];
  for (const got of [r.here, r.there]) {
    assert.equal(got.length, 4);
    got.forEach((v, j) => assert.ok(Math.abs(v - want[j]!) <= 1e-9 * Math.max(1, Math.abs(want[j]!)), `coefficient ${j}: ${v} in the page, ${want[j]} in Node`));
  }
  assert.equal(r.accuracy, await node.score(X, y));
});
