// Arithmetic by dimension name: two labeled arrays line up on the dimensions they share (their
// index labels intersected, as xarray's default inner join), and broadcast over the others. The
// result has the first operand's dimensions, then the second's new ones.

import { AlignmentError } from "../errors.js";
import type { ChunkedArray } from "../array/core.js";
import type { Coordinate } from "./coords.js";
import { iselCoord, iselVariable, runs, type Positions } from "./indexing.js";
import type { Variable } from "./variable.js";

/** What takes part in alignment: a variable and the coordinates along its dimensions. */
export interface Labeled {
  variable: Variable;
  coords: ReadonlyMap<string, Coordinate>;
}

/** The index coordinate of a dimension, if any. */
export function indexOf(coords: ReadonlyMap<string, Coordinate>, dim: string): Coordinate | undefined {
  const c = coords.get(dim);
  return c && c.dims.length === 1 && c.dims[0] === dim ? c : undefined;
}

/**
 * Positions to keep along each shared dimension so both operands have the same labels there (the
 * labels they have in common, in the first operand's order). Throws AlignmentError when sizes
 * differ without labels to join on, or when the common labels are not in the same order.
 */
export function alignmentPositions(a: Labeled, b: Labeled): [Record<string, Positions>, Record<string, Positions>] {
  const pa: Record<string, Positions> = {};
  const pb: Record<string, Positions> = {};
  for (const d of a.variable.dims) {
    if (!b.variable.dims.includes(d)) continue;
    const na = a.variable.shape[a.variable.axis(d)]!;
    const nb = b.variable.shape[b.variable.axis(d)]!;
    const ia = indexOf(a.coords, d);
    const ib = indexOf(b.coords, d);
    if (!ia || !ib) {
      if (na !== nb)
        throw new AlignmentError(
          `dimension "${d}" has ${na} positions on one side and ${nb} on the other, and no labels to line them up by`,
        );
      continue;
    }
    if (ia.equals(ib)) continue;
    if (ia.kind !== ib.kind)
      throw new AlignmentError(`"${d}" is labeled by ${ia.kind} values on one side and ${ib.kind} on the other`);
    const keys = (c: Coordinate) =>
      c.strings ? [...c.strings] : Array.from(c.values.contiguous().toTypedArray(), Number);
    const ka = keys(ia);
    const kb = keys(ib);
    const where = new Map<string | number, number>();
    kb.forEach((k, i) => where.set(k, i));
    const keepA: number[] = [];
    const keepB: number[] = [];
    ka.forEach((k, i) => {
      const j = where.get(k);
      if (j !== undefined) {
        keepA.push(i);
        keepB.push(j);
      }
    });
    if (keepA.length === 0)
      throw new AlignmentError(
        `"${d}" has no labels in common between the two sides (${ia.format(0)} … and ${ib.format(0)} …)`,
      );
    if (keepB.some((j, i) => i > 0 && j <= keepB[i - 1]!))
      throw new AlignmentError(
        `the labels "${d}" has in common come in a different order on the two sides; sort one of them first`,
      );
    pa[d] = asSelection(keepA, na);
    pb[d] = asSelection(keepB, nb);
  }
  return [pa, pb];
}

/** A list of positions as a slice when it is one run, else the list. */
function asSelection(positions: number[], n: number): Positions {
  const r = runs(positions);
  if (r.length === 1)
    return r[0]![0] === 0 && r[0]![1] === n ? { start: 0, stop: n } : { start: r[0]![0], stop: r[0]![1] };
  return positions;
}

/** Applies positions to a labeled operand. */
export function selectLabeled(x: Labeled, positions: Record<string, Positions>): Labeled {
  if (Object.keys(positions).length === 0) return x;
  const coords = new Map<string, Coordinate>();
  for (const [n, c] of x.coords) {
    const s = iselCoord(c, positions);
    if (s) coords.set(n, s);
  }
  return { variable: iselVariable(x.variable, positions), coords };
}

/** The result's dimensions: the first operand's, then the second's new ones. */
export function unionDims(a: readonly string[], b: readonly string[]): string[] {
  return [...a, ...b.filter((d) => !a.includes(d))];
}

/** Merges two coordinate sets; a coordinate on both sides that disagrees is dropped (as xarray does for non-index coordinates). */
export function mergeCoords(
  a: ReadonlyMap<string, Coordinate>,
  b: ReadonlyMap<string, Coordinate>,
): Map<string, Coordinate> {
  const out = new Map(a);
  for (const [n, c] of b) {
    const mine = out.get(n);
    if (!mine) out.set(n, c);
    else if (!mine.equals(c)) out.delete(n);
  }
  return out;
}

/** Two operands aligned and broadcast to common dimensions, as lazy arrays. */
export function broadcastPair(
  a: Labeled,
  b: Labeled,
): { x: ChunkedArray; y: ChunkedArray; dims: string[]; coords: Map<string, Coordinate> } {
  const [pa, pb] = alignmentPositions(a, b);
  const a2 = selectLabeled(a, pa);
  const b2 = selectLabeled(b, pb);
  const dims = unionDims(a2.variable.dims, b2.variable.dims);
  return {
    x: a2.variable.expandTo(dims),
    y: b2.variable.expandTo(dims),
    dims,
    coords: mergeCoords(a2.coords, b2.coords),
  };
}
