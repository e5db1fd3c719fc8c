// Finding groups in a partition: a group id per row from the key columns. One key column of
// numbers, timestamps or strings: an open-addressing hash table over the column's buffers (no
// JavaScript value per row; strings in string-groups.ts); otherwise one Map lookup per row, several keys joined into one string.
// Rows whose key is null are left out (-1), as pandas' groupby(dropna=True) leaves them out.

import type { Column } from "../column.js";
import type { Part } from "../part.js";
import { isBig, isFloat } from "../dtypes.js";
import { isMissing } from "./verbs.js";
import { findDictionaryGroups, findStringGroups } from "./string-groups.js";

export interface Groups {
  /** Group of each row, -1 for rows left out. */
  ids: Int32Array;
  count: number;
  /** The first row of each group (to take its key values). */
  first: Int32Array;
  /** A Map key for each group's key values, equal for equal keys whichever partition they come from (nunique matches groups by it). */
  keys: unknown[];
}

/** A value as a Map key: numbers and strings as they are, bigints as they are, booleans as themselves. */
function keyOf(c: Column, i: number): unknown {
  return c.raw(i);
}

export function findGroups(part: Part, keyNames: readonly string[], keepNullKeys = false): Groups {
  const cols = keyNames.map((k) => part.column(k));
  if (cols.length === 1 && cols[0]!.type !== "bool") return findGroupsOne(cols[0]!, keepNullKeys);
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

function grown(a: Int32Array): Int32Array {
  const out = new Int32Array(a.length * 2);
  out.set(a);
  return out;
}

/** A table of `cap` slots holding the groups 0..count by their hashes (the null group has none). */
function rehash(hashes: Int32Array, count: number, nullGroup: number, cap: number): Int32Array {
  const slots = new Int32Array(2 * cap);
  const mask = cap - 1;
  for (let g = 0; g < count; g++) {
    if (g === nullGroup) continue;
    let s = hashes[g]! & mask;
    while (slots[2 * s] !== 0) s = (s + 1) & mask;
    slots[2 * s] = g + 1;
    slots[2 * s + 1] = hashes[g]!;
  }
  return slots;
}

/**
 * Groups of one key column by hashing its buffers: strings by string-groups.ts' table; otherwise
 * slots of an open-addressing table (linear probing, at most half full) hold group ids + 1, a
 * group compared by its first row: 64-bit values as two 32-bit halves, other numbers as Numbers (-0 is 0;
 * NaN is missing, as pandas).
 */
function findGroupsOne(c: Column, keepNullKeys: boolean): Groups {
  if (c.type === "utf8") {
    const s = c.dictionary
      ? findDictionaryGroups(c.dictionary, keepNullKeys)
      : findStringGroups(c.length, c.values as Uint8Array, c.offsets!, c.validity, keepNullKeys);
    let keys: unknown[] | undefined;
    return {
      ids: s.ids,
      count: s.count,
      first: s.first,
      get keys() {
        return (keys ??= Array.from(s.first, (r, g) => (g === s.nullGroup ? NULL_KEY : keyOf(c, r))));
      },
    };
  }
  const n = c.length;
  const ids = new Int32Array(n);
  let first: Int32Array = new Int32Array(64);
  let hashes: Int32Array = new Int32Array(64);
  let count = 0;
  let cap = 1024;
  let slots: Int32Array = new Int32Array(2 * cap); // pairs: group id + 1 (0: empty), its hash — one cache line per probe
  let nullGroup = -1;
  const kind = isBig(c.type) ? 1 : 2;
  const halves = kind === 1 ? new Int32Array(c.values.buffer, c.values.byteOffset, n * 2) : null;
  const nums = c.values as Float64Array; // any non-64-bit numeric storage, read as Numbers
  const validity = c.validity;
  const float = isFloat(c.type);

  for (let i = 0; i < n; i++) {
    const missing = (validity !== null && ((validity[i >> 3]! >> (i & 7)) & 1) === 0) || (float && nums[i] !== nums[i]);
    if (missing) {
      if (!keepNullKeys) ids[i] = -1;
      else {
        if (nullGroup < 0) {
          if (count === first.length) [first, hashes] = [grown(first), grown(hashes)];
          first[count] = i;
          hashes[count] = 0;
          nullGroup = count++;
        }
        ids[i] = nullGroup;
      }
      continue;
    }
    let h: number;
    if (kind === 1) h = mix32((halves![2 * i]! ^ mix32(halves![2 * i + 1]! >>> 0)) >>> 0);
    else h = hashNumber(nums[i]!);
    h |= 0;
    const mask = cap - 1;
    let s = h & mask;
    let g = -1;
    for (;;) {
      const at = slots[2 * s]!;
      if (at === 0) break;
      const cand = at - 1;
      if (slots[2 * s + 1] === h) {
        const r = first[cand]!;
        let same: boolean;
        if (kind === 1) same = halves![2 * r] === halves![2 * i] && halves![2 * r + 1] === halves![2 * i + 1];
        else same = nums[r] === nums[i];
        if (same) {
          g = cand;
          break;
        }
      }
      s = (s + 1) & mask;
    }
    if (g < 0) {
      if (count === first.length) [first, hashes] = [grown(first), grown(hashes)];
      first[count] = i;
      hashes[count] = h;
      g = count++;
      slots[2 * s] = g + 1;
      slots[2 * s + 1] = h;
      if (count * 2 > cap) {
        cap *= 2;
        slots = rehash(hashes, count, nullGroup, cap);
      }
    }
    ids[i] = g;
  }
  const firstRows = first.slice(0, count);
  let keys: unknown[] | undefined;
  return {
    ids,
    count,
    first: firstRows,
    // The same Map keys the general path gives, made only when asked for.
    get keys() {
      return (keys ??= Array.from(firstRows, (r, g) => (g === nullGroup ? NULL_KEY : keyOf(c, r))));
    },
  };
}

// ---- hashing rows by key, for shuffles and splitOut ----
// Straight from the column buffers, no Map and no key text: equal values hash alike whatever the
// column's type (an int32 1, an int64 1n and a float 1.0 hash as the float64 1.0; strings by
// FNV-1a over their UTF-8 bytes); null and NaN are one value; several keys are mixed in order.

const NULL_HASH = 0x9e3779b9;
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** murmur3's finalizer: spreads every input bit over the output (also the join's key tables). */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hashNumber(v: number): number {
  f64[0] = v === 0 ? 0 : v; // -0 as 0
  return mix32(u32[0]! ^ mix32((u32[1]! + 0x27d4eb2d) >>> 0));
}

