// The join of two partitions on one integer key (src/dataframe/kernels/merge.ts' joinOneKey):
// dense keys and sparse ones, int32 and int64 (past 2^32), duplicate keys on both sides, unmatched
// rows, every how; each against a nested-loop join written here, row for row and in pandas' order
// (and the left's columns kept as they are when every left row matches once, in order).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Column, columnFrom } from "../../src/dataframe/column.js";
import type { DType } from "../../src/dataframe/dtypes.js";
import { mergeParts, type JoinHow, type MergeSpec } from "../../src/dataframe/kernels/merge.js";
import { Part } from "../../src/dataframe/part.js";

let seed = 777;
const rand = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
};

function keyColumn(type: DType, keys: number[]): Column {
  if (type === "int64")
    return new Column(
      "int64",
      keys.length,
      BigInt64Array.from(keys, (k) => BigInt(k)),
      null,
      0,
    );
  return columnFrom(type, keys);
}

/** Pairs of (left row, right row) as pandas orders them; -1 for none. */
function reference(l: number[], r: number[], how: JoinHow): [number, number][] {
  const out: [number, number][] = [];
  if (how === "right") {
    r.forEach((k, j) => {
      const m = l.flatMap((x, i) => (x === k ? [i] : []));
      if (m.length === 0) out.push([-1, j]);
      for (const i of m) out.push([i, j]);
    });
    return out;
  }
  const seen = new Set<number>();
  l.forEach((k, i) => {
    const m = r.flatMap((x, j) => (x === k ? [j] : []));
    if (m.length === 0 && how !== "inner") out.push([i, -1]);
    for (const j of m) {
      out.push([i, j]);
      seen.add(j);
    }
  });
  if (how === "outer") r.forEach((_k, j) => !seen.has(j) && out.push([-1, j]));
  return out;
}

describe("joins on one integer key", () => {
  for (const type of ["int32", "int64"] as DType[])
    for (const [what, base, spread] of [
      ["dense", 5_000_000_000, 1.5],
      ["sparse", -7, 1e6],
    ] as const)
      for (const how of ["inner", "left", "right", "outer"] as JoinHow[])
        test(`${type}, ${what} keys, ${how}: the pairs of a nested-loop join, in pandas' order`, () => {
          const b = type === "int32" ? (what === "dense" ? 1000 : -7) : base;
          const nr = 400;
          const r = Array.from({ length: nr }, () => b + Math.floor(rand() * nr * spread));
          const l = Array.from({ length: 700 }, () => b - 20 + Math.floor(rand() * (nr * spread + 40)));
          const left = new Part(
            ["k", "li"],
            [
              keyColumn(type, l),
              columnFrom(
                "int32",
                l.map((_, i) => i),
              ),
            ],
          );
          const right = new Part(
            ["k", "ri"],
            [
              keyColumn(type, r),
              columnFrom(
                "int32",
                r.map((_, j) => j),
              ),
            ],
          );
          const spec: MergeSpec = {
            how,
            leftOn: ["k"],
            rightOn: ["k"],
            leftNames: ["k", "li"],
            rightColumns: ["ri"],
            rightNames: ["ri"],
          };
          const got = mergeParts(left, right, spec);
          const li = got.column("li");
          const ri = got.column("ri");
          const pairs: number[][] = Array.from({ length: got.length }, (_, x) => [
            li.isValid(x) ? (li.get(x) as number) : -1,
            ri.isValid(x) ? (ri.get(x) as number) : -1,
          ]);
          assert.deepEqual(pairs, reference(l, r, how));
          for (let x = 0; x < got.length; x++) {
            const [i, j] = pairs[x]! as [number, number];
            assert.equal(Number(got.column("k").raw(x)), i >= 0 ? l[i] : r[j]);
          }
        });

  test("every left row matching one right row: the left's columns come back as they are, the right's in the left's order", () => {
    const r = Array.from({ length: 300 }, (_, j) => 40 + ((j * 7) % 300));
    const l = Array.from({ length: 500 }, () => 40 + Math.floor(rand() * 300));
    const fare = columnFrom(
      "float64",
      l.map((_, i) => i / 2),
    );
    const left = new Part(["k", "fare"], [keyColumn("int64", l), fare]);
    const right = new Part(
      ["k", "ri"],
      [
        keyColumn("int64", r),
        columnFrom(
          "int32",
          r.map((_, j) => j),
        ),
      ],
    );
    for (const how of ["inner", "left"] as JoinHow[]) {
      const got = mergeParts(left, right, {
        how,
        leftOn: ["k"],
        rightOn: ["k"],
        leftNames: ["k", "fare"],
        rightColumns: ["ri"],
        rightNames: ["ri"],
      });
      assert.equal(got.column("fare"), fare, "the same column, not a copy");
      const want = reference(l, r, how);
      assert.deepEqual(
        Array.from({ length: got.length }, (_, x) => got.column("ri").get(x)),
        want.map(([, j]) => j),
      );
    }
  });
});
