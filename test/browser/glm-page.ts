// Runs in a Chromium page (bundled by glm-in-page.test.ts): meshwork/glm imported by its package
// name, so the "browser" export condition picks dist/browser/glm.js, fitted in the page's thread
// and on a scheduler with two workers in the page. Reports the fits on window.

import { Client, Scheduler, Worker } from "meshwork";
import * as mw from "meshwork/array";
import { LogisticRegression } from "meshwork/glm";
import { glmPageData } from "./glm-page-data.js";

async function run(): Promise<Record<string, unknown>> {
  const { X, y } = glmPageData();
  const options = { regularizer: "l2", lambda: 2, tol: 1e-10 } as const;
  const here = await new LogisticRegression({ ...options, scheduler: "sync" }).fit(
    mw.fromArray(X, { chunks: [37, -1] }),
    y,
  );
  const scheduler = await Scheduler.start({ address: "inproc://glm-page" });
  const workers = await Promise.all(
    [1, 2].map((i) => Worker.start({ scheduler: scheduler.address, name: `glm-${i}` })),
  );
  const client = await Client.connect(scheduler.address);
  const there = await new LogisticRegression({ ...options, scheduler: client }).fit(
    mw.fromArray(X, { chunks: [37, -1] }),
    y,
  );
  const accuracy = await there.score(X, y);
  await client.close();
  for (const w of workers) await w.close();
  await scheduler.close();
  return {
    here: [...here.coef, here.intercept],
    there: [...there.coef, there.intercept],
    converged: here.converged && there.converged,
    accuracy,
    hasProcess: typeof (globalThis as { process?: unknown }).process,
  };
}

run().then(
  (r) => ((window as unknown as { __result: unknown }).__result = r),
  (e: unknown) =>
    ((window as unknown as { __error: unknown }).__error =
      e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)),
);
