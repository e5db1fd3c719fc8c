// ADMM's local step, run by the worker that holds the row block: minimise the block's loss plus
// ρ/2‖θ − z + u‖² by L-BFGS from the block's last θ, evaluating in place (no tasks). Also gives
// the block's loss and gradient at the z it was given, for the client's optimality check.

import type { NDArray } from "../../array/ndarray.js";
import type { FamilyName } from "../families.js";
import type { Scaling } from "../scaling.js";
import { minimize } from "../solvers/lbfgs.js";
import { scaledBlockLoss, type LossSpec } from "./loss.js";

export interface LocalSpec {
  family: FamilyName;
  intercept: boolean;
  scaling: Scaling;
  /** The local solve stops when its gradient's largest entry is at most this, or after maxIter iterations. */
  gtol: number;
  maxIter: number;
}

/** [θ_k (q entries), the block's loss gradient at z (q), its loss at z, local iterations]. */
export function admmLocal(
  spec: LocalSpec,
  x: NDArray,
  y: NDArray,
  z: Float64Array,
  u: Float64Array,
  warm: Float64Array,
  rho: number,
): Float64Array {
  const q = z.length;
  const lossSpec: LossSpec = { family: spec.family, need: 1, intercept: spec.intercept };
  const atZ = scaledBlockLoss(lossSpec, spec.scaling, x, y, z);
  const centre = new Float64Array(q);
  for (let j = 0; j < q; j++) centre[j] = z[j]! - u[j]!;
  const run = minimize(warm, { gtol: spec.gtol, maxIter: spec.maxIter });
  let step = run.next();
  while (!step.done) {
    const theta = step.value;
    const r = scaledBlockLoss(lossSpec, spec.scaling, x, y, theta);
    let loss = r[0]!;
    const grad = r.subarray(1, 1 + q);
    for (let j = 0; j < q; j++) {
      const d = theta[j]! - centre[j]!;
      loss += 0.5 * rho * d * d;
      grad[j] = grad[j]! + rho * d;
    }
    step = run.next({ loss, grad: Float64Array.from(grad) });
  }
  const out = new Float64Array(2 * q + 2);
  out.set(step.value.x, 0);
  out.set(atZ.subarray(1, 1 + q), q);
  out[2 * q] = atZ[0]!;
  out[2 * q + 1] = step.value.iterations;
  return out;
}
