// Compiled loops for elementwise programs: an expression's code (from expr.ts) becomes the body of
// a loop nest over strided operands, written as JavaScript source and compiled once per shape of
// loop (new Function), optionally reducing. How the loops are laid out, and why, is in the notes
// on each function; the rules that matter for speed are in docs/ARCHITECTURE.md ("Elementwise
// programs").

import type { TypedArray } from "../dtype.js";
import type { ReduceOp } from "./expr.js";

/** How a reduction folds a value `v` into its running total `acc`, as code. */
const COMBINE: Record<ReduceOp, (acc: string, v: string) => string> = {
  sum: (acc, v) => `${acc} + ${v}`,
  prod: (acc, v) => `${acc} * ${v}`,
  min: (acc, v) => `((${v} < ${acc} || ${v} !== ${v}) ? ${v} : ${acc})`,
  max: (acc, v) => `((${v} > ${acc} || ${v} !== ${v}) ? ${v} : ${acc})`,
  any: (acc, v) => `((${acc} !== 0 || ${v} !== 0) ? 1 : 0)`,
  all: (acc, v) => `((${acc} !== 0 && ${v} !== 0) ? 1 : 0)`,
};

export const REDUCE_IDENTITY: Record<ReduceOp, number> = { sum: 0, prod: 1, min: Infinity, max: -Infinity, any: 0, all: 1 };

// Helpers the generated code may call. NumPy's maximum/minimum propagate NaN; integer powers wrap
// like NumPy's (exponentiation by squaring in 32 bits), and negative integer exponents give 0.
function fmax(a: number, b: number): number {
  return a !== a ? a : b !== b ? b : a >= b ? a : b;
}
function fmin(a: number, b: number): number {
  return a !== a ? a : b !== b ? b : a <= b ? a : b;
}
function ipow(a: number, b: number): number {
  if (b < 0) return a === 1 ? 1 : a === -1 ? (b % 2 === 0 ? 1 : -1) : 0;
  let result = 1;
  let base = a | 0;
  let e = b >>> 0;
  while (e > 0) {
    if (e & 1) result = Math.imul(result, base);
    base = Math.imul(base, base);
    e >>>= 1;
  }
  return result;
}

