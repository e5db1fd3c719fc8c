// Helpers the compiled loops (loops.ts) may call, with NumPy's semantics where JavaScript's
// differ. Passed to each compiled loop as arguments of the function that makes it.

// Helpers the generated code may call. NumPy's maximum/minimum propagate NaN; integer powers wrap
// like NumPy's (exponentiation by squaring in 32 bits), and negative integer exponents give 0.
// Not Math.max/min: on equal operands (0 and -0) NumPy keeps the first, Math.max prefers +0.
function fmax(a: number, b: number): number {
  // biome-ignore lint/complexity/useMathMinMax: NumPy's tie rule for signed zeros (see above)
  return a !== a ? a : b !== b ? b : a >= b ? a : b;
}
function fmin(a: number, b: number): number {
  // biome-ignore lint/complexity/useMathMinMax: NumPy's tie rule for signed zeros (see above)
  return a !== a ? a : b !== b ? b : a <= b ? a : b;
}
function ipow(a: number, b: number): number {
  if (b < 0) return a === 1 ? 1 : a === -1 ? (b % 2 === 0 ? 1 : -1) : 0;
  let result = 1;
  let base = a | 0;
  let e = b >>> 0;
  while (e > 0) {
    if (e & 1) result = Math.imul(result, base);
    base = Math.imul(base, base);
    e >>>= 1;
  }
  return result;
}

/** The logistic function without overflow: e^x / (1 + e^x) for negative x, where e^-x would overflow. */
function sigm(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e); // NaN falls through here and stays NaN
}
/** NumPy's sign for floats: -1, 0 (also for -0) or 1, NaN for NaN. */
function fsign(x: number): number {
  return x > 0 ? 1 : x < 0 ? -1 : x === 0 ? 0 : x;
}
/** sign for integers (the result keeps the integer type: uint gives 0 or 1). */
function isign(x: number): number {
  return x > 0 ? 1 : x < 0 ? -1 : 0;
}
/** 1 when x is neither NaN nor infinite: x - x is 0 exactly then, NaN otherwise. */
function isfin(x: number): number {
  return x - x === 0 ? 1 : 0;
}
function isnan(x: number): number {
  return x !== x ? 1 : 0;
}

/** The helpers' names as the generated code calls them, and the functions. */
export const HELPER_NAMES = ["fmax", "fmin", "ipow", "sigm", "fsign", "isign", "isfin", "isnan"];
export const HELPERS = [fmax, fmin, ipow, sigm, fsign, isign, isfin, isnan];
