// L-BFGS (Nocedal & Wright, algorithm 7.5): a quasi-Newton direction from the last `memory` steps
// and gradient changes (the two-loop recursion), a strong Wolfe line search, one evaluation of the
// loss and gradient per trial. `minimize` is the bare method over any smooth function (ADMM's
// local solves use it inside a task); `lbfgs` is the GLM solver around it.

import { dot, maxAbs, norm2 } from "../dense.js";
import { l1Value } from "../penalty.js";
import { wolfe, type Trial } from "./line-search.js";
import { evaluate, type GlmWarning, type SolverRun, type SolverSettings } from "./types.js";

export interface MinimizeOptions {
  maxIter: number;
  /** Stop when the gradient's largest entry is at most this. */
  gtol: number;
  /** Pairs (s, y) kept (scipy's default 10). */
  memory?: number;
}

export interface Minimum {
  x: Float64Array;
  loss: number;
  grad: Float64Array;
  iterations: number;
  stoppedBy: "optimality" | "no-progress" | "max-iter";
}

export type Minimizer = Generator<Float64Array, Minimum, { loss: number; grad: Float64Array }>;

/** Minimises a smooth function from x0: yields points, gets the loss and gradient at each. */
export function* minimize(x0: Float64Array, options: MinimizeOptions): Minimizer {
  const m = options.memory ?? 10;
  let x = x0;
  let { loss, grad } = yield x;
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const R: number[] = [];
  for (let iter = 0; ; iter++) {
    if (maxAbs(grad) <= options.gtol) return { x, loss, grad, iterations: iter, stoppedBy: "optimality" };
    if (iter >= options.maxIter) return { x, loss, grad, iterations: iter, stoppedBy: "max-iter" };
    let d = direction(grad, S, Y, R);
    let first = S.length === 0 ? Math.min(1, 1 / norm2(grad)) : 1;
    if (!(dot(d, grad) < 0)) {
      // Not a descent direction (rounding in a poorly conditioned memory): start afresh.
      S.length = Y.length = R.length = 0;
      d = grad.map((v) => -v);
      first = Math.min(1, 1 / norm2(grad));
    }
    let t: Trial | null = yield* wolfe(x, loss, grad, d, first);
    if (!t && S.length > 0) {
      S.length = Y.length = R.length = 0;
      d = grad.map((v) => -v);
      t = yield* wolfe(x, loss, grad, d, Math.min(1, 1 / norm2(grad)));
    }
    if (!t) return { x, loss, grad, iterations: iter, stoppedBy: "no-progress" };
    const s = new Float64Array(x.length);
    const y = new Float64Array(x.length);
    for (let i = 0; i < s.length; i++) {
      s[i] = t.x[i]! - x[i]!;
      y[i] = t.grad[i]! - grad[i]!;
    }
    const sy = dot(s, y);
    if (sy > 1e-10 * dot(y, y)) {
      if (S.length === m) {
        S.shift();
        Y.shift();
        R.shift();
      }
      S.push(s);
      Y.push(y);
      R.push(1 / sy);
    }
    x = t.x;
    loss = t.loss;
    grad = t.grad;
  }
}

/** −H·g by the two-loop recursion, H₀ = (sᵀy / yᵀy)·I from the newest pair. */
function direction(g: Float64Array, S: Float64Array[], Y: Float64Array[], R: number[]): Float64Array {
  const q = Float64Array.from(g);
  const k = S.length;
  const alpha = new Array<number>(k);
  for (let i = k - 1; i >= 0; i--) {
    alpha[i] = R[i]! * dot(S[i]!, q);
    for (let j = 0; j < q.length; j++) q[j] = q[j]! - alpha[i]! * Y[i]![j]!;
  }
  if (k > 0) {
    const gamma = 1 / (R[k - 1]! * dot(Y[k - 1]!, Y[k - 1]!));
    for (let j = 0; j < q.length; j++) q[j] = q[j]! * gamma;
  }
  for (let i = 0; i < k; i++) {
    const beta = R[i]! * dot(Y[i]!, q);
    for (let j = 0; j < q.length; j++) q[j] = q[j]! + S[i]![j]! * (alpha[i]! - beta);
  }
  for (let j = 0; j < q.length; j++) q[j] = -q[j]!;
  return q;
}

/** The GLM solver: L-BFGS on the loss plus the L2 part (no L1: that needs proximal_grad or admm). */
export function* lbfgs(theta0: Float64Array, s: SolverSettings): SolverRun {
  const inner = minimize(theta0, { maxIter: s.maxIter, gtol: s.gtol });
  let req = inner.next();
  while (!req.done) {
    const point = yield* evaluate(req.value, 1);
    req = inner.next({ loss: point.loss, grad: point.grad! });
  }
  const r = req.value;
  const warnings: GlmWarning[] = [];
  const optimality = maxAbs(r.grad);
  if (r.stoppedBy === "no-progress")
    warnings.push({
      code: "NO_PROGRESS",
      message: `lbfgs stopped after ${r.iterations} iterations: no step decreases the loss any more (largest gradient entry ${optimality.toExponential(2)}, tolerance ${s.gtol.toExponential(2)})`,
    });
  return {
    theta: r.x,
    iterations: r.iterations,
    converged: r.stoppedBy === "optimality",
    objective: r.loss + l1Value(s.penalty, r.x),
    optimality,
    stoppedBy: r.stoppedBy,
    warnings,
  };
}
