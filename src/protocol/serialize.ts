// Turning a user value (task arguments, a result, scattered data) into a Serialized and back.
// One walk does three things: binary data is moved out of the msgpack body into frames, values that
// cannot travel (functions, symbols, promises, cycles) fail with an error that names where they
// are, and objects a caller marks (futures) become TaskRefs.

import { SerializationError } from "../errors.js";
import { bufferKind, bytesOf } from "./buffers.js";
import { FrameRef, NEGATIVE_ZERO, NO_FRAMES, packWithFrames, unpackWithFrames } from "./msgpack.js";
import { Serialized, TaskRef } from "./refs.js";
import { WireValue, wireClassOf, type WireClass } from "./wire-classes.js";

export interface SerializeOptions {
  /**
   * Consulted for every object that is not an array, plain object or binary value; return a
   * replacement (e.g. a TaskRef for a future) or undefined to treat the object as usual.
   */
  replace?: ((value: object) => unknown) | undefined;
}

export interface SerializeResult {
  payload: Serialized;
  /** Keys of the TaskRefs found (the value's dependencies), without repeats. */
  refs: string[];
  /** Bytes the value takes in memory, by estimate for non-binary parts. */
  nbytes: number;
}

const NO_REFS: string[] = Object.freeze([]) as unknown as string[];

/**
 * Bytes of a value that needs no walk (a primitive, or an array of primitives: the arguments of
 * most tasks and the results of many), or -1. Skipping the walker for these saves its allocations
 * on the hot path of submit and of every small result.
 */
function flatBytes(value: unknown): number {
  if (Array.isArray(value)) {
    let n = 0;
    for (let i = 0; i < value.length; i++) {
      const b = primitiveBytes(value[i]);
      if (b < 0) return -1;
      n += b;
    }
    return n;
  }
  return primitiveBytes(value);
}

function primitiveBytes(v: unknown): number {
  switch (typeof v) {
    case "number":
      return Object.is(v, -0) ? -1 : PRIMITIVE_BYTES; // -0 needs the walker's marker
    case "boolean":
    case "bigint":
    case "undefined":
      return PRIMITIVE_BYTES;
    case "string":
      return v.length;
    case "object":
      return v === null ? PRIMITIVE_BYTES : -1;
    default:
      return -1; // functions and symbols go through the walker, which names them in its error
  }
}

/** Nesting deeper than this is refused: it is almost always a cycle the walk missed, or abuse. */
export const MAX_DEPTH = 512;

export function serialize(value: unknown, options: SerializeOptions = {}): SerializeResult {
  const flat = flatBytes(value);
  if (flat >= 0)
    return { payload: new Serialized(packWithFrames(value, NO_FRAMES), NO_FRAMES), refs: NO_REFS, nbytes: flat };
  const frames: Uint8Array[] = [];
  const walker = new Walker(options, (kind, bytes) => new FrameRef(kind, frames.push(bytes) - 1), packWire);
  const walked = walker.walk(value, 0);
  const header = packWithFrames(walked, frames);
  return { payload: new Serialized(header, frames), refs: walker.refs, nbytes: walker.nbytes };
}

/**
 * Decodes a Serialized. TaskRefs in it are replaced by `resolve(ref)` when given; binary values are
 * views onto the frames (no copy unless a frame is misaligned for its element type).
 */
export function deserialize(payload: Serialized, resolve?: (ref: TaskRef) => unknown): unknown {
  return unpackWithFrames(payload.header, payload.frames, resolve);
}

/**
 * The bytes `value` holds (binary parts exactly, the rest by estimate), after checking that it can
 * travel: throws SerializationError naming the offending part otherwise. Workers call it on every
 * result, so a result that could never be sent fails its task rather than a later transfer.
 */
export function measure(value: unknown): number {
  const flat = flatBytes(value);
  if (flat >= 0) return flat;
  const walker = new Walker(
    {},
    (_kind, _bytes, original) => original,
    (_def, _fields, original) => original,
  );
  walker.walk(value, 0);
  return walker.nbytes;
}

const PRIMITIVE_BYTES = 8;

/** What a registered class's instance becomes: on the wire, a WireValue of its walked fields. */
type OnWire = (def: WireClass, walkedFields: unknown, fields: unknown, original: object) => unknown;
const packWire: OnWire = (def, walked) => new WireValue(def.name, walked);
/** When sharing: the same instance rebuilt over the shared buffers (itself when nothing moved). */

class Walker {
  readonly refs: string[] = [];
  nbytes = 0;
  private readonly refSet = new Set<string>();
  private readonly path: (string | number)[] = [];
  private readonly onPath = new Set<object>();

  constructor(
    private readonly options: SerializeOptions,
    /** What a binary value becomes: a FrameRef when packing, a shared copy when sharing. */
    private readonly onBinary: (kind: number, bytes: Uint8Array, original: unknown) => unknown,
    private readonly onWire: OnWire,
  ) {}

