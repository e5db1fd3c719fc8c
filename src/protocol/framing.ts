// Cutting a packet into transport messages of at most `maxChunk` bytes (packet-reader.ts puts it
// back together). Used by every transport with a message-size cap (WebRTC data channels, the capped
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

import { CODEC_DEFLATE, CODEC_RAW } from "./codecs.js";
import type { Packet } from "./packet.js";

/** The wire layout above, shared with the reader (packet-reader.ts). */
export const MAGIC = 0x6d736833; // "msh3"
export const PER_FRAME = 16;
export const PIECE_HEADER = 12;
export const MODE_RAW = 0;
export const MODE_PIECES = 1;

/** Refuse a packet announcing more frames than this: a larger count is a corrupt or hostile prelude. */
export const MAX_FRAMES_PER_PACKET = 1 << 20;
/** Frames are deflated in pieces of this many bytes: small enough to overlap with sending, big enough to compress well. */
export const PIECE_BYTES = 4 * 1024 * 1024;
/** A piece may not decode to more than this (bounds what one small compressed piece can make us allocate). */
export const MAX_PIECE_BYTES = 16 * 1024 * 1024;

/** Pieces smaller than this are copied together into one chunk rather than sent on their own. */
const COALESCE_BELOW = 16 * 1024;

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
export function toChunkSources(
  packet: Packet,
  maxChunk: number,
  compress: (frame: Uint8Array) => boolean,
  coder: PieceCoder | null,
): ChunkSource[] {
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
