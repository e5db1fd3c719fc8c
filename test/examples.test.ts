// The numbered examples run as a user would run them and print what they promise.

import assert from "node:assert/strict";
import { test } from "node:test";
import { runNode } from "./helpers/run.js";

test("examples/01-submit-map-gather runs and prints its results", async () => {
  const r = await runNode(["--import", "tsx", "examples/01-submit-map-gather/main.ts"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /submit\(x => x \+ 1, 10\) → 11/);
  assert.match(r.stdout, /\[ 1, 4, 9, 16, 25 \]/);
  assert.match(r.stdout, /sum of the squares, computed on the cluster → 55/);
  assert.match(r.stdout, /a failing task → RangeError: negative input: -4/);
  assert.match(r.stdout, /worker thread-1 \(thread\)/);
});

test("examples/02-as-completed finds the minimum while keeping 8 evaluations in flight", async () => {
  const r = await runNode(["--import", "tsx", "examples/02-as-completed/main.ts"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /400 evaluations, 8 in flight/);
  const m = /best point: \(([-\d.]+), ([-\d.]+)\)/.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.ok(Math.abs(Number(m[1]) - 3) < 0.05 && Math.abs(Number(m[2]) + 2) < 0.05, `converged near (3, -2): ${m[0]}`);
});
