// Compiled loops for elementwise programs: an expression's code (from expr.ts) becomes the body of
// a loop nest over strided operands, written as JavaScript source and compiled once per shape of
// loop (new Function), optionally reducing. How the loops are laid out, and why, is in the notes
// on each function; the rules that matter for speed are in docs/ARCHITECTURE.md ("Elementwise
// programs").

import type { TypedArray } from "../dtype.js";
import {
  ACC,
  ACCUMULATORS,
  accName,
  accumulators,
  fold,
  foldGroup,
  foldInto,
  isSkipping,
  load,
  renamed,
  store,
  storeTotal,
  type LoopReduce,
} from "./folds.js";
import { HELPER_NAMES, HELPERS } from "./loop-helpers.js";

export type Kernel = (
  shape: number[],
  out: TypedArray,
  outStrides: number[],
  outOffset: number,
  ins: TypedArray[],
  inStrides: number[][],
  inOffsets: number[],
  consts: number[],
  /** A counted reduction's second output (the counts), laid out as `out`; else unused. */
  cnt: TypedArray | null,
) => void;

const kernels = new Map<string, Kernel>();
/** Distinct compiled loops kept; a program mix beyond this is unusual, and recompiling is cheap. */
const KERNEL_CACHE_MAX = 512;

/**
 * The loop nest for `nd` dimensions over `nin` operands. Pointers advance by strides (0 on
 * broadcast axes); with a reduction, the output has stride 0 on reduced axes, and when the
 * innermost axis is reduced the sum is kept in a local variable. Two dimensions (what is left
 * after coalescing when a transpose, a broadcast or a reduction is involved) go TILE rows at a
 * time: a transposed operand is then read TILE neighbours at once instead of one element per
 * cache line, and a sum down the rows is stored once per TILE rows. That measured 27 → 13 ms
 * for x[i,j] + x[j,i].T summed over axis 0 on a 2000 × 2000 block.
 */
function compileKernel(
  nd: number,
  nin: number,
  body: string,
  reduce: LoopReduce | null,
  innerReduced: boolean,
  outerReduced: boolean,
): Kernel {
  const L: string[] = [];
  for (let k = 0; k < nd; k++) L.push(`const n${k} = shape[${k}], os${k} = outStrides[${k}];`);
  for (let i = 0; i < nin; i++) {
    L.push(`const in${i} = ins[${i}], st${i} = inStrides[${i}];`);
    for (let k = 0; k < nd; k++) L.push(`const s${i}_${k} = st${i}[${k}];`);
  }
  L.push(`let po_0 = outOffset;`);
  for (let i = 0; i < nin; i++) L.push(`let p${i}_0 = inOffsets[${i}];`);
  if (nd === 2) L.push(tiledRows(nin, body, reduce, innerReduced, outerReduced));
  L.push(loopNest(nd, nin, body, reduce, innerReduced, nd === 2 ? "nt" : null));
  const source = `return function kernel(shape, out, outStrides, outOffset, ins, inStrides, inOffsets, consts, cnt) {\n${constLoads(body)}\n${L.join("\n")}\n};`;
  return new Function(...HELPER_NAMES, source)(...HELPERS) as Kernel;
}

/**
 * The loop over operands that are whole typed arrays, read from index 0 (what a contiguous block
 * is), into a whole output or one total. The loop's bound is the first operand's `length`, which
 * lets V8 drop its bounds checks: a sum of 100 blocks of 32 MB in two busy threads took 0.65-0.8 s
 * with the general loop's bound and 0.26-0.3 s so (the general loop was fast only in some runs).
 */
