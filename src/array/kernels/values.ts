// Adding up small values that block functions give (reduceBlocks' default combine): numbers,
// typed arrays and NDArrays elementwise, arrays and plain objects entry by entry.

import { ArgumentError } from "../../errors.js";
import { NDArray } from "../ndarray.js";
import { addBlocks } from "./blocks.js";

/** The sum of values of one shape. Typed arrays are added in float64 and give a Float64Array. */
export function sumValues(...values: unknown[]): unknown {
  if (values.length === 0) throw new ArgumentError("nothing to sum");
  let acc = values[0];
  for (let i = 1; i < values.length; i++) acc = add(acc, values[i], "");
  return acc;
}

function add(a: unknown, b: unknown, where: string): unknown {
  const at = where || "the values";
  if (typeof a === "number" && typeof b === "number") return a + b;
  if (a instanceof NDArray && b instanceof NDArray) {
    if (a.shape.join() !== b.shape.join())
      throw new ArgumentError(
        `cannot add blocks of shapes [${a.shape.join(", ")}] and [${b.shape.join(", ")}] (${at})`,
      );
    return addBlocks(a, b);
  }
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b) && !(a instanceof DataView) && !(b instanceof DataView)) {
    const x = a as unknown as ArrayLike<number>;
    const y = b as unknown as ArrayLike<number>;
    if (x.length !== y.length)
      throw new ArgumentError(`cannot add typed arrays of lengths ${x.length} and ${y.length} (${at})`);
    const out = new Float64Array(x.length);
    for (let i = 0; i < out.length; i++) out[i] = x[i]! + y[i]!;
    return out;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length)
      throw new ArgumentError(`cannot add arrays of lengths ${a.length} and ${b.length} (${at})`);
    return a.map((v, i) => add(v, b[i], `${where}[${i}]`));
  }
  if (isPlain(a) && isPlain(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length || keys.some((k) => !(k in b)))
      throw new ArgumentError(
        `cannot add objects with different keys (${at}): ${keys.join(", ")} and ${Object.keys(b).join(", ")}`,
      );
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = add(a[k], b[k], `${where}.${k}`);
    return out;
  }
  throw new ArgumentError(
    `cannot add ${describe(a)} and ${describe(b)} (${at}); "sum" adds numbers, typed arrays, NDArrays, and arrays and plain objects of them`,
  );
}

function isPlain(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function describe(v: unknown): string {
  return v === null ? "null" : typeof v === "object" ? (v.constructor?.name ?? "an object") : typeof v;
}
