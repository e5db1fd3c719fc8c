// Old against new, side by side: runs one benchmark script of another checkout (--base, built)
// and of this one in turn, several rounds (old, new, new, old, … so a drift in load hits both
// alike), and prints each numeric figure's median per side and the ratio new ÷ old.
//
//   git worktree add /tmp/old <commit> && ln -s "$PWD/node_modules" /tmp/old/ && (cd /tmp/old && node scripts/build.mjs --no-types)
//   flock /tmp/meshwork-bench.lock node bench/compare.mjs --base /tmp/old --rounds 4 -- --runs 3 --no-dask
//
// --new DIR compares with another built checkout instead of this one (so that this one can be
// rebuilt meanwhile). Everything after `--` goes to the benchmark (bench/tasks.mjs unless --bench names another file
// under bench/). The benchmark must print one JSON object last. Figures are the numeric leaves of
// that object (lists and `machine`/`params` left out); --match keeps only paths matching a regular
// expression. A ratio over 1 means a bigger figure now: faster for a rate (`_per_s`), slower for a
// time (`_ms`, `_s`).

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const cut = argv.indexOf("--");
const own = cut < 0 ? argv : argv.slice(0, cut);
const benchArgs = cut < 0 ? [] : argv.slice(cut + 1);

const opts = { base: "", new: here, rounds: "3", bench: "tasks.mjs", match: "" };
for (let i = 0; i < own.length; i += 2) {
  const name = own[i].replace(/^--/, "");
  if (!(name in opts) || own[i + 1] === undefined) {
    console.error(
      `unknown option or missing value: ${own[i]}\noptions: --base DIR --new DIR --rounds N --bench FILE --match REGEX -- <benchmark's options>`,
    );
    process.exit(2);
  }
  opts[name] = own[i + 1];
}
const rounds = Number(opts.rounds);
if (!opts.base || !Number.isInteger(rounds) || rounds < 1) {
  console.error("--base DIR (a built checkout to compare with) is required; --rounds takes a whole number ≥ 1");
  process.exit(2);
}
const sides = { old: resolve(opts.base), new: resolve(opts.new) };
for (const [side, dir] of Object.entries(sides)) {
  const script = join(dir, "bench", opts.bench);
  if (!existsSync(script)) throw new Error(`${side}: no ${script}`);
  if (!existsSync(join(dir, "dist", "node", "index.js"))) throw new Error(`${side}: ${dir} is not built (dist/node)`);
}
const keep = opts.match ? new RegExp(opts.match) : null;

/** Numeric leaves of a report by dotted path, without lists and without the run's description. */
function leaves(obj, prefix = "", out = {}) {
  for (const [k, v] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (!prefix && (k === "machine" || k === "params")) continue;
    if (typeof v === "number" && Number.isFinite(v)) out[path] = v;
    else if (v && typeof v === "object" && !Array.isArray(v)) leaves(v, path, out);
  }
  return out;
}

function runOnce(side) {
  const load = loadavg()[0];
  const started = performance.now();
  const out = spawnSync(process.execPath, [join(sides[side], "bench", opts.bench), ...benchArgs], {
    cwd: sides[side],
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  if (out.status !== 0) throw new Error(`${side} run failed (${out.status}): ${out.stderr.slice(-2000)}`);
  const text = out.stdout;
  const start = text.lastIndexOf("\n{") + 1;
  const report = JSON.parse(text.slice(start));
  console.error(`${side}: ${((performance.now() - started) / 1000).toFixed(0)} s, load ${load.toFixed(2)}`);
  return { load, figures: leaves(report) };
}

const results = { old: [], new: [] };
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? ["old", "new"] : ["new", "old"];
  for (const side of order) results[side].push(runOnce(side));
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const figures = {};
for (const path of Object.keys(results.new[0].figures)) {
  if (keep && !keep.test(path)) continue;
  const olds = results.old.map((x) => x.figures[path]).filter((x) => x !== undefined);
  const news = results.new.map((x) => x.figures[path]);
  if (olds.length === 0) continue;
  const o = median(olds);
  const n = median(news);
  figures[path] = {
    old: +o.toPrecision(4),
    new: +n.toPrecision(4),
    new_over_old: +(n / o).toFixed(3),
    old_runs: olds.map((x) => +x.toPrecision(4)),
    new_runs: news.map((x) => +x.toPrecision(4)),
  };
}
// One line per figure, so that the figures read as a table.
const head = {
  benchmark: "compare",
  bench: opts.bench,
  bench_args: benchArgs,
  base: sides.old,
  new: sides.new,
  rounds,
  load_at_each_run: {
    old: results.old.map((x) => +x.load.toFixed(2)),
    new: results.new.map((x) => +x.load.toFixed(2)),
  },
};
const lines = Object.entries(figures).map(([path, f]) => `    ${JSON.stringify(path)}: ${JSON.stringify(f)}`);
const top = JSON.stringify(head, null, 2).slice(0, -2);
console.log(`${top},\n  "figures": {\n${lines.join(",\n")}\n  }\n}`);
