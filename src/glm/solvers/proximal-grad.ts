// Proximal gradient descent for objectives with an L1 part (lasso, elastic net): a gradient step
// on the smooth part (loss + L2), then soft thresholding (the proximal operator of the L1 part).
// The step starts from the Barzilai–Borwein estimate and is halved until the usual majorisation
// holds, f(x⁺) ≤ f(x) + gᵀ(x⁺ − x) + ‖x⁺ − x‖²/(2t), which makes the whole objective decrease.
// An accepted trial brings the next gradient: usually one pass per iteration.

import { dot, norm2, sub } from "../dense.js";
import { l1Value, optimality, proxL1 } from "../penalty.js";
import { evaluate, type GlmWarning, type SolverRun, type SolverSettings } from "./types.js";

const MAX_HALVINGS = 60;

export function* proximalGrad(theta0: Float64Array, s: SolverSettings): SolverRun {
  const pen = s.penalty;
  let x = theta0;
  let { loss, grad } = yield* evaluate(x, 1);
  let g = grad!;
  let step = Math.min(1, 1 / norm2(g));
  const warnings: GlmWarning[] = [];
  const result = (iterations: number, stoppedBy: "optimality" | "no-progress" | "max-iter", opt: number) => ({
    theta: x,
    iterations,
    converged: stoppedBy === "optimality",
    objective: loss + l1Value(pen, x),
    optimality: opt,
    stoppedBy,
    warnings,
  });
  for (let iter = 0; ; iter++) {
    const opt = optimality(pen, x, g);
    if (opt <= s.gtol) return result(iter, "optimality", opt);
    if (iter >= s.maxIter) return result(iter, "max-iter", opt);
    let accepted = false;
    for (let h = 0; h < MAX_HALVINGS; h++) {
      const xt = proxL1(
        pen,
        x.map((v, j) => v - step * g[j]!),
        step,
      );
      const d = sub(xt, x);
      const dd = dot(d, d);
      if (dd === 0) break; // the step moved nothing: rounding has the last word
      const t = yield* evaluate(xt, 1);
      // The majorisation, from the loss or (convexity: f(x⁺) − f(x) − gᵀd ≤ (g⁺ − g)ᵀd) from the
      // gradients, which keep their precision where the loss's rounding hides the difference.
      if (
        Number.isFinite(t.loss) &&
        (t.loss <= loss + dot(g, d) + dd / (2 * step) || dot(sub(t.grad!, g), d) <= dd / (2 * step))
      ) {
        const yv = sub(t.grad!, g);
        const sy = dot(d, yv);
        x = xt;
        loss = t.loss;
        g = t.grad!;
        step = sy > 0 ? dd / sy : step * 2;
        accepted = true;
        break;
      }
      step /= 2;
    }
    if (!accepted) {
      warnings.push({
        code: "NO_PROGRESS",
        message: `proximal_grad stopped after ${iter} iterations: no step decreases the objective (optimality ${opt.toExponential(2)})`,
      });
      return result(iter, "no-progress", opt);
    }
  }
}
