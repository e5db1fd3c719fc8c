// Cutting a packet into transport messages of at most `maxChunk` bytes, and putting it back
// together. Used by every transport with a message-size cap (WebRTC data channels, the capped
// in-process transport) or a byte stream. Big frames are cut as views (no copy on send); small
// pieces are coalesced so a batch of control messages is one transport message.
//
// Layout of the logical byte stream of one packet:
//   u32 magic | u32 frame count n | u32 header length
//   n × (u32 codec | u32 0 | f64 bytes on the wire | f64 bytes once decoded)
//   header | frames (as on the wire: raw, or deflated when a link decided it pays)
// Each packet starts a new chunk, so a reader never sees two packets in one chunk.

import { ProtocolError } from "../errors.js";
import { CODEC_DEFLATE, CODEC_RAW } from "./codecs.js";
import type { Packet } from "./packet.js";

const MAGIC = 0x6d736832; // "msh2"
const PER_FRAME = 24;

/** A frame as it goes on the wire. */
export interface WireFrame {
  bytes: Uint8Array;
  codec: typeof CODEC_RAW | typeof CODEC_DEFLATE;
  /** Length once decoded (equal to bytes.byteLength when raw). */
  rawLength: number;
}

/** Leaves a frame as it is. */
function raw(frame: Uint8Array): WireFrame {
  return { bytes: frame, codec: CODEC_RAW, rawLength: frame.byteLength };
}

/** Refuse a packet announcing more frames than this: a larger count is a corrupt or hostile prelude. */
export const MAX_FRAMES_PER_PACKET = 1 << 20;

/** Pieces smaller than this are copied together into one chunk rather than sent on their own. */
const COALESCE_BELOW = 16 * 1024;

export function preludeBytes(nframes: number): number {
  return 12 + PER_FRAME * nframes;
}

/**
 * The chunks (each ≤ maxChunk bytes) that carry `packet`. Large frames are sliced, not copied.
 * `encode` may replace a frame by a compressed one (links that compress); by default frames go raw.
 */
export function toChunks(packet: Packet, maxChunk: number, encode: (frame: Uint8Array) => WireFrame = raw): Uint8Array[] {
  if (maxChunk < 64) throw new RangeError(`maxChunk ${maxChunk} is too small`);
  const n = packet.frames.length;
  const wire = packet.frames.map(encode);
  const prelude = new Uint8Array(preludeBytes(n));
  const dv = new DataView(prelude.buffer);
  dv.setUint32(0, MAGIC);
  dv.setUint32(4, n);
  dv.setUint32(8, packet.header.byteLength);
  for (let i = 0; i < n; i++) {
    const at = 12 + PER_FRAME * i;
    dv.setUint32(at, wire[i]!.codec);
    dv.setFloat64(at + 8, wire[i]!.bytes.byteLength);
    dv.setFloat64(at + 16, wire[i]!.rawLength);
  }

  const chunks: Uint8Array[] = [];
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = () => {
    if (pendingBytes === 0) return;
    const out = new Uint8Array(pendingBytes);
    let off = 0;
    for (const p of pending) {
      out.set(p, off);
      off += p.byteLength;
    }
    chunks.push(out);
    pending = [];
    pendingBytes = 0;
  };
  const add = (piece: Uint8Array) => {
    let rest = piece;
    while (rest.byteLength > 0) {
      if (rest.byteLength < COALESCE_BELOW || pendingBytes > 0) {
        const room = maxChunk - pendingBytes;
        const take = rest.subarray(0, room);
        pending.push(take);
        pendingBytes += take.byteLength;
        rest = rest.subarray(take.byteLength);
        if (pendingBytes === maxChunk) flush();
      } else {
        const take = rest.subarray(0, maxChunk);
        chunks.push(take);
        rest = rest.subarray(take.byteLength);
      }
    }
  };
  add(prelude);
  add(packet.header);
  for (const f of wire) add(f.bytes);
  flush();
  return chunks;
}

/**
 * Reassembles packets from chunks fed in order. Each part (prelude, header, each frame) is
 * collected as the pieces that arrive and copied into a buffer of its own (offset 0, so typed views
 * over it are aligned) only once complete. Memory held for a packet in progress is what has
 * actually arrived, not what its prelude announces: a peer cannot make us allocate a gigabyte by
 * sending a hundred bytes.
 */
export class PacketReader {
  /** Bytes of the prelude of the packet being read; 0 when no packet is in progress. */
  private preludeSize = 0;
  /** Sizes of header and frames (from the prelude), once it is read. */
  private sizes: number[] | null = null;
  private codecs: number[] = [];
  private rawLengths: number[] = [];
  private readonly parts: Uint8Array[] = [];
  private pieces: Uint8Array[] = [];
  private filled = 0;

