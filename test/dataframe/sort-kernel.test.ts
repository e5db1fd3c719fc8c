// The radix sort behind sortValues and setIndex (src/dataframe/kernels/sort.ts), which partitions
// of more than 2048 rows take: the order it gives against a plain stable comparator sort, for
// 64-bit integers (signed and unsigned, past 2^53), timestamps, floats (negative, -0, infinities,
// NaN) and 32-bit ints, ascending and descending, with nulls last and ties in row order.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Column, columnFrom } from "../../src/dataframe/column.js";
import type { DType } from "../../src/dataframe/dtypes.js";
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
