// progress() never keeps a process alive (its timer is unref'd), writes lines to stderr when it
// is not a terminal, and nothing when CI is set: a script run as a user runs it.

import assert from "node:assert/strict";
import { test } from "node:test";
import { runNode } from "../helpers/run.js";

const script = ["--import", "tsx", "test/fixtures/exit/progress.ts"];

test("a script with progress bars exits by itself, a bar on a never-settling promise included; lines go to stderr", async () => {
  const r = await runNode(script, 30_000, { CI: "" });
  assert.equal(r.timedOut, false, `still running after 30 s; output:\n${r.stdout}${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^map 200\nsum 20000\nclosed\n$/);
  assert.match(r.stderr, /^progress: 200 \/ 200 tasks \(100%\), in /m);
  assert.match(r.stderr, /^progress: (\d+) \/ \1 tasks \(100%\), in /m);
  assert.doesNotMatch(r.stderr, /\r|\x1b\[/, "no terminal codes in a pipe");
});

test("CI set: the same script draws nothing", async () => {
  const r = await runNode(script, 30_000, { CI: "true" });
  assert.equal(r.timedOut, false, `still running after 30 s; output:\n${r.stdout}${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /closed\n$/);
  assert.doesNotMatch(r.stderr, /progress/);
});
