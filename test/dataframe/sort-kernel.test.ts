// The radix sort behind sortValues and setIndex (src/dataframe/kernels/sort.ts), which partitions
// of more than 2048 rows take: the order it gives against a plain stable comparator sort, for
// 64-bit integers (signed and unsigned, past 2^53), timestamps, floats (negative, -0, infinities,
// NaN) and 32-bit ints, ascending and descending, with nulls last and ties in row order.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Column, columnFrom } from "../../src/dataframe/column.js";
import type { DType } from "../../src/dataframe/dtypes.js";
import { rangeSplit } from "../../src/dataframe/kernels/range-split.js";
import { sortOrder } from "../../src/dataframe/kernels/sort.js";
import { Part } from "../../src/dataframe/part.js";

const N = 20_000;
let seed = 12345;
const rand = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
};

/** Values with repeats (ties) and nulls: each a draw from a small pool or a wide range. */
function values(kind: string): unknown[] {
  return Array.from({ length: N }, () => {
    if (rand() < 0.05) return null;
    const tie = rand() < 0.3;
    switch (kind) {
      case "int64":
        return tie
          ? BigInt(Math.floor(rand() * 8) - 4)
          : BigInt.asIntN(64, (BigInt(Math.floor(rand() * 2 ** 32)) << 32n) | BigInt(Math.floor(rand() * 2 ** 32)));
      case "uint64":
        return tie
          ? 7n
          : BigInt.asUintN(64, (BigInt(Math.floor(rand() * 2 ** 32)) << 32n) | BigInt(Math.floor(rand() * 2 ** 32)));
      case "timestamp[us]":
        return tie ? 1_700_000_000_000_000n : BigInt(Math.floor((rand() - 0.3) * 2e15));
      case "float64":
        return tie
          ? [0, -0, Infinity, -Infinity, NaN, 1.5][Math.floor(rand() * 6)]
          : (rand() - 0.5) * 10 ** Math.floor(rand() * 20 - 10);
      default:
        return tie ? 3 : Math.floor((rand() - 0.5) * 2 ** 31);
    }
  });
}

/** A stable comparator sort: missing (null, NaN) last, -0 equal to 0. */
function reference(vals: unknown[], desc: boolean): number[] {
  const missing = (v: unknown) => v === null || (typeof v === "number" && Number.isNaN(v));
  return vals
    .map((_v, i) => i)
    .sort((a, b) => {
      const x = vals[a];
      const y = vals[b];
      if (missing(x) || missing(y)) return missing(x) && missing(y) ? a - b : missing(x) ? 1 : -1;
      const c = (x as number) < (y as number) ? -1 : (x as number) > (y as number) ? 1 : 0;
      return (desc ? -c : c) || a - b;
    });
}

describe("the radix sort of sortValues", () => {
  for (const type of ["int64", "uint64", "timestamp[us]", "float64", "int32"] as DType[]) {
    for (const desc of [false, true]) {
      test(`${type} ${desc ? "descending" : "ascending"}: the order of a stable comparator sort, nulls last`, () => {
        const vals = values(type);
        const col: Column =
          type === "int64" || type === "uint64" || type.startsWith("timestamp")
            ? rawColumn64(type, vals)
            : columnFrom(type, vals);
        const got = Array.from(sortOrder(new Part(["x"], [col], N), ["x"], [!desc]));
        assert.deepEqual(got, reference(vals, desc));
      });
    }
  }
});

function rawColumn64(type: DType, vals: unknown[]): Column {
  const out = type === "uint64" ? new BigUint64Array(N) : new BigInt64Array(N);
  const validity = new Uint8Array((N + 7) >> 3);
  let nulls = 0;
  vals.forEach((v, i) => {
    if (v === null) nulls++;
    else {
      out[i] = v as bigint;
      validity[i >> 3]! |= 1 << (i & 7);
    }
  });
  return new Column(type, N, out, validity, nulls);
}

describe("narrow spans and range splits", () => {
  /** Values over a span of 2^bits above a base (no nulls unless asked): the radix sort then sorts only those bits. */
  function narrow(type: DType, bits: number, nulls: boolean): unknown[] {
    return Array.from({ length: N }, () => {
      if (nulls && rand() < 0.05) return null;
      const off = Math.floor(rand() * 2 ** bits);
      if (type === "int32") return off - 2 ** (bits - 1);
      if (type === "float64") return 1e6 + off / 8;
      return 1_700_000_000_000_000n + BigInt(off) - (type === "int64" ? 2n ** BigInt(bits) : 0n);
    });
  }
  const columnOf = (type: DType, vals: unknown[]) =>
    type === "int64" || type.startsWith("timestamp") ? rawColumn64(type, vals) : columnFrom(type, vals);

  for (const type of ["int64", "timestamp[us]", "float64", "int32"] as DType[])
    for (const bits of [0, 9, 20, 31, 41])
      for (const nulls of [false, true]) {
        if (type === "int32" && bits > 31) continue;
        test(`${type} over 2^${bits}${nulls ? " with nulls" : ""}: the radix sort's order is the comparator's, both directions`, () => {
          const vals = narrow(type, bits, nulls);
          for (const desc of [false, true]) {
            const got = Array.from(sortOrder(new Part(["x"], [columnOf(type, vals)], N), ["x"], [!desc]));
            assert.deepEqual(got, reference(vals, desc));
          }
        });
      }

  for (const type of ["int64", "float64", "int32"] as DType[])
    test(`rangeSplit of ${type}: each row in the piece of the bounds at or before it (nulls last), rows in order, every column carried`, () => {
      const vals = narrow(type, 30, true);
      const col = columnOf(type, vals);
      const other = columnFrom(
        "float64",
        vals.map((_, i) => (i % 7 === 0 ? null : i)),
      );
      const plainOther = columnFrom(
        "int32",
        vals.map((_, i) => i),
      );
      const part = new Part(["x", "y", "i"], [col, other, plainOther], N);
      const present = vals.filter((v) => v !== null) as (number | bigint)[];
      for (const desc of [false, true]) {
        const sorted = reference(present, desc).map((i) => present[i]!);
        const bv = [
          ...new Set(Array.from({ length: 9 }, (_, q) => sorted[Math.floor(((q + 1) * sorted.length) / 10)]!)),
        ];
        const bcol =
          type === "int64"
            ? new Column(type, bv.length, BigInt64Array.from(bv as bigint[]), null, 0)
            : columnFrom(type, bv);
        const bounds = new Part(["x"], [bcol], bv.length);
        const pieces = rangeSplit(part, ["x"], [!desc], bounds);
        assert.equal(pieces.length, bv.length + 1);
        const before = (b: number | bigint, v: number | bigint) => (desc ? b >= v : b <= v);
        let seen = 0;
        pieces.forEach((p, j) => {
          const rows = Array.from({ length: p.length }, (_, r) => p.column("i").get(r) as number);
          assert.deepEqual(
            rows,
            [...rows].sort((a, b) => a - b),
            "rows in order within a piece",
          );
          for (let r = 0; r < p.length; r++) {
            const i = rows[r]!;
            const v = vals[i];
            const want = v === null ? bv.length : bv.filter((b) => before(b, v as number | bigint)).length;
            assert.equal(j, want, `row ${i} (${String(v)})`);
            assert.deepEqual(p.column("x").raw(r), col.raw(i));
            assert.deepEqual(p.column("y").raw(r), other.raw(i));
          }
          seen += p.length;
        });
        assert.equal(seen, N);
      }
    });
});
