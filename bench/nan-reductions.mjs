// The per-block first step of mean against nanmean's, in one process: what each block's task of
// x.mean({ axis }) and x.nanmean({ axis }) runs (the builtins array.expr and array.expr-count),
// and nanmean done as two programs (a NaN-skipping sum, then a count) for comparison.
//
//   node scripts/build.mjs --no-types && node bench/nan-reductions.mjs [--runs 21] [--axis 0|-1|all] [--nan none|mask|random]
//
// The block is float32 [32, 500, 500] (32 MB, a time chunk of a 2 GB array). --nan mask puts NaN
// in whole columns of 500 positions (a land mask: the same places at every time), 30% of them;
// --nan random makes 10% of the values NaN independently. Cases take turns, the order flipping
// every round; the first 3 rounds are warm-up. Prints medians and minimums in ms, and the ratios.

import * as mw from "../dist/node/array.js";
import { builtin } from "../dist/src/internal.js";
import { benchOptions } from "./options.mjs";

const o = benchOptions({ runs: 21, axis: "0", nan: "none" });
const SHAPE = [32, 500, 500];
const WARMUP = 3;
const axes = o.axis === "all" ? [0, 1, 2] : [(Number(o.axis) + SHAPE.length) % SHAPE.length];

const data = new Float32Array(SHAPE[0] * SHAPE[1] * SHAPE[2]);
const plane = SHAPE[1] * SHAPE[2];
const land = new Uint8Array(plane);
let seed = 1;
const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
for (let j = 0; j < plane; j += 500) land.fill(rand() < 0.3 ? 1 : 0, j, j + 500);
for (let i = 0; i < data.length; i++) {
  const nan = o.nan === "mask" ? land[i % plane] === 1 : o.nan === "random" ? rand() < 0.1 : false;
  data[i] = nan ? NaN : rand() * 100 - 50;
}
const block = new mw.NDArray("float32", SHAPE, data);

const program = (reduce) => ({
  ndim: 3,
  expr: { op: "in", o: 0, dt: "float32" },
  operands: [{ input: 0, nd: 3 }],
  consts: [],
  reduce,
});
const expr = builtin("array.expr");
const exprCount = builtin("array.expr-count");
const cases = {
  "mean (sum)": () => expr(program({ op: "sum", axes }), block),
  "nanmean, one pass": () => exprCount(program({ op: "nansum", axes, count: true }), block),
  "nanmean, two passes": () => [
    expr(program({ op: "nansum", axes }), block),
    expr(program({ op: "count", axes }), block),
  ],
  nansum: () => expr(program({ op: "nansum", axes }), block),
};

const names = Object.keys(cases);
const times = Object.fromEntries(names.map((n) => [n, []]));
for (let r = 0; r < o.runs + WARMUP; r++) {
  for (const n of r % 2 ? [...names].reverse() : names) {
    const t = performance.now();
    cases[n]();
    if (r >= WARMUP) times[n].push(performance.now() - t);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const base = median(times["mean (sum)"]);
console.log(`float32 [${SHAPE}], axis ${o.axis}, NaN: ${o.nan}, ${o.runs} rounds`);
for (const n of names) {
  const m = median(times[n]);
  console.log(
    `${n.padEnd(22)} median ${m.toFixed(2).padStart(6)} ms  min ${Math.min(...times[n])
      .toFixed(2)
      .padStart(6)} ms  ×${(m / base).toFixed(2)} mean's`,
  );
}
