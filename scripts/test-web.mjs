// Runs the browser units (test/web/*.web.ts) with web-test-runner in Debian's Chromium; see
// web-test-runner.config.mjs. Like the Node browser tests: without Chromium they are skipped
// locally and fail in CI (CI=true). Arguments go to web-test-runner.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CHROMIUM } from "./chromium.mjs";

if (!existsSync(CHROMIUM)) {
  const why = `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
  if (process.env.CI) {
    console.error(`browser units: ${why}; CI must run them`);
    process.exit(1);
  }
  console.log(`browser units skipped: ${why}`);
  process.exit(0);
}
const root = new URL("..", import.meta.url).pathname;
const bin = join(root, "node_modules/@web/test-runner/dist/bin.js"); // its package exports no bin path
const r = spawnSync(process.execPath, [bin, ...process.argv.slice(2)], { cwd: root, stdio: "inherit" });
process.exit(r.status ?? 1);
