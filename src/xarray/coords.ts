// Coordinates: the labels along dimensions, held as values on the client (as xarray holds its
// indexes in memory). Numbers, dates (milliseconds since 1970, NaN for missing) or strings.
// Finding positions for labels (exact, nearest, inclusive slices) is what `sel` is built on.

import { ArgumentError, LabelError } from "../errors.js";
import { NDArray } from "../array/ndarray.js";
import type { DType } from "../array/dtype.js";
import { formatDate, parseDate } from "./cf.js";

export type CoordKind = "number" | "datetime" | "string";

/** A label as a user writes it: a number, a Date or a date string, or a string label. */
export type Label = number | string | Date;

export class Coordinate {
  readonly dims: readonly string[];
  readonly kind: CoordKind;
  /** Numbers (datetimes as milliseconds since 1970) in an NDArray of the stored type; strings in `strings`. */
  readonly values: NDArray;
  readonly strings: readonly string[] | undefined;
  readonly attrs: Readonly<Record<string, unknown>>;
  /** How it was stored (CF time units and calendar, dtype), kept so writing it back is faithful. */
  readonly encoding: Readonly<Record<string, unknown>>;

  constructor(init: {
    dims: readonly string[];
    kind?: CoordKind;
    values: NDArray | readonly string[];
    attrs?: Record<string, unknown>;
    encoding?: Record<string, unknown>;
  }) {
    this.dims = Object.freeze([...init.dims]);
    if (init.values instanceof NDArray) {
      this.values = init.values;
      this.strings = undefined;
      this.kind = init.kind ?? "number";
      if (this.values.ndim !== this.dims.length)
        throw new ArgumentError(
          `a coordinate with dims [${this.dims.join(", ")}] needs ${this.dims.length}-d values, got ${this.values.ndim}-d`,
        );
    } else {
      if (this.dims.length !== 1) throw new ArgumentError("string coordinates are one-dimensional");
      this.strings = Object.freeze([...init.values]);
      this.values = NDArray.from(Float64Array.from(this.strings, (_, i) => i));
      this.kind = "string";
    }
    this.attrs = Object.freeze({ ...(init.attrs ?? {}) });
    this.encoding = Object.freeze({ ...(init.encoding ?? {}) });
  }

  get shape(): readonly number[] {
    return this.values.shape;
  }

  get size(): number {
    return this.values.size;
  }

  get dtype(): DType | "datetime" | "string" {
    return this.kind === "number" ? this.values.dtype : this.kind;
  }

  /** The labels as JavaScript values: numbers, Dates, or strings (one-dimensional coordinates). */
  toArray(): (number | Date | string)[] {
    if (this.strings) return [...this.strings];
    const flat = Array.from(this.values.contiguous().toTypedArray());
    return this.kind === "datetime" ? flat.map((v) => new Date(v)) : flat;
  }

  /** The label at flat position i, as text. */
  format(i: number): string {
    if (this.strings) return this.strings[i]!;
    const v = this.values.contiguous().toTypedArray()[i]!;
    if (this.kind === "datetime") return formatDate(v);
    return formatNumber(v, this.values.dtype);
  }

  /** The same coordinate at some positions along its (one) dimension: `take` a slice. */
  slice(start: number, stop: number, step = 1): Coordinate {
    const idx: number[] = [];
    for (let i = start; step > 0 ? i < stop : i > stop; i += step) idx.push(i);
    return this.take(idx);
  }

  /** Positions along its first dimension; an integer drops the dimension (a scalar coordinate). */
  take(positions: readonly number[] | number): Coordinate {
    if (typeof positions === "number") {
      if (this.strings)
        return new Coordinate({
          dims: [],
          kind: "string",
          values: NDArray.from(positions),
          attrs: { ...this.attrs, label: this.strings[positions] },
          encoding: this.encoding,
        });
      const v = this.values.slice(positions);
      return new Coordinate({
        dims: this.dims.slice(1),
        kind: this.kind,
        values: v.copy(),
        attrs: { ...this.attrs },
        encoding: { ...this.encoding },
      });
    }
    if (this.strings)
      return new Coordinate({
        dims: this.dims,
        values: positions.map((p) => this.strings![p]!),
        attrs: { ...this.attrs },
        encoding: { ...this.encoding },
      });
    const rows = positions.map((p) => this.values.slice(p).copy());
    const shape = [positions.length, ...this.values.shape.slice(1)];
    const out = NDArray.zeros(shape, this.values.dtype);
    const data = out.data;
    const per = this.values.shape.slice(1).reduce((a, b) => a * b, 1);
    rows.forEach((r, i) => data.set(r.contiguous().toTypedArray(), i * per));
    return new Coordinate({
      dims: this.dims,
      kind: this.kind,
      values: out,
      attrs: { ...this.attrs },
      encoding: { ...this.encoding },
    });
  }