  walk(value: unknown, depth: number): unknown {
    switch (typeof value) {
      case "number":
        this.nbytes += PRIMITIVE_BYTES;
        return Object.is(value, -0) ? NEGATIVE_ZERO : value;
      case "boolean":
      case "bigint":
      case "undefined":
        this.nbytes += PRIMITIVE_BYTES;
        return value;
      case "string":
        this.nbytes += value.length;
        return value;
      case "symbol":
        throw this.fail(`is a symbol (${String(value)}); symbols cannot be sent to another machine`);
      case "function":
        throw this.fail(
          `is a function (${value.name || "anonymous"}); functions cannot travel inside data. ` +
            `Submit the function itself (client.submit(fn, ...)) or put it in a task module (client.upload).`,
        );
    }
    if (value === null) return value;
    const obj = value as object;
    if (depth > MAX_DEPTH) throw this.fail(`is nested more than ${MAX_DEPTH} levels deep`);

    const kind = bufferKind(obj);
    if (kind >= 0) return this.frame(kind, obj as ArrayBufferView | ArrayBuffer);
    if (obj instanceof TaskRef) return this.ref(obj);
    if (Array.isArray(obj)) return this.container(obj, () => this.array(obj, depth));
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      const replaced = this.options.replace?.(obj);
      if (replaced !== undefined) return replaced instanceof TaskRef ? this.ref(replaced) : replaced;
      const wire = wireClassOf(obj);
      if (wire) return this.container(obj, () => this.wire(wire, obj, depth));
      if (obj instanceof Map) return this.container(obj, () => this.map(obj, depth));
      if (obj instanceof Set) return this.container(obj, () => new Set(this.array([...obj], depth)));
      if (obj instanceof Date || obj instanceof RegExp || obj instanceof Error) {
        this.nbytes += PRIMITIVE_BYTES;
        return obj;
      }
      if (obj instanceof Promise || obj instanceof WeakMap || obj instanceof WeakSet || obj instanceof WeakRef) {
        throw this.fail(`is a ${obj.constructor.name}, which cannot be sent to another machine`);
      }
      if (typeof Blob === "function" && obj instanceof Blob) {
        // Its bytes can only be read asynchronously, and a value is sent as it is when submitted.
        throw this.fail(
          `is a ${obj.constructor.name}, whose bytes cannot be read at once; send new Uint8Array(await blob.arrayBuffer()) (and its type) instead`,
        );
      }
      if (obj instanceof Number || obj instanceof String || obj instanceof Boolean)
        return this.walk(obj.valueOf(), depth);
      // Any other class instance would arrive as a plain object without its class and methods: refused.
      const name = (proto as { constructor?: { name?: string } }).constructor?.name || "(anonymous)";
      throw this.fail(
        `is an instance of class ${name}, which would arrive as a plain object without its methods. ` +
          `Send plain data (an object literal, arrays, Map, typed arrays …), or register the class as a wire class ` +
          `(registerWireClass({ name, Class, encode, decode }) in every process) so it arrives as itself.`,
      );
    }
    return this.container(obj, () => this.object(obj as Record<string, unknown>, depth));
  }

  private container<T>(obj: object, body: () => T): T {
    if (this.onPath.has(obj)) throw this.fail("refers back to itself (a cycle); cyclic values cannot be sent");
    this.onPath.add(obj);
    try {
      return body();
    } finally {
      this.onPath.delete(obj);
    }
  }

  private array(arr: unknown[], depth: number): unknown[] {
    let out: unknown[] | null = null;
    for (let i = 0; i < arr.length; i++) {
      this.path.push(i);
      const v = arr[i];
      const w = this.walk(v, depth + 1);
      this.path.pop();
      if (w !== v && out === null) out = arr.slice(0, i);
      if (out !== null) out.push(w);
    }
    return out ?? arr;
  }

  private object(obj: Record<string, unknown>, depth: number): Record<string, unknown> {
    let out: Record<string, unknown> | null = null;
    const keys = Object.keys(obj);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      this.path.push(k);
      const v = obj[k];
      const w = this.walk(v, depth + 1);
      this.path.pop();
      if (w !== v && out === null) {
        out = {};
        for (let j = 0; j < i; j++) out[keys[j]!] = obj[keys[j]!];
      }
      if (out !== null) out[k] = w;
    }
    return out ?? obj;
  }

  private map(m: Map<unknown, unknown>, depth: number): Map<unknown, unknown> {
    let changed = false;
    const entries: [unknown, unknown][] = [];
    for (const [k, v] of m) {
      this.path.push(`<map ${typeof k === "string" ? JSON.stringify(k) : "key"}>`);
      const wk = this.walk(k, depth + 1);
      const wv = this.walk(v, depth + 1);
      this.path.pop();
      if (wk !== k || wv !== v) changed = true;
      entries.push([wk, wv]);
    }
    return changed ? new Map(entries) : m;
  }

  private wire(def: WireClass, obj: object, depth: number): unknown {
    const fields = def.encode(obj);
    this.path.push(`<${def.name}>`);
    const walked = this.walk(fields, depth + 1);
    this.path.pop();
    return this.onWire(def, walked, fields, obj);
  }

  private frame(kind: number, value: ArrayBufferView | ArrayBuffer): unknown {
    const bytes = bytesOf(value);
    this.nbytes += bytes.byteLength;
    return this.onBinary(kind, bytes, value);
  }

  private ref(ref: TaskRef): TaskRef {
    if (!this.refSet.has(ref.key)) {
      this.refSet.add(ref.key);
      this.refs.push(ref.key);
    }
    this.nbytes += PRIMITIVE_BYTES;
    return ref;
  }

  private fail(what: string): SerializationError {
    return new SerializationError(`${describePath(this.path)} ${what}`);
  }
}

function describePath(path: (string | number)[]): string {
  if (path.length === 0) return "The value";
  let out = "value";
  for (const p of path)
    out +=
      typeof p === "number"
        ? `[${p}]`
        : /^[A-Za-z_$][\w$]*$/.test(p)
          ? `.${p}`
          : p.startsWith("<")
            ? ` ${p}`
            : `[${JSON.stringify(p)}]`;
  return `The ${out}`;
}
