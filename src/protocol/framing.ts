// Cutting a packet into transport messages of at most `maxChunk` bytes, and putting it back
// together. Used by every transport with a message-size cap (WebRTC data channels, the capped
// in-process transport) or a byte stream (WebSocket). Big frames are cut as views (no copy on
// send); small pieces are coalesced so a batch of control messages is one transport message.
//
// Layout of one packet on the wire:
//   u32 magic | u32 frame count n | u32 header length
//   n × (u32 mode | u32 piece count | f64 decoded length)
//   header
//   each frame: mode 0 (raw): its bytes
//               mode 1 (pieces): each piece is u32 codec | u32 wire length | u32 decoded length | bytes
// Each packet starts a new chunk, so a reader never sees two packets in one chunk.
//
// Pieces let a link compress a large frame a piece at a time, sending each as soon as it is
// deflated (the prelude does not need compressed sizes), so deflating, sending and inflating
// overlap; a piece that does not shrink goes raw.

import { ProtocolError } from "../errors.js";
import { CODEC_DEFLATE, CODEC_RAW } from "./codecs.js";
import type { Packet } from "./packet.js";
import { beginReceive, endReceive, receiveBuffer } from "../util/receive-buffers.js";

const MAGIC = 0x6d736833; // "msh3"
const PER_FRAME = 16;
const PIECE_HEADER = 12;
const MODE_RAW = 0;
const MODE_PIECES = 1;

/** Refuse a packet announcing more frames than this: a larger count is a corrupt or hostile prelude. */
export const MAX_FRAMES_PER_PACKET = 1 << 20;
/** Frames are deflated in pieces of this many bytes: small enough to overlap with sending, big enough to compress well. */
export const PIECE_BYTES = 4 * 1024 * 1024;
/** A piece may not decode to more than this (bounds what one small compressed piece can make us allocate). */
export const MAX_PIECE_BYTES = 16 * 1024 * 1024;

/** Pieces smaller than this are copied together into one chunk rather than sent on their own. */
const COALESCE_BELOW = 16 * 1024;
/** Parts at least this big that arrive whole in a buffer of their own are kept without a copy. */
const ZERO_COPY_MIN_BYTES = 64 * 1024;

export function preludeBytes(nframes: number): number {
  return 12 + PER_FRAME * nframes;
}

/** What a link does with one piece of a frame it compresses: deflated bytes, or null to send it raw. */
export type PieceCoder = (piece: Uint8Array) => Uint8Array | null;

/** Either bytes ready to send, or work that produces them when the sender gets to it (compression). */
export type ChunkSource = Uint8Array | (() => Uint8Array[]);

/** The chunks (each ≤ maxChunk bytes) that carry `packet`, every frame raw. Large frames are sliced, not copied. */
export function toChunks(packet: Packet, maxChunk: number): Uint8Array[] {
  return toChunkSources(packet, maxChunk, () => false, null) as Uint8Array[];
}

/**
 * The chunks that carry `packet`, where `compress(frame)` chooses frames to send as pieces
 * deflated by `coder`. Those pieces are returned as functions, run by the sender when it reaches
 * them, so it can send one piece while deflating the next.
 */
export function toChunkSources(packet: Packet, maxChunk: number, compress: (frame: Uint8Array) => boolean, coder: PieceCoder | null): ChunkSource[] {
  if (maxChunk < 64) throw new RangeError(`maxChunk ${maxChunk} is too small`);
  const n = packet.frames.length;
  const pieced = packet.frames.map((f) => coder !== null && compress(f));
  const prelude = new Uint8Array(preludeBytes(n));
  const dv = new DataView(prelude.buffer);
  dv.setUint32(0, MAGIC);
  dv.setUint32(4, n);
  dv.setUint32(8, packet.header.byteLength);
  for (let i = 0; i < n; i++) {
    const f = packet.frames[i]!;
    const at = 12 + PER_FRAME * i;
    dv.setUint32(at, pieced[i] ? MODE_PIECES : MODE_RAW);
    dv.setUint32(at + 4, pieced[i] ? Math.ceil(f.byteLength / PIECE_BYTES) : 0);
    dv.setFloat64(at + 8, f.byteLength);
  }

  const out: ChunkSource[] = [];
  const chunker = new Chunker(maxChunk, (c) => out.push(c));
  chunker.add(prelude);
  chunker.add(packet.header);
  packet.frames.forEach((f, i) => {
    if (!pieced[i]) return chunker.add(f);
    chunker.flush();
    for (let at = 0; at < f.byteLength; at += PIECE_BYTES) {
      const piece = f.subarray(at, at + PIECE_BYTES);
      out.push(() => encodePiece(piece, coder!, maxChunk));
    }
  });
  chunker.flush();
  return out;
}

