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
  return typeof v === "object" && v !== null && typeof (v as TaskHandle).module === "string" && typeof (v as TaskHandle).name === "string";
}

export function checkOptions(o: TaskOptions): void {
  if (typeof o !== "object" || o === null) throw new ArgumentError(`task options must be an object, got ${describe(o)}`);
  if (o.retries !== undefined && !(Number.isInteger(o.retries) && o.retries >= 0)) throw new ArgumentError(`retries must be a whole number ≥ 0, got ${describe(o.retries)}`);
  if (o.priority !== undefined && !Number.isFinite(o.priority)) throw new ArgumentError(`priority must be a finite number, got ${describe(o.priority)}`);
  if (o.key !== undefined && (typeof o.key !== "string" || o.key.length === 0)) throw new ArgumentError(`key must be a non-empty string, got ${describe(o.key)}`);
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
