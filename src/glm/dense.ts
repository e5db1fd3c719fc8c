// Small dense linear algebra for the client: the q × q systems of Newton's method (q = columns + 1).

/**
 * The Cholesky factor L (lower, row by row) of a symmetric q × q matrix, or null when the matrix
 * is not positive definite to working precision (a pivot ≤ `floor`).
 */
export function cholesky(A: Float64Array, q: number, floor = 0): Float64Array | null {
  const L = new Float64Array(q * q);
  for (let j = 0; j < q; j++) {
    let d = A[j * q + j]!;
    for (let k = 0; k < j; k++) d -= L[j * q + k]! * L[j * q + k]!;
    if (!(d > floor)) return null;
    const ljj = Math.sqrt(d);
    L[j * q + j] = ljj;
    for (let i = j + 1; i < q; i++) {
      let s = A[i * q + j]!;
      for (let k = 0; k < j; k++) s -= L[i * q + k]! * L[j * q + k]!;
      L[i * q + j] = s / ljj;
    }
  }
  return L;
}

/** Solves L Lᵀ x = b. */
export function choleskySolve(L: Float64Array, q: number, b: Float64Array): Float64Array {
  const y = new Float64Array(q);
  for (let i = 0; i < q; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i * q + k]! * y[k]!;
    y[i] = s / L[i * q + i]!;
  }
  const x = new Float64Array(q);
  for (let i = q - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < q; k++) s -= L[k * q + i]! * x[k]!;
    x[i] = s / L[i * q + i]!;
  }
  return x;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]!);
    if (!(v <= m)) m = v;
  }
  return m;
}

export function norm2(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

/** x + t·d, a new array. */
export function axpy(x: ArrayLike<number>, t: number, d: ArrayLike<number>): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < out.length; i++) out[i] = x[i]! + t * d[i]!;
  return out;
}

/** a − b, a new array. */
export function sub(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < out.length; i++) out[i] = a[i]! - b[i]!;
  return out;
}
