// Builds dist/: every .ts under src/, node/ and browser/ transpiled file by file with esbuild
// (same layout, so relative imports keep working), then type declarations with tsc.
// Usage: node scripts/build.mjs [--no-types] [--sizes]

import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { readdirSync, rmSync, statSync, chmodSync, existsSync, copyFileSync } from "node:fs";
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
// The worker page the scheduler serves (node/page-server.ts): two browser bundles and static files.
// Split: what is imported dynamically (the io readers, zarrita, numcodecs' WebAssembly codecs:
// megabytes) becomes chunks a tab loads on its first io task, and code both entries use is one
// chunk; the page server serves dist/page/chunks/.
const page = await build({
  absWorkingDir: root,
  entryPoints: { page: "browser/page/page.ts", worker: "browser/page/worker.ts" },
  outdir: "dist/page",
  bundle: true,
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  metafile: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  sourcemap: "linked",
  logLevel: "warning",
});
if (process.argv.includes("--sizes")) {
  // What a tab loads to join (worker.js and the chunks it imports statically), and what it loads later.
  const outputs = page.metafile.outputs;
  const eager = new Set();
  const visit = (out) => {
    if (eager.has(out)) return;
    eager.add(out);
    for (const i of outputs[out].imports) if (i.kind === "import-statement" && outputs[i.path]) visit(i.path);
  };
  visit("dist/page/worker.js");
  const kB = (files) => `${(files.reduce((s, f) => s + outputs[f].bytes, 0) / 1000).toFixed(0)} kB`;
  const js = Object.keys(outputs).filter((f) => f.endsWith(".js"));
  console.log(`the tab's worker: ${kB([...eager])} to join (${[...eager].join(", ")}); ${kB(js.filter((f) => !eager.has(f) && f !== "dist/page/page.js"))} loaded when first needed`);
}
for (const f of ["index.html", "page.css"]) copyFileSync(join(root, "browser/page", f), join(root, "dist/page", f));
// The dashboard (node/dashboard-server.ts serves it under /dashboard): one small bundle, no dependencies.
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
for (const f of ["index.html", "dashboard.css"]) copyFileSync(join(root, "browser/dashboard", f), join(root, "dist/dashboard", f));
const cli = join(root, "dist/node/cli.js");
if (existsSync(cli)) chmodSync(cli, 0o755);

if (!process.argv.includes("--no-types")) {
  const tsc = join(root, "node_modules/typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], { stdio: "inherit" });
}
console.log(`built ${entryPoints.length} files into dist/ in ${Math.round(performance.now() - started)} ms`);
