// Builds dist/: every .ts under src/, node/ and browser/ transpiled file by file with esbuild
// (same layout, so relative imports keep working), the browser bundles (the worker page; the
// browser client, dist/page/meshwork.js), then type declarations with tsc.
// Usage: node scripts/build.mjs [--no-types] [--sizes]

import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, statSync, chmodSync, existsSync, copyFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const dirs = ["src", "node", "browser"];

function tsFiles(dir) {
  const out = [];
  if (!existsSync(join(root, dir))) return out;
  for (const name of readdirSync(join(root, dir))) {
    const rel = join(dir, name);
    if (statSync(join(root, rel)).isDirectory()) out.push(...tsFiles(rel));
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(rel);
  }
  return out;
}

const started = performance.now();
rmSync(join(root, "dist"), { recursive: true, force: true });
const entryPoints = dirs.flatMap(tsFiles);
await build({
  absWorkingDir: root,
  entryPoints,
  outdir: "dist",
  outbase: ".",
  format: "esm",
  platform: "neutral",
  target: "es2022",
  sourcemap: "linked",
  logLevel: "warning",
});
// The worker page the scheduler serves (node/servers/page-server.ts): two browser bundles and static files,
// and the browser-client bundle (browser/bundle.ts: dist/page/meshwork.js, which the scheduler
// serves at /meshwork.js and the package exports as "meshwork/browser-bundle"), in one build.
// Split: what is imported dynamically (the io readers, zarrita, numcodecs' WebAssembly codecs:
// megabytes) becomes chunks loaded on first use, and code the entries share is shared chunks (one
// copy of each in the package); the page server serves dist/page/chunks/. Minified but for names,
// so that stacks from tabs and pages stay readable (full minifying saves another 13% gzipped).
const page = await build({
  absWorkingDir: root,
  entryPoints: { page: "browser/page/page.ts", worker: "browser/page/worker.ts", meshwork: "browser/bundle.ts" },
  outdir: "dist/page",
  bundle: true,
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  metafile: true,
  minifyWhitespace: true,
  minifySyntax: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  sourcemap: "linked",
  logLevel: "warning",
});
/** The files `entry` loads before it runs (itself and its static imports, transitively), or with `later`, ever. */
function eagerFiles(entry, later = false) {
  const outputs = page.metafile.outputs;
  const eager = new Set();
  const visit = (out) => {
    if (eager.has(out)) return;
    eager.add(out);
    for (const i of outputs[out].imports)
      if ((later || i.kind === "import-statement") && outputs[i.path]) visit(i.path);
  };
  visit(entry);
  return eager;
}
if (process.argv.includes("--sizes")) {
  // What a tab loads to join (worker.js and the chunks it imports statically), and what it loads later.
  const outputs = page.metafile.outputs;
  const eager = eagerFiles("dist/page/worker.js");
  const kB = (files) => `${(files.reduce((s, f) => s + outputs[f].bytes, 0) / 1000).toFixed(0)} kB`;
  const later = [...eagerFiles("dist/page/worker.js", true)].filter((f) => !eager.has(f));
  console.log(
    `the tab's worker: ${kB([...eager])} to join (${[...eager].join(", ")}); ${kB(later)} loaded when first needed`,
  );
}
for (const f of ["index.html", "page.css"]) copyFileSync(join(root, "browser/page", f), join(root, "dist/page", f));
// What a page using the browser client loads before it runs.
const clientSize = (() => {
  const eager = [...eagerFiles("dist/page/meshwork.js")];
  const bytes = eager.reduce((s, f) => s + page.metafile.outputs[f].bytes, 0);
  const gzipped = eager.reduce((s, f) => s + gzipSync(readFileSync(join(root, f))).byteLength, 0);
  return `${(bytes / 1000).toFixed(0)} kB to load (${(gzipped / 1000).toFixed(0)} kB gzipped, ${eager.length} files)`;
})();
// The dashboard (node/servers/dashboard-server.ts serves it under /dashboard): one small bundle, no dependencies.
await build({
  absWorkingDir: root,
  entryPoints: { dashboard: "browser/dashboard/dashboard.ts" },
  outdir: "dist/dashboard",
  bundle: true,
  minify: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  sourcemap: "linked",
  logLevel: "warning",
});
for (const f of ["index.html", "dashboard.css"])
  copyFileSync(join(root, "browser/dashboard", f), join(root, "dist/dashboard", f));
const cli = join(root, "dist/node/cli.js");
if (existsSync(cli)) chmodSync(cli, 0o755);

if (!process.argv.includes("--no-types")) {
  const tsc = join(root, "node_modules/typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], { stdio: "inherit" });
}
console.log(
  `built ${entryPoints.length} files into dist/ in ${Math.round(performance.now() - started)} ms; the browser-client bundle dist/page/meshwork.js: ${clientSize}`,
);
