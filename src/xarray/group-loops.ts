// The loops under the grouped operations (xarray/kernels.ts): folding a run of a group's rows into
// its running totals a tile of positions at a time (sums and counts, products, extremes, squared
// deviations), and merging one partial's totals into another's. Plain float64 loops over
// [rows, inner] views; no arrays, no specs.

/**
 * Positions along the other dimensions taken at a time by the grouped loops: a tile's running
 * totals (two float64 arrays, 32 kB) stay in the L1 cache while each row of a run passes over it.
 */
const TILE = 2048;

/** Consecutive rows of one group (a time series' month is ~30 rows in a row): rows [start, end) of slot `slot`. */
export interface Run {
  start: number;
  end: number;
  slot: number;
}

export function runsOf(codes: readonly number[], slot: Map<number, number>): Run[] {
  const runs: Run[] = [];
  for (let r = 0; r < codes.length; r++) {
    const s = slot.get(codes[r]!)!;
    const last = runs[runs.length - 1];
    if (last && last.slot === s && last.end === r) last.end = r + 1;
    else runs.push({ start: r, end: r + 1, slot: s });
  }
  return runs;
}

// Each run's loop indexes the totals by k = base + j and the row's values by rowAt + k, with no
// counter carried from one loop into the next (V8 compiles such loops slower: kernels/loops.ts).

/**
 * Sums (and counts) of a run. Every row is counted first and a skipped NaN uncounted, and rows go
 * four at a time: `v + x0 + x1 + x2 + x3` is the same four adds in the same order as row by row,
 * and when it is not NaN no value was NaN (a NaN makes any sum NaN); otherwise the four are folded
 * one by one. 0.85 ns a value against 2.1 for one row at a time (one read and write of the total
 * per row).
 */
export function sumRun(
  data: ArrayLike<number>,
  run: Run,
  inner: number,
  base: number,
  v: Float64Array,
  n: Float64Array,
  skip: boolean,
): number {
  const len = run.end - run.start;
  let skipped = 0;
  const split = run.start + (len & ~3);
  for (let j0 = 0; j0 < inner; j0 += TILE) {
    const k0 = base + j0;
    const k1 = base + Math.min(inner, j0 + TILE);
    for (let k = k0; k < k1; k++) n[k] = n[k]! + len;
    for (let r = run.start; r < split; r += 4) {
      const a0 = r * inner - base;
      const a1 = a0 + inner;
      const a2 = a1 + inner;
      const a3 = a2 + inner;
      for (let k = k0; k < k1; k++) {
        const x0 = data[a0 + k]!;
        const x1 = data[a1 + k]!;
        const x2 = data[a2 + k]!;
        const x3 = data[a3 + k]!;
        const g = v[k]! + x0 + x1 + x2 + x3;
        if (g === g || !skip) v[k] = g;
        else {
          let t = v[k]!;
          const c = n[k]!;
          let left = 0;
          if (x0 === x0) t += x0;
          else left++;
          if (x1 === x1) t += x1;
          else left++;
          if (x2 === x2) t += x2;
          else left++;
          if (x3 === x3) t += x3;
          else left++;
          v[k] = t;
          n[k] = c - left;
          skipped += left;
        }
      }
    }
    for (let r = split; r < run.end; r++) {
      const rowAt = r * inner - base;
      for (let k = k0; k < k1; k++) {
        const x = data[rowAt + k]!;
        if (x === x || !skip) v[k] = v[k]! + x;
        else {
          n[k] = n[k]! - 1;
          skipped++;
        }
      }
    }
  }
  return skipped;
}

export function prodRun(
  data: ArrayLike<number>,
  run: Run,
  inner: number,
  base: number,
  v: Float64Array,
  n: Float64Array,
  skip: boolean,
): void {
  const len = run.end - run.start;
  for (let j0 = 0; j0 < inner; j0 += TILE) {
    const k0 = base + j0;
    const k1 = base + Math.min(inner, j0 + TILE);
    for (let k = k0; k < k1; k++) n[k] = n[k]! + len;
    for (let r = run.start; r < run.end; r++) {
      const rowAt = r * inner - base;
      for (let k = k0; k < k1; k++) {
        const x = data[rowAt + k]!;
        if (x === x || !skip) v[k] = v[k]! * x;
        else n[k] = n[k]! - 1;
      }
    }
  }
}