  /** Renames dimensions. */
  withDims(dims: readonly string[]): Coordinate {
    return new Coordinate({
      dims,
      kind: this.kind,
      values: this.strings ?? this.values,
      attrs: { ...this.attrs },
      encoding: { ...this.encoding },
    });
  }

  /** Whether two coordinates have the same dims and labels (attributes aside). */
  equals(other: Coordinate): boolean {
    if (this.kind !== other.kind || this.dims.join() !== other.dims.join() || this.shape.join() !== other.shape.join())
      return false;
    if (this.strings) return this.strings.every((s, i) => s === other.strings![i]);
    const a = this.values.contiguous().toTypedArray();
    const b = other.values.contiguous().toTypedArray();
    for (let i = 0; i < a.length; i++) if (!(a[i] === b[i] || (a[i] !== a[i] && b[i] !== b[i]))) return false;
    return true;
  }

  // ---- looking labels up (one-dimensional coordinates: indexes) ----

  /** A user's label as a number comparable with the values (dates → milliseconds). */
  private key(label: Label, dim: string): number {
    if (this.kind === "datetime") {
      const ms =
        label instanceof Date
          ? label.getTime()
          : typeof label === "string"
            ? parseDate(label)
            : typeof label === "number"
              ? label
              : null;
      if (ms === null || Number.isNaN(ms))
        throw new LabelError(
          `${JSON.stringify(label)} is not a date, and "${dim}" is labeled by dates (e.g. "2020-01-31" or a Date)`,
        );
      return ms;
    }
    if (this.kind === "string") {
      const i = this.strings!.indexOf(String(label));
      if (i < 0)
        throw new LabelError(`"${String(label)}" is not a label of "${dim}"; its labels are ${preview(this.strings!)}`);
      return i;
    }
    if (typeof label !== "number")
      throw new LabelError(
        `${JSON.stringify(label)} is not a number, and "${dim}" is labeled by numbers (${this.format(0)} … ${this.format(this.size - 1)})`,
      );
    return label;
  }

  /** Whether the labels only grow, or only shrink (then lookups can bisect); null when neither. */
  private order(): 1 | -1 | null {
    const v = this.values.contiguous().toTypedArray();
    let up = true;
    let down = true;
    for (let i = 1; i < v.length; i++) {
      if (!(v[i]! > v[i - 1]!)) up = false;
      if (!(v[i]! < v[i - 1]!)) down = false;
    }
    return up ? 1 : down ? -1 : null;
  }

  /** The position of a label: exactly, or the nearest (within `tolerance` when given). */
  position(label: Label, dim: string, method?: "nearest" | "exact", tolerance?: number): number {
    if (this.dims.length !== 1) throw new LabelError(`"${dim}" has no one-dimensional index to select by`);
    const k = this.key(label, dim);
    if (this.kind === "string") return k;
    const v = this.values.contiguous().toTypedArray();
    if (method === "nearest") {
      let best = -1;
      let bestD = Infinity;
      for (let i = 0; i < v.length; i++) {
        const d = Math.abs(v[i]! - k);
        if (d < bestD) {
          bestD = d;
          best = i;
        }
      }
      if (best < 0) throw new LabelError(`"${dim}" has no labels to be near ${describeLabel(label)}`);
      if (tolerance !== undefined && bestD > tolerance)
        throw new LabelError(
          `the nearest "${dim}" label to ${describeLabel(label)} is ${this.format(best)}, farther than the tolerance ${tolerance}`,
        );
      return best;
    }
    for (let i = 0; i < v.length; i++) if (v[i] === k) return i;
    throw new LabelError(
      `${describeLabel(label)} is not a label of "${dim}" (${this.size} labels from ${this.format(0)} to ${this.format(this.size - 1)}); pass method: "nearest" for the closest`,
    );
  }

