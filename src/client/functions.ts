// How a submitted function travels: as its source text, identified by a hash of that text, and
// checked before it leaves. A function that uses a variable from outside its own body cannot
// work on a worker (the closure does not travel), so we find such variables by parsing the
// source and fail at submit time with an error that names them.

import { parse, type Node } from "acorn";
import { analyze } from "periscopic";
import { ArgumentError, ClosureError } from "../errors.js";
import type { FnDef } from "../protocol/messages.js";
import { isTaskHandle } from "./arguments.js";
import { hash64 } from "../util/ids.js";

/**
 * Names a shipped function may use without defining them: `arguments`, and `__name`, the helper
 * esbuild (and so tsx) inserts to keep function names; workers provide it (worker/code.ts).
 */
const PROVIDED = new Set(["arguments", "__name", "undefined", "NaN", "Infinity", "globalThis"]);

/**
 * Globals of one platform or the other, allowed on both alike: a function may test for them
 * (`typeof window`, `typeof process`), and the check must not depend on where the client runs.
 * Using one where it does not exist fails on that worker (README: which run only where).
 */
export const PLATFORM_GLOBALS = new Set([
  // browsers (pages and Web Workers)
  "window",
  "document",
  "self",
  "navigator",
  "location",
  "localStorage",
  "sessionStorage",
  "indexedDB",
  "caches",
  "importScripts",
  "postMessage",
  "OffscreenCanvas",
  // Node
  "process",
  "Buffer",
  "global",
  "setImmediate",
  "clearImmediate",
]);

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
  if (free.length > 0) throw new ClosureError(free, name, calledNames(ast, free));
  const def: FnDef = { id: hash64(expression), source: expression, name };
  cache.set(fn, def);
  return def;
}

/**
 * What a user's function given to a collection (mapPartitions, …) computes, for its keys: an
 * uploaded module's export by module and name, a plain function by its source (checked here, so a
 * closure fails when the graph is built, not when it is computed). `where` names the call.
 */
export function userFunctionId(fn: unknown, where: string): string {
  if (isTaskHandle(fn)) return `${fn.module}#${fn.name}`;
  if (typeof fn !== "function")
    throw new ArgumentError(`${where} needs a function (or an uploaded module's function), got ${typeof fn}`);
  return describeFunction(fn as (...args: never[]) => unknown).id;
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
const STANDARD_NAMESPACES = [
  "Math",
  "JSON",
  "Number",
  "String",
  "Object",
  "Array",
  "Date",
  "Reflect",
  "Atomics",
  "BigInt",
  "Symbol",
  "Promise",
  "ArrayBuffer",
];
const STANDARD_FUNCTIONS = [
  "parseInt",
  "parseFloat",
  "isNaN",
  "isFinite",
  "encodeURIComponent",
  "decodeURIComponent",
  "encodeURI",
  "decodeURI",
  "structuredClone",
];

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
  const body = (
    ast as unknown as {
      body: {
        expression?: { properties?: { key: { type: string; name?: string; value?: unknown }; method?: boolean }[] };
      }[];
    }
  ).body;
  const prop = body[0]?.expression?.properties?.[0];
  if (!prop?.method) return null;
  if (prop.key.type === "Identifier" && prop.key.name) return prop.key.name;
  if (prop.key.type === "Literal") return String(prop.key.value);
  return null;
}

/**
 * Identifiers the function reads but neither declares nor finds among the standard globals.
 * A name bound anywhere inside the function (a class or function name, a declared variable, a
 * parameter, a destructured or catch binding) is never free: periscopic misses some of these (the
 * name of a class expression, `new (class Q {})`), and such a name can only mean the function's own.
 */
function freeVariables(ast: Node): string[] {
  const { globals } = analyze(ast as Parameters<typeof analyze>[0]);
  const bound = boundNames(ast);
  const out: string[] = [];
  for (const name of globals.keys()) {
    if (PROVIDED.has(name) || PLATFORM_GLOBALS.has(name) || bound.has(name) || name in globalThis) continue;
    out.push(name);
  }
  return out.sort();
}

type AnyNode = Node & Record<string, unknown>;

/** Calls `visit` on every node under `root`. */
function walk(root: Node, visit: (node: AnyNode) => void): void {
  const stack: AnyNode[] = [root as AnyNode];
  while (stack.length > 0) {
    const node = stack.pop()!;
    visit(node);
    for (const [key, v] of Object.entries(node)) {
      if (key === "loc") continue;
      if (Array.isArray(v)) {
        for (const c of v)
          if (c && typeof c === "object" && typeof (c as AnyNode).type === "string") stack.push(c as AnyNode);
      } else if (v && typeof v === "object" && typeof (v as AnyNode).type === "string") stack.push(v as AnyNode);
    }
  }
}

/** Every name a declaration, parameter, class or function inside `ast` binds. */
function boundNames(ast: Node): Set<string> {
  const out = new Set<string>();
  const pattern = (p: AnyNode | null | undefined): void => {
    if (!p) return;
    switch (p.type) {
      case "Identifier":
        out.add(p["name"] as string);
        break;
      case "ObjectPattern":
        for (const prop of p["properties"] as AnyNode[])
          pattern((prop.type === "RestElement" ? prop["argument"] : prop["value"]) as AnyNode);
        break;
      case "ArrayPattern":
        for (const el of p["elements"] as (AnyNode | null)[]) pattern(el);
        break;
      case "RestElement":
        pattern(p["argument"] as AnyNode);
        break;
      case "AssignmentPattern":
        pattern(p["left"] as AnyNode);
        break;
    }
  };
  walk(ast, (node) => {
    switch (node.type) {
      case "VariableDeclarator":
        pattern(node["id"] as AnyNode);
        break;
      case "FunctionDeclaration":
      case "FunctionExpression":
      case "ArrowFunctionExpression":
        pattern(node["id"] as AnyNode | null);
        for (const p of node["params"] as AnyNode[]) pattern(p);
        break;
      case "ClassDeclaration":
      case "ClassExpression":
        pattern(node["id"] as AnyNode | null);
        break;
      case "CatchClause":
        pattern(node["param"] as AnyNode | null);
        break;
    }
  });
  return out;
}

/** Those of `names` that the function calls (`helper(x)`, `new Helper()`): functions, which no argument can carry. */
function calledNames(ast: Node, names: readonly string[]): string[] {
  const called = new Set<string>();
  walk(ast, (node) => {
    if (node.type !== "CallExpression" && node.type !== "NewExpression") return;
    const callee = node["callee"] as AnyNode;
    if (callee.type === "Identifier" && names.includes(callee["name"] as string)) called.add(callee["name"] as string);
  });
  return [...called].sort();
}
