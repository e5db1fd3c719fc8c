// Classes that keep their identity on the wire (an n-d array arrives as an NDArray, not as a
// plain object of its fields). A class registers how it becomes plain data and back; its binary
// parts still travel as out-of-band frames, because the plain data goes through the same walk as
// any other value.

import { ProtocolError } from "../errors.js";

export interface WireClass<T extends object = object> {
  /** Written on the wire; must be the same in every process that reads it. */
  readonly name: string;
  readonly Class: abstract new (...args: never[]) => T;
  /** The instance as plain data (arrays, plain objects, numbers, strings, typed arrays). */
  encode(value: T): unknown;
  /** The instance back from what encode gave (binary parts are views onto received frames). */
  decode(fields: unknown): T;
}

/** An instance of a wire class, encoded, inside a value being packed. */
export class WireValue {
  constructor(
    readonly name: string,
    readonly fields: unknown,
  ) {}
}

const byClass = new Map<unknown, WireClass>();
const byName = new Map<string, WireClass>();

/** Registers a class (idempotent for the same definition; a second class under one name is a bug). */
export function registerWireClass<T extends object>(def: WireClass<T>): void {
  const known = byName.get(def.name);
  if (known && known.Class !== def.Class) throw new Error(`wire class name ${def.name} is taken by another class`);
  byName.set(def.name, def as unknown as WireClass);
  byClass.set(def.Class, def as unknown as WireClass);
}

/** The registration for `value`'s exact class, if any. */
export function wireClassOf(value: object): WireClass | undefined {
  if (byClass.size === 0) return undefined;
  return byClass.get(value.constructor);
}

/** Decodes a received wire value; an unknown name is a protocol error (the sender runs other code). */
export function decodeWire(name: unknown, fields: unknown): object {
  const def = typeof name === "string" ? byName.get(name) : undefined;
  if (!def) throw new ProtocolError(`received a value of class ${String(name)}, which this process does not know`);
  return def.decode(fields);
}

// URLs arrive as URLs (msgpack would otherwise send their enumerable fields: none).
if (typeof URL === "function") {
  registerWireClass<URL>({ name: "URL", Class: URL, encode: (u) => u.href, decode: (href) => new URL(String(href)) });
}
