// mapPartitions on a worker: the user's function (sent as source, checked for closures on the
// client, or an uploaded module's export; the worker loads it as any task's function) gets each
// partition as a flechette Table and returns a Table (or IPC bytes, or a partition), which
// becomes the new partition.

import { ArgumentError } from "../../errors.js";
import { fromArrowTable, toArrow } from "../arrow.js";
import { Part } from "../part.js";
import { Column, columnFrom, stringColumn, type Values } from "../column.js";
import type { DType } from "../dtypes.js";

const TYPED: [unknown, DType][] = [
  [Float64Array, "float64"],
  [Float32Array, "float32"],
  [Int32Array, "int32"],
  [Int16Array, "int16"],
  [Int8Array, "int8"],
  [Uint32Array, "uint32"],
  [Uint16Array, "uint16"],
  [Uint8Array, "uint8"],
  [BigInt64Array, "int64"],
  [BigUint64Array, "uint64"],
];

function columnsPart(entries: [string, ArrayLike<unknown>][]): Part {
  const cols = entries.map(([name, v]) => {
    const typed = TYPED.find(([C]) => v instanceof (C as typeof Uint8Array));
    if (typed) return new Column(typed[1], v.length, v as Values, null, 0);
    const values = Array.from(v);
    const sample = values.find((x) => x !== null && x !== undefined);
    if (typeof sample === "string") return stringColumn(values as (string | null)[]);
    const type: DType | null =
      sample === undefined
        ? "float64"
        : typeof sample === "number"
          ? values.every((x) => x == null || Number.isInteger(x))
            ? "int64"
            : "float64"
          : typeof sample === "boolean"
            ? "bool"
            : typeof sample === "bigint"
              ? "int64"
              : sample instanceof Date
                ? "timestamp[ms]"
                : null;
    if (type === null)
      throw new ArgumentError(
        `mapPartitions: column ${JSON.stringify(name)} holds ${Object.prototype.toString.call(sample)} values`,
      );
    return columnFrom(type, values);
  });
  const n = cols[0]?.length ?? 0;
  if (cols.some((c) => c.length !== n))
    throw new ArgumentError(
      `mapPartitions: the columns returned differ in length (${cols.map((c) => c.length).join(", ")})`,
    );
  return new Part(
    entries.map(([k]) => k),
    cols,
    n,
  );
}

/** Called with the user's function (the task's function, loaded by the worker: FnRef.via). */
export async function mapPartition(
  fn: (table: unknown, ...args: unknown[]) => unknown,
  part: Part,
  args: unknown[],
): Promise<Part> {
  if (typeof fn !== "function") throw new ArgumentError("mapPartitions needs a function");
  const out = await fn(toArrow(part), ...args);
  return toPart(out);
}

/**
 * What a mapPartitions function may return as a partition: an Arrow table (flechette's or
 * apache-arrow's), IPC bytes, or a plain object of columns `{ name: array or typed array }`
 * (typed arrays keep their type; arrays are typed by their values, as fromRecords does).
 */
export function toPart(out: unknown): Part {
  if (out instanceof Part) return out;
  if (
    out !== null &&
    typeof out === "object" &&
    Object.getPrototypeOf(out) === Object.prototype &&
    !("schema" in out)
  ) {
    const entries = Object.entries(out as Record<string, unknown>);
    if (entries.every(([, v]) => Array.isArray(v) || ArrayBuffer.isView(v)))
      return columnsPart(entries as [string, ArrayLike<unknown>][]);
  }
  try {
    return fromArrowTable(out);
  } catch (err) {
    throw new ArgumentError(
      `the function given to mapPartitions returned ${Object.prototype.toString.call(out)}; it must return an Arrow table, Arrow IPC bytes, or an object of columns { name: [values] }`,
      { cause: err },
    );
  }
}