/** One piece on the wire: its header and its bytes (deflated if that shrinks it), in chunks. */
function encodePiece(piece: Uint8Array, coder: PieceCoder, maxChunk: number): Uint8Array[] {
  const packed = coder(piece);
  const head = new Uint8Array(PIECE_HEADER);
  const dv = new DataView(head.buffer);
  dv.setUint32(0, packed ? CODEC_DEFLATE : CODEC_RAW);
  dv.setUint32(4, (packed ?? piece).byteLength);
  dv.setUint32(8, piece.byteLength);
  const chunks: Uint8Array[] = [];
  const chunker = new Chunker(maxChunk, (c) => chunks.push(c));
  chunker.add(head);
  chunker.add(packed ?? piece);
  chunker.flush();
  return chunks;
}

/** Groups small pieces into one chunk and cuts big ones into views of at most maxChunk bytes. */
class Chunker {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly maxChunk: number,
    private readonly emit: (chunk: Uint8Array) => void,
  ) {}

  add(piece: Uint8Array): void {
    let rest = piece;
    // A big piece goes out as views of itself, never copied into the pending chunk of small ones.
    if (rest.byteLength >= COALESCE_BELOW) this.flush();
    while (rest.byteLength > 0) {
      if (rest.byteLength < COALESCE_BELOW) {
        const take = rest.subarray(0, this.maxChunk - this.pendingBytes);
        this.pending.push(take);
        this.pendingBytes += take.byteLength;
        rest = rest.subarray(take.byteLength);
        if (this.pendingBytes === this.maxChunk) this.flush();
      } else {
        const take = rest.subarray(0, this.maxChunk);
        this.emit(take);
        rest = rest.subarray(take.byteLength);
      }
    }
  }

  flush(): void {
    if (this.pendingBytes === 0) return;
    const out = new Uint8Array(this.pendingBytes);
    let off = 0;
    for (const p of this.pending) {
      out.set(p, off);
      off += p.byteLength;
    }
    this.emit(out);
    this.pending = [];
    this.pendingBytes = 0;
  }
}

/** What the reader is collecting now. */
type Step =
  | { kind: "prelude"; size: number }
  | { kind: "header"; size: number }
  | { kind: "raw-frame"; size: number }
  | { kind: "piece-head"; size: number }
  | { kind: "piece-body"; size: number; codec: number; decoded: number };

/**
 * Reassembles packets from chunks fed in order. Each part is collected as the pieces that arrive
 * and copied into a buffer of its own (offset 0, so typed views over it are aligned) only once
 * complete. Memory held for a packet in progress is what has arrived (and what its compressed
 * pieces decode to), not what its prelude announces: a peer cannot make us allocate a gigabyte by
 * sending a hundred bytes.
 */
export class PacketReader {
  private step: Step | null = null;
  private pieces: Uint8Array[] = [];
  private filled = 0;
  /** The final buffer of a large raw frame being read in place (see destination()). */
  private partBuffer: Uint8Array | null = null;
  /** The slice destination() last handed out: the next chunk arrives already there. */
  private inPlace: Uint8Array | null = null;
  private header: Uint8Array | null = null;
  private readonly frames: Uint8Array[] = [];
  /** Per frame (from the prelude): mode, piece count and decoded length. */
  private modes: number[] = [];
  private pieceCounts: number[] = [];
  private lengths: number[] = [];
  /** Decoded pieces of the pieced frame being read, and how many are still to come. */
  private framePieces: Uint8Array[] = [];
  private piecesLeft = 0;
  private decodedSoFar = 0;
  /** Bytes received for this packet so far (wire), against maxPacketBytes. */
  private wireTotal = 0;

  constructor(
    /** Largest packet (prelude + header + frames, on the wire and decoded) accepted, in bytes. */
    private readonly maxPacketBytes: number,
    /**
     * Inflates a deflated piece to its decoded length. Links that may receive compressed frames
     * pass compression.ts's decompressFrame; without it such a piece is a protocol error. (Kept
     * out of this module so links that never compress do not load the compressor.)
     */
    private readonly inflate?: (wire: Uint8Array, rawLength: number) => Uint8Array,
  ) {}

  /** Whether a packet is partly read (a chunk must follow). */
  get inProgress(): boolean {
    return this.step !== null;
  }