  constructor(
    /** Largest packet (prelude + header + frames) accepted, in bytes. */
    private readonly maxPacketBytes: number,
    /**
     * Inflates a deflated frame to its decoded length. Links that may receive compressed frames
     * pass compression.ts's decompressFrame; without it such a frame is a protocol error. (Kept
     * out of this module so links that never compress do not load the compressor.)
     */
    private readonly inflate?: (wire: Uint8Array, rawLength: number) => Uint8Array,
  ) {}

  /** Whether a packet is partly read (a chunk must follow). */
  get inProgress(): boolean {
    return this.preludeSize !== 0;
  }

  /** Feeds one chunk; returns the packet it completes, if any. Throws ProtocolError on bad input. */
  push(chunk: Uint8Array): Packet | null {
    let rest = chunk;
    if (this.preludeSize === 0) {
      if (rest.byteLength < 12) throw new ProtocolError("chunk too short to start a packet");
      const dv = new DataView(rest.buffer, rest.byteOffset, 12);
      if (dv.getUint32(0) !== MAGIC) throw new ProtocolError("not a meshwork packet (bad magic)");
      const n = dv.getUint32(4);
      if (n > MAX_FRAMES_PER_PACKET) throw new ProtocolError(`packet announces ${n} frames (limit ${MAX_FRAMES_PER_PACKET})`);
      if (preludeBytes(n) > this.maxPacketBytes) throw new ProtocolError(`packet of at least ${preludeBytes(n)} bytes exceeds the limit of ${this.maxPacketBytes} bytes`);
      this.preludeSize = preludeBytes(n);
    }
    for (;;) {
      const expected = this.expected();
      if (expected === undefined) break; // every part is in
      if (this.filled === expected) {
        this.completePart(expected);
        continue;
      }
      if (rest.byteLength === 0) return null; // the rest comes in later chunks
      const take = rest.subarray(0, expected - this.filled);
      this.pieces.push(take);
      this.filled += take.byteLength;
      rest = rest.subarray(take.byteLength);
    }
    if (rest.byteLength > 0) throw new ProtocolError("chunk runs past the end of its packet");
    const [header, ...frames] = this.parts;
    for (let i = 0; i < frames.length; i++) {
      if (this.codecs[i] !== CODEC_DEFLATE) continue;
      if (!this.inflate) throw new ProtocolError("a compressed frame on a link that does not decompress");
      frames[i] = this.inflate(frames[i]!, this.rawLengths[i]!);
    }
    this.preludeSize = 0;
    this.sizes = null;
    this.parts.length = 0;
    return { header: header!, frames };
  }

  /** Size of the part being read (the prelude first), or undefined when all are complete. */
  private expected(): number | undefined {
    if (this.sizes === null) return this.preludeSize;
    return this.sizes[this.parts.length];
  }

  private completePart(size: number): void {
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const p of this.pieces) {
      bytes.set(p, at);
      at += p.byteLength;
    }
    this.pieces = [];
    this.filled = 0;
    if (this.sizes === null) this.readPrelude(bytes);
    else this.parts.push(bytes);
  }

  private readPrelude(p: Uint8Array): void {
    const dv = new DataView(p.buffer);
    const n = dv.getUint32(4);
    const sizes = [dv.getUint32(8)];
    let total = p.byteLength + sizes[0]!;
    // Decoded sizes count against the limit too, so a small compressed frame cannot inflate without bound.
    let decoded = total;
    this.codecs = [];
    this.rawLengths = [];
    for (let i = 0; i < n; i++) {
      const at = 12 + PER_FRAME * i;
      const codec = dv.getUint32(at);
      const len = dv.getFloat64(at + 8);
      const rawLength = dv.getFloat64(at + 16);
      if (codec !== CODEC_RAW && codec !== CODEC_DEFLATE) throw new ProtocolError(`unknown frame codec ${codec}`);
      if (!Number.isSafeInteger(len) || len < 0) throw new ProtocolError(`bad frame length ${len}`);
      if (!Number.isSafeInteger(rawLength) || rawLength < 0 || (codec === CODEC_RAW && rawLength !== len)) {
        throw new ProtocolError(`bad decoded frame length ${rawLength}`);
      }
      sizes.push(len);
      this.codecs.push(codec);
      this.rawLengths.push(rawLength);
      total += len;
      decoded += rawLength;
    }
    if (Math.max(total, decoded) > this.maxPacketBytes) {
      throw new ProtocolError(`packet of ${Math.max(total, decoded)} bytes exceeds the limit of ${this.maxPacketBytes} bytes`);
    }
    this.sizes = sizes;
  }
}
