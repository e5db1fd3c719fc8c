// An output partition of a one-column numeric sort (src/dataframe/kernels/bucket-sort.ts, through
// sortParts): pieces moved by the top digit of their keys into buckets, each bucket put in order
// in cache. Checked against the row order of a plain stable comparator sort of the joined pieces,
// every column carried (numbers, strings, nulls in other columns), for keys over wide and narrow
// spans, with ties (stability), crowded buckets, descending, and the keys the general path takes
// (nulls, NaN). Also the range split's table of bounds against a count of the bounds at or before.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Column, columnFrom } from "../../src/dataframe/column.js";
import type { DType } from "../../src/dataframe/dtypes.js";
import { bucketSortParts } from "../../src/dataframe/kernels/bucket-sort.js";
import { rangeSplit } from "../../src/dataframe/kernels/range-split.js";
import { sortParts } from "../../src/dataframe/kernels/sort.js";
import { Part } from "../../src/dataframe/part.js";

let seed = 4242;
const rand = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
};

/** Keys of a kind: "wide" over most of the type's range, "narrow" over 2^20 above a base, "crowded" mostly one value and its neighbours, "ties" from a pool of 5. */
function keyOf(type: DType, kind: string): number | bigint {
  const r = rand();
  const big = type === "int64" || type === "uint64" || type.startsWith("timestamp");
  let x: number;
  if (kind === "wide") x = (r - (type === "uint64" ? 0 : 0.5)) * 2 ** 52;
  else if (kind === "narrow") x = 1_000_000 + Math.floor(r * 2 ** 20);
  else if (kind === "crowded") x = r < 0.9 ? 500 + Math.floor(rand() * 3) : Math.floor(rand() * 2 ** 30);
  else x = Math.floor(r * 5);
  if (type === "float64") return kind === "wide" ? x * 1e-3 : x / 4;
  if (type === "int32")
    return Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.trunc(kind === "wide" ? x / 2 ** 21 : x)));
  if (big) {
    const v = BigInt(Math.trunc(x)) * (kind === "wide" ? 1000n : 1n);
    return type === "uint64" && v < 0n ? -v : v;
  }
  return x;
}

function keyColumn(type: DType, vals: (number | bigint | null)[]): Column {
  if (type === "int64" || type === "uint64" || type.startsWith("timestamp")) {
    const out = type === "uint64" ? new BigUint64Array(vals.length) : new BigInt64Array(vals.length);
    const validity = new Uint8Array((vals.length + 7) >> 3);
    let nulls = 0;
    vals.forEach((v, i) => {
      if (v === null) nulls++;
      else {
        out[i] = v as bigint;
        validity[i >> 3]! |= 1 << (i & 7);
      }
    });
    return new Column(type, vals.length, out, nulls > 0 ? validity : null, nulls);
  }
  return columnFrom(type, vals);
}

/**
 * Pieces of sizes `sizes`, columns k (the key: `pick(row)` where it gives a value, else a key of
 * `kind`), n (a float64 row number), s (strings, some null), i (int32 row number).
 */
function piecesOf(type: DType, kind: string, sizes: number[], pick?: (i: number) => number | bigint | null) {
  const keys: (number | bigint | null)[] = [];
  let row = 0;
  const pieces = sizes.map((size) => {
    const vals = Array.from({ length: size }, (_, j) => (pick ? pick(row + j) : null) ?? keyOf(type, kind));
    keys.push(...vals);
    const rows = Array.from({ length: size }, (_, j) => row + j);
    row += size;
    return new Part(
      ["k", "n", "s", "i"],
      [
        keyColumn(type, vals),
        columnFrom(
          "float64",
          rows.map((r) => r),
        ),
        columnFrom(
          "utf8",
          rows.map((r) => (r % 5 === 0 ? null : `s${r}`)),
        ),
        columnFrom(
          "int32",
          rows.map((r) => r),
        ),
      ],
      size,
    );
  });
  return { pieces, keys };
}

/** Row numbers in a stable comparator sort of `keys`: missing (null, NaN) last. */
function reference(keys: (number | bigint | null)[], desc: boolean): number[] {
  const missing = (v: unknown) => v === null || (typeof v === "number" && Number.isNaN(v));
  return keys
    .map((_v, i) => i)
    .sort((a, b) => {
      const x = keys[a];
      const y = keys[b];
      if (missing(x) || missing(y)) return missing(x) && missing(y) ? a - b : missing(x) ? 1 : -1;
      const c = x! < y! ? -1 : x! > y! ? 1 : 0;
      return (desc ? -c : c) || a - b;
    });
}