  /**
   * Where the next transport message of `len` bytes should be placed, when it is wholly the next
   * stretch of a large raw frame: a slice of that frame's final buffer. A transport that can read
   * into a given buffer (node/ws-client.ts) puts it there, and push() then finds it in place: a
   * frame sharded over several messages is assembled without copying. Undefined otherwise.
   */
  destination(len: number): Uint8Array | undefined {
    const step = this.step;
    if (step === null || step.kind !== "raw-frame" || step.size < ZERO_COPY_MIN_BYTES) return undefined;
    if (this.partBuffer === null && this.filled > 0) return undefined; // begun as pieces: finish it that way
    if (this.filled + len > step.size) return undefined;
    this.partBuffer ??= beginReceive(step.size);
    this.inPlace = this.partBuffer.subarray(this.filled, this.filled + len);
    return this.inPlace;
  }

  /** Drops a packet in progress (its link closed): a frame being read in place is abandoned. */
  abort(): void {
    if (this.partBuffer !== null) endReceive(this.partBuffer.byteLength);
    this.partBuffer = null;
    this.inPlace = null;
    this.step = null;
    this.pieces = [];
    this.filled = 0;
    this.frames.length = 0;
    this.framePieces = [];
  }

  /** Feeds one chunk; returns the packet it completes, if any. Throws ProtocolError on bad input. */
  push(chunk: Uint8Array): Packet | null {
    let rest = chunk;
    const placed = this.inPlace;
    this.inPlace = null;
    if (placed !== null && chunk.buffer === placed.buffer && chunk.byteOffset === placed.byteOffset && chunk.byteLength === placed.byteLength) {
      // Already where it belongs (destination()): count it, no copy.
      this.filled += chunk.byteLength;
      rest = chunk.subarray(chunk.byteLength);
    }
    if (this.step === null) {
      if (rest.byteLength < 12) throw new ProtocolError("chunk too short to start a packet");
      const dv = new DataView(rest.buffer, rest.byteOffset, 12);
      if (dv.getUint32(0) !== MAGIC) throw new ProtocolError("not a meshwork packet (bad magic)");
      const n = dv.getUint32(4);
      if (n > MAX_FRAMES_PER_PACKET) throw new ProtocolError(`packet announces ${n} frames (limit ${MAX_FRAMES_PER_PACKET})`);
      this.step = { kind: "prelude", size: preludeBytes(n) };
      this.wireTotal = 0;
      this.countWire(this.step.size);
    }
    for (;;) {
      const step = this.step;
      if (step === null) break; // the packet is complete
      if (this.filled === step.size) {
        this.complete(step, this.collect(step.size));
        continue;
      }
      if (rest.byteLength === 0) return null; // the rest comes in later chunks
      const take = rest.subarray(0, step.size - this.filled);
      if (this.partBuffer !== null) this.partBuffer.set(take, this.filled);
      else this.pieces.push(take);
      this.filled += take.byteLength;
      rest = rest.subarray(take.byteLength);
    }
    if (rest.byteLength > 0) throw new ProtocolError("chunk runs past the end of its packet");
    const packet = { header: this.header!, frames: this.frames.slice() };
    this.header = null;
    this.frames.length = 0;
    return packet;
  }

  private collect(size: number): Uint8Array {
    if (this.partBuffer !== null) {
      const whole = this.partBuffer;
      this.partBuffer = null;
      this.filled = 0;
      endReceive(whole.byteLength);
      return whole;
    }
    // A large part that arrived as one whole message is used as it is: the transport gave us that
    // buffer for it (WebSocket messages, transferred port messages), and copying 64 MiB of fresh
    // memory costs ~50 ms here. Small parts are copied so they do not pin a bigger buffer.
    if (this.pieces.length === 1 && size >= ZERO_COPY_MIN_BYTES) {
      const only = this.pieces[0]!;
      if (only.byteOffset === 0 && only.byteLength === only.buffer.byteLength) {
        this.pieces = [];
        this.filled = 0;
        return only;
      }
    }
    const bytes = receiveBuffer(size);
    let at = 0;
    for (const p of this.pieces) {
      bytes.set(p, at);
      at += p.byteLength;
    }
    this.pieces = [];
    this.filled = 0;
    return bytes;
  }

  private countWire(bytes: number): void {
    this.wireTotal += bytes;
    if (this.wireTotal > this.maxPacketBytes) throw new ProtocolError(`packet of ${this.wireTotal} bytes or more exceeds the limit of ${this.maxPacketBytes} bytes`);
  }

