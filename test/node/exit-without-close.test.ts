// A script that forgets close() exits once nothing is pending: a LocalCluster's threads and links
// and a client's connections do not keep Node alive; what a client waits for does. A cluster kept
// for later still works after idling, and pending futures keep the process alive until they finish.

import assert from "node:assert/strict";
import { test } from "node:test";
import { runNode } from "../helpers/run.js";

test("a script that forgets close() prints its results and exits 0 by itself", async () => {
  const r = await runNode(["--import", "tsx", "test/fixtures/exit/forgets-close.ts"], 30_000);
  assert.equal(r.timedOut, false, `still running after 30 s; output:\n${r.stdout}${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /result \[ 4, 10, 18 \]/);
  assert.match(r.stdout, /workers 2/);
});

test("a cluster kept for later works after idling; a pending future keeps the process alive", async () => {
  const r = await runNode(["--import", "tsx", "test/fixtures/exit/keeps-cluster.ts"], 30_000);
  assert.equal(r.timedOut, false, `still running after 30 s; output:\n${r.stdout}${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /first 2\n[\s\S]*slow done\n[\s\S]*later 40\nbig 200000\nclosed\n/);
  assert.doesNotMatch(r.stderr, /unsettled top-level await/);
});
