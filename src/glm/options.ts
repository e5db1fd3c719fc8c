// A fit's options: what each means and its default (FitOptions), checked and filled in once
// (checkOptions) before any data is read.

import { ArgumentError } from "../errors.js";
import type { SchedulerChoice } from "../graph/collection.js";
import { SOLVERS, type SolverName } from "./solvers/index.js";

export type RegularizerName = "none" | "l2" | "l1" | "elastic_net";

export interface FitOptions {
  /**
   * "lbfgs" (default for none and l2), "newton", "gradient_descent", "proximal_grad" (default for
   * l1 and elastic_net) or "admm". L1 and elastic net need proximal_grad or admm.
   */
  solver?: SolverName;
  /** "none", "l2", "l1" or "elastic_net"; the estimators' defaults differ (see each). */
  regularizer?: RegularizerName;
  /**
   * λ ≥ 0, the penalty's weight: the fit minimises Σᵢ ℓ(yᵢ, ηᵢ) + λ·((1 − α)/2‖β‖² + α‖β‖₁), a
   * sum over rows (dask-glm's convention). scikit-learn: LogisticRegression's C is 1/λ;
   * Ridge's alpha is λ; Lasso's and ElasticNet's alpha is λ/n; PoissonRegressor's alpha is λ/n.
   * Default 1 (LogisticRegression's C = 1).
   */
  lambda?: number;
  /** α in [0, 1] for elastic_net: the L1 share (scikit-learn's l1_ratio). Default 0.5; l1 is α = 1, l2 α = 0. */
  l1Ratio?: number;
  /** Fit an intercept (never penalized). Default true. */
  fitIntercept?: boolean;
  /**
   * Fit on columns scaled to unit variance (and centred, with an intercept), then give the
   * coefficients for the original columns, as dask-glm's `normalize`. The penalty then applies to
   * the scaled coefficients. Default false (scikit-learn's estimators do not scale).
   */
  standardize?: boolean;
  /** Iterations at most; running out gives `converged: false` and a warning, not an error. Default 100. */
  maxIter?: number;
  /**
   * Converged when the largest entry of the objective's gradient (for L1, of its smallest
   * subgradient), divided by the number of rows, is at most this: scikit-learn's criterion for
   * lbfgs on its mean loss. Default 1e-4 (scikit-learn's default).
   */
  tol?: number;
  /** Where to run: "sync", "threads" or a Client (default: the default scheduler). */
  scheduler?: SchedulerChoice;
  /** newton: a Hessian that cannot be factored is damped with a warning ("damp", default) or refused with SingularMatrixError ("raise"). */
  onSingular?: "damp" | "raise";
  /** admm: the starting penalty parameter ρ (default: from the data's scale; it then adapts). */
  rho?: number;
  /** Rows per block for inputs that are not chunked arrays (default: blocks of about 16 MiB). */
  rowsPerBlock?: number;
  /** Partial results one combining task takes (default: every block's partial is combined here, up to 64; beyond, 16 per task). */
  splitEvery?: number;
}

export interface Checked {
  solver: SolverName;
  regularizer: RegularizerName;
  lambda: number;
  l1Ratio: number;
  fitIntercept: boolean;
  standardize: boolean;
  maxIter: number;
  tol: number;
  scheduler: SchedulerChoice | undefined;
  onSingular: "damp" | "raise";
  rho: number | undefined;
  rowsPerBlock: number | undefined;
  splitEvery: number | undefined;
}

const OPTION_NAMES = [
  "solver",
  "regularizer",
  "lambda",
  "l1Ratio",
  "fitIntercept",
  "standardize",
  "maxIter",
  "tol",
  "scheduler",
  "onSingular",
  "rho",
  "rowsPerBlock",
  "splitEvery",
];

export function checkOptions(options: FitOptions): Checked {
  if (typeof options !== "object" || options === null)
    throw new ArgumentError(`GLM options must be an object, got ${String(options)}`);
  const unknown = Object.keys(options).filter((k) => !OPTION_NAMES.includes(k));
  if (unknown.length > 0)
    throw new ArgumentError(
      `unknown GLM option ${unknown.map((k) => JSON.stringify(k)).join(", ")}; the options are ${OPTION_NAMES.join(", ")}`,
    );
  const regularizer = options.regularizer ?? "l2";
  if (!["none", "l2", "l1", "elastic_net"].includes(regularizer))
    throw new ArgumentError(
      `regularizer must be "none", "l2", "l1" or "elastic_net", got ${JSON.stringify(regularizer)}`,
    );
  const smooth = regularizer === "none" || regularizer === "l2";
  const solver = options.solver ?? (smooth ? "lbfgs" : "proximal_grad");
  if (!(solver in SOLVERS))
    throw new ArgumentError(`solver must be one of ${Object.keys(SOLVERS).join(", ")}, got ${JSON.stringify(solver)}`);
  if (!smooth && !SOLVERS[solver].l1)
    throw new ArgumentError(
      `solver "${solver}" needs a smooth objective; the ${regularizer} regularizer needs "proximal_grad" or "admm"`,
    );
  const lambda = regularizer === "none" ? 0 : (options.lambda ?? 1);
  if (!(typeof lambda === "number" && lambda >= 0 && Number.isFinite(lambda)))
    throw new ArgumentError(`lambda must be a finite number ≥ 0, got ${options.lambda}`);
  if (options.l1Ratio !== undefined && regularizer !== "elastic_net")
    throw new ArgumentError(`l1Ratio belongs to the elastic_net regularizer (this is ${regularizer})`);
  const l1Ratio = regularizer === "l1" ? 1 : regularizer === "elastic_net" ? (options.l1Ratio ?? 0.5) : 0;
  if (!(typeof l1Ratio === "number" && l1Ratio >= 0 && l1Ratio <= 1))
    throw new ArgumentError(`l1Ratio must be between 0 and 1, got ${options.l1Ratio}`);
  const maxIter = options.maxIter ?? 100;
  if (!(Number.isInteger(maxIter) && maxIter >= 0))
    throw new ArgumentError(`maxIter must be a whole number ≥ 0, got ${options.maxIter}`);
  const tol = options.tol ?? 1e-4;
  if (!(typeof tol === "number" && tol >= 0)) throw new ArgumentError(`tol must be a number ≥ 0, got ${options.tol}`);
  const onSingular = options.onSingular ?? "damp";
  if (onSingular !== "damp" && onSingular !== "raise")
    throw new ArgumentError(`onSingular must be "damp" or "raise", got ${JSON.stringify(onSingular)}`);
  if (options.rho !== undefined && !(options.rho > 0 && Number.isFinite(options.rho)))
    throw new ArgumentError(`rho must be a finite number > 0, got ${options.rho}`);
  if (options.rowsPerBlock !== undefined && !(Number.isInteger(options.rowsPerBlock) && options.rowsPerBlock > 0))
    throw new ArgumentError(`rowsPerBlock must be a whole number > 0, got ${options.rowsPerBlock}`);
  if (options.splitEvery !== undefined && !(Number.isInteger(options.splitEvery) && options.splitEvery >= 2))
    throw new ArgumentError(`splitEvery must be a whole number ≥ 2, got ${options.splitEvery}`);
  return {
    solver,
    regularizer,
    lambda,
    l1Ratio,
    fitIntercept: options.fitIntercept ?? true,
    standardize: options.standardize ?? false,
    maxIter,
    tol,
    scheduler: options.scheduler,
    onSingular,
    rho: options.rho,
    rowsPerBlock: options.rowsPerBlock,
    splitEvery: options.splitEvery,
  };
}
