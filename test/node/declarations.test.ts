// The published declarations compile in a user's fresh project: `tsc --init` as it comes, plus
// `@types/node` (and the `lib`/`types` lines its own comment suggests for Node) for the Node entry,
// and with no Node types at all for the browser entry (the "browser" export condition). The package
// is laid out as npm installs it: its package.json and the .d.ts files under node_modules/meshwork,
// its dependencies beside it; nothing reaches the repository's own node_modules.

import assert from "node:assert/strict";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { test } from "node:test";
import { runNode } from "../helpers/run.js";

const root = new URL("../../", import.meta.url).pathname;
const tsc = join(root, "node_modules/typescript/bin/tsc");

function files(dir: string, keep: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p, keep));
    else if (keep(name)) out.push(p);
  }
  return out;
}

/** Where the declarations are: dist/ when `npm run build` made them after the last source change, else made now into `scratch`. */
async function declarations(scratch: string): Promise<string> {
  const newestSource = Math.max(
    ...["src", "node", "browser"].flatMap((d) =>
      files(join(root, d), (n) => n.endsWith(".ts")).map((f) => statSync(f).mtimeMs),
    ),
  );
  const index = join(root, "dist/node/index.d.ts");
  let fresh = false;
  try {
    fresh = statSync(index).mtimeMs >= newestSource;
  } catch {
    // Built with --no-types: no declarations in dist/.
  }
  if (fresh) return join(root, "dist");
  const out = join(scratch, "declarations");
  const r = await runNode([tsc, "-p", "tsconfig.build.json", "--outDir", out], 180_000);
  assert.equal(r.code, 0, `emitting the declarations failed:\n${r.stdout}${r.stderr}`);
  return out;
}

/** A fresh project in `dir` with meshwork installed (declarations only) and `extra` packages beside it. */
function project(dir: string, dist: string, extra: string[]): void {
  const pkg = join(dir, "node_modules/meshwork");
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
  };
  mkdirSync(pkg, { recursive: true });
  cpSync(join(root, "package.json"), join(pkg, "package.json"));
  for (const f of files(dist, (n) => n.endsWith(".d.ts"))) {
    const to = join(pkg, "dist", relative(dist, f));
    mkdirSync(dirname(to), { recursive: true });
    cpSync(f, to);
  }
  for (const dep of [...Object.keys(manifest.dependencies), ...extra]) {
    const to = join(dir, "node_modules", dep);
    mkdirSync(dirname(to), { recursive: true });
    symlinkSync(join(root, "node_modules", dep), to, "dir");
  }
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "fresh", private: true, type: "module" }));
}

function runTsc(dir: string, args: string[]) {
  return runNode([tsc, ...args], 120_000, {}, dir);
}

/** tsconfig.json as `tsc --init` wrote it, with `edit` applied to the lines of its compilerOptions. */
function editConfig(dir: string, edit: (text: string) => string): void {
  const p = join(dir, "tsconfig.json");
  writeFileSync(p, edit(readFileSync(p, "utf8")));
}

// What a user writes first: each entry imported, a cluster, a future, arrays typed as numbers.
const NODE_MAIN = `
import { Client, LocalCluster, delayed, type Future } from "meshwork";
import * as mw from "meshwork/array";
import { openDataset } from "meshwork/xarray";
import * as dd from "meshwork/dataframe";
import { LogisticRegression } from "meshwork/glm";

const cluster = await LocalCluster.start({ workers: 1 });
const client = await Client.connect(cluster.address);
const f: Future<number> = client.submit((x: number) => x + 1, 1);
const n: number = await f;
const total: number = await mw.ones([4, 4], { chunks: 2 }).sum().compute();
const d = delayed((x: number) => x * 2)(n);
const twice: number = await d.compute();
void [openDataset, dd.readParquet, LogisticRegression, total, twice];
await client.close();
await cluster.close();
`;

const BROWSER_MAIN = `
import { Client, delayed, type Future } from "meshwork";
import * as mw from "meshwork/array";
import { openDataset } from "meshwork/xarray";
import * as dd from "meshwork/dataframe";
import { LogisticRegression } from "meshwork/glm";

const client = await Client.connect("ws://127.0.0.1:8786", { token: "t" });
const f: Future<number> = client.submit((x: number) => x + 1, 1);
const n: number = await f;
const total: number = await mw.ones([4, 4], { chunks: 2 }).sum().compute();
const d = delayed((x: number) => x * 2)(n);
document.title = String(total + (await d.compute()));
void [openDataset, dd.readParquet, LogisticRegression];
`;

test("the declarations compile in a fresh project: tsc --init with @types/node for the Node entry, and without Node types for the browser entry", {
  timeout: 300_000,
}, async () => {
  const scratch = mkdtempSync(join(tmpdir(), "meshwork-declarations-"));
  try {
    const dist = await declarations(scratch);
    const cases = [
      {
        what: "Node entry, tsc --init + @types/node (lib esnext, types node, as --init's comment says)",
        dir: join(scratch, "node-app"),
        extra: ["@types/node", "undici-types"],
        main: NODE_MAIN,
        edit: (t: string) => t.replace(/"types": \[\],/, `"types": ["node"], "lib": ["esnext"],`),
      },
      {
        what: "browser entry, tsc --init with the browser condition and no Node types",
        dir: join(scratch, "web-app"),
        extra: [],
        main: BROWSER_MAIN,
        edit: (t: string) => t.replace(/"types": \[\],/, `"types": [], "customConditions": ["browser"],`),
      },
    ];
    for (const c of cases) {
      project(c.dir, dist, c.extra);
      const init = await runTsc(c.dir, ["--init"]);
      assert.equal(init.code, 0, init.stdout + init.stderr);
      editConfig(c.dir, c.edit);
      writeFileSync(join(c.dir, "main.ts"), c.main);
      // As the user's project builds (--init sets skipLibCheck)...
      const r = await runTsc(c.dir, ["-p", ".", "--noEmit"]);
      assert.equal(r.code, 0, `${c.what}:\n${r.stdout}${r.stderr}`);
      // ...and with meshwork's declarations checked themselves (a name they use that this project
      // lacks, such as the DOM's Transferable in a Node project, is silently \`any\` under skipLibCheck).
      // Errors in other packages' declarations are theirs (flechette 2.6 has one) and not counted.
      const strict = await runTsc(c.dir, ["-p", ".", "--noEmit", "--skipLibCheck", "false", "--listFiles"]);
      const ours = strict.stdout
        .split("\n")
        .filter((l) => l.startsWith("node_modules/meshwork/") && l.includes("error TS"));
      assert.deepEqual(ours, [], `${c.what}, the declarations checked too`);
      const program = strict.stdout.split("\n").filter((l) => l.startsWith("/"));
      const entry = c.extra.length > 0 ? "node" : "browser";
      assert.ok(
        program.some((f) => f.endsWith(`meshwork/dist/${entry}/index.d.ts`)),
        `${c.what}: the ${entry} entry's declarations are the ones used`,
      );
      if (entry === "browser")
        assert.deepEqual(
          program.filter((f) => f.includes("@types/node")),
          [],
          "no Node types in a web project",
        );
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});