function compileWholeKernel(nin: number, body: string, reduce: LoopReduce | null): Kernel {
  const ops = [...Array(nin).keys()];
  const L: string[] = [ops.map((i) => `const in${i} = ins[${i}];`).join(" ")];
  const loadsAt = (at: string): string => ops.map((i) => `const x${i} = in${i}[${at}];`).join(" ");
  if (reduce) {
    L.push(accumulators(reduce, "outOffset"));
    L.push(`for (let i = 0; i + ${ACCUMULATORS} <= in0.length; i += ${ACCUMULATORS}) {`);
    if (isSkipping(reduce.op)) {
      // Each running total's value under its own name, so the group is tested at once (foldGroup).
      for (const a of ACC)
        L.push(
          `${ops.map((i) => `const x${i}_${a} = in${i}[${a === 0 ? "i" : `i + ${a}`}];`).join(" ")} const v_${a} = ${renamed(body, a)};`,
        );
      L.push(
        foldGroup(
          reduce,
          ACC.map((a) => [accName(a), `v_${a}`]),
          { count: "accn", by: ACCUMULATORS },
        ),
      );
    } else {
      for (const a of ACC) L.push(`{ ${loadsAt(a === 0 ? "i" : `i + ${a}`)} const v = ${body}; ${fold(reduce, a)} }`);
    }
    L.push(`}`);
    // Its own counter: one carried over from the loop above made V8 compile that loop slower.
    L.push(
      `for (let i = in0.length - in0.length % ${ACCUMULATORS}; i < in0.length; i++) { ${loadsAt("i")} const v = ${body}; ${foldInto(reduce, "acc", "v")} }`,
    );
    L.push(storeTotal(reduce, "outOffset"));
  } else {
    L.push(`for (let i = 0; i < out.length; i++) { ${loadsAt("i")} out[i] = ${body}; }`);
  }
  const source = `return function kernel(shape, out, outStrides, outOffset, ins, inStrides, inOffsets, consts, cnt) {\n${constLoads(body)}\n${L.join("\n")}\n};`;
  return new Function(...HELPER_NAMES, source)(...HELPERS) as Kernel;
}

/**
 * Rows taken together by the two-dimensional loop. In the workload's W on two worker threads
 * (alternating runs, seconds): 4 rows ~2.2, 8 rows ~2.3, 16 rows ~1.9, 32 rows ~1.9; 16 keeps
 * the unrolled loop half the size of 32's.
 */
export const TILE = 16;

/** The plain nest; `from` names a variable holding the first row to do (the rows the tiles left). */
function loopNest(
  nd: number,
  nin: number,
  body: string,
  reduce: LoopReduce | null,
  innerReduced: boolean,
  from: string | null,
): string {
  const L: string[] = [];
  const last = nd - 1;
  const loads = Array.from({ length: nin }, (_, i) => `const x${i} = in${i}[p${i}_${last}];`).join(" ");
  const advance = (k: number): string =>
    [`po_${k} += os${k};`, ...Array.from({ length: nin }, (_, i) => `p${i}_${k} += s${i}_${k};`)].join(" ");
  if (reduce && innerReduced) {
    for (let i = 0; i < nin; i++)
      L.push(
        `${ACC.map((a) => `const e${i}_${a} = ${a} * s${i}_${last};`).join(" ")} const step${i} = ${ACCUMULATORS} * s${i}_${last};`,
      );
  }
  for (let k = 0; k < nd; k++) {
    if (k > 0) {
      L.push(`let po_${k} = po_${k - 1};`);
      for (let i = 0; i < nin; i++) L.push(`let p${i}_${k} = p${i}_${k - 1};`);
    }
    if (k === last && reduce && innerReduced) {
      // ACCUMULATORS running totals side by side: the adds no longer wait on each other, which
      // made sums ~3× faster (a sum's speed is an add's latency otherwise). Loads are at fixed
      // offsets from pointers moved once per step (4M float64: 3.6 ms with 4 totals and a pointer
      // moved per load, 2.7 ms so).
      L.push(accumulators(reduce, `po_${k}`));
      // The unrolled loop has variables of its own, and the rest starts from positions computed
      // afresh: a counter or pointer carried from one loop into the next made V8 compile the first
      // loop 2-3× slower in some runs (a sum of 100 blocks of 32 MB: 0.3 s or 0.7-1.1 s).
      L.push(`const m${k} = n${k} - n${k} % ${ACCUMULATORS};`);
      L.push(`{ ${Array.from({ length: nin }, (_, i) => `let q${i} = p${i}_${k};`).join(" ")}`);
      L.push(`for (let u = 0; u < m${k}; u += ${ACCUMULATORS}) {`);
      if (isSkipping(reduce.op)) {
        for (const a of ACC) {
          const at = Array.from({ length: nin }, (_, i) => `const x${i}_${a} = in${i}[q${i} + e${i}_${a}];`).join(" ");
          L.push(`${at} const v_${a} = ${renamed(body, a)};`);
        }
        L.push(
          foldGroup(
            reduce,
            ACC.map((a) => [accName(a), `v_${a}`]),
            { count: "accn", by: ACCUMULATORS },
          ),
        );
      } else {
        for (const a of ACC) {
          const at = Array.from({ length: nin }, (_, i) => `const x${i} = in${i}[q${i} + e${i}_${a}];`).join(" ");
          L.push(`{ ${at} const v = ${body}; ${fold(reduce, a)} }`);
        }
      }
      L.push(Array.from({ length: nin }, (_, i) => `q${i} += step${i};`).join(" "));
      L.push(`} }`);
      L.push(
        [
          `po_${k} += m${k} * os${k};`,
          ...Array.from({ length: nin }, (_, i) => `p${i}_${k} += m${k} * s${i}_${k};`),
        ].join(" "),
      );
      L.push(`for (let i${k} = m${k}; i${k} < n${k}; i${k}++) {`);
    } else {
      L.push(`for (let i${k} = ${k === 0 && from ? from : "0"}; i${k} < n${k}; i${k}++) {`);
    }
  }
  L.push(loads);
  if (!reduce) L.push(`out[po_${last}] = ${body};`);
  else if (innerReduced) L.push(`{ const v = ${body}; ${foldInto(reduce, "acc", "v")} }`);
  else
    L.push(
      `{ const v = ${body}; ${load(reduce, "a", `po_${last}`)} ${foldInto(reduce, "a", "v")} ${store(reduce, `po_${last}`, "a")} }`,
    );
  for (let k = last; k >= 0; k--) {
    L.push(advance(k));
    L.push("}");
    if (k === last && reduce && innerReduced) {
      L.push(storeTotal(reduce, `po_${k}`));
    }
  }
  return L.join("\n");
}