function checkSorted(out: Part, keys: (number | bigint | null)[], desc: boolean, label: string): void {
  const want = reference(keys, desc);
  assert.equal(out.length, want.length, label);
  const got = Array.from({ length: out.length }, (_, r) => out.column("i").get(r) as number);
  assert.deepEqual(got, want, `${label}: row order`);
  for (let r = 0; r < out.length; r++) {
    const i = want[r]!;
    assert.equal(out.column("n").get(r), i, `${label}: n at ${r}`);
    assert.equal(out.column("s").get(r), i % 5 === 0 ? null : `s${i}`, `${label}: s at ${r}`);
    const k = out.column("k").raw(r);
    assert.ok(Object.is(k, keys[i]) || k === keys[i], `${label}: key at ${r}: ${String(k)} for ${String(keys[i])}`);
  }
}

describe("sortParts by buckets", () => {
  for (const type of ["timestamp[us]", "int64", "uint64", "float64", "int32"] as DType[])
    for (const kind of ["wide", "narrow", "crowded", "ties"])
      test(`${type}, ${kind} keys: the rows of a stable comparator sort of the joined pieces, every column carried, both directions`, () => {
        const { pieces, keys } = piecesOf(type, kind, [7000, 0, 1, 12000, 5000]);
        for (const desc of [false, true]) {
          const fast = bucketSortParts(pieces, "k", desc);
          assert.ok(fast, "the bucket sort takes keys without nulls");
          checkSorted(fast, keys, desc, `${type} ${kind} ${desc ? "desc" : "asc"}`);
          checkSorted(sortParts(pieces, ["k"], [!desc]), keys, desc, `sortParts ${type} ${kind}`);
        }
      });

  test("a single bucket, every key equal: the input order", () => {
    const { pieces, keys } = piecesOf("int64", "ties", [3000, 3000], () => 9n);
    checkSorted(bucketSortParts(pieces, "k", false)!, keys, false, "all equal");
  });

  test("keys with nulls or NaN go by the general path, still sorted, missing last", () => {
    // Nulls in the key: the bucket sort declines.
    const nulls = piecesOf("int64", "wide", [4000, 4000]);
    nulls.keys.forEach((_, i) => {
      if (i % 97 === 0) nulls.keys[i] = null;
    });
    const nullPieces = [0, 1].map((p) => {
      const part = nulls.pieces[p]!;
      const vals = nulls.keys.slice(p * 4000, (p + 1) * 4000);
      return part.with("k", keyColumn("int64", vals));
    });
    assert.equal(bucketSortParts(nullPieces, "k", false), null);
    checkSorted(sortParts(nullPieces, ["k"], [true]), nulls.keys, false, "nulls");
    const nan = piecesOf("float64", "narrow", [4000, 4000], (i) => (i % 89 === 0 ? Number.NaN : null));
    assert.equal(bucketSortParts(nan.pieces, "k", false), null);
    checkSorted(sortParts(nan.pieces, ["k"], [false]), nan.keys, true, "NaN");
  });
});

describe("range split by the table of bounds", () => {
  for (const type of ["timestamp[us]", "int64", "uint64", "float64", "int32"] as DType[])
    for (const kind of ["wide", "narrow", "crowded"])
      test(`${type}, ${kind}: each row in the piece of the number of bounds at or before it`, () => {
        const { pieces, keys } = piecesOf(type, kind, [9000]);
        const part = pieces[0]!;
        for (const desc of [false, true]) {
          const sorted = reference(keys, desc).map((i) => keys[i]!);
          const nb = kind === "crowded" ? 4 : 24;
          const bv = [
            ...new Set(Array.from({ length: nb }, (_, q) => sorted[Math.floor(((q + 1) * sorted.length) / (nb + 1))]!)),
          ];
          const bounds = new Part(["k"], [keyColumn(type, bv)], bv.length);
          const out = rangeSplit(part, ["k"], [!desc], bounds);
          const before = (b: number | bigint, v: number | bigint) => (desc ? b >= v : b <= v);
          out.forEach((p, j) => {
            for (let r = 0; r < p.length; r++) {
              const i = p.column("i").get(r) as number;
              assert.equal(j, bv.filter((b) => before(b, keys[i]!)).length, `row ${i} (${String(keys[i])})`);
            }
          });
          assert.equal(
            out.reduce((s, p) => s + p.length, 0),
            keys.length,
          );
        }
      });
});