/** A 32-bit hash of every row's key (the `keyNames` columns), the same in every process. */
export function hashRows(part: Part, keyNames: readonly string[]): Uint32Array {
  const n = part.length;
  const out = new Uint32Array(n);
  keyNames.forEach((name, j) => {
    const c = part.column(name);
    const v = c.values;
    const h = new Uint32Array(n);
    if (c.type === "utf8") {
      const o = c.offsets!;
      const bytes = v as Uint8Array;
      for (let i = 0; i < n; i++) {
        let x = 0x811c9dc5;
        for (let b = o[i]!; b < o[i + 1]!; b++) x = Math.imul(x ^ bytes[b]!, 0x01000193);
        h[i] = mix32(x >>> 0);
      }
    } else if (c.type === "bool") {
      for (let i = 0; i < n; i++) h[i] = hashNumber(((v[i >> 3] as number) >> (i & 7)) & 1);
    } else if (v instanceof BigInt64Array || v instanceof BigUint64Array) {
      for (let i = 0; i < n; i++) h[i] = hashNumber(Number(v[i]!));
    } else {
      for (let i = 0; i < n; i++) h[i] = hashNumber(v[i] as number);
    }
    if (c.nullCount > 0 || c.type === "float32" || c.type === "float64")
      for (let i = 0; i < n; i++) if (isMissing(c, i)) h[i] = NULL_HASH;
    if (j === 0) out.set(h);
    else for (let i = 0; i < n; i++) out[i] = mix32((Math.imul(out[i]!, 0x01000193) ^ h[i]!) >>> 0);
  });
  return out;
}

/** The partition's rows split by the hash of their key into `n` partitions, in order within each (equal keys, and all null keys, together). */
export function splitByKey(part: Part, keyNames: readonly string[], n: number): Part[] {
  const h = hashRows(part, keyNames);
  const target = new Int32Array(part.length);
  const counts = new Int32Array(n);
  for (let i = 0; i < part.length; i++) counts[(target[i] = h[i]! % n)]!++;
  const idx = Array.from({ length: n }, (_, j) => new Int32Array(counts[j]!));
  const fill = new Int32Array(n);
  for (let i = 0; i < part.length; i++) {
    const j = target[i]!;
    idx[j]![fill[j]!++] = i;
  }
  return idx.map((ix) => part.take(ix));
}
