// The regularizers as the solvers use them. With λ = `lambda` and α = `l1Ratio`, the objective is
//   Σᵢ ℓ(yᵢ, ηᵢ) + λ · ( (1 − α)/2 · ‖β‖² + α · ‖β‖₁ )
// over the coefficients β; the intercept is never penalized. The L2 part is smooth and goes into
// the function the solvers minimise (value, gradient, Hessian); the L1 part is handled by its
// proximal operator (soft thresholding) or by subgradients when checking optimality.

/** Penalty weights: `l2` = λ(1 − α), `l1` = λα; the first `p` entries of θ are penalized (not the intercept after them). */
export interface Penalty {
  l2: number;
  l1: number;
  p: number;
}

/** λ(1−α)/2 ‖β‖² + λα ‖β‖₁. */
export function penaltyValue(pen: Penalty, theta: Float64Array): number {
  let sq = 0;
  let abs = 0;
  for (let j = 0; j < pen.p; j++) {
    sq += theta[j]! * theta[j]!;
    abs += Math.abs(theta[j]!);
  }
  return (pen.l2 / 2) * sq + pen.l1 * abs;
}

/** The smooth (L2) part added to a loss, its gradient and its Hessian (q × q, row by row), in place. */
export function addSmoothPenalty(
  pen: Penalty,
  theta: Float64Array,
  point: { loss: number; grad: Float64Array | null; hess: Float64Array | null },
  q: number,
): void {
  if (pen.l2 === 0) return;
  let sq = 0;
  for (let j = 0; j < pen.p; j++) sq += theta[j]! * theta[j]!;
  point.loss += (pen.l2 / 2) * sq;
  if (point.grad) for (let j = 0; j < pen.p; j++) point.grad[j] = point.grad[j]! + pen.l2 * theta[j]!;
  if (point.hess) for (let j = 0; j < pen.p; j++) point.hess[j * q + j] = point.hess[j * q + j]! + pen.l2;
}

/** The L1 part, λα‖β‖₁. */
export function l1Value(pen: Penalty, theta: Float64Array): number {
  if (pen.l1 === 0) return 0;
  let abs = 0;
  for (let j = 0; j < pen.p; j++) abs += Math.abs(theta[j]!);
  return pen.l1 * abs;
}

/** sign(v)·max(|v| − t, 0). */
export function softThreshold(v: number, t: number): number {
  return v > t ? v - t : v < -t ? v + t : 0;
}

/** The proximal operator of t·λα‖β‖₁: soft thresholding of β by tλα; the intercept passes. */
export function proxL1(pen: Penalty, v: Float64Array, t: number): Float64Array {
  const out = Float64Array.from(v);
  if (pen.l1 === 0) return out;
  for (let j = 0; j < pen.p; j++) out[j] = softThreshold(v[j]!, t * pen.l1);
  return out;
}

/**
 * The proximal operator of the whole elastic net with weight 1/c: argmin_z λ(1−α)/2‖z‖² + λα‖z‖₁
 * + c/2‖z − v‖², for ADMM's consensus step. Setting the subgradient to zero,
 * λα·sign(z) + λ(1−α)z + c(z − v) = 0, gives z = S(cv, λα) / (c + λ(1−α)) = S(v, λα/c) / (1 + λ(1−α)/c):
 * soft thresholding, then shrinking. (dask-glm's ElasticNet returned v unchanged.) The intercept
 * entries are not penalized: z = v there.
 */
export function proxElasticNet(pen: Penalty, v: Float64Array, c: number): Float64Array {
  const out = Float64Array.from(v);
  for (let j = 0; j < pen.p; j++) out[j] = softThreshold(v[j]!, pen.l1 / c) / (1 + pen.l2 / c);
  return out;
}

/**
 * How far θ is from optimal, given the gradient of the smooth part there: the largest entry of the
 * smallest subgradient of the whole objective. 0 at the minimum; the plain gradient's largest
 * entry when there is no L1 part. For β_j ≠ 0 that is |g_j + λα·sign(β_j)|; for β_j = 0 it is
 * max(|g_j| − λα, 0).
 */
export function optimality(pen: Penalty, theta: Float64Array, grad: Float64Array): number {
  let worst = 0;
  for (let j = 0; j < grad.length; j++) {
    const g = grad[j]!;
    let v: number;
    if (j >= pen.p || pen.l1 === 0) v = Math.abs(g);
    else if (theta[j] !== 0) v = Math.abs(g + pen.l1 * Math.sign(theta[j]!));
    else v = Math.max(Math.abs(g) - pen.l1, 0);
    if (!(v <= worst)) worst = v; // NaN wins
  }
  return worst;
}
