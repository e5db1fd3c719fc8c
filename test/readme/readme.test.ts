// Every code block of README.md is tested, so the README cannot drift from the code: ts/js blocks
// run as written (one module each, all in one child process, "meshwork" resolved by its package
// name) and are type-checked against meshwork's sources, or are mirrored by a named test; sh blocks have their commands checked against the package
// (npm scripts, files, and each `meshwork` command's flags against its --help). blocks.ts says how
// each block is treated and why; a block it does not cover fails here.

import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runNode } from "../helpers/run.js";
import { MIRRORED, RUN, type RunEntry } from "./blocks.js";

const root = new URL("../../", import.meta.url).pathname;

interface Block {
  /** The heading it sits under and its first line. */
  id: string;
  lang: string;
  /** Line of the opening fence in README.md. */
  line: number;
  code: string;
}

export function readmeBlocks(text = readFileSync(join(root, "README.md"), "utf8")): Block[] {
  const lines = text.split("\n");
  const blocks: Block[] = [];
  let heading = "(top)";
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const h = /^#+\s+(.*)$/.exec(l);
    if (h) heading = h[1]!.trim();
    const fence = /^```(\w*)\s*$/.exec(l);
    if (!fence) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    blocks.push({
      id: `${heading} › ${body.find((b) => b.trim() !== "")?.trimEnd() ?? ""}`,
      lang: fence[1] || "(none)",
      line: start + 1,
      code: body.join("\n") + "\n",
    });
  }
  return blocks;
}

/** Names the README's first blocks import, given to a later block that uses them without importing them. */
const COMMON: Record<string, string> = {
  Client: 'import { Client } from "meshwork";',
  LocalCluster: 'import { LocalCluster } from "meshwork";',
  asCompleted: 'import { asCompleted } from "meshwork";',
  wait: 'import { wait } from "meshwork";',
  mw: 'import * as mw from "meshwork/array";',
};

/** Checks the scaffolding uses: `check(actual, expected)` and `throwsLike(fn, name, ...fragments)`. */
const HELPERS = `
import { deepStrictEqual as __equal } from "node:assert";
const check = (actual: unknown, expected: unknown) => __equal(actual, expected);
const throwsLike = (fn: () => unknown, name: string, ...fragments: string[]) => {
  try {
    fn();
  } catch (err) {
    const e = err as Error;
    if (e.name !== name) throw new Error("threw " + e.name + ", the README says " + name + ": " + e.message);
    for (const f of fragments) if (!e.message.includes(f)) throw new Error("the message lacks the README's words " + JSON.stringify(f) + ": " + e.message);
    return;
  }
  throw new Error("did not throw; the README says it throws " + name);
};
const FIXTURES = ${JSON.stringify(join(root, "test/fixtures/io/"))};
void [check, throwsLike, FIXTURES];
`;

/** The module(s) that run `block`: file name → source; the last one is run. */
export function moduleFor(block: Block, entry: RunEntry): [string, string][] {
  let code = block.code;
  for (const [from, to] of entry.replace ?? []) {
    assert.ok(
      code.includes(from),
      `README block "${block.id}" (line ${block.line}) no longer contains ${JSON.stringify(from)}: update test/readme/blocks.ts`,
    );
    code = code.replace(from, to);
  }
  // `// name.ts` lines cut a block into files (a task module and the script that uploads it).
  const parts = code.split(/^\/\/ (\S+\.ts)\n/m);
  const files: [string, string][] = [];
  if (parts.length > 1) for (let i = 1; i < parts.length; i += 2) files.push([parts[i]!, parts[i + 1]!]);
  else files.push(["main.ts", code]);
  const [name, main] = files.at(-1)!;
  const imported = new Set(
    [...main.matchAll(/^import\s+(?:\*\s+as\s+(\w+)|\{([^}]*)\})/gm)].flatMap((m) =>
      m[1]
        ? [m[1]]
        : m[2]!.split(",").map(
            (s) =>
              s
                .trim()
                .split(/\s+as\s+/)
                .at(-1)!,
          ),
    ),
  );
  const scaffold = (entry.before ?? "") + "\n" + (entry.after ?? "");
  const injected = Object.entries(COMMON)
    .filter(([n]) => !imported.has(n) && new RegExp(`\\b${n}\\b`).test(main + scaffold))
    .map(([, i]) => i);
  files[files.length - 1] = [
    name,
    `${injected.join("\n")}\n${HELPERS}\n${entry.before ?? ""}\n// ---- README.md line ${block.line}\n${main}\n// ---- end of the block\n${entry.after ?? ""}\nexport {};\n`,
  ];
  return files;
}

