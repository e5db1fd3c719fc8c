// The names of a frame operation's results: the same operation on the same inputs gives the same
// keys, so graphs built twice share their tasks.

import { hash64 } from "../util/ids.js";
import { DataFrame } from "./frame.js";

/** A deterministic name for an operation's result: the same operation on the same inputs, the same keys. */
export function token(op: string, ...parts: unknown[]): string {
  const spell = (_k: string, v: unknown): unknown =>
    v instanceof DataFrame
      ? `@${v.name}`
      : typeof v === "bigint"
        ? `${v}n`
        : typeof v === "number" && !Number.isFinite(v)
          ? String(v)
          : v instanceof Date
            ? `date:${v.getTime()}`
            : v;
  return `${op}-${hash64(JSON.stringify(parts, spell))}`;
}
