// How a submitted function travels: as its source text, identified by a hash of that text, and
// checked before it leaves. A function that uses a variable from outside its own body cannot
// work on a worker (the closure does not travel), so we find such variables by parsing the
// source and fail at submit time with an error that names them.

import { parse, type Node } from "acorn";
import { analyze } from "periscopic";
import { ArgumentError, ClosureError } from "../errors.js";
import type { FnDef } from "../protocol/messages.js";
import { hash64 } from "../util/ids.js";

/**
 * Names a shipped function may use without defining them: `arguments`, and `__name`, the helper
 * esbuild (and so tsx) inserts to keep function names; workers provide it (worker/code.ts).
 */
const PROVIDED = new Set(["arguments", "__name", "undefined", "NaN", "Infinity", "globalThis"]);

const cache = new WeakMap<object, FnDef>();

/** The wire definition of `fn` (cached per function object). Throws ClosureError or ArgumentError. */
export function describeFunction(fn: (...args: never[]) => unknown): FnDef {
  const cached = cache.get(fn);
  if (cached) return cached;
  const name = fn.name;
  const source = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    const path = globalPath(fn);
    if (path) {
      // A standard built-in (Math.random, JSON.stringify …) travels as a call of it by name: every
      // worker has its own. Called on its namespace, so methods needing `this` work too.
      const expression = `(...args) => ${path}(...args)`;
      const def: FnDef = { id: hash64(expression), source: expression, name: path };
      cache.set(fn, def);
      return def;
    }
    throw new ArgumentError(
      `${name || "this function"} is a built-in or bound function, so its source cannot be sent to a worker. ` +
        `Wrap it: client.submit((x) => Math.sqrt(x), 4), or pass extra values as arguments instead of binding them.`,
    );
  }
  const { expression, ast } = asExpression(source, name);
  const free = freeVariables(ast);
  if (free.length > 0) throw new ClosureError(free, name);
  const def: FnDef = { id: hash64(expression), source: expression, name };
  cache.set(fn, def);
  return def;
}

/** The source as a function expression: itself, or for a method `m() {}` its value from an object literal. */
function asExpression(source: string, name: string): { expression: string; ast: Node } {
  try {
    return { expression: source, ast: parse(`(${source})`, { ecmaVersion: "latest" }) };
  } catch {
    // Not an expression on its own: perhaps method shorthand, `m(x) { … }` or `async *m() { … }`.
  }
  try {
    const wrapped = `({${source}})`;
    const ast = parse(wrapped, { ecmaVersion: "latest" });
    const key = methodKey(ast);
    if (key !== null) return { expression: `${wrapped}[${JSON.stringify(key)}]`, ast };
  } catch {
    // Fall through to the error below, which says what we could not handle.
  }
  throw new ArgumentError(
    `The source of ${name || "this function"} cannot be sent to a worker on its own ` +
      `(it uses syntax that needs its class or module, such as private #fields, super or import.meta). ` +
      `Put it in a task module instead: const mod = await client.upload(url).`,
  );
}

/**
 * Namespaces whose functions every JavaScript platform has. Only these are looked up: a function
 * found elsewhere (a Node module, the DOM) might not exist on the worker.
 */
const STANDARD_NAMESPACES = ["Math", "JSON", "Number", "String", "Object", "Array", "Date", "Reflect", "Atomics", "BigInt", "Symbol", "Promise", "ArrayBuffer"];
const STANDARD_FUNCTIONS = ["parseInt", "parseFloat", "isNaN", "isFinite", "encodeURIComponent", "decodeURIComponent", "encodeURI", "decodeURI", "structuredClone"];

/** "Math.random" for Math.random: where a standard built-in function lives, if it is one. */
function globalPath(fn: unknown): string | undefined {
  const g = globalThis as unknown as Record<string, unknown>;
  for (const name of STANDARD_FUNCTIONS) if (g[name] === fn) return name;
  for (const ns of STANDARD_NAMESPACES) {
    const holder = g[ns];
    if (holder === undefined || holder === null) continue;
    for (const key of Object.getOwnPropertyNames(holder)) {
      if (!/^[A-Za-z_$][\w$]*$/.test(key)) continue;
      const d = Object.getOwnPropertyDescriptor(holder, key);
      if (d && "value" in d && d.value === fn) return `${ns}.${key}`;
    }
  }
  return undefined;
}

function methodKey(ast: Node): string | null {
  // Program > ExpressionStatement > ObjectExpression > Property (method)
  const body = (ast as unknown as { body: { expression?: { properties?: { key: { type: string; name?: string; value?: unknown }; method?: boolean }[] } }[] }).body;
  const prop = body[0]?.expression?.properties?.[0];
  if (!prop || !prop.method) return null;
  if (prop.key.type === "Identifier" && prop.key.name) return prop.key.name;
  if (prop.key.type === "Literal") return String(prop.key.value);
  return null;
}

/** Identifiers the function reads but neither declares nor finds among the standard globals. */
function freeVariables(ast: Node): string[] {
  const { globals } = analyze(ast as Parameters<typeof analyze>[0]);
  const out: string[] = [];
  for (const name of globals.keys()) {
    if (PROVIDED.has(name) || name in globalThis) continue;
    out.push(name);
  }
  return out.sort();
}
