// Selecting by position (isel) and by label (sel) on labeled variables: positions are turned into
// slices of the underlying arrays, and lists of positions into runs of slices joined again (the
// arrays have no gather of their own), so a selection stays lazy and reads only what it needs.

import { ArgumentError, LabelError } from "../errors.js";
import { concatenate } from "../array/shape.js";
import type { ChunkedArray } from "../array/core.js";
import type { SliceSpec } from "../array/indexing.js";
import { selectAxes } from "../array/indexing.js";
import { Coordinate, type Label } from "./coords.js";
import { Variable, type Position } from "./variable.js";

/** isel's indexer per dimension: a position, a range, or a list of positions. */
export type Positions = Position | readonly number[];

/** sel's indexer per dimension: a label, a range of labels (both ends included), or a list of labels. */
export type LabelSelector = Label | { start?: Label; stop?: Label } | readonly Label[];

export interface SelOptions {
  /** "nearest": the closest label (for single labels and lists); default exact. */
  method?: "nearest" | "exact";
  /** With "nearest": how far the closest label may be (dates in milliseconds). */
  tolerance?: number;
}

/** Applies isel indexers to a variable; lists of positions keep the dimension. */
export function iselVariable(v: Variable, indexers: Readonly<Record<string, Positions>>): Variable {
  const simple: Record<string, Position> = {};
  const lists: [string, readonly number[]][] = [];
  for (const [d, ix] of Object.entries(indexers)) {
    if (!v.dims.includes(d)) continue;
    if (Array.isArray(ix)) lists.push([d, ix as readonly number[]]);
    else simple[d] = ix as Position;
  }
  let out = v.isel(simple);
  for (const [d, list] of lists) out = takeVariable(out, d, list);
  return out;
}

/** Positions along one dimension, in the given order, as runs of slices. */
function takeVariable(v: Variable, dim: string, positions: readonly number[]): Variable {
  const axis = v.axis(dim);
  const n = v.shape[axis]!;
  const norm = positions.map((p) => {
    if (!Number.isInteger(p) || p < -n || p >= n)
      throw new ArgumentError(`position ${p} is out of range for "${dim}" of length ${n}`);
    return p < 0 ? p + n : p;
  });
  if (norm.length === 0) throw new ArgumentError(`an empty list of positions for "${dim}"`);
  const x = v.lazy();
  const parts: ChunkedArray[] = [];
  for (const [start, stop] of runs(norm)) {
    const index = v.dims.map((_, a) => (a === axis ? { start, stop } : null));
    parts.push(x.slice(...index));
  }
  return v.with(parts.length === 1 ? parts[0]! : concatenate(parts, axis));
}

/** Consecutive increasing positions grouped: [3,4,5,9,10] → [[3,6],[9,11]]. */
export function runs(positions: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const p of positions) {
    const last = out[out.length - 1];
    if (last && p === last[1]) last[1]++;
    else out.push([p, p + 1]);
  }
  return out;
}

/** The coordinate after selecting: sliced, taken, or reduced to a scalar coordinate. */
export function iselCoord(c: Coordinate, indexers: Readonly<Record<string, Positions>>): Coordinate | null {
  let out = c;
  for (const [d, ix] of Object.entries(indexers)) {
    const axis = out.dims.indexOf(d);
    if (axis < 0) continue;
    if (axis !== 0) {
      // Multi-dimensional coordinates along a later axis: select through a transpose of its values.
      const v = new Variable(out.dims, out.values).isel(Array.isArray(ix) ? {} : { [d]: ix as Position });
      if (Array.isArray(ix)) return null;
      out = new Coordinate({
        dims: v.dims,
        kind: out.kind,
        values: v.data as never,
        attrs: { ...out.attrs },
        encoding: { ...out.encoding },
      });
      continue;
    }
    const n = out.shape[0]!;
    if (typeof ix === "number") {
      const p = ix < 0 ? ix + n : ix;
      if (!Number.isInteger(p) || p < 0 || p >= n)
        throw new ArgumentError(`position ${ix} is out of range for "${d}" of length ${n}`);
      out = out.take(p);
    } else if (Array.isArray(ix)) {
      out = out.take((ix as number[]).map((p) => (p < 0 ? p + n : p)));
    } else {
      const [sel] = selectAxes([ix as SliceSpec | string], [n]);
      if (!sel || sel.kind === "int") throw new ArgumentError(`cannot select ${JSON.stringify(ix)} along "${d}"`);
      out = out.slice(sel.start, sel.start + sel.step * sel.length, sel.step);
    }
  }
  return out;
}

/** Turns sel's labels into isel's positions, using each dimension's index coordinate. */
export function labelsToPositions(
  coords: ReadonlyMap<string, Coordinate>,
  dims: readonly string[],
  selectors: Readonly<Record<string, LabelSelector>>,
  options: SelOptions,
): Record<string, Positions> {
  const out: Record<string, Positions> = {};
  for (const [d, sel] of Object.entries(selectors)) {
    if (!dims.includes(d))
      throw new LabelError(
        `no dimension "${d}" to select on; the dimensions are ${dims.map((x) => `"${x}"`).join(", ")}`,
      );
    const index = coords.get(d);
    if (index?.dims.length !== 1 || index.dims[0] !== d)
      throw new LabelError(`"${d}" has no coordinate of labels to select by; select positions with isel({ ${d}: … })`);
    if (Array.isArray(sel)) {
      out[d] = (sel as Label[]).map((l) => index.position(l, d, options.method, options.tolerance));
    } else if (typeof sel === "object" && sel !== null && !(sel instanceof Date)) {
      const r = sel as { start?: Label; stop?: Label };
      const [start, stop] = index.range(r.start, r.stop, d);
      out[d] = { start, stop };
    } else {
      out[d] = index.position(sel as Label, d, options.method, options.tolerance);
    }
  }
  return out;
}
