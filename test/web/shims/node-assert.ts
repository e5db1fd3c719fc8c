// node:assert/strict for the browser: the part of its API our suites use, with Node's meaning
// (equal is Object.is; deepEqual is strict and compares prototypes; throws and rejects take a class,
// a RegExp, a validation function or an object of expected properties). Deep equality is deep-eql.

import deepEql from "deep-eql";

export class AssertionError extends Error {
  override name = "AssertionError";
  constructor(
    message: string,
    readonly actual?: unknown,
    readonly expected?: unknown,
    readonly operator?: string,
  ) {
    super(message);
  }
}

type Message = string | Error | undefined;

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "bigint") return `${v}n`;
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  if (typeof v === "function") return `[Function ${v.name || "anonymous"}]`;
  try {
    const s = JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? `${x}n` : x));
    if (s !== undefined)
      return (
        (v !== null &&
        typeof v === "object" &&
        v.constructor?.name &&
        v.constructor.name !== "Object" &&
        v.constructor.name !== "Array"
          ? `${v.constructor.name} `
          : "") + (s.length > 400 ? `${s.slice(0, 400)}…` : s)
      );
  } catch {
    // cyclic
  }
  return String(v);
}

function raise(message: Message, fallback: string, actual?: unknown, expected?: unknown, operator?: string): never {
  if (message instanceof Error) throw message;
  throw new AssertionError(message ?? fallback, actual, expected, operator);
}

/** Deep equality the way deepStrictEqual has it: objects must also share their prototype. */
function deepStrict(actual: unknown, expected: unknown): boolean {
  return deepEql(actual, expected, {
    comparator(a, b) {
      if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return null;
      return Object.getPrototypeOf(a) === Object.getPrototypeOf(b) ? null : false;
    },
  });
}

export function ok(value: unknown, message?: Message): asserts value {
  if (!value) raise(message, `The expression evaluated to a falsy value: ${show(value)}`, value, true, "==");
}

export function fail(message: Message = "Failed"): never {
  raise(message, "Failed", undefined, undefined, "fail");
}

export function equal<T>(actual: unknown, expected: T, message?: Message): asserts actual is T {
  if (!Object.is(actual, expected))
    raise(
      message,
      `Expected values to be strictly equal:\n${show(actual)} !== ${show(expected)}`,
      actual,
      expected,
      "strictEqual",
    );
}

export function notEqual(actual: unknown, expected: unknown, message?: Message): void {
  if (Object.is(actual, expected))
    raise(
      message,
      `Expected "actual" to be strictly unequal to: ${show(expected)}`,
      actual,
      expected,
      "notStrictEqual",
    );
}

export function deepEqual<T>(actual: unknown, expected: T, message?: Message): asserts actual is T {
  if (!deepStrict(actual, expected))
    raise(
      message,
      `Expected values to be strictly deep-equal:\n  actual: ${show(actual)}\nexpected: ${show(expected)}`,
      actual,
      expected,
      "deepStrictEqual",
    );
}

export function notDeepEqual(actual: unknown, expected: unknown, message?: Message): void {
  if (deepStrict(actual, expected))
    raise(
      message,
      `Expected "actual" not to be strictly deep-equal to: ${show(expected)}`,
      actual,
      expected,
      "notDeepStrictEqual",
    );
}

export function match(actual: string, pattern: RegExp, message?: Message): void {
  if (typeof actual !== "string" || !pattern.test(actual))
    raise(
      message,
      `The input did not match the regular expression ${pattern}. Input: ${show(actual)}`,
      actual,
      pattern,
      "match",
    );
}

export function doesNotMatch(actual: string, pattern: RegExp, message?: Message): void {
  if (typeof actual === "string" && pattern.test(actual))
    raise(
      message,
      `The input was expected to not match the regular expression ${pattern}. Input: ${show(actual)}`,
      actual,
      pattern,
      "doesNotMatch",
    );
}

