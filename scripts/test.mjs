// Runs every test: node's test runner over test/**/*.test.ts, TypeScript through tsx.
// Usage: node scripts/test.mjs [paths or name filters...]
// Worker threads run the built JavaScript in dist/ (npm test builds first).

import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith(".test.ts")) out.push(relative(root, p));
  }
  return out.sort();
}

const filters = process.argv.slice(2);
const files = find(join(root, "test")).filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(" ")}`);
  process.exit(1);
}
// --expose-gc: tests check that garbage-collected futures release their results.
const args = ["--expose-gc", "--import", "tsx", "--test", "--test-reporter", "spec", ...files];
const r = spawnSync(process.execPath, args, {
  cwd: root,
  stdio: "inherit",
  // MESHWORK_VALIDATE: every scheduler the tests start checks its invariants after each event
  // (src/scheduler/validate.ts); a broken one fails the test (at the cluster's close at the latest).
  env: {
    ...process.env,
    FORCE_COLOR: process.env.CI ? "0" : process.env.FORCE_COLOR,
    MESHWORK_VALIDATE: process.env.MESHWORK_VALIDATE ?? "1",
  },
});
process.exit(r.status ?? 1);
