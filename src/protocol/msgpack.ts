// The msgpack layer: one packer and one unpacker, plus the extension types meshwork adds.
// Binary data never goes into the msgpack body: a typed array is written as a small reference to
// an out-of-band frame (FrameRef), and the frames travel beside the header.
//
// msgpackr keeps its extension table per process, so the ext codes below (0x21..0x23) are taken
// for any msgpackr user in the same process; they stay clear of msgpackr's own codes.

import { Packr, Unpackr, addExtension } from "msgpackr";
import { ProtocolError } from "../errors.js";
import { Serialized, TaskRef } from "./refs.js";
import { viewAs } from "./buffers.js";
import { WireValue, decodeWire } from "./wire-classes.js";

/** Written in place of a binary value: which frame holds its bytes and what kind it is. */
export class FrameRef {
  constructor(
    readonly kind: number,
    readonly index: number,
  ) {}
}

const EXT_FRAME_REF = 0x21;
const EXT_TASK_REF = 0x22;
const EXT_SERIALIZED = 0x23;
const EXT_NEGATIVE_ZERO = 0x24;
const EXT_WIRE_VALUE = 0x25;

/** Stands for -0, which msgpackr writes as the integer 0 (JSON loses it too; we keep it). */
export class NegativeZero {}
export const NEGATIVE_ZERO = new NegativeZero();

// Frames of the packet being written or read. Packing and unpacking are synchronous and never
// nest across these two variables' users, so module state is safe here.
let writeFrames: Uint8Array[] | null = null;
let readFrames: readonly Uint8Array[] | null = null;
let resolveRef: ((ref: TaskRef) => unknown) | null = null;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

// Big-endian u32 by hand: a DataView per value was a measurable share of the garbage per task.
function putU32(out: Uint8Array, at: number, v: number): void {
  out[at] = v >>> 24;
  out[at + 1] = (v >>> 16) & 0xff;
  out[at + 2] = (v >>> 8) & 0xff;
  out[at + 3] = v & 0xff;
}

function getU32(data: Uint8Array, at: number): number {
  return ((data[at]! << 24) | (data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!) >>> 0;
}

/** Shared by every frameless Serialized decoded (most values are); never mutated. */
export const NO_FRAMES: Uint8Array[] = Object.freeze([]) as unknown as Uint8Array[];

function frameAt(index: number): Uint8Array {
  const frame = readFrames?.[index];
  if (!frame) throw new ProtocolError(`reference to frame ${index}, but the packet has ${readFrames?.length ?? 0}`);
  return frame;
}

addExtension({
  Class: FrameRef,
  type: EXT_FRAME_REF,
  pack(ref: FrameRef) {
    const out = new Uint8Array(5);
    out[0] = ref.kind;
    putU32(out, 1, ref.index);
    return out;
  },
  unpack(data: Uint8Array) {
    if (data.byteLength !== 5) throw new ProtocolError("malformed frame reference");
    return viewAs(data[0]!, frameAt(getU32(data, 1)));
  },
});

addExtension({
  Class: NegativeZero,
  type: EXT_NEGATIVE_ZERO,
  pack() {
    return new Uint8Array(0);
  },
  unpack() {
    return -0;
  },
});

// An instance of a registered class: [class name, its fields as plain data]. The fields are packed
// and unpacked by msgpackr itself, so frame references inside them work as anywhere else.
addExtension({
  Class: WireValue,
  type: EXT_WIRE_VALUE,
  write(v: WireValue) {
    return [v.name, v.fields];
  },
  read(data: unknown) {
    if (!Array.isArray(data) || data.length !== 2) throw new ProtocolError("malformed class value");
    return decodeWire(data[0], data[1]);
  },
});

addExtension({
  Class: TaskRef,
  type: EXT_TASK_REF,
  pack(ref: TaskRef) {
    return utf8.encode(ref.key);
  },
  unpack(data: Uint8Array) {
    const ref = new TaskRef(fromUtf8.decode(data));
    return resolveRef ? resolveRef(ref) : ref;
  },
});

// A Serialized inside a message: its frames join the message's frames; the ext body is
// [frame count u32][frame indices u32...][header bytes].
addExtension({
  Class: Serialized,
  type: EXT_SERIALIZED,
  pack(s: Serialized) {
    if (!writeFrames) throw new Error("Serialized packed outside encodePacket");
    const n = s.frames.length;
    const out = new Uint8Array(4 + 4 * n + s.header.byteLength);
    putU32(out, 0, n);
    for (let i = 0; i < n; i++) putU32(out, 4 + 4 * i, writeFrames.push(s.frames[i]!) - 1);
    out.set(s.header, 4 + 4 * n);
    return out;
  },
  unpack(data: Uint8Array) {
    if (data.byteLength < 4) throw new ProtocolError("malformed serialized value");
    const n = getU32(data, 0);
    if (4 + 4 * n > data.byteLength) throw new ProtocolError("malformed serialized value");
    let frames = NO_FRAMES;
    if (n > 0) {
      frames = [];
      for (let i = 0; i < n; i++) frames.push(frameAt(getU32(data, 4 + 4 * i)));
    }
    return new Serialized(data.subarray(4 + 4 * n), frames);
  },
});

// Records (msgpackr's repeated-shape objects) decode ~4x faster than maps for our many small
// messages, and let Map and plain objects stay distinct (mapsAsObjects: false). moreTypes carries
// Set, Error and RegExp.
const OPTIONS = { useRecords: true, moreTypes: true, mapsAsObjects: false } as const;
const packr = new Packr(OPTIONS);
const unpackr = new Unpackr(OPTIONS);

/**
 * Packs `value`; FrameRefs in it must point into `frames`, and Serialized values inside it append
 * their frames to `frames`. Returns a copy of the bytes in a buffer of their own: msgpackr's result
 * is a view into an arena it shares between calls, so transferring its `.buffer` would detach the
 * arena. (In Node it is a Buffer, whose slice() is a view too, hence the Uint8Array constructor.)
 */
export function packWithFrames(value: unknown, frames: Uint8Array[]): Uint8Array {
  const outer = writeFrames; // restored after, so a pack inside a pack (re-entrancy) keeps the outer state
  writeFrames = frames;
  try {
    return new Uint8Array(packr.pack(value));
  } finally {
    writeFrames = outer;
  }
}

/** Unpacks `bytes` whose FrameRefs and Serialized values point into `frames`. */
export function unpackWithFrames(
  bytes: Uint8Array,
  frames: readonly Uint8Array[],
  resolve?: (ref: TaskRef) => unknown,
): unknown {
  // A resolver may itself decode (a holder decoding stored values lazily): keep the outer state.
  const outerFrames = readFrames;
  const outerResolve = resolveRef;
  readFrames = frames;
  resolveRef = resolve ?? null;
  try {
    return unpackr.unpack(bytes);
  } finally {
    readFrames = outerFrames;
    resolveRef = outerResolve;
  }
}