type Expected = RegExp | (new (...args: never[]) => unknown) | ((err: unknown) => boolean) | Record<string, unknown>;

/** Checks a thrown or rejected value against what throws() / rejects() were told to expect. */
function check(err: unknown, expected: Expected | Message | undefined, message: Message, operator: string): void {
  if (expected === undefined || typeof expected === "string") return;
  if (expected instanceof RegExp) {
    if (!expected.test(String(err)))
      raise(
        message,
        `The error did not match the regular expression ${expected}: ${show(err)}`,
        err,
        expected,
        operator,
      );
    return;
  }
  if (expected instanceof Error) {
    if (!deepStrict(err, expected))
      raise(message, `The error differs from the expected one: ${show(err)}`, err, expected, operator);
    return;
  }
  if (typeof expected === "function") {
    if (expected.prototype !== undefined && err instanceof expected) return;
    if (Object.prototype.isPrototypeOf.call(Error, expected) || expected === Error)
      raise(
        message,
        `The error is expected to be an instance of "${expected.name}". Received ${show(err)}`,
        err,
        expected,
        operator,
      );
    const result = (expected as (e: unknown) => unknown)(err);
    if (result !== true)
      raise(
        message,
        `The validation function is expected to return "true". Received ${show(result)}\n\nCaught error:\n\n${show(err)}`,
        err,
        expected,
        operator,
      );
    return;
  }
  for (const [key, want] of Object.entries(expected)) {
    const got = (err as Record<string, unknown> | null)?.[key];
    const same = want instanceof RegExp && typeof got === "string" ? want.test(got) : deepStrict(got, want);
    if (!same) raise(message, `The error's "${key}" is ${show(got)}, expected ${show(want)}`, err, expected, operator);
  }
}

const NOTHING = Symbol("nothing thrown");

export function throws(fn: () => unknown, expected?: Expected | string, message?: Message): void {
  let caught: unknown = NOTHING;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  if (caught === NOTHING)
    raise(
      typeof expected === "string" ? expected : message,
      "Missing expected exception.",
      undefined,
      expected,
      "throws",
    );
  check(caught, expected, message, "throws");
}

export async function rejects(
  what: Promise<unknown> | (() => Promise<unknown>),
  expected?: Expected | string,
  message?: Message,
): Promise<void> {
  let caught: unknown = NOTHING;
  try {
    await (typeof what === "function" ? what() : what);
  } catch (err) {
    caught = err;
  }
  if (caught === NOTHING)
    raise(
      typeof expected === "string" ? expected : message,
      "Missing expected rejection.",
      undefined,
      expected,
      "rejects",
    );
  check(caught, expected, message, "rejects");
}

export async function doesNotReject(
  what: Promise<unknown> | (() => Promise<unknown>),
  message?: Message,
): Promise<void> {
  try {
    await (typeof what === "function" ? what() : what);
  } catch (err) {
    raise(message, `Got unwanted rejection: ${show(err)}`, err, undefined, "doesNotReject");
  }
}

export function doesNotThrow(fn: () => unknown, message?: Message): void {
  try {
    fn();
  } catch (err) {
    raise(message, `Got unwanted exception: ${show(err)}`, err, undefined, "doesNotThrow");
  }
}

export const strictEqual = equal;
export const notStrictEqual = notEqual;
export const deepStrictEqual = deepEqual;
export const notDeepStrictEqual = notDeepEqual;

const assert = Object.assign((value: unknown, message?: Message) => ok(value, message), {
  ok,
  fail,
  equal,
  notEqual,
  deepEqual,
  notDeepEqual,
  match,
  doesNotMatch,
  throws,
  rejects,
  doesNotThrow,
  doesNotReject,
  strictEqual,
  notStrictEqual,
  deepStrictEqual,
  notDeepStrictEqual,
  AssertionError,
  strict: undefined as unknown,
});
assert.strict = assert;
export default assert;
