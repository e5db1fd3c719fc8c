// Checking what users pass to the client, and small helpers for describing it in errors.

import { ArgumentError } from "../errors.js";
import type { FnDef, FnRef } from "../protocol/messages.js";
import type { TaskHandle, TaskOptions } from "./options.js";

/** One FnRef per function (not one per task): map submits thousands of tasks with the same one. */
const sourceRefs = new WeakMap<FnDef, FnRef>();
export function sourceRef(def: FnDef): FnRef {
  let ref = sourceRefs.get(def);
  if (!ref) sourceRefs.set(def, (ref = { kind: "source", id: def.id }));
  return ref;
}

export function isTaskHandle(v: unknown): v is TaskHandle {
  return (
    (typeof v === "function" || (typeof v === "object" && v !== null)) &&
    typeof (v as TaskHandle).module === "string" &&
    typeof (v as TaskHandle).name === "string" &&
    HANDLES.has(v as object)
  );
}

/** Handles made by upload (a plain object with `module` and `name` fields is data, not a handle). */
const HANDLES = new WeakSet<object>();

/** A callable handle for export `name` of uploaded module `module` (see TaskHandle). */
export function makeTaskHandle(module: string, name: string): TaskHandle {
  const handle = function () {
    throw new ArgumentError(
      `${name} is a function of an uploaded task module: it runs on workers. Pass it to submit, map or delayed (and compute on a cluster), or import the module here to call it directly`,
    );
  };
  Object.defineProperty(handle, "name", { value: name });
  Object.defineProperty(handle, "module", { value: module, enumerable: true });
  HANDLES.add(handle);
  return Object.freeze(handle) as unknown as TaskHandle;
}

/** The names TaskOptions has: what `with`, `submit` (through `with`) and `map` accept. */
export const TASK_OPTION_NAMES = [
  "key",
  "pure",
  "retries",
  "priority",
  "workers",
  "resources",
  "noWorkerTimeout",
  "verify",
  "private",
  "timeout",
] as const;

/**
 * Checks per-task options: an object of known names (a misspelt one, `retires`, would otherwise be
 * ignored and the task not retried) with values of the right kind. `where` names the call.
 */
export function checkOptions(
  o: TaskOptions,
  where = "task options",
  names: readonly string[] = TASK_OPTION_NAMES,
): void {
  checkKnownOptions(where, o, names);
  if (o.retries !== undefined && !(Number.isInteger(o.retries) && o.retries >= 0))
    throw new ArgumentError(`retries must be a whole number ≥ 0, got ${describe(o.retries)}`);
  if (o.priority !== undefined && !Number.isFinite(o.priority))
    throw new ArgumentError(`priority must be a finite number, got ${describe(o.priority)}`);
  if (o.key !== undefined && (typeof o.key !== "string" || o.key.length === 0))
    throw new ArgumentError(`key must be a non-empty string, got ${describe(o.key)}`);
  if (o.pure !== undefined && typeof o.pure !== "boolean")
    throw new ArgumentError(`pure must be true or false, got ${describe(o.pure)}`);
  const w = o.workers;
  if (w !== undefined && typeof w !== "string" && !(Array.isArray(w) && w.every((x) => typeof x === "string"))) {
    throw new ArgumentError(`workers must be a worker id, name or address, or an array of them, got ${describe(w)}`);
  }
  const r = o.resources;
  if (r !== undefined && !(isPlainObject(r) && Object.values(r).every((v) => typeof v === "number" && v >= 0))) {
    throw new ArgumentError(`resources must be an object of amounts ≥ 0, e.g. { gpu: 1 }, got ${describe(r)}`);
  }
  if (o.verify !== undefined && o.verify !== 1 && o.verify !== 2)
    throw new ArgumentError(
      `verify must be 1 (one worker's word, trusted workers only) or 2 (two agreeing workers), got ${describe(o.verify)}`,
    );
  if (o.private !== undefined && typeof o.private !== "boolean")
    throw new ArgumentError(`private must be true or false, got ${describe(o.private)}`);
  if (o.timeout !== undefined && !(typeof o.timeout === "number" && o.timeout > 0 && Number.isFinite(o.timeout)))
    throw new ArgumentError(`timeout must be a finite number of milliseconds > 0, got ${describe(o.timeout)}`);
  const t = o.noWorkerTimeout;
  if (t !== undefined && !(typeof t === "number" && t >= 0 && Number.isFinite(t)))
    throw new ArgumentError(
      `noWorkerTimeout must be a finite number of milliseconds ≥ 0 (leave it out to wait forever), got ${describe(t)}`,
    );
}

/**
 * Throws an ArgumentError unless `options` is a plain object whose keys are all among `names`;
 * the message names the unknown ones, the nearest known name for each, and every valid one.
 * `where` says whose options they are ("LocalCluster.start options").
 */
export function checkKnownOptions(where: string, options: unknown, names: readonly string[]): void {
  if (!isPlainObject(options)) throw new ArgumentError(`${where} must be an object, got ${describe(options)}`);
  const unknown = Object.keys(options).filter((k) => !names.includes(k));
  if (unknown.length === 0) return;
  const parts = unknown.map((k) => {
    const near = nearestName(k, names);
    return `${JSON.stringify(k)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ""}`;
  });
  throw new ArgumentError(
    `unknown ${where.replace(/ options$/, "")} option${unknown.length > 1 ? "s" : ""} ${parts.join(", ")}; the valid ones are ${names.map((n) => JSON.stringify(n)).join(", ")}`,
  );
}

/** An object literal (or one made with Object.create(null)): not an array, class instance or iterable. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** The name in `names` closest to `word` by edit distance, if it is close enough to be a typo. */
export function nearestName(word: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const n of names) {
    const d = editDistance(word.toLowerCase(), n.toLowerCase());
    if (d < bestD) [best, bestD] = [n, d];
  }
  return bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

/** Damerau-Levenshtein distance (optimal string alignment): a swap of two letters counts once. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** A short description of a value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return `an object (${Object.getPrototypeOf(v)?.constructor?.name ?? "Object"})`;
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  return `${typeof v} ${String(v)}`;
}

/** A readable key prefix for scattered data: "float64array", "object", "number" … */
export function typeTag(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "object") return (Object.getPrototypeOf(v)?.constructor?.name ?? "object").toLowerCase();
  return typeof v;
}