export type Kernel = (
  shape: number[],
  out: TypedArray,
  outStrides: number[],
  outOffset: number,
  ins: TypedArray[],
  inStrides: number[][],
  inOffsets: number[],
  consts: number[],
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
function compileKernel(nd: number, nin: number, body: string, reduce: ReduceOp | null, innerReduced: boolean, outerReduced: boolean): Kernel {
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
  const source = `return function kernel(shape, out, outStrides, outOffset, ins, inStrides, inOffsets, consts) {\n${constLoads(body)}\n${L.join("\n")}\n};`;
  return new Function("fmax", "fmin", "ipow", source)(fmax, fmin, ipow) as Kernel;
}

/**
 * The loop over operands that are whole typed arrays, read from index 0 (what a contiguous block
 * is), into a whole output or one total. The loop's bound is the first operand's `length`, which
 * lets V8 drop its bounds checks: a sum of 100 blocks of 32 MB in two busy threads took 0.65-0.8 s
 * with the general loop's bound and 0.26-0.3 s so (the general loop was fast only in some runs).
 */
function compileWholeKernel(nin: number, body: string, reduce: ReduceOp | null): Kernel {
  const ops = [...Array(nin).keys()];
  const L: string[] = [ops.map((i) => `const in${i} = ins[${i}];`).join(" ")];
  const loadsAt = (at: string): string => ops.map((i) => `const x${i} = in${i}[${at}];`).join(" ");
  if (reduce) {
    L.push(accumulators(reduce, "out[outOffset]"));
    L.push(`for (let i = 0; i + ${ACCUMULATORS} <= in0.length; i += ${ACCUMULATORS}) {`);
    for (const a of ACC) L.push(`{ ${loadsAt(a === 0 ? "i" : `i + ${a}`)} const v = ${body}; ${fold(reduce, a)} }`);
    L.push(`}`);
    // Its own counter: one carried over from the loop above made V8 compile that loop slower.
    L.push(`for (let i = in0.length - in0.length % ${ACCUMULATORS}; i < in0.length; i++) { ${loadsAt("i")} const v = ${body}; acc = ${COMBINE[reduce]("acc", "v")}; }`);
    L.push(`out[outOffset] = ${total(reduce)};`);
  } else {
    L.push(`for (let i = 0; i < out.length; i++) { ${loadsAt("i")} out[i] = ${body}; }`);
  }
  const source = `return function kernel(shape, out, outStrides, outOffset, ins, inStrides, inOffsets, consts) {\n${constLoads(body)}\n${L.join("\n")}\n};`;
  return new Function("fmax", "fmin", "ipow", source)(fmax, fmin, ipow) as Kernel;
}

/**
 * Rows taken together by the two-dimensional loop. In the workload's W on two worker threads
 * (alternating runs, seconds): 4 rows ~2.2, 8 rows ~2.3, 16 rows ~1.9, 32 rows ~1.9; 16 keeps
 * the unrolled loop half the size of 32's.
 */
const TILE = 16;

/** The plain nest; `from` names a variable holding the first row to do (the rows the tiles left). */
function loopNest(nd: number, nin: number, body: string, reduce: ReduceOp | null, innerReduced: boolean, from: string | null): string {
  const L: string[] = [];
  const last = nd - 1;
  const loads = Array.from({ length: nin }, (_, i) => `const x${i} = in${i}[p${i}_${last}];`).join(" ");
  const advance = (k: number): string => [`po_${k} += os${k};`, ...Array.from({ length: nin }, (_, i) => `p${i}_${k} += s${i}_${k};`)].join(" ");
  if (reduce && innerReduced) {
    for (let i = 0; i < nin; i++) L.push(`${ACC.map((a) => `const e${i}_${a} = ${a} * s${i}_${last};`).join(" ")} const step${i} = ${ACCUMULATORS} * s${i}_${last};`);
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
      L.push(accumulators(reduce, `out[po_${k}]`));
      // The unrolled loop has variables of its own, and the rest starts from positions computed
      // afresh: a counter or pointer carried from one loop into the next made V8 compile the first
      // loop 2-3× slower in some runs (a sum of 100 blocks of 32 MB: 0.3 s or 0.7-1.1 s).
      L.push(`const m${k} = n${k} - n${k} % ${ACCUMULATORS};`);
      L.push(`{ ${Array.from({ length: nin }, (_, i) => `let q${i} = p${i}_${k};`).join(" ")}`);
      L.push(`for (let u = 0; u < m${k}; u += ${ACCUMULATORS}) {`);
      for (const a of ACC) {
        const at = Array.from({ length: nin }, (_, i) => `const x${i} = in${i}[q${i} + e${i}_${a}];`).join(" ");
        L.push(`{ ${at} const v = ${body}; ${fold(reduce, a)} }`);
      }
      L.push(Array.from({ length: nin }, (_, i) => `q${i} += step${i};`).join(" "));
      L.push(`} }`);
      L.push([`po_${k} += m${k} * os${k};`, ...Array.from({ length: nin }, (_, i) => `p${i}_${k} += m${k} * s${i}_${k};`)].join(" "));
      L.push(`for (let i${k} = m${k}; i${k} < n${k}; i${k}++) {`);
    } else {
      L.push(`for (let i${k} = ${k === 0 && from ? from : "0"}; i${k} < n${k}; i${k}++) {`);
    }
  }
  L.push(loads);
  if (!reduce) L.push(`out[po_${last}] = ${body};`);
  else if (innerReduced) L.push(`{ const v = ${body}; acc = ${COMBINE[reduce]("acc", "v")}; }`);
  else L.push(`{ const v = ${body}; const a = out[po_${last}]; out[po_${last}] = ${COMBINE[reduce]("a", "v")}; }`);
  for (let k = last; k >= 0; k--) {
    L.push(advance(k));
    L.push("}");
    if (k === last && reduce && innerReduced) {
      L.push(`out[po_${k}] = ${total(reduce)};`);
    }
  }
  return L.join("\n");
}

