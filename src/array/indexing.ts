// NumPy-style basic indexing for JS, shared by NDArray and the chunked array: what a user writes
// (`x.slice(0, "1:10:2", "::-1")`, or the whole index as one string "0, 1:10:2, ::-1") turned into
// one normalized selection per axis, with Python's slice semantics (negative indices count from
// the end, out-of-range bounds are clipped, negative steps walk backwards).

import { ArgumentError } from "../errors.js";

/** A range along one axis: Python's `start:stop:step`, each part optional. */
export interface SliceSpec {
  start?: number | null;
  stop?: number | null;
  step?: number | null;
}

/**
 * One axis of an index: an integer picks one position and drops the axis; a SliceSpec or a
 * string such as "1:10:2", ":" or "::-1" keeps it; null means the whole axis; "..." stands for
 * as many whole axes as needed.
 */
export type Index = number | null | string | SliceSpec;

/** A selection along one axis after normalizing against its length. */
export type AxisSelection =
  | { kind: "int"; index: number }
  | { kind: "range"; start: number; step: number; length: number };

/** Parses "a:b:c", ":" or an integer; whitespace is ignored. */
function parseString(s: string): number | SliceSpec | "..." {
  const t = s.trim();
  if (t === "...") return "...";
  if (!t.includes(":")) {
    if (!/^[-+]?\d+$/.test(t))
      throw new ArgumentError(
        `cannot read index ${JSON.stringify(s)}: expected an integer, "start:stop:step" or "..."`,
      );
    return Number(t);
  }
  const parts = t.split(":");
  if (parts.length > 3) throw new ArgumentError(`cannot read slice ${JSON.stringify(s)}: at most start:stop:step`);
  const num = (p: string | undefined): number | null => {
    if (p === undefined || p.trim() === "") return null;
    if (!/^[-+]?\d+$/.test(p.trim()))
      throw new ArgumentError(`cannot read slice ${JSON.stringify(s)}: ${JSON.stringify(p)} is not an integer`);
    return Number(p);
  };
  return { start: num(parts[0]), stop: num(parts[1]), step: num(parts[2]) };
}

/** Splits a whole-index string "0, 1:3, ..." into its parts; other arguments pass through. */
export function expandIndex(args: readonly Index[]): (number | SliceSpec | null | "...")[] {
  const parts: (number | SliceSpec | null | "...")[] = [];
  for (const a of args) {
    if (typeof a === "string") {
      for (const piece of a.split(",")) parts.push(parseString(piece));
    } else {
      parts.push(a);
    }
  }
  return parts;
}

/** Python's slice.indices(): the positions a slice takes from an axis of `size`. */
export function normalizeSlice(spec: SliceSpec, size: number): { start: number; step: number; length: number } {
  const step = spec.step ?? 1;
  if (!Number.isInteger(step) || step === 0)
    throw new ArgumentError(`slice step must be a non-zero integer, got ${String(spec.step)}`);
  for (const v of [spec.start, spec.stop]) {
    if (v !== undefined && v !== null && !Number.isInteger(v))
      throw new ArgumentError(`slice bounds must be integers, got ${String(v)}`);
  }
  let start: number;
  let stop: number;
  if (step > 0) {
    start = clampBound(spec.start ?? 0, size, 0, size);
    stop = clampBound(spec.stop ?? size, size, 0, size);
  } else {
    start = clampBound(spec.start ?? size - 1, size, -1, size - 1);
    stop = spec.stop === undefined || spec.stop === null ? -1 : clampBound(spec.stop, size, -1, size - 1);
  }
  const length =
    step > 0 ? Math.max(0, Math.ceil((stop - start) / step)) : Math.max(0, Math.ceil((start - stop) / -step));
  return { start, step, length };
}

function clampBound(v: number, size: number, lo: number, hi: number): number {
  const i = v < 0 ? v + size : v;
  return Math.min(Math.max(i, lo), hi);
}

/** Normalizes a whole index against `shape`: one selection per axis (missing trailing axes are whole). */
export function selectAxes(args: readonly Index[], shape: readonly number[]): AxisSelection[] {
  const parts = expandIndex(args);
  const ellipses = parts.filter((p) => p === "...").length;
  if (ellipses > 1) throw new ArgumentError("an index can have only one ellipsis (...)");
  const given = parts.length - ellipses;
  if (given > shape.length)
    throw new ArgumentError(
      `too many indices: ${given} for an array of ${shape.length} dimension${shape.length === 1 ? "" : "s"}`,
    );
  const full: (number | SliceSpec | null)[] = [];
  for (const p of parts) {
    if (p === "...") for (let k = 0; k < shape.length - given; k++) full.push(null);
    else full.push(p);
  }
  while (full.length < shape.length) full.push(null);
  return full.map((p, axis) => {
    const size = shape[axis]!;
    if (typeof p === "number") {
      if (!Number.isInteger(p)) throw new ArgumentError(`index ${p} on axis ${axis} is not an integer`);
      const i = p < 0 ? p + size : p;
      if (i < 0 || i >= size) throw new ArgumentError(`index ${p} is out of bounds for axis ${axis} with size ${size}`);
      return { kind: "int", index: i };
    }
    if (p !== null && (typeof p !== "object" || Array.isArray(p)))
      throw new ArgumentError(`cannot index axis ${axis} with ${JSON.stringify(p)}`);
    return { kind: "range", ...normalizeSlice(p ?? {}, size) };
  });
}
