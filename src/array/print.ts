// How arrays print, as NumPy prints them: every value up to `threshold` elements, past it a
// summary with `edgeitems` values at each end of every axis and "..." between; rows on lines of
// their own when the array does not fit on one line of `linewidth`.

import { checkKnownOptions } from "../client/arguments.js";
import { ArgumentError } from "../errors.js";

export interface PrintOptions {
  /** Arrays with more elements than this print as a summary. Default 1000 (NumPy's). */
  threshold: number;
  /** Values shown at each end of an axis in a summary. Default 3 (NumPy's). */
  edgeitems: number;
  /** Significant digits of floating-point values. Default 8 (NumPy's). */
  precision: number;
  /** Characters per line before rows go on lines of their own. Default 75 (NumPy's). */
  linewidth: number;
}

const DEFAULTS: PrintOptions = { threshold: 1000, edgeitems: 3, precision: 8, linewidth: 75 };
let current: PrintOptions = { ...DEFAULTS };

/**
 * Sets how arrays print (NumPy's set_printoptions); the options not given keep their values.
 * Returns the options as they were, to restore them: `const before = setPrintOptions({ threshold: 10 })`.
 */
export function setPrintOptions(options: Partial<PrintOptions>): PrintOptions {
  checkKnownOptions("setPrintOptions options", options, Object.keys(DEFAULTS));
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined) continue;
    const min = k === "threshold" || k === "edgeitems" ? 0 : 1;
    if (!Number.isInteger(v) || (v as number) < min)
      throw new ArgumentError(`${k} must be a whole number ≥ ${min}, got ${String(v)}`);
  }
  const before = current;
  current = { ...current, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
  return before;
}

/** The print options in use. */
export function getPrintOptions(): PrintOptions {
  return { ...current };
}

/** What formatting needs of an array. */
export interface Printable {
  readonly shape: readonly number[];
  readonly size: number;
  get(...index: number[]): number | boolean;
}

/** The values of `a` as NumPy would print them (without its type and shape). */
export function formatValues(a: Printable): string {
  const o = current;
  const nd = a.shape.length;
  const summarize = a.size > o.threshold;
  const show = (v: number | boolean): string =>
    typeof v === "number" && !Number.isInteger(v) ? String(Number(v.toPrecision(o.precision))) : String(v);
  const positions = (n: number): (number | null)[] => {
    if (!summarize || n <= 2 * o.edgeitems) return Array.from({ length: n }, (_, i) => i);
    const e = o.edgeitems;
    return [...Array.from({ length: e }, (_, i) => i), null, ...Array.from({ length: e }, (_, i) => n - e + i)];
  };
  const index: number[] = [];
  const render = (axis: number, lines: boolean): string => {
    if (axis === nd) return show(a.get(...index));
    const parts = positions(a.shape[axis]!).map((i) => {
      if (i === null) return "...";
      index.push(i);
      const s = render(axis + 1, lines);
      index.pop();
      return s;
    });
    if (!lines || axis === nd - 1) return `[${parts.join(", ")}]`;
    // NumPy: one row per line, indented under its bracket; a blank line between blocks of 3-d and up.
    return `[${parts.join(`,${"\n".repeat(nd - axis - 1)}${" ".repeat(axis + 1)}`)}]`;
  };
  if (nd === 0) return show(a.get());
  const flat = render(0, false);
  return flat.length <= o.linewidth || nd === 1 ? flat : render(0, true);
}