  /**
   * Positions [start, stop) of the labels between `from` and `to`, both included (as xarray's
   * label slices). The labels must be sorted; either end may be omitted.
   */
  range(from: Label | undefined, to: Label | undefined, dim: string): [number, number] {
    if (this.dims.length !== 1) throw new LabelError(`"${dim}" has no one-dimensional index to select by`);
    if (this.kind === "string") {
      const a = from === undefined ? 0 : this.key(from, dim);
      const b = to === undefined ? this.size - 1 : this.key(to, dim);
      return [a, b + 1];
    }
    const dir = this.order();
    if (dir === null)
      throw new LabelError(`"${dim}" is not sorted, so it cannot be sliced by label; select positions with isel`);
    const v = this.values.contiguous().toTypedArray();
    const lo = from === undefined ? (dir > 0 ? -Infinity : Infinity) : this.key(from, dim);
    // A date written as a day ("2020-06-30") includes the whole of that day, as in xarray.
    let hi = to === undefined ? (dir > 0 ? Infinity : -Infinity) : this.key(to, dim);
    if (this.kind === "datetime" && typeof to === "string" && /^\s*-?\d+-\d{1,2}-\d{1,2}\s*$/.test(to))
      hi += 86_400_000 - 1;
    else if (this.kind === "datetime" && typeof to === "string" && /^\s*-?\d+-\d{1,2}\s*$/.test(to)) {
      const d = new Date(hi);
      hi = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - 1;
    }
    let start = 0;
    let stop = v.length;
    if (dir > 0) {
      while (start < v.length && v[start]! < lo) start++;
      stop = start;
      while (stop < v.length && v[stop]! <= hi) stop++;
    } else {
      while (start < v.length && v[start]! > lo) start++;
      stop = start;
      while (stop < v.length && v[stop]! >= hi) stop++;
    }
    return [start, stop];
  }
}

function describeLabel(label: Label): string {
  return label instanceof Date ? label.toISOString() : JSON.stringify(label);
}

function preview(labels: readonly string[]): string {
  const shown = labels.slice(0, 6).map((s) => JSON.stringify(s));
  return shown.join(", ") + (labels.length > 6 ? `, … (${labels.length} in all)` : "");
}

export function formatNumber(v: number, dtype: DType): string {
  if (dtype === "bool") return v ? "True" : "False";
  if (Number.isInteger(v) && dtype !== "float32" && dtype !== "float64") return String(v);
  if (Number.isNaN(v)) return "nan";
  const s = Number(v.toPrecision(dtype === "float32" ? 6 : 8)).toString();
  return /[.e]|nan|inf/i.test(s) ? s : `${s}.0`;
}

/** Values for assignCoords as a Coordinate along `dims` (default: the coordinate's own name). */
export function toCoordinate(
  name: string,
  v: Coordinate | readonly (number | Date | string)[] | NDArray,
  dims: string[] | null,
): Coordinate {
  if (v instanceof Coordinate) return v;
  const along = dims ?? [name];
  if (v instanceof NDArray) return new Coordinate({ dims: v.ndim === 0 ? [] : along, values: v });
  if (!Array.isArray(v))
    throw new ArgumentError(`coordinate "${name}" must be a list of labels, an NDArray or a Coordinate`);
  if (v.every((x) => x instanceof Date))
    return new Coordinate({
      dims: along,
      kind: "datetime",
      values: NDArray.from(Float64Array.from(v as Date[], (d) => d.getTime())),
    });
  if (v.every((x) => typeof x === "string")) return new Coordinate({ dims: along, values: v as string[] });
  if (v.every((x) => typeof x === "number"))
    return new Coordinate({ dims: along, values: NDArray.from(Float64Array.from(v as number[])) });
  throw new ArgumentError(`coordinate "${name}" mixes kinds of labels; use all numbers, all Dates or all strings`);
}