  /** A part is complete: use it, and set the next step. */
  private complete(step: Step, bytes: Uint8Array): void {
    switch (step.kind) {
      case "prelude":
        this.readPrelude(bytes);
        this.step = { kind: "header", size: new DataView(bytes.buffer).getUint32(8) };
        this.countWire(this.step.size);
        return;
      case "header":
        this.header = bytes;
        return this.nextFrame();
      case "raw-frame":
        this.frames.push(bytes);
        return this.nextFrame();
      case "piece-head": {
        const dv = new DataView(bytes.buffer);
        const codec = dv.getUint32(0);
        const wire = dv.getUint32(4);
        const decoded = dv.getUint32(8);
        if (codec !== CODEC_RAW && codec !== CODEC_DEFLATE) throw new ProtocolError(`unknown piece codec ${codec}`);
        if (codec === CODEC_RAW && wire !== decoded) throw new ProtocolError(`a raw piece of ${wire} bytes announced as ${decoded}`);
        if (decoded > MAX_PIECE_BYTES) throw new ProtocolError(`a piece of ${decoded} bytes (limit ${MAX_PIECE_BYTES})`);
        const frameLength = this.lengths[this.frames.length]!;
        if (this.decodedSoFar + decoded > frameLength) throw new ProtocolError("pieces decode to more than their frame's length");
        this.countWire(wire);
        this.step = { kind: "piece-body", size: wire, codec, decoded };
        return;
      }
      case "piece-body": {
        let piece = bytes;
        if (step.codec === CODEC_DEFLATE) {
          if (!this.inflate) throw new ProtocolError("a compressed frame on a link that does not decompress");
          piece = this.inflate(bytes, step.decoded);
        }
        this.framePieces.push(piece);
        this.decodedSoFar += step.decoded;
        if (--this.piecesLeft > 0) {
          this.step = { kind: "piece-head", size: PIECE_HEADER };
          this.countWire(PIECE_HEADER);
          return;
        }
        const length = this.lengths[this.frames.length]!;
        if (this.decodedSoFar !== length) throw new ProtocolError(`pieces decode to ${this.decodedSoFar} bytes, their frame is ${length}`);
        this.frames.push(this.framePieces.length === 1 ? this.framePieces[0]! : concat(this.framePieces, length));
        this.framePieces = [];
        return this.nextFrame();
      }
    }
  }

  private nextFrame(): void {
    const i = this.frames.length;
    if (i === this.modes.length) {
      this.step = null;
      return;
    }
    if (this.modes[i] === MODE_RAW) {
      this.step = { kind: "raw-frame", size: this.lengths[i]! };
      this.countWire(this.lengths[i]!);
      return;
    }
    this.piecesLeft = this.pieceCounts[i]!;
    this.decodedSoFar = 0;
    this.framePieces = [];
    if (this.piecesLeft === 0) {
      if (this.lengths[i] !== 0) throw new ProtocolError("a frame in pieces with no pieces");
      this.frames.push(new Uint8Array(0));
      return this.nextFrame();
    }
    this.step = { kind: "piece-head", size: PIECE_HEADER };
    this.countWire(PIECE_HEADER);
  }

  private readPrelude(p: Uint8Array): void {
    const dv = new DataView(p.buffer);
    const n = dv.getUint32(4);
    let decoded = p.byteLength + dv.getUint32(8);
    this.modes = [];
    this.pieceCounts = [];
    this.lengths = [];
    for (let i = 0; i < n; i++) {
      const at = 12 + PER_FRAME * i;
      const mode = dv.getUint32(at);
      const pieces = dv.getUint32(at + 4);
      const length = dv.getFloat64(at + 8);
      if (mode !== MODE_RAW && mode !== MODE_PIECES) throw new ProtocolError(`unknown frame mode ${mode}`);
      if (!Number.isSafeInteger(length) || length < 0) throw new ProtocolError(`bad frame length ${length}`);
      if (mode === MODE_PIECES && (pieces > length || (pieces === 0 && length > 0))) throw new ProtocolError(`bad piece count ${pieces} for a frame of ${length} bytes`);
      this.modes.push(mode);
      this.pieceCounts.push(pieces);
      this.lengths.push(length);
      decoded += length;
    }
    // Decoded sizes count against the limit too, so small compressed pieces cannot inflate without bound.
    if (decoded > this.maxPacketBytes) throw new ProtocolError(`packet of ${decoded} bytes exceeds the limit of ${this.maxPacketBytes} bytes`);
    this.header = null;
  }
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  const out = receiveBuffer(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
