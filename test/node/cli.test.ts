// The `meshwork` command: demo (what `npm start` runs), help, and errors for misuse.

import assert from "node:assert/strict";
import { test } from "node:test";
import { startNode } from "../helpers/process.js";
import { runNode } from "../helpers/run.js";

const CLI = "dist/node/cli.js";

test("meshwork demo runs every step on a local cluster, closes it and exits 0", async () => {
  const r = await runNode([CLI, "demo"], 60_000, { CI: "" });
  assert.equal(r.code, 0, r.stderr);
  // progress() on the long steps: a line per few seconds in a pipe, and the last counts.
  assert.match(r.stdout, /with progress\(futures\)\nprogress: 10,000 \/ 10,000 tasks \(100%\), in /);
  assert.match(r.stdout, /progress: (\d+) \/ \1 tasks \(100%\), in [^\n]+\n {2}y\.compute\(\) → /);
  assert.match(r.stdout, /2 worker threads in this process/);
  assert.match(r.stdout, /submit\(x => x \+ 1, 41\) → 42/);
  assert.match(r.stdout, /sum of results 50005000 \(expected 50005000\)/);
  assert.match(r.stdout, /last result 1000/);
  const best = /best x = ([\d.-]+)/.exec(r.stdout);
  assert.ok(best && Math.abs(Number(best[1]) - 3.7) < 0.05, `the search's best x: ${best?.[1]}`);
  assert.match(r.stdout, /SyntaxError:/);
  assert.match(r.stdout, /y = mw\.Array<sum, shape=\[\], dtype=float64/);
  const y = /y\.compute\(\) → ([\d.]+)/.exec(r.stdout);
  assert.ok(y && Math.abs(Number(y[1]) - 4000) < 5, `the array step's answer: ${y?.[1]}`);
  assert.match(r.stdout, /total\(square\(1\), …, square\(10\)\) → 385 \(11 tasks\)/);
  assert.match(r.stdout, /browser tabs: open http:\/\/127\.0\.0\.1:\d+\/#token=[0-9a-f]+ to lend a tab/);
  assert.match(r.stdout, /dashboard: open http:\/\/127\.0\.0\.1:\d+\/dashboard#token=[0-9a-f]+ to watch it work/);
  assert.match(r.stdout, /not waiting for browser tabs: not a terminal/);
  assert.match(r.stdout, /closed the cluster/);
});

test("meshwork demo --serve keeps computing and serving the worker page until SIGINT", async () => {
  await using proc = startNode([CLI, "demo", "--serve"]);
  const [, link] = await proc.waitFor(/8\. the worker page: open (http:\S+)/, 60_000);
  const page = await fetch(link!);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /meshwork worker/);
  await proc.waitFor(/π ≈ 3\.1\d+ from/, 30_000);
  proc.child.kill("SIGINT");
  assert.equal(await proc.exited, 0);
  assert.match(proc.output(), /stopping\.[\s\S]*closed the cluster/);
});

test("meshwork --help and --version", async () => {
  const help = await runNode([CLI, "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /meshwork demo/);
  const version = await runNode([CLI, "--version"]);
  assert.match(version.stdout, /^\d+\.\d+\.\d+/);
});

test("an unknown command or a bad option exits 2 with a message saying what is wrong", async () => {
  const unknown = await runNode([CLI, "frobnicate"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
  const bad = await runNode([CLI, "demo", "--workers", "zero"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--workers must be a whole number/);
  const unknownFlag = await runNode([CLI, "demo", "--wrokers", "2"]);
  assert.equal(unknownFlag.code, 2);
});
