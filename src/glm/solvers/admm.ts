// ADMM in consensus form (Boyd et al., "Distributed Optimization and Statistical Learning via the
// Alternating Direction Method of Multipliers", §7.1 and §8.2), as dask-glm runs it: every row
// block k keeps its own coefficients θ_k, solved on the worker that holds the block,
//   θ_k ← argmin f_k(θ) + ρ/2 ‖θ − z + u_k‖²      (a local L-BFGS, warm-started)
// and here the consensus and the scaled duals are updated:
//   z ← prox of the whole penalty with weight 1/(Kρ) at mean_k(θ_k + u_k)   (penalty.ts)
//   u_k ← u_k + θ_k − z.
// ρ follows residual balancing (Boyd §3.4.1). Each local round also returns the blocks' loss and
// gradient at the z they were given, so the optimality of z is known without an extra pass, one
// round late; the fit stops at the first z that is optimal to the tolerance.

import { optimality, penaltyValue, proxElasticNet } from "../penalty.js";
import type { GlmWarning, LocalAnswer, SolverRun, SolverSettings } from "./types.js";

/** Residual balancing: ρ changes by this factor when one residual is this many times the other. */
const BALANCE_RATIO = 10;
const BALANCE_FACTOR = 2;

export function* admm(theta0: Float64Array, s: SolverSettings): SolverRun {
  const K = s.blocks;
  const q = s.q;
  const pen = s.penalty;
  let z: Float64Array = Float64Array.from(theta0);
  let rho = s.rho;
  const u = Array.from({ length: K }, () => new Float64Array(q));
  let thetas: Float64Array[] = Array.from({ length: K }, () => Float64Array.from(theta0));
  const warnings: GlmWarning[] = [];
  // The local solves need only be as exact as the consensus is near optimal (inexact ADMM): a
  // tenth of the last optimality measured, shared among the blocks, and never looser than needed.
  let opt = Infinity;
  for (let iter = 0; ; iter++) {
    const localTol = Math.max(0.1 * s.gtol, Math.min(0.1 * opt, Number.MAX_VALUE)) / K;
    const answer = (yield { kind: "local", z, u, warm: thetas, rho, gtol: localTol }) as LocalAnswer;
    // The smooth part's gradient at z: the data's, plus the L2 part.
    const g = Float64Array.from(answer.gradAtZ);
    for (let j = 0; j < pen.p; j++) g[j] = g[j]! + pen.l2 * z[j]!;
    opt = optimality(pen, z, g);
    const objective = answer.lossAtZ + penaltyValue(pen, z);
    if (opt <= s.gtol)
      return {
        theta: z,
        iterations: iter,
        converged: true,
        objective,
        optimality: opt,
        stoppedBy: "optimality",
        warnings,
      };
    if (iter >= s.maxIter)
      return {
        theta: z,
        iterations: iter,
        converged: false,
        objective,
        optimality: opt,
        stoppedBy: "max-iter",
        warnings,
      };
    thetas = answer.thetas;
    const mean = new Float64Array(q);
    for (let k = 0; k < K; k++) for (let j = 0; j < q; j++) mean[j] = mean[j]! + (thetas[k]![j]! + u[k]![j]!) / K;
    const zOld = z;
    z = proxElasticNet(pen, mean, K * rho);
    let primal = 0;
    for (let k = 0; k < K; k++) {
      for (let j = 0; j < q; j++) {
        const r = thetas[k]![j]! - z[j]!;
        u[k]![j] = u[k]![j]! + r;
        primal += r * r;
      }
    }
    primal = Math.sqrt(primal);
    let change = 0;
    for (let j = 0; j < q; j++) change += (z[j]! - zOld[j]!) ** 2;
    const dual = rho * Math.sqrt(K * change);
    // Balanced relative to their own scales (Wohlberg, "ADMM Penalty Parameter Selection by
    // Residual Balancing", 2017): the primal residual is in coefficients, the dual in gradients
    // (sums over rows), so comparing them raw would push ρ wherever the data's size says.
    let thetaNorm = 0;
    let duals = 0;
    for (let k = 0; k < K; k++) {
      for (let j = 0; j < q; j++) {
        thetaNorm += thetas[k]![j]! ** 2;
        duals += (rho * u[k]![j]!) ** 2;
      }
    }
    let zNorm = 0;
    for (let j = 0; j < q; j++) zNorm += z[j]! ** 2;
    const primalRel = primal / Math.max(Math.sqrt(thetaNorm), Math.sqrt(K * zNorm), Number.MIN_VALUE);
    const dualRel = dual / Math.max(Math.sqrt(duals), Number.MIN_VALUE);
    // The scaled duals are u = y/ρ: when ρ changes, they change inversely.
    if (primalRel > BALANCE_RATIO * dualRel) rescale(BALANCE_FACTOR);
    else if (dualRel > BALANCE_RATIO * primalRel) rescale(1 / BALANCE_FACTOR);
  }

  function rescale(f: number): void {
    rho *= f;
    for (const uk of u) for (let j = 0; j < q; j++) uk[j] = uk[j]! / f;
  }
}
