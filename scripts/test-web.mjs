// Runs the browser units (test/web/*.web.ts) with web-test-runner in Debian's Chromium; see
// web-test-runner.config.mjs. Like the Node browser tests: without Chromium they are skipped
// locally and fail in CI (CI=true). Arguments go to web-test-runner.

import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { chromiumMissing } from "./chromium.mjs";

const missing = chromiumMissing(); // throws in CI
if (missing) {
  console.log(`browser units skipped: ${missing}`);
  process.exit(0);
}
const root = new URL("..", import.meta.url).pathname;
const bin = join(root, "node_modules/@web/test-runner/dist/bin.js"); // its package exports no bin path
const r = spawnSync(process.execPath, [bin, ...process.argv.slice(2)], { cwd: root, stdio: "inherit" });
process.exit(r.status ?? 1);
