// The string-key table (src/dataframe/kernels/string-groups.ts) against a Map over the keys' text:
// every row's group, groups numbered in order of first sight, their first rows, nulls left out or
// one group; with hashes forced to collide (one hash for every key, or two), with enough groups to
// grow the table and the key arena several times, and with keys that are prefixes of each other.

import assert from "node:assert/strict";
import { test } from "node:test";
import { stringColumn } from "../../src/dataframe/column.js";
import { findStringGroups, hashBytes } from "../../src/dataframe/kernels/string-groups.js";

let seed = 7;
const rand = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
};

/** What the table must give, from a Map over the strings. */
function expected(vals: (string | null)[], keepNull: boolean) {
  const map = new Map<string | null, number>();
  const first: number[] = [];
  const ids = vals.map((v, i) => {
    if (v === null && !keepNull) return -1;
    let g = map.get(v);
    if (g === undefined) {
      map.set(v, (g = first.length));
      first.push(i);
    }
    return g;
  });
  return { ids, first, nullGroup: map.get(null) ?? -1 };
}

function check(vals: (string | null)[], hash?: (b: Uint8Array, s: number, e: number) => number) {
  const c = stringColumn(vals);
  for (const keepNull of [false, true]) {
    const got = findStringGroups(c.length, c.values as Uint8Array, c.offsets!, c.validity, keepNull, hash);
    const want = expected(vals, keepNull);
    assert.deepEqual(Array.from(got.ids), want.ids);
    assert.deepEqual(Array.from(got.first), want.first);
    assert.equal(got.count, want.first.length);
    assert.equal(got.nullGroup, want.nullGroup);
  }
}

test("string groups: random keys with nulls, empty and non-ASCII keys, keys that are prefixes of others", () => {
  for (let round = 0; round < 30; round++) {
    const n = Math.floor(rand() * 5000);
    const size = 1 + Math.floor(rand() * 2000);
    const vals = Array.from({ length: n }, () => {
      if (rand() < 0.05) return null;
      const k = Math.floor(rand() * size);
      return k % 11 === 0 ? "" : `${"ab".repeat(k % 4)}${k}${"é".repeat(k % 3)}`;
    });
    check(vals);
  }
});

test("string groups: every key hashing alike (one probe chain) and two hashes only", () => {
  const vals = Array.from({ length: 3000 }, () => (rand() < 0.03 ? null : `z${Math.floor(rand() * 700)}`));
  check(vals, () => 12345);
  check(vals, (_b, s, e) => (e - s) & 1); // "z1" and "z12" never share a hash, "z1" and "z123" do
  check(["a", "ab", "a", "ba", "", "ab", ""], () => -1);
});

test("string groups: 100k distinct long keys grow the table and the key arena many times", () => {
  const vals = Array.from({ length: 250_000 }, (_, i) => `key-${"x".repeat(i % 40)}-${(i * 7919) % 100_000}`);
  check(vals);
});

test("string groups: equal strings hash alike wherever they are, different ones apart", () => {
  const c = stringColumn(["Z000001", "Z000001", "Z000002"]);
  const b = c.values as Uint8Array;
  const o = c.offsets!;
  assert.equal(hashBytes(b, o[0]!, o[1]!), hashBytes(b, o[1]!, o[2]!));
  assert.notEqual(hashBytes(b, o[0]!, o[1]!), hashBytes(b, o[2]!, o[3]!));
});
