// The node:assert/strict shim must fail where Node's assert fails, or every browser unit built on
// it could pass on nothing. Each case: Node's own assert throws here (checked against Node's
// documented behaviour), and so must the shim.

import assert, { AssertionError } from "node:assert/strict";
import { describe, test } from "node:test";

class Point {
  constructor(readonly x: number) {}
}
class Oops extends Error {}

const fails = (what: () => unknown) => assert.throws(what, AssertionError);
const failsAsync = (what: () => Promise<unknown>) => assert.rejects(what, AssertionError);

describe("node:assert/strict shim", () => {
  test("equal is Object.is", () => {
    assert.equal(NaN, NaN);
    fails(() => assert.equal(0, -0));
    fails(() => assert.equal(1, "1" as unknown));
    fails(() => assert.notEqual(2, 2));
  });

  test("deepEqual compares contents, types and prototypes", () => {
    assert.deepEqual(
      { a: [1, { b: new Float64Array([1.5]) }], m: new Map([["k", 1n]]) },
      { a: [1, { b: new Float64Array([1.5]) }], m: new Map([["k", 1n]]) },
    );
    fails(() => assert.deepEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])));
    fails(() => assert.deepEqual(new Uint8Array([1]), new Int8Array([1]) as unknown));
    fails(() => assert.deepEqual(new BigInt64Array([1n]), new BigUint64Array([1n]) as unknown));
    fails(() => assert.deepEqual(new Point(1), { x: 1 }));
    fails(() => assert.deepEqual(new DataView(new Uint8Array([1]).buffer), new DataView(new Uint8Array([2]).buffer)));
    fails(() => assert.deepEqual(new Map([["k", 1]]), new Map([["k", 2]])));
    fails(() => assert.deepEqual({ a: 1 }, { a: 1, b: undefined }));
    assert.notDeepEqual([1], [2]);
  });

  test("ok, fail, match", () => {
    fails(() => assert.ok(0));
    fails(() => assert.fail("no"));
    fails(() => assert.match("abc", /x/));
    assert.match("abc", /b/);
    assert.throws(() => assert.ok(false, new Oops("mine")), Oops);
  });

  test("throws: nothing thrown, wrong class, failed validation, wrong pattern", () => {
    fails(() => assert.throws(() => {}));
    fails(() =>
      assert.throws(() => {
        throw new Error("x");
      }, Oops),
    );
    fails(() =>
      assert.throws(
        () => {
          throw new Error("x");
        },
        () => false,
      ),
    );
    fails(() =>
      assert.throws(() => {
        throw new Error("x");
      }, /y/),
    );
    fails(() =>
      assert.throws(
        () => {
          throw new Error("x");
        },
        { message: "y" },
      ),
    );
    assert.throws(() => {
      throw new Oops("x");
    }, Error);
    assert.throws(
      () => {
        throw new Error("x y");
      },
      { message: /y/ },
    );
  });

  test("rejects: resolved, wrong class, failed validation", async () => {
    await failsAsync(() => assert.rejects(Promise.resolve(1)));
    await failsAsync(() => assert.rejects(Promise.reject(new Error("x")), Oops));
    await failsAsync(() =>
      assert.rejects(
        () => Promise.reject(new Error("x")),
        (e: unknown) => e instanceof Oops,
      ),
    );
    await assert.rejects(Promise.reject(new Oops("x")), Oops);
  });
});
