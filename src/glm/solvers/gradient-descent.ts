// Gradient descent with a backtracking (Armijo) line search. The first trial step of each
// iteration is the Barzilai–Borwein step sᵀs / sᵀy from the last one (a cheap estimate of the
// inverse curvature), halved until the loss decreases enough; a trial that is accepted already
// brings the gradient the next iteration needs, so an iteration usually costs one pass.

import { axpy, dot, maxAbs, norm2 } from "../dense.js";
import { evaluate, type GlmWarning, type SolverRun, type SolverSettings } from "./types.js";

/** Halvings of the step before giving up on an iteration. */
const MAX_HALVINGS = 60;
const ARMIJO = 1e-4;

export function* gradientDescent(theta0: Float64Array, s: SolverSettings): SolverRun {
  let x = theta0;
  let { loss, grad } = yield* evaluate(x, 1);
  let g = grad!;
  let step = Math.min(1, 1 / norm2(g));
  const warnings: GlmWarning[] = [];
  for (let iter = 0; ; iter++) {
    const opt = maxAbs(g);
    if (opt <= s.gtol)
      return {
        theta: x,
        iterations: iter,
        converged: true,
        objective: loss,
        optimality: opt,
        stoppedBy: "optimality",
        warnings,
      };
    if (iter >= s.maxIter)
      return {
        theta: x,
        iterations: iter,
        converged: false,
        objective: loss,
        optimality: opt,
        stoppedBy: "max-iter",
        warnings,
      };
    const gg = dot(g, g);
    let accepted = false;
    for (let h = 0; h < MAX_HALVINGS; h++) {
      const xt = axpy(x, -step, g);
      const t = yield* evaluate(xt, 1);
      // Armijo's condition, from the loss or (convexity: f(x − tg) − f(x) ≤ −t·g(x − tg)ᵀg) from the
      // new gradient, which stays precise where the loss's rounding hides the decrease.
      if (Number.isFinite(t.loss) && (t.loss <= loss - ARMIJO * step * gg || dot(t.grad!, g) >= ARMIJO * gg)) {
        const sv = new Float64Array(x.length);
        const yv = new Float64Array(x.length);
        for (let i = 0; i < sv.length; i++) {
          sv[i] = xt[i]! - x[i]!;
          yv[i] = t.grad![i]! - g[i]!;
        }
        const sy = dot(sv, yv);
        x = xt;
        loss = t.loss;
        g = t.grad!;
        step = sy > 0 ? dot(sv, sv) / sy : step * 2;
        accepted = true;
        break;
      }
      step /= 2;
    }
    if (!accepted) {
      warnings.push({
        code: "NO_PROGRESS",
        message: `gradient_descent stopped after ${iter} iterations: no step along the gradient decreases the loss (largest gradient entry ${opt.toExponential(2)})`,
      });
      return {
        theta: x,
        iterations: iter,
        converged: false,
        objective: loss,
        optimality: opt,
        stoppedBy: "no-progress",
        warnings,
      };
    }
  }
}
