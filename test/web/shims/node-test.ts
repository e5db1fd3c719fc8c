// node:test's describe / test / before / after over the mocha that web-test-runner runs in the page,
// so suites written for node:test (test/comm/conformance.ts) run unchanged in a browser. Only what
// our suites use: names, bodies that may return a promise, and the timeout / skip / todo options.

interface Options {
  timeout?: number;
  skip?: boolean | string;
  todo?: boolean | string;
}
type Body = () => unknown;

interface MochaContext {
  timeout(ms: number): void;
}
interface MochaFunction {
  (name: string, fn: (this: MochaContext) => unknown): void;
  skip(name: string, fn: (this: MochaContext) => unknown): void;
}
interface MochaGlobals {
  describe: MochaFunction;
  it: MochaFunction;
  before(fn: () => unknown): void;
  after(fn: () => unknown): void;
  beforeEach(fn: () => unknown): void;
  afterEach(fn: () => unknown): void;
}

const mocha = globalThis as unknown as MochaGlobals;
if (typeof mocha.describe !== "function")
  throw new Error("node:test shim: no mocha in this page (run it under web-test-runner)");

function split(a: Options | Body, b: Body | undefined): [Options, Body] {
  if (typeof a === "function") return [{}, a];
  if (!b) throw new TypeError("node:test shim: a test needs a body");
  return [a, b];
}

export function describe(name: string, a: Options | Body, b?: Body): void {
  const [options, fn] = split(a, b);
  const define = options.skip || options.todo ? mocha.describe.skip : mocha.describe;
  define(name, function () {
    if (options.timeout !== undefined) this.timeout(options.timeout);
    fn();
  });
}

export function test(name: string, a: Options | Body, b?: Body): void {
  const [options, fn] = split(a, b);
  const define = options.skip || options.todo ? mocha.it.skip : mocha.it;
  // A wrapper of no parameters: mocha would take a body with one for a done-callback test.
  define(name, function () {
    if (options.timeout !== undefined) this.timeout(options.timeout);
    return fn();
  });
}

export const it = test;
export const before = (fn: Body): void => mocha.before(() => fn());
export const after = (fn: Body): void => mocha.after(() => fn());
export const beforeEach = (fn: Body): void => mocha.beforeEach(() => fn());
export const afterEach = (fn: Body): void => mocha.afterEach(() => fn());
