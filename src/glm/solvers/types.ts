// What solvers and their drivers say to each other. A solver is a generator: it yields requests
// (evaluate the objective at θ, or run ADMM's local solves) and gets answers back, so the same
// code runs against a cluster (the driver awaits a pass over the blocks) and inside one task (the
// driver evaluates in place), and tests can drive it with any function.

import type { Need } from "../kernels/loss.js";
import type { Penalty } from "../penalty.js";

/** The smooth part of the objective at a point: data loss plus the L2 penalty, and its derivatives as asked. */
export interface Point {
  loss: number;
  grad: Float64Array | null;
  hess: Float64Array | null;
}

/** ADMM's local round: each block's new θ_k, and the data loss and gradient at the z it was given, summed over blocks. */
export interface LocalAnswer {
  thetas: Float64Array[];
  lossAtZ: number;
  gradAtZ: Float64Array;
}

export type Request =
  | { kind: "evaluate"; theta: Float64Array; need: Need }
  /** ADMM's local solves; each stops when its gradient's largest entry is at most `gtol`. */
  | { kind: "local"; z: Float64Array; u: Float64Array[]; warm: Float64Array[]; rho: number; gtol: number };

export interface SolverSettings {
  /** Parameters: columns, and the intercept last when there is one. */
  q: number;
  penalty: Penalty;
  maxIter: number;
  /** Converged when the optimality measure (penalty.ts `optimality`) is at most this (tol × rows). */
  gtol: number;
  /** newton: what to do with a Hessian that cannot be factored. */
  onSingular: "damp" | "raise";
  /** admm: the row blocks, and the starting penalty parameter. */
  blocks: number;
  rho: number;
}

export interface SolveResult {
  theta: Float64Array;
  iterations: number;
  converged: boolean;
  /** The whole objective at θ: loss, L2 and L1 parts. */
  objective: number;
  /** The optimality measure at θ (0 at the minimum). */
  optimality: number;
  stoppedBy: "optimality" | "no-progress" | "max-iter";
  warnings: GlmWarning[];
}

/** Something a fit wants the user to know that is not an error. */
export interface GlmWarning {
  code: "NOT_CONVERGED" | "SINGULAR_HESSIAN" | "NO_PROGRESS";
  message: string;
}

export type SolverRun = Generator<Request, SolveResult, Point | LocalAnswer>;

/** Asks the driver for the smooth objective at θ. */
export function* evaluate(theta: Float64Array, need: Need): Generator<Request, Point, Point | LocalAnswer> {
  return (yield { kind: "evaluate", theta, need }) as Point;
}
