// Warming a compiled loop up before its first real call, so that V8 compiles it with type feedback
// (see WARM_UP_CALLS for what happens otherwise).

import { ACCUMULATORS } from "./folds.js";
import { TILE, type Kernel } from "./loops.js";

/**
 * Calls a new kernel gets before its first real one, on a corner of the real operands. V8 keeps
 * no type feedback for a function's first few calls, and the first real call makes its loop hot
 * at once: V8 compiles the loop where it runs (OSR) before the code after it has ever run, that
 * code leaves the compiled loop at its end for want of feedback, and V8 (Node 20) enters the same
 * compiled loop again on later calls, to leave it again. A NaN-skipping sum over a 32 MB block
 * stayed at 25-50 ms instead of ~5 ms in 3 of 8 processes with a busy core beside them; after
 * these calls, 0 of 8 (and 0 of 8 with NaN appearing only in the block's second half).
 */
const WARM_UP_CALLS = 10;
/** Along each axis: enough for one tile of rows and rows left over, and for unrolled totals and a rest. */
const WARM_UP_EXTENT = Math.max(TILE, 2 * ACCUMULATORS) + 1;
const warm = new WeakSet<Kernel>();

/**
 * Before the first real call of `kernel` (with the real call's arguments): runs it on at most
 * WARM_UP_EXTENT elements along each axis, writing into `out` (and `cnt`) where the real call
 * will. Returns whether it did; a reduction's caller then sets its outputs to their starting
 * values again. Not for outputs that may overlap an input.
 */
export function warmUp(kernel: Kernel, whole: boolean, reduces: boolean, ...args: Parameters<Kernel>): boolean {
  if (warm.has(kernel)) return false;
  warm.add(kernel);
  const [shape, out, outStrides, outOffset, ins, inStrides, inOffsets, consts, cnt] = args;
  const small = shape.map((n) => Math.min(n, WARM_UP_EXTENT));
  // A whole-array loop is bounded by its arrays' lengths: give it the first elements of each.
  const m = small[0]!;
  const wins = whole ? ins.map((a) => a.subarray(0, m)) : ins;
  const wout = whole && !reduces ? out.subarray(0, m) : out;
  for (let c = 0; c < WARM_UP_CALLS; c++)
    kernel(small, wout, outStrides, outOffset, wins, inStrides, inOffsets, consts, cnt);
  return true;
}