const RUNNER = `
const blocks = JSON.parse(process.argv[2]);
for (const [id, file] of blocks) {
  const cwd = process.cwd();
  let timer;
  try {
    await Promise.race([import(file), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("still running after 90 s")), 90_000)))]);
    console.log("README-BLOCK " + JSON.stringify({ id, ok: true }));
  } catch (err) {
    console.log("README-BLOCK " + JSON.stringify({ id, ok: false, error: String(err?.stack ?? err) }));
  } finally {
    clearTimeout(timer);
    process.chdir(cwd);
  }
}
process.exit(0); // a block may leave a pending future behind (a task no worker may run, as the README shows)
`;

test("every README code block is run, mirrored by a named test, or (sh) has its commands checked", {
  timeout: 300_000,
}, async (t) => {
  const blocks = readmeBlocks();
  const ids = new Set(blocks.map((b) => b.id));
  for (const id of [...Object.keys(RUN), ...Object.keys(MIRRORED)])
    assert.ok(ids.has(id), `test/readme/blocks.ts names a block the README no longer has: ${id}`);
  const uncovered = blocks.filter((b) => b.lang !== "sh" && !RUN[b.id] && !MIRRORED[b.id]);
  assert.deepEqual(
    uncovered.map((b) => `line ${b.line}: ${b.id}`),
    [],
    "README blocks neither run nor mirrored: add them to RUN or MIRRORED in test/readme/blocks.ts (a browser or html block: MIRRORED, by its browser test)",
  );
  for (const b of blocks.filter((x) => MIRRORED[x.id])) {
    const file = MIRRORED[b.id]!.test.split(" › ")[0]!;
    assert.ok(existsSync(join(root, file)), `the mirror of "${b.id}" is ${file}, which does not exist`);
    const name = MIRRORED[b.id]!.test.split(" › ")[1];
    if (name) assert.ok(readFileSync(join(root, file), "utf8").includes(name), `${file} has no test "${name}"`);
  }

  // Every run block in one child process (a user's project: "meshwork" by its package name).
  const dir = mkdtempSync(join(tmpdir(), "meshwork-readme-"));
  try {
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(root, join(dir, "node_modules/meshwork"), "dir");
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "readme", private: true, type: "module" }));
    const runs: [string, string][] = [];
    for (const [i, b] of blocks.entries()) {
      if (!RUN[b.id]) continue;
      const sub = join(dir, `block-${String(i + 1).padStart(2, "0")}`);
      mkdirSync(sub);
      const files = moduleFor(b, RUN[b.id]!);
      for (const [name, source] of files) writeFileSync(join(sub, name), source);
      runs.push([b.id, join(sub, files.at(-1)![0])]);
    }
    writeFileSync(join(dir, "run.mjs"), RUNNER);
    // Type-checked too, against meshwork's sources with the project's own settings, beside the run.
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        extends: join(root, "tsconfig.json"),
        compilerOptions: {
          noEmit: true,
          rootDir: "/",
          allowImportingTsExtensions: true,
          noUnusedLocals: false, // a block may show a value without using it
          noUnusedParameters: false,
          typeRoots: [join(root, "node_modules/@types")],
          paths: { meshwork: [join(root, "node/index.ts")], "meshwork/*": [join(root, "node/*.ts")] },
        },
        include: ["block-*/*.ts"],
        exclude: [],
      }),
    );
    const [r, types] = await Promise.all([
      runNode(["--import", import.meta.resolve("tsx"), join(dir, "run.mjs"), JSON.stringify(runs)], 280_000, {}, dir),
      runNode([join(root, "node_modules/typescript/bin/tsc"), "-p", dir], 280_000, {}, dir),
    ]);
    const typeErrors = types.stdout.split("\n").filter((l) => /^block-\d+\//.test(l));
    assert.ok(
      types.code === 0 || typeErrors.length > 0,
      `tsc failed outside the blocks:\n${types.stdout}${types.stderr}`,
    );
    const results = new Map<string, { ok: boolean; error?: string }>();
    for (const m of r.stdout.matchAll(/^README-BLOCK (.*)$/gm)) {
      const x = JSON.parse(m[1]!) as { id: string; ok: boolean; error?: string };
      results.set(x.id, x);
    }
    for (const [i, b] of blocks.entries()) {
      if (!RUN[b.id]) continue;
      await t.test(`type-checks: ${b.id} (README.md line ${b.line})`, () => {
        const sub = `block-${String(i + 1).padStart(2, "0")}/`;
        const mine = typeErrors.filter((l) => l.startsWith(sub));
        // Lines of the generated module, told as README lines where they are the block's own.
        const main = readFileSync(runs.find(([id]) => id === b.id)![1], "utf8").split("\n");
        const marker = main.findIndex((l) => l.startsWith("// ---- README.md line"));
        const said = mine.map((l) =>
          l.replace(/\((\d+),\d+\)/, (all, n: string) =>
            Number(n) - 1 > marker ? `${all} = README.md line ${b.line + Number(n) - 1 - marker}` : all,
          ),
        );
        assert.deepEqual(said, []);
      });
      await t.test(`runs: ${b.id} (README.md line ${b.line})`, () => {
        const x = results.get(b.id);
        assert.ok(
          x,
          `it did not finish (the runner exited ${r.code}${r.timedOut ? ", timed out" : ""}):\n${r.stderr.slice(-3000)}`,
        );
        assert.ok(x.ok, x.error);
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // sh blocks: what each command names exists.
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: Record<string, string> };
  // An example is run by test/examples.test.ts, or (one that needs a browser) by a test in test/browser.
  const examplesTest = [
    "test/examples.test.ts",
    ...readdirSync(join(root, "test/browser"))
      .filter((f) => f.endsWith(".test.ts"))
      .map((f) => `test/browser/${f}`),
  ]
    .map((f) => readFileSync(join(root, f), "utf8"))
    .join("\n");
  const helps = new Map<string, string>();
  for (const b of blocks.filter((x) => x.lang === "sh")) {
    await t.test(`commands exist: ${b.id} (README.md line ${b.line})`, async () => {
      for (const raw of b.code.split("\n")) {
        const line = raw
          .replace(/\s+#.*$/, "")
          .replace(/<[^>]*>/g, "X")
          .trim(); // <placeholders> are one word
        if (!line) continue;
        for (const cmd of line.split("&&").map((c) => c.trim())) {
          const words = cmd.split(/\s+/).filter((w) => !/^[A-Z_]+=/.test(w));
          if (words[0] === "npm") {
            const script = words[1] === "run" ? words[2]! : words[1]!;
            if (script !== "install" && script !== "ci")
              assert.ok(pkg.scripts[script], `npm ${words.slice(1).join(" ")}: package.json has no script "${script}"`);
          } else if (words[0] === "node") {
            assert.ok(existsSync(join(root, words[1]!)), `${cmd}: no ${words[1]}`);
          } else if (words[0] === "npx" && words[1] === "tsx") {
            assert.ok(existsSync(join(root, words[2]!)), `${cmd}: no ${words[2]}`);
            assert.ok(
              examplesTest.includes(words[2]!),
              `${words[2]} is not run by test/examples.test.ts or a test in test/browser`,
            );
          } else if (words[0] === "npx" && words[1] === "meshwork") {
            const command = words[2]!;
            if (!helps.has(command)) {
              const h = await runNode([join(root, "dist/node/cli.js"), command, "--help"], 20_000);
              assert.equal(h.code, 0, `meshwork ${command} --help: ${h.stderr}`);
              helps.set(command, h.stdout);
            }
            for (const flag of words.filter((w) => w.startsWith("--")))
              assert.ok(
                helps.get(command)!.includes(flag),
                `meshwork ${command} has no ${flag} (README line ${b.line}: ${cmd})`,
              );
          } else {
            assert.fail(
              `README line ${b.line}: no check for the command "${cmd}"; teach test/readme/readme.test.ts what it should find`,
            );
          }
        }
      }
    });
  }
});
