// A line search for the strong Wolfe conditions (Nocedal & Wright, Numerical Optimization,
// algorithms 3.5 and 3.6): bracket a step with enough decrease, then zoom in by cubic
// interpolation. Every trial is one evaluation of the loss and gradient; a non-finite loss (an
// overflowing Poisson mean) counts as too large.

import { axpy, dot } from "../dense.js";

export interface Trial {
  step: number;
  x: Float64Array;
  loss: number;
  grad: Float64Array;
}

export type Evaluator = Generator<Float64Array, Trial | null, { loss: number; grad: Float64Array }>;

/** Sufficient decrease (Armijo) and curvature constants: L-BFGS's usual ones. */
const C1 = 1e-4;
const C2 = 0.9;
/** Trials one search may take (scipy's L-BFGS-B allows 20 by default). */
export const MAX_TRIALS = 20;

/**
 * A step along `d` from x (loss f0, gradient g0) satisfying the strong Wolfe conditions, starting
 * from `first`. Yields trial points, gets their loss and gradient. Returns null when no step with
 * enough decrease was found within MAX_TRIALS; a step with enough decrease but not the curvature
 * condition is returned when the trials run out.
 */
export function* wolfe(x: Float64Array, f0: number, g0: Float64Array, d: Float64Array, first: number): Evaluator {
  const slope0 = dot(g0, d);
  let trials = 0;
  const at = function* (
    step: number,
  ): Generator<Float64Array, Trial & { slope: number }, { loss: number; grad: Float64Array }> {
    trials++;
    const xt = axpy(x, step, d);
    const { loss, grad } = yield xt;
    return { step, x: xt, loss, grad, slope: dot(grad, d) };
  };
  // Enough decrease, read from the loss, or from the slope where the loss is too flat for its
  // rounding to tell: the losses are convex, so f(x + a·d) − f(x) ≤ a·g(x + a·d)ᵀd, and a slope
  // at most C1 times the first one proves the decrease exactly (gradients keep their precision
  // near the minimum; a loss summed over rows has none left in its last digits there).
  const decreases = (t: Trial & { slope: number }): boolean =>
    Number.isFinite(t.loss) && (t.loss <= f0 + C1 * t.step * slope0 || t.slope <= C1 * slope0);
  // Whether t is no lower than a point `ref` on the line, by the loss or, again by convexity
  // (f(ref) ≥ f(t) + slope_t·(ref − t)), by t's slope.
  const notLower = (t: Trial & { slope: number }, ref: { step: number; loss: number }): boolean =>
    !(t.loss < ref.loss || t.slope * (ref.step - t.step) > 0);

  let prev: (Trial & { slope: number }) | null = null; // the last trial with enough decrease, or the start
  let prevStep = 0;
  let prevLoss = f0;
  let prevSlope = slope0;
  let step = first;
  while (trials < MAX_TRIALS) {
    const t = yield* at(step);
    if (!decreases(t) || (trials > 1 && notLower(t, { step: prevStep, loss: prevLoss }))) {
      return yield* zoom(
        { step: prevStep, loss: prevLoss, slope: prevSlope, trial: prev },
        { step: t.step, loss: t.loss, slope: t.slope },
      );
    }
    if (Math.abs(t.slope) <= -C2 * slope0) return t;
    if (t.slope >= 0)
      return yield* zoom(
        { step: t.step, loss: t.loss, slope: t.slope, trial: t },
        { step: prevStep, loss: prevLoss, slope: prevSlope },
      );
    prev = t;
    prevStep = t.step;
    prevLoss = t.loss;
    prevSlope = t.slope;
    step *= 4;
  }
  return prev;

  function* zoom(
    lo: { step: number; loss: number; slope: number; trial: (Trial & { slope: number }) | null },
    hi: { step: number; loss: number; slope: number },
  ): Evaluator {
    while (trials < MAX_TRIALS) {
      const a = Math.min(lo.step, hi.step);
      const b = Math.max(lo.step, hi.step);
      const width = b - a;
      if (!(width > 1e-16 * Math.max(1, b))) break;
      let s = Number.isFinite(hi.loss) ? cubicMinimizer(lo.step, lo.loss, lo.slope, hi.step, hi.loss, hi.slope) : NaN;
      // Keep the trial well inside the bracket; else bisect (also after a non-finite loss).
      if (!(s >= a + 0.1 * width && s <= b - 0.1 * width)) s = (lo.step + hi.step) / 2;
      const t = yield* at(s);
      if (!decreases(t) || notLower(t, lo)) {
        hi = { step: t.step, loss: t.loss, slope: t.slope };
      } else {
        if (Math.abs(t.slope) <= -C2 * slope0) return t;
        if (t.slope * (hi.step - lo.step) >= 0) hi = { step: lo.step, loss: lo.loss, slope: lo.slope };
        lo = { step: t.step, loss: t.loss, slope: t.slope, trial: t };
      }
    }
    return lo.trial;
  }
}

/** The minimiser of the cubic through (a, fa, da) and (b, fb, db), or NaN when it has none. */
function cubicMinimizer(a: number, fa: number, da: number, b: number, fb: number, db: number): number {
  const d1 = da + db - (3 * (fa - fb)) / (a - b);
  const disc = d1 * d1 - da * db;
  if (!(disc >= 0)) return NaN;
  const d2 = Math.sign(b - a) * Math.sqrt(disc);
  return b - ((b - a) * (db + d2 - d1)) / (db - da + 2 * d2);
}
