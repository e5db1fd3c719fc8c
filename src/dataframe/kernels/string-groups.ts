// Groups of one string key column: an open-addressing hash table whose slots point straight at
// each group's record in an arena (its group id, its key's length, its key's UTF-8 bytes), so a
// row costs two random memory reads (its slot, then the record it is compared with) where going
// through the group id cost four (slot, first row, key offsets, key bytes). With 200k distinct
// keys those reads miss the caches, and they are what the time goes on; so the rows' hashes are
// computed first, and every 16 rows the slots and records of the next 16 are read in loops whose
// reads do not wait on each other (group prefetching), so their misses overlap.

import type { DictionaryCodes } from "../column.js";

/** Group of each row (-1 left out), the group count, the first row of each group, and which group is the null one (-1: none). */
export interface StringGroups {
  ids: Int32Array;
  count: number;
  first: Int32Array;
  nullGroup: number;
}

/** FNV-1a over bytes [b, e), then murmur3's finalizer (the same hash as the general table). */
export function hashBytes(bytes: Uint8Array, b: number, e: number): number {
  let h = 0x811c9dc5;
  for (; b < e; b++) h = Math.imul(h ^ bytes[b]!, 0x01000193);
  h >>>= 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

const BATCH = 16;
// biome-ignore lint/correctness/noUnusedVariables: written, never read, so the prefetching reads are not dead code
let sink = 0;

function grown(a: Int32Array, n: number): Int32Array {
  const out = new Int32Array(Math.max(a.length * 2, n));
  out.set(a);
  return out;
}

/**
 * Groups of a utf8 column (`bytes`, `offsets`, `validity`), in the order they are first seen.
 * `hash` is the hash of a row's bytes (a parameter so tests can force collisions). Null rows are
 * left out, or one group (that has no slot) when `keepNullKeys`.
 */
export function findStringGroups(
  n: number,
  bytes: Uint8Array,
  offsets: Int32Array,
  validity: Uint8Array | null,
  keepNullKeys: boolean,
  hash: (bytes: Uint8Array, b: number, e: number) => number = hashBytes,
): StringGroups {
  const ids = new Int32Array(n);
  let first: Int32Array = new Int32Array(1024);
  let hashes: Int32Array = new Int32Array(1024); // per group, to rehash
  let recAt: Int32Array = new Int32Array(1024); // per group: its record's word in the arena
  let count = 0;
  let nullGroup = -1;
  let cap = 1024;
  let slots = new Int32Array(2 * cap); // pairs: record word + 1 (0: empty), hash — one cache line per probe
  // Records, 4-byte aligned: [group id, key length, key bytes…]; `words` and `keys` view the same memory.
  let words: Int32Array = new Int32Array(16384);
  let keys = new Uint8Array(words.buffer);
  let top = 0;
  // The hashes first, in a loop of their own: the probing loop then has only its memory reads to wait for.
  const rowHash = new Int32Array(n);
  for (let i = 0; i < n; i++) rowHash[i] = hash(bytes, offsets[i]!, offsets[i + 1]!);

  let touched = 0;
  for (let i = 0; i < n; i++) {
    if ((i & (BATCH - 1)) === 0) {
      // Group prefetching: read the slots, then the records they point at, for the next BATCH rows,
      // in loops whose reads do not wait on each other, so their cache misses overlap; the probing
      // below then finds those lines in cache.
      const end = Math.min(n, i + BATCH);
      const mask = cap - 1;
      for (let j = i; j < end; j++) touched += slots[2 * (rowHash[j]! & mask)]!;
      for (let j = i; j < end; j++) {
        const at = slots[2 * (rowHash[j]! & mask)]!;
        if (at !== 0) touched += words[at]!;
      }
    }
    if (validity !== null && ((validity[i >> 3]! >> (i & 7)) & 1) === 0) {
      if (!keepNullKeys) ids[i] = -1;
      else {
        if (nullGroup < 0) {
          if (count === first.length) [first, hashes, recAt] = [grown(first, 0), grown(hashes, 0), grown(recAt, 0)];
          first[count] = i;
          nullGroup = count++;
        }
        ids[i] = nullGroup;
      }
      continue;
    }
    const b = offsets[i]!;
    const e = offsets[i + 1]!;
    const len = e - b;
    const h = rowHash[i]!;
    let mask = cap - 1;
    let s = h & mask;
    let g = -1;
    for (;;) {
      const at = slots[2 * s]!;
      if (at === 0) break;
      if (slots[2 * s + 1] === h) {
        const w = at - 1;
        if (words[w + 1] === len) {
          const k0 = 4 * (w + 2);
          let k = 0;
          while (k < len && keys[k0 + k] === bytes[b + k]) k++;
          if (k === len) {
            g = words[w]!;
            break;
          }
        }
      }
      s = (s + 1) & mask;
    }
    if (g < 0) {
      if (count === first.length) [first, hashes, recAt] = [grown(first, 0), grown(hashes, 0), grown(recAt, 0)];
      const need = top + 2 + ((len + 3) >> 2);
      if (need > words.length) {
        words = grown(words, need);
        keys = new Uint8Array(words.buffer);
      }
      words[top] = count;
      words[top + 1] = len;
      keys.set(bytes.subarray(b, e), 4 * (top + 2));
      g = count++;
      first[g] = i;
      hashes[g] = h;
      recAt[g] = top;
      slots[2 * s] = top + 1;
      slots[2 * s + 1] = h;
      top = need;
      if (count * 2 > cap) {
        cap *= 2;
        mask = cap - 1;
        slots = new Int32Array(2 * cap);
        for (let q = 0; q < count; q++) {
          if (q === nullGroup) continue;
          let t = hashes[q]! & mask;
          while (slots[2 * t] !== 0) t = (t + 1) & mask;
          slots[2 * t] = recAt[q]! + 1;
          slots[2 * t + 1] = hashes[q]!;
        }
      }
    }
    ids[i] = g;
  }
  sink ^= touched; // keeps the prefetching reads live
  return { ids, count, first: first.slice(0, count), nullGroup };
}

/**
 * The same groups as findStringGroups (ids in order of first appearance), from a column's
 * dictionary codes: the dictionary's entries are grouped by their bytes (entries may repeat), then
 * one pass over the codes, a lookup per row, no string bytes touched.
 */
export function findDictionaryGroups(d: DictionaryCodes, keepNullKeys: boolean): StringGroups {
  const entries = findStringGroups(d.size, d.bytes, d.offsets, null, false).ids; // entry → distinct value
  const codes = d.codes;
  const n = codes.length;
  const ids = new Int32Array(n);
  const groupOf = new Int32Array(d.size).fill(-1); // distinct value → group id
  let first: Int32Array = new Int32Array(Math.min(d.size + 1, 1024));
  let count = 0;
  let nullGroup = -1;
  for (let i = 0; i < n; i++) {
    const code = codes[i]!;
    if (code < 0) {
      if (!keepNullKeys) ids[i] = -1;
      else {
        if (nullGroup < 0) {
          if (count === first.length) first = grown(first, 0);
          first[count] = i;
          nullGroup = count++;
        }
        ids[i] = nullGroup;
      }
      continue;
    }
    const v = entries[code]!;
    let g = groupOf[v]!;
    if (g < 0) {
      if (count === first.length) first = grown(first, 0);
      first[count] = i;
      g = groupOf[v] = count++;
    }
    ids[i] = g;
  }
  return { ids, count, first: first.slice(0, count), nullGroup };
}
