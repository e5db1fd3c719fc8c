// meshwork/glm in a real browser: a page imports it by its package name (the "browser" export
// condition), fits a logistic regression in the page's thread and on an in-page cluster, and gets
// the coefficients Node gets for the same data.

import assert from "node:assert/strict";
import { test } from "node:test";
import * as mw from "../../node/array.js";
import { LogisticRegression } from "../../node/glm.js";
import { bundleForBrowser, chromiumMissing, runModulePage } from "../helpers/chromium.js";
import { glmPageData } from "./glm-page-data.js";

test("meshwork/glm resolves to the browser build and fits in a Chromium page, in the page and on an in-page cluster, as in Node", {
  skip: chromiumMissing(),
}, async () => {
  const bundle = await bundleForBrowser(new URL("./glm-page.ts", import.meta.url), { metafile: true });
  const inputs = Object.keys(bundle.metafile!.inputs);
  assert.ok(
    inputs.includes("dist/browser/glm.js"),
    `"meshwork/glm" resolves to dist/browser/glm.js: ${inputs.filter((f) => f.includes("glm")).join(", ")}`,
  );
  assert.ok(!inputs.some((f) => f.startsWith("dist/node/")), "nothing from the Node build");
  const { error, result, pageErrors } = await runModulePage(bundle.outputFiles[0]!.text, 60_000);
  assert.equal(error, undefined, String(error));
  const r = result as { here: number[]; there: number[]; converged: boolean; accuracy: number; hasProcess: string };
  assert.deepEqual(pageErrors, []);
  assert.equal(r.hasProcess, "undefined", "a real browser page");
  assert.ok(r.converged);

  const { X, y } = glmPageData();
  const node = await new LogisticRegression({ regularizer: "l2", lambda: 2, tol: 1e-10, scheduler: "sync" }).fit(
    mw.fromArray(X, { chunks: [37, -1] }),
    y,
  );
  const want = [...node.coef, node.intercept];
  for (const got of [r.here, r.there]) {
    assert.equal(got.length, 4);
    got.forEach((v, j) =>
      assert.ok(
        Math.abs(v - want[j]!) <= 1e-9 * Math.max(1, Math.abs(want[j]!)),
        `coefficient ${j}: ${v} in the page, ${want[j]} in Node`,
      ),
    );
  }
  assert.equal(r.accuracy, await node.score(X, y));
});
