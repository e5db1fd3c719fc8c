// The three families of meshwork/glm: their per-row loss (the negative log-likelihood up to terms
// without η), its first and second derivatives in η, written so nothing overflows that need not,
// and what a target value may be. Workers turn the `code` into loops (kernels/loss.ts); the
// functions beside it say the same in plain TypeScript for the client and the tests.

export type FamilyName = "normal" | "logistic" | "poisson";

export interface Family {
  readonly name: FamilyName;
  /**
   * Statements reading `eta` and `yi` that add the row's loss to `loss` and, for `grad`, declare
   * `r` = dℓ/dη and, for `hess`, `w` = d²ℓ/dη².
   */
  code(grad: boolean, hess: boolean): string;
  /** ℓ(y, η), dℓ/dη and d²ℓ/dη² for one row. */
  row(y: number, eta: number): [loss: number, r: number, w: number];
  /** The mean for a linear predictor (the inverse link). */
  mean(eta: number): number;
  /** The linear predictor of a constant model with mean `m` (the link): where the intercept starts. */
  link(m: number): number;
  /** Whether a target value is one the family takes. */
  validTarget(y: number): boolean;
  /** What the targets must be, for the error that names a bad one. */
  readonly targetRule: string;
}

/** log(1 + e^η) without overflow: max(η, 0) + log1p(e^-|η|). */
export function softplus(eta: number): number {
  return Math.max(eta, 0) + Math.log1p(Math.exp(-Math.abs(eta)));
}

/** 1 / (1 + e^-η) without overflow. */
export function sigmoid(eta: number): number {
  if (eta >= 0) return 1 / (1 + Math.exp(-eta));
  const e = Math.exp(eta);
  return e / (1 + e);
}

/** Least squares: ℓ = ½(y − η)², identity link. */
const normal: Family = {
  name: "normal",
  code: (grad, hess) =>
    `const r = eta - yi; loss += 0.5 * r * r;${hess ? " const w = 1;" : ""}${grad ? "" : " void r;"}`,
  row: (y, eta) => [0.5 * (eta - y) ** 2, eta - y, 1],
  mean: (eta) => eta,
  link: (m) => m,
  validTarget: (y) => Number.isFinite(y),
  targetRule: "finite numbers",
};

/**
 * Logistic regression: ℓ = log(1 + e^η) − yη (softplus, never overflowing), logit link. One
 * exp(−|η|) serves the loss, the probability and the weight.
 */
const logistic: Family = {
  name: "logistic",
  code: (grad, hess) =>
    `const e = Math.exp(-Math.abs(eta)); loss += (eta > 0 ? eta : 0) + Math.log1p(e) - yi * eta;` +
    (grad ? ` const r = (eta >= 0 ? 1 / (1 + e) : e / (1 + e)) - yi;` : "") +
    (hess ? ` const w = e / ((1 + e) * (1 + e));` : ""),
  row: (y, eta) => {
    const e = Math.exp(-Math.abs(eta));
    return [softplus(eta) - y * eta, sigmoid(eta) - y, e / ((1 + e) * (1 + e))];
  },
  mean: sigmoid,
  link: (m) => Math.log(m / (1 - m)),
  validTarget: (y) => y === 0 || y === 1,
  targetRule: "0 or 1",
};

/** Poisson regression: ℓ = e^η − yη (the −log y! term has no η), log link. */
const poisson: Family = {
  name: "poisson",
  code: (grad, hess) =>
    `const mu = Math.exp(eta); loss += mu - yi * eta;${grad ? " const r = mu - yi;" : ""}${hess ? " const w = mu;" : ""}`,
  row: (y, eta) => {
    const mu = Math.exp(eta);
    return [mu - y * eta, mu - y, mu];
  },
  mean: Math.exp,
  link: (m) => Math.log(m),
  validTarget: (y) => y >= 0 && Number.isFinite(y),
  targetRule: "finite numbers ≥ 0",
};

export const FAMILIES: Readonly<Record<FamilyName, Family>> = { normal, logistic, poisson };
