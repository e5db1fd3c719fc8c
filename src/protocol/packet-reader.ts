// Putting packets back together from the transport messages framing.ts cut them into (the wire
// layout is described there), refusing malformed or oversized input with ProtocolError. Large raw
// frames can be read in place: a transport that reads into a buffer of our choosing gets the next
// stretch of the frame's final buffer (destination()), made ready ahead where sizes recur
// (util/receive-buffers.ts).

import { ProtocolError } from "../errors.js";
import { beginReceive, endReceive, receiveBuffer } from "../util/receive-buffers.js";
import { CODEC_DEFLATE, CODEC_RAW } from "./codecs.js";
import {
  MAGIC,
  MAX_FRAMES_PER_PACKET,
  MAX_PIECE_BYTES,
  MODE_PIECES,
  MODE_RAW,
  PER_FRAME,
  PIECE_HEADER,
  preludeBytes,
} from "./framing.js";
import type { Packet } from "./packet.js";

/** Parts at least this big that arrive whole in a buffer of their own are kept without a copy. */
const ZERO_COPY_MIN_BYTES = 64 * 1024;

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
    private maxPacketBytes: number,
    /**
     * Inflates a deflated piece to its decoded length. Links that may receive compressed frames
     * pass compression.ts's decompressFrame; without it such a piece is a protocol error. (Kept
     * out of this module so links that never compress do not load the compressor.)
     */
    private inflate?: ((wire: Uint8Array, rawLength: number) => Uint8Array) | undefined,
  ) {}

  /**
   * Changes the limits for the packets that start from now on: a listening end reads with a small
   * limit and no decompression until the peer is authenticated (socket.ts), then with the link's own.
   */
  limit(maxPacketBytes: number, inflate: ((wire: Uint8Array, rawLength: number) => Uint8Array) | undefined): void {
    this.maxPacketBytes = maxPacketBytes;
    this.inflate = inflate;
  }

  /** Whether a packet is partly read (a chunk must follow). */
  get inProgress(): boolean {
    return this.step !== null;
  }

  /**
   * Where the next transport message of `len` bytes should be placed, when it is wholly the next
   * stretch of a large raw frame: a slice of that frame's final buffer. A transport that can read
   * into a given buffer (node/platform/ws-client.ts) puts it there, and push() then finds it in place: a
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
    if (
      placed !== null &&
      chunk.buffer === placed.buffer &&
      chunk.byteOffset === placed.byteOffset &&
      chunk.byteLength === placed.byteLength
    ) {
      // Already where it belongs (destination()): count it, no copy.
      this.filled += chunk.byteLength;
      rest = chunk.subarray(chunk.byteLength);
    }
    if (this.step === null) {
      if (rest.byteLength < 12) throw new ProtocolError("chunk too short to start a packet");
      const dv = new DataView(rest.buffer, rest.byteOffset, 12);
      if (dv.getUint32(0) !== MAGIC) throw new ProtocolError("not a meshwork packet (bad magic)");
      const n = dv.getUint32(4);
      if (n > MAX_FRAMES_PER_PACKET)
        throw new ProtocolError(`packet announces ${n} frames (limit ${MAX_FRAMES_PER_PACKET})`);
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
    if (this.wireTotal > this.maxPacketBytes)
      throw new ProtocolError(
        `packet of ${this.wireTotal} bytes or more exceeds the limit of ${this.maxPacketBytes} bytes`,
      );
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
        if (codec === CODEC_RAW && wire !== decoded)
          throw new ProtocolError(`a raw piece of ${wire} bytes announced as ${decoded}`);
        if (decoded > MAX_PIECE_BYTES)
          throw new ProtocolError(`a piece of ${decoded} bytes (limit ${MAX_PIECE_BYTES})`);
        const frameLength = this.lengths[this.frames.length]!;
        if (this.decodedSoFar + decoded > frameLength)
          throw new ProtocolError("pieces decode to more than their frame's length");
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
        if (this.decodedSoFar !== length)
          throw new ProtocolError(`pieces decode to ${this.decodedSoFar} bytes, their frame is ${length}`);
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
      if (mode === MODE_PIECES && (pieces > length || (pieces === 0 && length > 0)))
        throw new ProtocolError(`bad piece count ${pieces} for a frame of ${length} bytes`);
      this.modes.push(mode);
      this.pieceCounts.push(pieces);
      this.lengths.push(length);
      decoded += length;
    }
    // Decoded sizes count against the limit too, so small compressed pieces cannot inflate without bound.
    if (decoded > this.maxPacketBytes)
      throw new ProtocolError(`packet of ${decoded} bytes exceeds the limit of ${this.maxPacketBytes} bytes`);
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
