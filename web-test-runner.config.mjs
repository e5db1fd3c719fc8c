// web-test-runner: the browser units (test/web/*.web.ts) in Debian's Chromium.
//
// Each file is bundled with esbuild first, with node:test and node:assert/strict mapped to small
// shims (test/web/shims: mocha underneath, deep-eql for deep equality), so suites written for
// node:test, like the transport conformance suite, run unchanged in the page. Any other node:
// import fails the bundle: what runs here must not need Node.
//
// Run: npm run test:web (npm test runs it after the Node tests; scripts/test-web.mjs).

import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { defaultReporter, summaryReporter } from "@web/test-runner";
import { chromeLauncher } from "@web/test-runner-chrome";
import { CHROMIUM, CHROMIUM_FLAGS } from "./scripts/chromium.mjs";

const root = new URL(".", import.meta.url).pathname;
const out = join(root, ".web-tests");
const shims = {
  "node:test": "test/web/shims/node-test.ts",
  "node:assert/strict": "test/web/shims/node-assert.ts",
  "node:assert": "test/web/shims/node-assert.ts",
};

const entries = readdirSync(join(root, "test/web")).filter((f) => f.endsWith(".web.ts"));
rmSync(out, { recursive: true, force: true });
// Web Workers the units start (test/web/workers/*.ts) are bundled beside them, into .web-tests/workers/.
const workers = readdirSync(join(root, "test/web/workers")).filter((f) => f.endsWith(".ts"));
await build({
  entryPoints: [
    ...entries.map((f) => join(root, "test/web", f)),
    ...workers.map((f) => join(root, "test/web/workers", f)),
  ],
  outdir: out,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022", // `await using` is lowered
  sourcemap: "inline",
  logLevel: "warning",
  plugins: [
    {
      name: "node-shims",
      setup(b) {
        b.onResolve({ filter: /^node:/ }, ({ path, importer }) => {
          const shim = shims[path];
          if (shim) return { path: join(root, shim) };
          return {
            errors: [{ text: `${path} is imported by ${importer}, but browser units cannot use Node modules` }],
          };
        });
      },
    },
  ],
});

export default {
  rootDir: root,
  files: entries.map((f) => join(out, f.replace(/\.ts$/, ".js"))),
  nodeResolve: false,
  concurrency: 1,
  testFramework: { config: { timeout: 30_000 } },
  reporters: [defaultReporter(), summaryReporter()], // every test by name, as node:test's spec reporter
  browsers: [chromeLauncher({ launchOptions: { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS } })],
};
