// The estimators, shaped as scikit-learn's: options in the constructor, `fit(X, y)` (returns the
// estimator), then `coef`, `intercept`, `predict`, `score`. Predictions are lazy chunked arrays
// (X · coef in one task per row block, then the link's inverse, fused).

import { ArgumentError } from "../errors.js";
import { fromArray } from "../array/creation.js";
import type { ChunkedArray } from "../array/core.js";
import { where } from "../array/elementwise.js";
import { computeWith, type SchedulerChoice } from "../graph/collection.js";
import type { FamilyName } from "./families.js";
import { fitGlm, type FitResult } from "./fit.js";
import type { FitOptions, RegularizerName } from "./options.js";
import { matrix, targets, type MatrixInput, type VectorInput } from "./inputs.js";

export type EstimatorOptions = FitOptions;

abstract class GeneralizedLinearModel {
  protected abstract readonly family: FamilyName;
  protected abstract readonly defaultRegularizer: RegularizerName;
  /** What the last fit found (undefined before fit). */
  result: FitResult | undefined;
  readonly options: Readonly<EstimatorOptions>;

  constructor(options: EstimatorOptions = {}) {
    this.options = Object.freeze({ ...options });
  }

  /** Fits the model to rows X (n × p) and targets y (n); resolves to the estimator itself. */
  async fit(X: MatrixInput, y: VectorInput): Promise<this> {
    this.result = await fitGlm(this.family, X, y, { regularizer: this.defaultRegularizer, ...this.options });
    return this;
  }

  /** Whether the model has an intercept (option `fitIntercept`, default true). */
  get fitIntercept(): boolean {
    return this.options.fitIntercept ?? true;
  }

  /** The coefficients, one per column of X. */
  get coef(): Float64Array {
    return this.fitted().coef;
  }

  /** The intercept (0 without one). */
  get intercept(): number {
    return this.fitted().intercept;
  }

  /** Iterations the solver took. */
  get iterations(): number {
    return this.fitted().iterations;
  }

  /** The objective at the solution (Σ loss + penalty). */
  get loss(): number {
    return this.fitted().loss;
  }

  /** Whether the solver met the tolerance (false: see `warnings`). */
  get converged(): boolean {
    return this.fitted().converged;
  }

  get warnings(): FitResult["warnings"] {
    return this.fitted().warnings;
  }

  /** The linear predictor X · coef + intercept, lazily, cut as X's rows. */
  decisionFunction(X: MatrixInput): ChunkedArray {
    const { coef, intercept } = this.fitted();
    const x = matrix(X, this.options.rowsPerBlock);
    if (x.shape[1] !== coef.length)
      throw new ArgumentError(`X has ${x.shape[1]} columns; the model was fitted on ${coef.length}`);
    const eta = x.matmul(fromArray(coef));
    return intercept === 0 ? eta : eta.add(intercept);
  }

  /** Predictions for the rows of X, lazily. */
  abstract predict(X: MatrixInput): ChunkedArray;

  /** How well the model predicts y from X (see each estimator), computed on the model's scheduler. */
  abstract score(X: MatrixInput, y: VectorInput): Promise<number>;

  protected fitted(): FitResult {
    if (!this.result) throw new ArgumentError(`this ${this.constructor.name} is not fitted yet: call fit(X, y) first`);
    return this.result;
  }

  protected get scheduler(): SchedulerChoice | undefined {
    return this.options.scheduler;
  }
}

/**
 * Least squares: ℓ = ½(y − η)². No penalty by default (scikit-learn's LinearRegression); with
 * `regularizer: "l2"` it is Ridge (alpha = λ), with "l1" Lasso and "elastic_net" ElasticNet (their
 * alpha = λ / n).
 */
export class LinearRegression extends GeneralizedLinearModel {
  protected readonly family = "normal" as const;
  protected readonly defaultRegularizer = "none" as const;

  predict(X: MatrixInput): ChunkedArray {
    return this.decisionFunction(X);
  }

  /** The coefficient of determination R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)². */
  async score(X: MatrixInput, y: VectorInput): Promise<number> {
    const x = matrix(X, this.options.rowsPerBlock);
    const t = targets(y, x);
    const r = t.sub(this.predict(x));
    const [ssRes, variance] = (await computeWith({ scheduler: this.scheduler }, [r.mul(r).sum(), t.var()])) as [
      number,
      number,
    ];
    return 1 - ssRes / (variance * t.shape[0]!);
  }
}

/**
 * Logistic regression for targets 0 and 1: ℓ = log(1 + e^η) − yη. L2 with λ = 1 by default,
 * which is scikit-learn's LogisticRegression() (C = 1/λ).
 */
export class LogisticRegression extends GeneralizedLinearModel {
  protected readonly family = "logistic" as const;
  protected readonly defaultRegularizer = "l2" as const;

  /** P(y = 1) for each row (a 1-d array, as dask-glm's; scikit-learn's has a column per class). */
  predictProba(X: MatrixInput): ChunkedArray {
    return this.decisionFunction(X).sigmoid();
  }

  /** The class, 0 or 1 (float64): 1 where P(y = 1) > ½. */
  predict(X: MatrixInput): ChunkedArray {
    return this.decisionFunction(X).gt(0).astype("float64");
  }

  /** Accuracy: the share of rows predicted right. */
  async score(X: MatrixInput, y: VectorInput): Promise<number> {
    const x = matrix(X, this.options.rowsPerBlock);
    const t = targets(y, x);
    return (await this.predict(x).eq(t).mean().compute({ scheduler: this.scheduler })) as number;
  }
}

/**
 * Poisson regression for counts, log link: ℓ = e^η − yη. L2 with λ = 1 by default (dask-glm's);
 * scikit-learn's PoissonRegressor(alpha) is λ = n·alpha.
 */
export class PoissonRegression extends GeneralizedLinearModel {
  protected readonly family = "poisson" as const;
  protected readonly defaultRegularizer = "l2" as const;

  /** The expected count e^η. */
  predict(X: MatrixInput): ChunkedArray {
    return this.decisionFunction(X).exp();
  }

  /**
   * D² = 1 − D(y, μ̂) / D(y, ȳ), the share of the Poisson deviance D = 2Σ(y log(y/μ) − y + μ)
   * explained (scikit-learn's PoissonRegressor.score).
   */
  async score(X: MatrixInput, y: VectorInput): Promise<number> {
    const x = matrix(X, this.options.rowsPerBlock);
    const t = targets(y, x);
    const mu = this.predict(x);
    const positive = t.gt(0);
    // y log(y/μ) is 0 where y is 0 (its limit).
    const dev = where(positive, t.mul(t.div(mu).log()), 0)
      .sub(t)
      .add(mu)
      .sum();
    const yLogY = where(positive, t.mul(t.log()), 0).sum();
    const [d, ylogy, s] = (await computeWith({ scheduler: this.scheduler }, [dev, yLogY, t.sum()])) as [
      number,
      number,
      number,
    ];
    const n = t.shape[0]!;
    // D(y, ȳ)/2 = Σ y log y − S log(S/n) (the −y + ȳ terms cancel).
    const dNull = ylogy - (s > 0 ? s * Math.log(s / n) : 0);
    return 1 - d / dNull;
  }
}
