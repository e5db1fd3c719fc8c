// Standardised columns without a standardised copy: the solvers work on θ' for (X − m) / s, and
// every pass reads the raw X with θ = Aθ' (β = β'/s, b = b' − m·β), turning the raw gradient and
// Hessian into θ' ones (Aᵀg, AᵀHA). Without standardisation A is the identity.

/** Column means (null: not centred) and scales of the columns, and whether θ ends with an intercept. */
export interface Scaling {
  mean: Float64Array | null;
  scale: Float64Array | null;
  intercept: boolean;
}

export const IDENTITY = (intercept: boolean): Scaling => ({ mean: null, scale: null, intercept });

/** θ = Aθ': the coefficients on the raw columns. */
export function toRaw(s: Scaling, t: Float64Array): Float64Array {
  if (!s.scale) return t;
  const p = s.scale.length;
  const out = new Float64Array(t.length);
  let shift = 0;
  for (let j = 0; j < p; j++) {
    out[j] = t[j]! / s.scale[j]!;
    if (s.mean) shift += s.mean[j]! * out[j]!;
  }
  if (s.intercept) out[p] = t[p]! - shift;
  return out;
}

/** θ' = A⁻¹θ: raw coefficients as the solver sees them. */
export function fromRaw(s: Scaling, t: Float64Array): Float64Array {
  if (!s.scale) return t;
  const p = s.scale.length;
  const out = new Float64Array(t.length);
  let shift = 0;
  for (let j = 0; j < p; j++) {
    out[j] = t[j]! * s.scale[j]!;
    if (s.mean) shift += s.mean[j]! * t[j]!;
  }
  if (s.intercept) out[p] = t[p]! + shift;
  return out;
}

/** g' = Aᵀg, in place. */
export function gradToScaled(s: Scaling, g: Float64Array, offset = 0): void {
  if (!s.scale) return;
  const p = s.scale.length;
  const gb = s.intercept ? g[offset + p]! : 0;
  for (let j = 0; j < p; j++) g[offset + j] = (g[offset + j]! - (s.mean ? s.mean[j]! * gb : 0)) / s.scale[j]!;
}

/** H' = AᵀHA for a q × q Hessian stored row by row, in place. */
export function hessToScaled(s: Scaling, H: Float64Array, offset: number, q: number): void {
  if (!s.scale) return;
  const p = s.scale.length;
  // A's column j (j < p) is e_j / s_j − (m_j / s_j) e_b; its last column is e_b.
  const col = (j: number, v: (i: number) => number): number => {
    if (j === p) return v(p);
    const x = v(j) / s.scale![j]!;
    return s.mean && s.intercept ? x - (s.mean[j]! / s.scale![j]!) * v(p) : x;
  };
  const HA = new Float64Array(q * q);
  for (let i = 0; i < q; i++) for (let j = 0; j < q; j++) HA[i * q + j] = col(j, (k) => H[offset + i * q + k]!);
  for (let i = 0; i < q; i++) for (let j = 0; j < q; j++) H[offset + i * q + j] = col(i, (k) => HA[k * q + j]!);
}
