// Newton's method: each pass over the blocks gives the loss, gradient and the q × q Hessian
// (summed over blocks as a tree); the Newton system is solved here by Cholesky, and the step is
// damped by backtracking until the loss decreases enough. A Hessian that cannot be factored
// (collinear columns and no L2 penalty) is damped towards gradient descent (Levenberg–Marquardt)
// with a warning, or refused with SingularMatrixError when asked.

import { SingularMatrixError } from "../../errors.js";
import { axpy, cholesky, choleskySolve, dot, maxAbs } from "../dense.js";
import { evaluate, type GlmWarning, type SolverRun, type SolverSettings } from "./types.js";

const ARMIJO = 1e-4;
/** Losses this close (relative) are level: a sum over many rows keeps no more digits than that. */
const LEVEL = 1e-13;
const MAX_HALVINGS = 40;

export function* newton(theta0: Float64Array, s: SolverSettings): SolverRun {
  const q = s.q;
  let x = theta0;
  let point = yield* evaluate(x, 2);
  const warnings: GlmWarning[] = [];
  let warnedSingular = false;
  for (let iter = 0; ; iter++) {
    const g = point.grad!;
    const opt = maxAbs(g);
    if (opt <= s.gtol)
      return {
        theta: x,
        iterations: iter,
        converged: true,
        objective: point.loss,
        optimality: opt,
        stoppedBy: "optimality",
        warnings,
      };
    if (iter >= s.maxIter)
      return {
        theta: x,
        iterations: iter,
        converged: false,
        objective: point.loss,
        optimality: opt,
        stoppedBy: "max-iter",
        warnings,
      };
    const H = point.hess!;
    let L = cholesky(H, q, pivotFloor(H, q));
    if (!L) {
      if (s.onSingular === "raise") {
        throw new SingularMatrixError(
          `newton: the Hessian at iteration ${iter} is singular or not positive definite (columns that are collinear, or constant beside the intercept, with no L2 penalty); add an L2 penalty, drop those columns, or use solver "lbfgs"`,
        );
      }
      let mu = 1e-10 * Math.max(1e-300, ...Array.from({ length: q }, (_, j) => Math.abs(H[j * q + j]!)));
      const damped = Float64Array.from(H);
      for (; !L && Number.isFinite(mu); mu *= 10) {
        for (let j = 0; j < q; j++) damped[j * q + j] = H[j * q + j]! + mu;
        L = cholesky(damped, q, pivotFloor(damped, q));
      }
      if (!L)
        throw new SingularMatrixError(
          `newton: the Hessian at iteration ${iter} holds values no damping makes positive definite (NaN or infinity)`,
        );
      if (!warnedSingular) {
        warnedSingular = true;
        warnings.push({
          code: "SINGULAR_HESSIAN",
          message: `newton: the Hessian is singular (collinear columns, or one constant beside the intercept, with no L2 penalty): steps were damped (Levenberg–Marquardt), and the coefficients are not unique; add an L2 penalty or drop those columns`,
        });
      }
    }
    const d = choleskySolve(
      L,
      q,
      g.map((v) => -v),
    );
    const slope = dot(g, d);
    let step = 1;
    let accepted = false;
    for (let h = 0; h < MAX_HALVINGS; h++) {
      const xt = axpy(x, step, d);
      // The full step usually succeeds: evaluate everything the next iteration needs at once.
      const t = yield* evaluate(xt, h === 0 ? 2 : 1);
      // Armijo's condition from the loss, or from the new gradient (convexity: f(x + td) − f(x) ≤
      // t·g(x + td)ᵀd) where the loss's rounding hides the decrease; and next to the minimum, where
      // neither can tell, a step whose loss is level within rounding and whose gradient is smaller.
      const level = Math.abs(t.loss - point.loss) <= LEVEL * Math.max(1, Math.abs(point.loss));
      if (
        Number.isFinite(t.loss) &&
        (t.loss <= point.loss + ARMIJO * step * slope ||
          dot(t.grad!, d) <= ARMIJO * slope ||
          (level && maxAbs(t.grad!) < opt))
      ) {
        x = xt;
        point = t.hess ? t : yield* evaluate(xt, 2);
        accepted = true;
        break;
      }
      step /= 2;
    }
    if (!accepted) {
      warnings.push({
        code: "NO_PROGRESS",
        message: `newton stopped after ${iter} iterations: no step along the Newton direction decreases the loss (largest gradient entry ${opt.toExponential(2)})`,
      });
      return {
        theta: x,
        iterations: iter,
        converged: false,
        objective: point.loss,
        optimality: opt,
        stoppedBy: "no-progress",
        warnings,
      };
    }
  }
}

/** Pivots below this are zero to working precision: a relative floor on the diagonal's scale. */
function pivotFloor(H: Float64Array, q: number): number {
  let m = 0;
  for (let j = 0; j < q; j++) m = Math.max(m, Math.abs(H[j * q + j]!));
  return m * q * 2.220446049250313e-16 * 10;
}
