// What the frame's verbs take: a row as a row expression sees it, the params beside it, what
// assign accepts per column, and the options of filter, assign, mapPartitions and the reductions.

import type { TreeOptions } from "./reduce.js";

export type ReduceFrameOptions = TreeOptions & { columns?: string[] };

export interface ExprOptions {
  /** Constants the expression reads as its second parameter: `(d, $) => d.fare > $.min` with `{ params: { min: 10 } }`. */
  params?: Record<string, unknown>;
}

/**
 * A row as an expression sees it: `d.column` is a number (ints, floats; int64 as Number; timestamps
 * and dates as epoch milliseconds; NaN where missing), a boolean or a string (null where missing).
 */
// biome-ignore lint/suspicious/noExplicitAny: a column's type is known only at run time, and `d.price * 2` must typecheck in users' code
export type Row = { readonly [column: string]: any };
/** The params object an expression reads as its second parameter. */
// biome-ignore lint/suspicious/noExplicitAny: as Row: users' expressions use params as numbers, strings, arrays
export type Params = { readonly [name: string]: any };
export type RowExpr = (d: Row, $: Params) => unknown;

export type AssignValue = RowExpr | number | string | boolean | bigint | Date | null;

export interface MapPartitionsOptions {
  /** Extra arguments after the table. */
  args?: unknown[];
  /** The result's schema ({ column: type }), when running the function on an empty partition here to learn it is not wanted. */
  meta?: Record<string, string>;
}
