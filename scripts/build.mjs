// Builds dist/: every .ts under src/, node/ and browser/ transpiled file by file with esbuild
// (same layout, so relative imports keep working), then type declarations with tsc.
// Usage: node scripts/build.mjs [--no-types]

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
// The Web Worker's is split into chunks: what it imports lazily (the io readers, with zarrita, numcodecs and
// h5wasm's ~6 MB) loads from dist/page/chunks/ on a tab's first task that needs it.
const pageBuild = { absWorkingDir: root, outdir: "dist/page", bundle: true, format: "esm", platform: "browser", target: "es2022", sourcemap: "linked", logLevel: "warning" };
await build({ ...pageBuild, entryPoints: { page: "browser/page/page.ts" } });
await build({ ...pageBuild, entryPoints: { worker: "browser/page/worker.ts" }, splitting: true, chunkNames: "chunks/[name]-[hash]" });
for (const f of ["index.html", "page.css"]) copyFileSync(join(root, "browser/page", f), join(root, "dist/page", f));
const cli = join(root, "dist/node/cli.js");
if (existsSync(cli)) chmodSync(cli, 0o755);

if (!process.argv.includes("--no-types")) {
  const tsc = join(root, "node_modules/typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], { stdio: "inherit" });
}
console.log(`built ${entryPoints.length} files into dist/ in ${Math.round(performance.now() - started)} ms`);