/**
 * Two dimensions in tiles of TILE rows × COLUMNS columns; leaves `po_0` and `p*_0` at row `nt`, the
 * first row not done. Within a tile, an operand read across (a transposed one) is read TILE
 * neighbours at once; COLUMNS keeps the rows such an operand touches in a tile few enough that its
 * pages stay in the TLB (a whole 2000-column sweep touches 8,000 pages: 19 → 9.5 ms for the
 * workload's x[i,j] + x[j,i].T summed down the columns). Each output element still sees its
 * inputs in the same order, row after row and column after column, so results keep their bits.
 */
function tiledRows(
  nin: number,
  body: string,
  reduce: LoopReduce | null,
  innerReduced: boolean,
  outerReduced: boolean,
): string {
  const U = [...Array(TILE).keys()];
  const ops = [...Array(nin).keys()];
  const L: string[] = [`const nt = n0 - n0 % ${TILE};`];
  for (const i of ops) L.push(U.map((u) => `const d${i}_${u} = ${u} * s${i}_0;`).join(" "));
  L.push(U.map((u) => `const do_${u} = ${u} * os0;`).join(" "));
  L.push([`const bo = po_0;`, ...ops.map((i) => `const b${i} = p${i}_0;`)].join(" "));
  L.push(`for (let jb = 0; jb < n1; jb += ${COLUMNS}) {`);
  L.push(`const je = n1 < jb + ${COLUMNS} ? n1 : jb + ${COLUMNS};`);
  L.push([`po_0 = bo + jb * os1;`, ...ops.map((i) => `p${i}_0 = b${i} + jb * s${i}_1;`)].join(" "));
  L.push(`for (let i0 = 0; i0 < nt; i0 += ${TILE}) {`);
  L.push(`let po_1 = po_0;`);
  for (const i of ops) L.push(`let p${i}_1 = p${i}_0;`);
  const both = reduce !== null && innerReduced && outerReduced;
  if (both) L.push(load(reduce, "acc", "po_0"));
  else if (reduce && innerReduced) L.push(U.map((u) => load(reduce, `acc_${u}`, `po_0 + do_${u}`)).join(" "));
  // Columns where no row had NaN, counted once for every row (see foldGroup).
  const shared = reduce?.counted === true && innerReduced && !both;
  if (shared) L.push(`let gn = 0;`);
  L.push(`for (let i1 = jb; i1 < je; i1++) {`);
  for (const u of U) {
    L.push(ops.map((i) => `const x${i}_${u} = in${i}[p${i}_1 + d${i}_${u}];`).join(" "));
    L.push(`const v_${u} = ${renamed(body, u)};`);
  }
  const grouped = reduce !== null && isSkipping(reduce.op);
  if (!reduce) {
    for (const u of U) L.push(`out[po_1 + do_${u}] = v_${u};`);
  } else if (both) {
    if (grouped)
      L.push(
        foldGroup(
          reduce,
          U.map((u) => ["acc", `v_${u}`]),
        ),
      );
    else for (const u of U) L.push(foldInto(reduce, "acc", `v_${u}`));
  } else if (innerReduced) {
    if (grouped)
      L.push(
        foldGroup(
          reduce,
          U.map((u) => [`acc_${u}`, `v_${u}`]),
          shared ? { count: "gn", by: 1 } : undefined,
        ),
      );
    else for (const u of U) L.push(foldInto(reduce, `acc_${u}`, `v_${u}`));
  } else {
    // Down the rows into one output element per column.
    L.push(load(reduce, "a", "po_1"));
    if (grouped)
      L.push(
        foldGroup(
          reduce,
          U.map((u) => ["a", `v_${u}`]),
        ),
      );
    else for (const u of U) L.push(foldInto(reduce, "a", `v_${u}`));
    L.push(store(reduce, "po_1", "a"));
  }
  L.push([`po_1 += os1;`, ...ops.map((i) => `p${i}_1 += s${i}_1;`)].join(" "));
  L.push(`}`);
  if (both) L.push(store(reduce, "po_0", "acc"));
  else if (reduce && innerReduced) {
    if (shared) L.push(U.map((u) => `acc_${u}n = acc_${u}n + gn;`).join(" "));
    L.push(U.map((u) => store(reduce, `po_0 + do_${u}`, `acc_${u}`)).join(" "));
  }
  L.push([`po_0 += ${TILE} * os0;`, ...ops.map((i) => `p${i}_0 += ${TILE} * s${i}_0;`)].join(" "));
  L.push(`}`);
  L.push(`}`);
  // The rows left over (fewer than TILE), whole, by the plain nest.
  L.push([`po_0 = bo + nt * os0;`, ...ops.map((i) => `p${i}_0 = b${i} + nt * s${i}_0;`)].join(" "));
  return L.join("\n");
}