/** Running totals of an innermost reduction, combined at the end of the row. */
const ACCUMULATORS = 8;
const ACC = [...Array(ACCUMULATORS).keys()];
const accName = (a: number): string => (a === 0 ? "acc" : `acc${a}`);

/** Declares the running totals: the first starts from `start` (the output so far), the rest from the identity. */
function accumulators(reduce: ReduceOp, start: string): string {
  return `let acc = ${start}; ${ACC.slice(1).map((a) => `let ${accName(a)} = ${REDUCE_IDENTITY[reduce]};`).join(" ")}`;
}

/** Folds `v` into running total `a`. */
function fold(reduce: ReduceOp, a: number): string {
  return `${accName(a)} = ${COMBINE[reduce](accName(a), "v")};`;
}

/** The running totals combined, first to last. */
function total(reduce: ReduceOp): string {
  let t = "acc";
  for (const a of ACC.slice(1)) t = COMBINE[reduce](t, accName(a));
  return t;
}

/**
 * Two dimensions in tiles of TILE rows × COLUMNS columns; leaves `po_0` and `p*_0` at row `nt`, the
 * first row not done. Within a tile, an operand read across (a transposed one) is read TILE
 * neighbours at once; COLUMNS keeps the rows such an operand touches in a tile few enough that its
 * pages stay in the TLB (a whole 2000-column sweep touches 8,000 pages: 19 → 9.5 ms for the
 * workload's x[i,j] + x[j,i].T summed down the columns). Each output element still sees its
 * inputs in the same order, row after row and column after column, so results keep their bits.
 */
function tiledRows(nin: number, body: string, reduce: ReduceOp | null, innerReduced: boolean, outerReduced: boolean): string {
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
  if (both) L.push(`let acc = out[po_0];`);
  else if (reduce && innerReduced) L.push(U.map((u) => `let acc_${u} = out[po_0 + do_${u}];`).join(" "));
  L.push(`for (let i1 = jb; i1 < je; i1++) {`);
  for (const u of U) {
    L.push(ops.map((i) => `const x${i}_${u} = in${i}[p${i}_1 + d${i}_${u}];`).join(" "));
    L.push(`const v_${u} = ${body.replace(/\bx(\d+)\b/g, `x$1_${u}`)};`);
  }
  if (!reduce) {
    for (const u of U) L.push(`out[po_1 + do_${u}] = v_${u};`);
  } else if (both) {
    for (const u of U) L.push(`acc = ${COMBINE[reduce]("acc", `v_${u}`)};`);
  } else if (innerReduced) {
    for (const u of U) L.push(`acc_${u} = ${COMBINE[reduce](`acc_${u}`, `v_${u}`)};`);
  } else {
    // Down the rows into one output element per column.
    L.push(`let a = out[po_1];`);
    for (const u of U) L.push(`a = ${COMBINE[reduce]("a", `v_${u}`)};`);
    L.push(`out[po_1] = a;`);
  }
  L.push([`po_1 += os1;`, ...ops.map((i) => `p${i}_1 += s${i}_1;`)].join(" "));
  L.push(`}`);
  if (both) L.push(`out[po_0] = acc;`);
  else if (reduce && innerReduced) L.push(U.map((u) => `out[po_0 + do_${u}] = acc_${u};`).join(" "));
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
export function kernelFor(nd: number, nin: number, body: string, reduce: ReduceOp | null, innerReduced: boolean, outerReduced: boolean, whole: boolean): Kernel {
  const key = `${nd}|${nin}|${reduce ?? ""}|${innerReduced ? 1 : 0}${outerReduced ? 1 : 0}${whole ? "w" : ""}|${body}`;
  let k = kernels.get(key);
  if (!k) {
    if (kernels.size >= KERNEL_CACHE_MAX) kernels.clear();
    k = whole ? compileWholeKernel(nin, body, reduce) : compileKernel(nd, nin, body, reduce, innerReduced, outerReduced);
    kernels.set(key, k);
  }
  return k;
}
