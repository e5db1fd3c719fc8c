// Binary values on the wire: which kinds of buffer we carry, how a frame is viewed as one of them,
// and who owns a frame's bytes (STYLE 7: one helper decides whether a buffer may be transferred).

type TypedArrayCtor =
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Uint8ClampedArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor;

/** A typed array of any element type. */
export type AnyTypedArray = InstanceType<TypedArrayCtor>;

/**
 * Wire codes of the buffer kinds. The order is part of the protocol: append, never reorder.
 * 0 is a bare ArrayBuffer, 12 a DataView; the rest are typed arrays.
 */
const CTORS: (TypedArrayCtor | null)[] = [
  null, // 0: ArrayBuffer
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  null, // 12: DataView
];
export const KIND_ARRAY_BUFFER = 0;
export const KIND_DATA_VIEW = 12;
const KIND_BY_CTOR = new Map<unknown, number>(CTORS.map((c, i) => [c, i] as const).filter(([c]) => c !== null));

/** The wire kind of a binary value, or -1 if it is not one. Subclasses (Node's Buffer) map to their base. */
export function bufferKind(value: object): number {
  if (ArrayBuffer.isView(value)) {
    if (value instanceof DataView) return KIND_DATA_VIEW;
    let proto = Object.getPrototypeOf(value);
    while (proto && proto !== Object.prototype) {
      const kind = KIND_BY_CTOR.get(proto.constructor);
      if (kind !== undefined) return kind;
      proto = Object.getPrototypeOf(proto);
    }
    return -1;
  }
  if (value instanceof ArrayBuffer || isShared(value)) return KIND_ARRAY_BUFFER;
  return -1;
}

/** The bytes a binary value spans, as a Uint8Array view (no copy). */
export function bytesOf(value: ArrayBufferView | ArrayBufferLike): Uint8Array {
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return new Uint8Array(value);
}

/**
 * Views `bytes` as a value of wire kind `kind`. Zero-copy when the bytes are aligned for the
 * element type; copied into a fresh buffer otherwise (a frame cut out of a larger message can sit
 * at any offset).
 */
export function viewAs(kind: number, bytes: Uint8Array): unknown {
  if (kind === KIND_ARRAY_BUFFER) {
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    return whole ? bytes.buffer : bytes.slice().buffer;
  }
  if (kind === KIND_DATA_VIEW) return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const Ctor = CTORS[kind];
  if (!Ctor) throw new RangeError(`unknown buffer kind ${kind}`);
  const size = Ctor.BYTES_PER_ELEMENT;
  if (bytes.byteLength % size !== 0)
    throw new RangeError(`${bytes.byteLength} bytes is not a whole number of ${Ctor.name} elements`);
  const src = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  return new Ctor(src.buffer as ArrayBuffer, src.byteOffset, src.byteLength / size);
}

/** Whether a buffer is a SharedArrayBuffer (guarded: browsers without cross-origin isolation lack the global). */
export function isShared(buffer: unknown): buffer is SharedArrayBuffer {
  return typeof SharedArrayBuffer !== "undefined" && buffer instanceof SharedArrayBuffer;
}

/**
 * The one place that decides whether a frame's buffer may be put in a postMessage transfer list:
 * only when the sender owns it (the codec made it) and the view covers the whole buffer, so no
 * neighbouring bytes are detached with it. msgpackr's pack() returns a view into a reused arena:
 * such a view is never owned.
 */
export function transferableBuffer(frame: Uint8Array, owned: boolean): ArrayBuffer | undefined {
  const buffer = frame.buffer;
  if (!owned || isShared(buffer)) return undefined;
  if (frame.byteOffset !== 0 || frame.byteLength !== buffer.byteLength) return undefined;
  return buffer as ArrayBuffer;
}
