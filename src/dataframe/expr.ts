// Row expressions, as Arquero writes them: `(d) => d.fare / d.distance`, `(d, $) => d.x > $.min`.
// On the client the function's source is parsed (acorn) once: every `d.name` / `d["name"]` is a
// column read, replaced by a placeholder; anything else the body uses from outside must be a
// standard global or come through `$` (the params object), as for submitted functions. What
// travels is the rewritten body, the columns it reads and the params. The worker turns that into
// one loop over the columns (kernels/expr-run.ts), so no object is made per row.

import { parse, type Node } from "acorn";
import { analyze } from "periscopic";
import { isTaskHandle } from "../client/arguments.js";
import { ArgumentError, ClosureError, ColumnError } from "../errors.js";
import type { DType } from "./dtypes.js";
import type { Schema } from "./part.js";

export interface ExprSpec {
  /** The body with column reads replaced by `__mw_c0`, `__mw_c1` …: an expression, or a block with `return`. */
  body: string;
  block: boolean;
  /** The column each placeholder reads. */
  columns: string[];
  /** The name the function gives its second parameter (the params object), if any. */
  paramName: string | null;
  params: Record<string, unknown> | undefined;
  /** No division, power, call, fractional literal or param: integer columns in, integers out (pandas keeps int64 then). */
  integerSafe: boolean;
  /** The source as written, for messages. */
  source: string;
  /** assign: the column type the client's schema promises (learnt from sample rows); workers check it. */
  type?: DType | null;
}

type AnyNode = Node & Record<string, unknown>;

const cache = new WeakMap<object, Omit<ExprSpec, "params">>();

/**
 * Parses a row expression. `schema`, when known, is checked now (ColumnError naming the missing
 * columns and listing those there are); `what` names the expression in messages ("filter",
 * "assign perMile").
 */
export function describeExpr(
  fn: unknown,
  what: string,
  schema: Schema | null,
  params?: Record<string, unknown>,
  paramsOptional = false,
): ExprSpec {
  if (typeof fn !== "function")
    throw new ArgumentError(`${what} takes a row expression like (d) => d.distance > 10, got ${typeof fn}`);
  // A row expression is compiled into a column loop from its source; an uploaded function has none here.
  if (isTaskHandle(fn))
    throw new ArgumentError(
      `${what}: ${fn.name} is an uploaded module's function; a row expression must be written inline, (d) => …, as it is compiled into a column loop. To run an uploaded function on each partition, use mapPartitions(${fn.name}, { meta })`,
    );
  if (params !== undefined && (typeof params !== "object" || params === null || Array.isArray(params)))
    throw new ArgumentError(`params must be an object of constants, got ${JSON.stringify(params)}`);
  let spec = cache.get(fn);
  if (!spec) {
    spec = compileSource(Function.prototype.toString.call(fn), what);
    cache.set(fn, spec);
  }
  if (schema) {
    const missing = spec.columns.filter((c) => !schema.names.includes(c));
    if (missing.length > 0) throw new ColumnError(missing, schema.names, `in ${what} ${spec.source}`);
  }
  if (spec.paramName === null && params !== undefined && !paramsOptional)
    throw new ArgumentError(
      `${what}: params were given but the expression takes no second parameter; write (d, $) => … and read them as $.name`,
    );
  return { ...spec, params };
}

