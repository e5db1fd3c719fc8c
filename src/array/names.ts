// Names of graph layers: the same operation on the same inputs gets the same name, and so the same
// keys (a block's key is `name[i,j]`), which is what lets a graph share work it has seen before.

import { hash64 } from "../util/ids.js";
import { ChunkedArray } from "./core.js";

/**
 * A deterministic name for an operation's result: the same operation on the same inputs gets the
 * same keys. Numbers JSON cannot tell apart are spelled out: NaN, ±Infinity (JSON's null), and -0
 * (JSON's 0: x.mul(-0) and x.mul(0) differ, and must not share keys).
 */
export function tokenName(op: string, ...parts: unknown[]): string {
  const spell = (_k: string, v: unknown): unknown =>
    v instanceof ChunkedArray
      ? `@${v.name}`
      : typeof v === "number" && !Number.isFinite(v)
        ? String(v)
        : Object.is(v, -0)
          ? "-0"
          : v;
  return `${op}-${hash64(JSON.stringify(parts, spell))}`;
}
