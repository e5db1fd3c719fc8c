// What a verb's result looks like, learnt on the client before anything runs (dask's meta): the
// columns and types `assign` makes (its expressions tried on two sample rows), what `fillna` fills
// per column, and the columns `mapPartitions`' function returns (called on an empty table).

import type { Table } from "@uwdata/flechette";
import { ArgumentError } from "../errors.js";
import { isTaskHandle } from "../client/arguments.js";
import { toArrow } from "./arrow.js";
import { columnFrom } from "./column.js";
import { toDType, type DType } from "./dtypes.js";
import { describeExpr, type ExprSpec } from "./expr.js";
import type { AssignValue, ExprOptions } from "./options.js";
import { evalColumn } from "./kernels/expr-run.js";
import { toPart } from "./kernels/map.js";
import { Part, type Schema } from "./part.js";

export type AssignSpec = [string, ExprSpec | { value: unknown; type: DType }];

/** assign's columns as specs for the workers, in order (each sees the columns assigned before it), and the schema after them. */
export function assignSpecs(
  schema: Schema,
  columns: Record<string, AssignValue>,
  options: ExprOptions,
): { specs: AssignSpec[]; schema: Schema } {
  if (typeof columns !== "object" || columns === null)
    throw new ArgumentError(`assign takes { name: (d) => … }, got ${JSON.stringify(columns)}`);
  const specs: AssignSpec[] = [];
  for (const [name, v] of Object.entries(columns)) {
    let type: DType | null;
    let spec: ExprSpec | { value: unknown; type: DType };
    if (typeof v === "function") {
      spec = describeExpr(v, `assign ${name}`, schema, options.params, true);
      type = null;
    } else {
      type =
        v === null
          ? "float64"
          : typeof v === "number"
            ? "float64"
            : typeof v === "string"
              ? "utf8"
              : typeof v === "boolean"
                ? "bool"
                : typeof v === "bigint"
                  ? "int64"
                  : v instanceof Date
                    ? "timestamp[ms]"
                    : (null as never);
      if (type === null)
        throw new ArgumentError(
          `assign ${name}: a column is an expression (d) => … or a constant (number, string, boolean, bigint, Date, null), got ${typeof v}`,
        );
      spec = { value: v instanceof Date ? v.getTime() : v, type };
    }
    specs.push([name, spec]);
    if ("body" in spec && spec.paramName === null) spec.params = undefined;
    const j = schema.names.indexOf(name);
    const t = type ?? inferExprType(spec as ExprSpec, schema, name);
    if (type === null) (spec as ExprSpec).type = t;
    schema =
      j >= 0
        ? { names: schema.names, types: schema.types.map((x, k) => (k === j ? t : x)) }
        : { names: [...schema.names, name], types: [...schema.types, t] };
  }
  if (options.params !== undefined && !specs.some(([, sp]) => "body" in sp && sp.paramName !== null))
    throw new ArgumentError(
      "assign: params were given but no expression takes a second parameter; write (d, $) => … and read them as $.name",
    );
  return { specs, schema };
}

/** fillna's value per column: the one value in every column where it fits, or the `{ column: value }` given (Dates as epoch ms). */
export function fillValues(schema: Schema, value: unknown): Record<string, unknown> {
  const per: Record<string, unknown> = {};
  if (typeof value === "object" && value !== null && !(value instanceof Date)) Object.assign(per, value);
  else {
    schema.names.forEach((n, j) => {
      const t = schema.types[j]!;
      const fits =
        typeof value === "string"
          ? t === "utf8"
          : typeof value === "boolean"
            ? t === "bool"
            : typeof value === "number" || typeof value === "bigint"
              ? t !== "utf8" && t !== "bool"
              : value instanceof Date
                ? t.startsWith("timestamp") || t === "date32"
                : false;
      if (fits) per[n] = value;
    });
  }
  for (const [k, v] of Object.entries(per)) if (v instanceof Date) per[k] = v.getTime();
  return per;
}

/** Two rows of typical values of each type: what expressions and mapPartitions are tried on here to learn their result's type (dask's nonempty meta). */
export function samplePart(schema: Schema): Part {
  const sample: Record<string, unknown[]> = { utf8: ["a", "b"], bool: [true, false], date32: [0, 86_400_000] };
  return new Part(
    schema.names,
    schema.types.map((t) => columnFrom(t, sample[t] ?? (t.startsWith("timestamp") ? [0, 1000] : [1, 2]))),
    2,
  );
}

/** The type an assigned expression gives, learnt by running it here on sample rows; the workers check they get the same. */
function inferExprType(spec: ExprSpec, schema: Schema, name: string): DType {
  try {
    return evalColumn(samplePart(schema), spec, name, null).type;
  } catch (err) {
    throw new ArgumentError(
      `assign ${name}: the expression ${spec.source} fails on sample rows of the columns' types (${(err as Error).message}); it would fail on the workers too`,
      { cause: err },
    );
  }
}

/**
 * The columns mapPartitions' function returns: from `meta` where given, else learnt by calling it
 * here on an empty partition (an uploaded module's function runs only on workers, so it needs `meta`).
 */
export function mapSchema(
  fn: (table: Table, ...args: never[]) => unknown,
  schema: Schema,
  args: unknown[],
  meta: Record<string, string> | undefined,
): Schema {
  if (meta)
    return {
      names: Object.keys(meta),
      types: Object.values(meta).map((t, j) => toDType(t, `meta.${Object.keys(meta)[j]}`)),
    };
  if (isTaskHandle(fn))
    throw new ArgumentError(
      `mapPartitions: ${fn.name} is an uploaded module's function, which runs only on workers, so its result's columns cannot be learnt here; give them with { meta: { name: "type", … } }`,
    );
  return inferMapSchema(fn, schema, args);
}

/** The schema mapPartitions' function gives, from calling it here on an empty table of the frame's schema. */
export function inferMapSchema(
  fn: (table: Table, ...args: never[]) => unknown,
  schema: Schema,
  args: unknown[],
): Schema {
  let out: unknown;
  try {
    out = (fn as (t: Table, ...a: unknown[]) => unknown)(toArrow(Part.empty(schema)), ...args);
  } catch (err) {
    throw new ArgumentError(
      `mapPartitions: calling the function on an empty table here (to learn its result's columns) failed: ${(err as Error).message}; give the result's columns with { meta: { name: "type", … } }`,
      { cause: err },
    );
  }
  if (out && typeof (out as { then?: unknown }).then === "function")
    throw new ArgumentError(
      "mapPartitions: the function returned a promise; give the result's columns with { meta } to use an async function",
    );
  return toPart(out).schema;
}