function compileSource(source: string, what: string): Omit<ExprSpec, "params"> {
  let ast: AnyNode;
  try {
    ast = parse(`(${source})`, { ecmaVersion: "latest" }) as unknown as AnyNode;
  } catch {
    throw new ArgumentError(
      `${what}: the expression ${source} cannot be read on its own; write an arrow function of a row, (d) => d.a + d.b`,
    );
  }
  const fnNode = (ast["body"] as AnyNode[])[0]!["expression"] as AnyNode;
  if (fnNode.type !== "ArrowFunctionExpression" && fnNode.type !== "FunctionExpression")
    throw new ArgumentError(`${what}: expected a function like (d) => d.a > 1, got ${source}`);
  if (fnNode["async"] || fnNode["generator"])
    throw new ArgumentError(`${what}: a row expression cannot be async or a generator`);
  const params = fnNode["params"] as AnyNode[];
  if (params.length === 0 || params.length > 2 || params.some((p) => p.type !== "Identifier")) {
    throw new ArgumentError(
      `${what}: a row expression takes a row and optionally the params, as plain names: (d) => … or (d, $) => …; got ${source}`,
    );
  }
  const rowName = params[0]!["name"] as string;
  const paramName = params[1] ? (params[1]["name"] as string) : null;
  const body = fnNode["body"] as AnyNode;
  const block = body.type === "BlockStatement";

  // Column reads, and any other use of the row (which we cannot turn into a column loop).
  const columns: string[] = [];
  const edits: { start: number; end: number; text: string }[] = [];
  let integerSafe = true;
  const visit = (node: AnyNode, parent: AnyNode | null): void => {
    if (
      node.type === "MemberExpression" &&
      (node["object"] as AnyNode).type === "Identifier" &&
      (node["object"] as AnyNode)["name"] === rowName
    ) {
      const prop = node["property"] as AnyNode;
      let name: string | null = null;
      if (!node["computed"] && prop.type === "Identifier") name = prop["name"] as string;
      else if (node["computed"] && prop.type === "Literal" && typeof prop["value"] === "string")
        name = prop["value"] as string;
      if (name === null)
        throw new ArgumentError(
          `${what}: columns are read as ${rowName}.name or ${rowName}["name"], not ${source.slice(node.start - 1, node.end - 1)}`,
        );
      if (parent?.type === "AssignmentExpression" && parent["left"] === node)
        throw new ArgumentError(
          `${what}: an expression cannot assign to a column (${source.slice(node.start - 1, node.end - 1)}); use assign()`,
        );
      let k = columns.indexOf(name);
      if (k < 0) k = columns.push(name) - 1;
      edits.push({ start: node.start - 1, end: node.end - 1, text: `__mw_c${k}` });
      return;
    }
    if (node.type === "Identifier" && node["name"] === rowName && node !== params[0]) {
      throw new ArgumentError(
        `${what}: the row ${rowName} can only be used to read columns (${rowName}.name); passing it along or destructuring it would need an object per row`,
      );
    }
    if (node.type === "BinaryExpression" && (node["operator"] === "/" || node["operator"] === "**"))
      integerSafe = false;
    if (node.type === "CallExpression" || node.type === "NewExpression") integerSafe = false;
    if (node.type === "Literal" && typeof node["value"] === "number" && !Number.isInteger(node["value"]))
      integerSafe = false;
    if (
      node.type === "MemberExpression" &&
      (node["object"] as AnyNode).type === "Identifier" &&
      (node["object"] as AnyNode)["name"] === paramName
    )
      integerSafe = false;
    for (const key of Object.keys(node)) {
      const v = node[key];
      if (Array.isArray(v))
        for (const c of v)
          if (c && typeof c === "object" && typeof (c as AnyNode).type === "string") visit(c as AnyNode, node);
      if (v && typeof v === "object" && typeof (v as AnyNode).type === "string" && key !== "loc")
        visit(v as AnyNode, node);
    }
  };
  visit(body, fnNode);

  // Free variables: the expression travels as source, so nothing from its closure comes along.
  const { globals } = analyze(ast as Parameters<typeof analyze>[0]);
  const free = [...globals.keys()]
    .filter((n) => !(n in globalThis) && n !== "undefined" && n !== "NaN" && n !== "Infinity")
    .sort();
  if (free.length > 0) {
    const err = new ClosureError(free, what);
    err.message = `${what}: the expression ${source} refers to ${free.map((v) => `\`${v}\``).join(", ")} from outside it. Expressions are sent to workers as source, so pass constants as params: write (d, $) => … $.${free[0]} … and give { params: { ${free.join(", ")} } }.`;
    throw err;
  }

  // Rewrite the body (offsets are into `(${source})`, hence the -1 above).
  const start = body.start - 1;
  const end = body.end - 1;
  let out = "";
  let at = start;
  for (const e of edits.sort((a, b) => a.start - b.start)) {
    out += source.slice(at, e.start) + e.text;
    at = e.end;
  }
  out += source.slice(at, end);
  return {
    body: block ? out : `(${out})`,
    block,
    columns,
    paramName,
    integerSafe,
    source: source.length > 120 ? `${source.slice(0, 117)}...` : source,
  };
}
