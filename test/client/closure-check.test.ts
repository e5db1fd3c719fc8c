// The closure check is precise: names bound anywhere inside a function are its own; platform
// globals are allowed alike wherever the client runs; a free *function* gets the advice that
// works (a task module).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ClosureError, describeFunction } from "../../src/internal.js";

declare const helper: (x: number) => number;
declare const factor: number;
declare const window: unknown;

describe("the closure check is precise", () => {
  test("names bound inside the function are not free: classes, functions, destructuring, catch parameters", () => {
    const own = [
      () =>
        new (class Q {
          v = 1;
        })().v,
      () => {
        class R {
          v = 2;
        }
        return new R().v;
      },
      () => {
        function h(x: number) {
          return x + 1;
        }
        return h(1);
      },
      () => {
        const {
          a,
          b: [c],
          ...rest
        } = { a: 1, b: [2], d: 3 } as { a: number; b: number[]; d: number };
        return a + c! + Object.keys(rest).length;
      },
      () => {
        try {
          throw new Error("x");
          // biome-ignore lint/suspicious/noExplicitAny: a destructured catch binding may be typed only any or unknown
        } catch ({ message }: any) {
          return message as string;
        }
      },
      function fact(n: number): number {
        return n <= 1 ? 1 : n * fact(n - 1);
      },
    ];
    for (const fn of own) assert.doesNotThrow(() => describeFunction(fn as never), String(fn));
  });

  test("platform globals are allowed alike: typeof window and process both pass", () => {
    assert.doesNotThrow(() => describeFunction(() => typeof window));
    assert.doesNotThrow(() => describeFunction(() => (typeof process === "undefined" ? "web" : process.platform)));
  });

  test("a free value is named with the advice to pass it; a free function with the advice of a task module", () => {
    assert.throws(
      () => describeFunction((x: number) => x * factor),
      (e: unknown) => e instanceof ClosureError && /refers to `factor`.*Pass the value as an argument/.test(e.message),
    );
    assert.throws(
      () => describeFunction((x: number) => helper(x) * factor),
      (e: unknown) =>
        e instanceof ClosureError &&
        e.called.join() === "helper" &&
        /It calls `helper`: functions do not travel as arguments either, so put it and this function in a task module .*; pass `factor` as an argument\./.test(
          e.message,
        ),
    );
  });
});