/** Minimum or maximum of a run; n counts the values, and is -Infinity where a NaN not skipped sticks. */
export function extremeRun(
  data: ArrayLike<number>,
  run: Run,
  inner: number,
  base: number,
  v: Float64Array,
  n: Float64Array,
  skip: boolean,
  max: boolean,
): void {
  for (let j0 = 0; j0 < inner; j0 += TILE) {
    const k0 = base + j0;
    const k1 = base + Math.min(inner, j0 + TILE);
    for (let r = run.start; r < run.end; r++) {
      const rowAt = r * inner - base;
      for (let k = k0; k < k1; k++) {
        const x = data[rowAt + k]!;
        if (x !== x) {
          if (!skip) {
            // A NaN, not skipped: it sticks (n marks it).
            v[k] = NaN;
            n[k] = -Infinity;
          }
          continue;
        }
        if (n[k]! < 0) continue;
        const a = v[k]!;
        if (a !== a || (max ? x > a : x < a)) v[k] = x;
        n[k] = n[k]! + 1;
      }
    }
  }
}

/** Squared deviations of a run's values from their group's mean (var and std's second pass). */
export function squaresRun(
  data: ArrayLike<number>,
  run: Run,
  inner: number,
  base: number,
  mean: Float64Array,
  m2: Float64Array,
  skip: boolean,
): void {
  for (let j0 = 0; j0 < inner; j0 += TILE) {
    const k0 = base + j0;
    const k1 = base + Math.min(inner, j0 + TILE);
    for (let r = run.start; r < run.end; r++) {
      const rowAt = r * inner - base;
      for (let k = k0; k < k1; k++) {
        const x = data[rowAt + k]!;
        if (x === x || !skip) {
          const d = x - mean[k]!;
          m2[k] = m2[k]! + d * d;
        }
      }
    }
  }
}

export function addInto(v: Float64Array, to: number, pv: Float64Array, from: number, inner: number): void {
  const d = from - to;
  for (let a = to; a < to + inner; a++) v[a] = v[a]! + pv[a + d]!;
}

export function addCount(n: Float64Array, to: number, count: number, inner: number): void {
  for (let a = to; a < to + inner; a++) n[a] = n[a]! + count;
}

export function mergeSums(
  v: Float64Array,
  n: Float64Array,
  to: number,
  pv: Float64Array,
  pn: Float64Array,
  from: number,
  inner: number,
): void {
  const d = from - to;
  for (let a = to; a < to + inner; a++) {
    v[a] = v[a]! + pv[a + d]!;
    n[a] = n[a]! + pn[a + d]!;
  }
}

export function mergeProducts(
  v: Float64Array,
  n: Float64Array,
  to: number,
  pv: Float64Array,
  pn: Float64Array,
  from: number,
  inner: number,
): void {
  const d = from - to;
  for (let a = to; a < to + inner; a++) {
    v[a] = v[a]! * pv[a + d]!;
    n[a] = n[a]! + pn[a + d]!;
  }
}

/** A NaN that stuck (n < 0) stays; otherwise the smaller or larger value, NaN meaning none yet. */
export function mergeExtremes(
  v: Float64Array,
  n: Float64Array,
  to: number,
  pv: Float64Array,
  pn: Float64Array,
  from: number,
  inner: number,
  max: boolean,
): void {
  const d = from - to;
  for (let a = to; a < to + inner; a++) {
    if (n[a]! < 0) continue;
    const nb = pn[a + d]!;
    if (nb < 0) {
      v[a] = NaN;
      n[a] = -Infinity;
      continue;
    }
    const x = pv[a + d]!;
    const cur = v[a]!;
    if (x === x && (cur !== cur || (max ? x > cur : x < cur))) v[a] = x;
    n[a] = n[a]! + nb;
  }
}

/** Chan et al.'s merge of two (n, mean, m2). */
export function mergeMoments(
  v: Float64Array,
  n: Float64Array,
  m2: Float64Array,
  to: number,
  pv: Float64Array,
  pn: Float64Array,
  pm2: Float64Array,
  from: number,
  inner: number,
): void {
  const d = from - to;
  for (let a = to; a < to + inner; a++) {
    const b = a + d;
    const na = n[a]!;
    const nb = pn[b]!;
    if (nb === 0) continue;
    if (na === 0) {
      n[a] = nb;
      v[a] = pv[b]!;
      m2[a] = pm2[b]!;
      continue;
    }
    const total = na + nb;
    const delta = pv[b]! - v[a]!;
    v[a] = v[a]! + (delta * nb) / total;
    m2[a] = m2[a]! + pm2[b]! + (delta * delta * na * nb) / total;
    n[a] = total;
  }
}
