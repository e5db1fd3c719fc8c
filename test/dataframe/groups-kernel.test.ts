// The hash table that finds groups of one key column (src/dataframe/kernels/groups.ts) against the
// general path (a Map over key text, which two key columns take): the same group of every row, the
// same first rows, with nulls left out or kept as one group, for strings (empty, non-ASCII),
// 64-bit integers (past 2^53), floats (NaN missing, -0 equal to 0) and 32-bit ints.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Column, columnFrom, stringColumn } from "../../src/dataframe/column.js";
import { findGroups } from "../../src/dataframe/kernels/groups.js";
import { Part } from "../../src/dataframe/part.js";

let seed = 99;
const rand = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
};

const POOLS: Record<string, (i: number) => unknown> = {
  utf8: (i) => (i % 7 === 0 ? "" : `k${i}${"é".repeat(i % 3)}`),
  int64: (i) => (i % 2 ? BigInt(i) << 40n : -BigInt(i)),
  float64: (i) => [0, -0, NaN, 1.5, -2.25][i % 5]! + (i > 4 ? i : 0),
  int32: (i) => i * 7 - 1000,
};

function column(type: string, vals: unknown[]): Column {
  if (type === "utf8") return stringColumn(vals as (string | null)[]);
  if (type !== "int64") return columnFrom(type as "int32", vals);
  const out = new BigInt64Array(vals.length);
  const validity = new Uint8Array((vals.length + 7) >> 3);
  let nulls = 0;
  vals.forEach((v, i) => (v === null ? nulls++ : ((out[i] = v as bigint), (validity[i >> 3]! |= 1 << (i & 7)))));
  return new Column("int64", vals.length, out, validity, nulls);
}

for (const type of Object.keys(POOLS)) {
  test(`${type} keys: the hash table's groups are the general path's, nulls left out or kept`, () => {
    for (let round = 0; round < 40; round++) {
      const n = 1 + Math.floor(rand() * 3000);
      const size = 1 + Math.floor(rand() * 600);
      const vals = Array.from({ length: n }, () => (rand() < 0.1 ? null : POOLS[type]!(Math.floor(rand() * size))));
      const part = new Part(["k", "one"], [column(type, vals), columnFrom("int32", new Array(n).fill(1))], n);
      for (const keep of [false, true]) {
        const fast = findGroups(part, ["k"], keep);
        const general = findGroups(part, ["k", "one"], keep);
        assert.equal(fast.count, general.count);
        assert.deepEqual(Array.from(fast.ids), Array.from(general.ids));
        assert.deepEqual(Array.from(fast.first), Array.from(general.first));
      }
    }
  });
}

/** Two strings of one length whose 32-bit FNV-1a hashes (the table's, before its bijective mix) are equal: a birthday search. */
function collidingStrings(): [string, string] {
  const seen = new Map<number, string>();
  for (;;) {
    // Random 8-letter strings, all of one length, so that only the bytes tell them apart.
    let s = "";
    for (let j = 0; j < 8; j++) s += String.fromCharCode(97 + Math.floor(rand() * 26));
    let h = 0x811c9dc5;
    for (let j = 0; j < s.length; j++) h = Math.imul(h ^ s.charCodeAt(j), 0x01000193);
    h >>>= 0;
    const other = seen.get(h);
    if (other !== undefined && other !== s) return [other, s];
    seen.set(h, s);
  }
}

test("strings whose hashes collide are still two groups", () => {
  const [a, b] = collidingStrings();
  const vals = [a, b, a, "x", b, b, a];
  const g = findGroups(new Part(["k"], [stringColumn(vals)], vals.length), ["k"]);
  assert.equal(g.count, 3);
  assert.deepEqual(Array.from(g.ids), [0, 1, 0, 2, 1, 1, 0]);
});