/** Columns of one tile of the two-dimensional loop (128 and 256 measured best of 32 … 512). */
const COLUMNS = 128;

function constLoads(body: string): string {
  const slots = new Set<number>();
  for (const m of body.matchAll(/\bc(\d+)\b/g)) slots.add(Number(m[1]));
  return [...slots].map((s) => `const c${s} = consts[${s}];`).join(" ");
}

/** The compiled loop for a program's shape of loop (cached). */
export function kernelFor(
  nd: number,
  nin: number,
  body: string,
  reduce: LoopReduce | null,
  innerReduced: boolean,
  outerReduced: boolean,
  whole: boolean,
): Kernel {
  if (reduce?.counted && !isSkipping(reduce.op))
    throw new Error(`a ${reduce.op} reduction cannot count: only the NaN-skipping ones do`);
  const key = `${nd}|${nin}|${reduce ? `${reduce.op}${reduce.counted ? "+n" : ""}` : ""}|${innerReduced ? 1 : 0}${outerReduced ? 1 : 0}${whole ? "w" : ""}|${body}`;
  let k = kernels.get(key);
  if (!k) {
    if (kernels.size >= KERNEL_CACHE_MAX) kernels.clear();
    k = whole
      ? compileWholeKernel(nin, body, reduce)
      : compileKernel(nd, nin, body, reduce, innerReduced, outerReduced);
    kernels.set(key, k);
  }
  return k;
}
