// Finding groups in a partition: a group id per row from the key columns, by hashing their values
// (one Map lookup per row; several keys are joined into one string). Rows whose key is null are
// left out (-1), as pandas' groupby(dropna=True) leaves them out.

import type { Column } from "../column.js";
import type { Part } from "../part.js";
import { isMissing } from "./verbs.js";

export interface Groups {
  /** Group of each row, -1 for rows left out. */
  ids: Int32Array;
  count: number;
  /** The first row of each group (to take its key values). */
  first: Int32Array;
  /** The hash key of each group (for splitting groups over output partitions). */
  keys: unknown[];
}

/** A value as a Map key: numbers and strings as they are, bigints as they are, booleans as themselves. */
function keyOf(c: Column, i: number): unknown {
  return c.raw(i);
}

export function findGroups(part: Part, keyNames: readonly string[], keepNullKeys = false): Groups {
  const cols = keyNames.map((k) => part.column(k));
  const n = part.length;
  const ids = new Int32Array(n);
  const map = new Map<unknown, number>();
  const first: number[] = [];
  const keys: unknown[] = [];
  const one = cols.length === 1 ? cols[0]! : null;
  if (one && one.type === "utf8") one.strings();
  for (let i = 0; i < n; i++) {
    let key: unknown;
    if (one) {
      if (isMissing(one, i)) {
        if (!keepNullKeys) {
          ids[i] = -1;
          continue;
        }
        key = NULL_KEY; // null and NaN are one key, as pandas (and as several keys below)
      } else key = keyOf(one, i);
    } else {
      let s = "";
      let skip = false;
      for (let j = 0; j < cols.length; j++) {
        const c = cols[j]!;
        if (isMissing(c, i)) {
          if (!keepNullKeys) {
            skip = true;
            break;
          }
          s += "\u0000n\u0001";
          continue;
        }
        const v = keyOf(c, i);
        s += `${typeof v === "string" ? "s" : "v"}${String(v)}\u0001`;
      }
      if (skip) {
        ids[i] = -1;
        continue;
      }
      key = s;
    }
    let id = map.get(key);
    if (id === undefined) {
      id = first.length;
      map.set(key, id);
      first.push(i);
      keys.push(key);
    }
    ids[i] = id;
  }
  return { ids, count: first.length, first: Int32Array.from(first), keys };
}

const NULL_KEY = Symbol("null");

/** A 32-bit hash of a group key (FNV-1a over its text), the same in every process. */
export function hashKey(key: unknown): number {
  const s = typeof key === "string" ? key : typeof key === "symbol" ? "\u0000null" : `${typeof key}:${String(key)}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The partition's rows split by the hash of their key into `n` partitions (rows with null keys go to the first). */
export function splitByKey(part: Part, keyNames: readonly string[], n: number): Part[] {
  const g = findGroups(part, keyNames, true);
  const target = new Int32Array(g.count);
  for (let k = 0; k < g.count; k++) target[k] = hashKey(normalizeKey(g.keys[k])) % n;
  const counts = new Int32Array(n);
  for (let i = 0; i < part.length; i++) counts[target[g.ids[i]!]!]!++;
  const idx = Array.from({ length: n }, (_, j) => new Int32Array(counts[j]!));
  const fill = new Int32Array(n);
  for (let i = 0; i < part.length; i++) {
    const j = target[g.ids[i]!]!;
    idx[j]![fill[j]!++] = i;
  }
  return idx.map((ix) => part.take(ix));
}

/** Keys hash alike whatever the column type they came from (an int32 1 and an int64 1n differ in type, not in group). */
function normalizeKey(key: unknown): unknown {
  return typeof key === "bigint" ? Number(key) : key;
}
