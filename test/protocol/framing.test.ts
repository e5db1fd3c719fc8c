// Framing: cutting packets into size-capped chunks (views for big frames, no copy) and putting them
// back together with PacketReader, which refuses malformed or oversized input with ProtocolError.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  compressFrame,
  decompressFrame,
  PacketReader,
  PIECE_BYTES,
  preludeBytes,
  ProtocolError,
  toChunks,
  toChunkSources,
  type Packet,
} from "../../src/internal.js";

const KiB = 1024;
const MiB = 1024 * KiB;

function patterned(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 255;
  return out;
}

/** Feeds every chunk; returns the packets completed, in order. */
/** Feeds chunks to a reader that decompresses (as a WebSocket link's does). */
function reassemble(chunks: Uint8Array[], maxPacketBytes = 1 << 30): Packet[] {
  const reader = new PacketReader(maxPacketBytes, decompressFrame);
  const out: Packet[] = [];
  for (const c of chunks) {
    const p = reader.push(c);
    if (p) out.push(p);
  }
  assert.equal(reader.inProgress, false, "reader still expects chunks");
  return out;
}

function assertSamePacket(actual: Packet, expected: Packet): void {
  assert.deepEqual([...actual.header], [...expected.header]);
  assert.equal(actual.frames.length, expected.frames.length);
  expected.frames.forEach((f, i) =>
    assert.ok(Buffer.from(f).equals(Buffer.from(actual.frames[i]!)), `frame ${i} differs`),
  );
}

/** A prelude by hand: magic, frame count, header length, then one f64 length per frame. */
/** A hand-made prelude: per frame [u32 mode][u32 piece count][f64 decoded length]. Mode 0 is raw. */
function prelude(
  frameCount: number,
  headerBytes: number,
  frameLengths: number[],
  magic = 0x6d736833,
  modes: number[] = [],
  pieces: number[] = [],
): Uint8Array {
  const out = new Uint8Array(preludeBytes(frameLengths.length));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, magic);
  dv.setUint32(4, frameCount);
  dv.setUint32(8, headerBytes);
  frameLengths.forEach((len, i) => {
    dv.setUint32(12 + 16 * i, modes[i] ?? 0);
    dv.setUint32(12 + 16 * i + 4, pieces[i] ?? 0);
    dv.setFloat64(12 + 16 * i + 8, len);
  });
  return out;
}

/** A piece header: [u32 codec][u32 wire length][u32 decoded length]. */
function pieceHead(codec: number, wire: number, decoded: number): Uint8Array {
  const out = new Uint8Array(12);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, codec);
  dv.setUint32(4, wire);
  dv.setUint32(8, decoded);
  return out;
}

/** Runs the compression work of chunk sources in order, as a sender would. */
function run(sources: (Uint8Array | (() => Uint8Array[]))[]): Uint8Array[] {
  return sources.flatMap((s) => (typeof s === "function" ? s() : [s]));
}

const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
};

describe("toChunks", () => {
  test("never yields a chunk larger than maxChunk", () => {
    const packet = {
      header: patterned(3000, 1),
      frames: [patterned(100 * KiB + 7, 2), patterned(10, 3), patterned(40 * KiB, 4)],
    };
    for (const maxChunk of [64, 1000, 16 * KiB, 64 * KiB]) {
      const chunks = toChunks(packet, maxChunk);
      for (const c of chunks)
        assert.ok(
          c.byteLength > 0 && c.byteLength <= maxChunk,
          `chunk of ${c.byteLength} bytes with maxChunk ${maxChunk}`,
        );
      const total = chunks.reduce((n, c) => n + c.byteLength, 0);
      assert.equal(total, preludeBytes(3) + 3000 + 100 * KiB + 7 + 10 + 40 * KiB, "bytes lost or duplicated");
    }
  });

  test("big frames are cut as views over the frame's own buffer, not copied", () => {
    const frame = patterned(MiB, 5);
    const chunks = toChunks({ header: new Uint8Array([1]), frames: [frame] }, 64 * KiB);
    const views = chunks.filter((c) => c.buffer === frame.buffer);
    assert.ok(views.length >= 15, `only ${views.length} of ${chunks.length} chunks are views`);
    for (const v of views) assert.equal(v.byteLength, 64 * KiB, "a view chunk is exactly maxChunk bytes");
  });

  test("a batch of small messages is coalesced into one chunk", () => {
    const packet = { header: patterned(500, 1), frames: Array.from({ length: 20 }, (_, i) => patterned(50, i)) };
    assert.equal(toChunks(packet, 64 * KiB).length, 1);
  });

  test("refuses a maxChunk too small to hold a prelude", () => {
    assert.throws(() => toChunks({ header: new Uint8Array(1), frames: [] }, 8), RangeError);
  });
});

describe("PacketReader reassembles", () => {
  test("a packet of no frames", () => {
    const packet = { header: patterned(40, 9), frames: [] };
    const [out, ...more] = reassemble(toChunks(packet, 64));
    assert.equal(more.length, 0);
    assertSamePacket(out!, packet);
  });

  test("many small frames across many chunks", () => {
    const packet = { header: patterned(10, 1), frames: Array.from({ length: 300 }, (_, i) => patterned(i % 7, i)) };
    const chunks = toChunks(packet, 100);
    assert.ok(chunks.length > 20);
    const [out] = reassemble(chunks);
    assertSamePacket(out!, packet);
  });

  test("one frame of 5 MiB cut at 64 KiB", () => {
    const packet = { header: patterned(33, 1), frames: [patterned(5 * MiB, 2)] };
    const chunks = toChunks(packet, 64 * KiB);
    assert.ok(chunks.length >= 80);
    const [out] = reassemble(chunks);
    assertSamePacket(out!, packet);
  });

  test("an empty header and empty frames", () => {
    const packet = { header: new Uint8Array(0), frames: [new Uint8Array(0), patterned(3, 1), new Uint8Array(0)] };
    const [out] = reassemble(toChunks(packet, 64));
    assertSamePacket(out!, packet);
    assert.deepEqual(
      out!.frames.map((f) => f.byteLength),
      [0, 3, 0],
    );
  });

  test("packets one after another on the same reader", () => {
    const packets = [1, 2, 3].map((i) => ({ header: patterned(100 * i, i), frames: [patterned(20 * KiB * i, i)] }));
    const out = reassemble(packets.flatMap((p) => toChunks(p, 4 * KiB)));
    assert.equal(out.length, 3);
    out.forEach((p, i) => assertSamePacket(p, packets[i]!));
  });

  test("each part lands at offset 0 of its own buffer, so typed views over it are aligned", () => {
    const packet = { header: patterned(3, 1), frames: [patterned(5, 1), patterned(16, 2)] };
    const [out] = reassemble(toChunks(packet, 64));
    for (const part of [out!.header, ...out!.frames]) {
      assert.equal(part.byteOffset, 0);
      assert.equal(part.buffer.byteLength, part.byteLength);
    }
  });
});

/** Feeding `chunks` to a reader fails with a ProtocolError whose message matches `pattern`. */
function refuses(chunks: Uint8Array[], pattern: RegExp, maxPacketBytes = MiB): void {
  const reader = new PacketReader(maxPacketBytes, decompressFrame);
  assert.throws(
    () => chunks.forEach((c) => reader.push(c)),
    (e: unknown) => e instanceof ProtocolError && pattern.test(e.message),
  );
}

describe("PacketReader refuses with ProtocolError", () => {
  test("bad magic", () => {
    const chunk = toChunks({ header: patterned(20, 1), frames: [] }, 64)[0]!;
    chunk[0] = chunk[0]! ^ 0xff;
    refuses([chunk], /bad magic/);
  });

  test("a first chunk too short to hold a prelude", () => {
    refuses([new Uint8Array(5)], /too short/);
  });

  test("a frame count over the limit", () => {
    refuses([prelude(0xffff_ffff, 0, [])], /frames \(limit/);
  });

  test("a packet larger than maxPacketBytes, before allocating it", () => {
    // 2^40 bytes could not be allocated at all: a RangeError here would mean the size was not checked first.
    refuses([prelude(1, 10, [2 ** 40])], /exceeds the limit of 1048576 bytes/);
    refuses([prelude(2, 10, [600 * KiB, 600 * KiB])], /exceeds the limit/);
  });

  test("a frame length that is not a whole non-negative number", () => {
    refuses([prelude(1, 0, [-1])], /bad frame length/);
    refuses([prelude(1, 0, [1.5])], /bad frame length/);
    refuses([prelude(1, 0, [NaN])], /bad frame length/);
  });

  test("a chunk running past the end of its packet", () => {
    const [chunk] = toChunks({ header: patterned(20, 1), frames: [patterned(8, 2)] }, 1024);
    const tooLong = new Uint8Array(chunk!.byteLength + 1);
    tooLong.set(chunk!);
    refuses([tooLong], /runs past the end/);
  });

  test("a chunk running past the end, when the packet arrived in several chunks", () => {
    const chunks = toChunks({ header: patterned(20, 1), frames: [patterned(300, 2)] }, 64);
    const last = chunks.at(-1)!;
    const tooLong = new Uint8Array(last.byteLength + 4);
    tooLong.set(last);
    refuses([...chunks.slice(0, -1), tooLong], /runs past the end/);
  });
});

describe("compressed frames (in pieces)", () => {
  const always = () => true;

  test("a frame deflated in pieces travels smaller and arrives as its original bytes; incompressible pieces go raw", () => {
    const compressible = new Uint8Array(PIECE_BYTES + 200 * KiB).map((_, i) => i % 7); // two pieces
    const random = crypto.getRandomValues(new Uint8Array(50 * KiB));
    const packet = { header: patterned(100, 1), frames: [compressible, random] };
    const sources = toChunkSources(packet, 64 * KiB, always, compressFrame);
    assert.equal(
      sources.filter((s) => typeof s === "function").length,
      3,
      "one deferred piece per 4 MiB of each frame",
    );
    const chunks = run(sources);
    const wire = chunks.reduce((n, c) => n + c.byteLength, 0);
    assert.ok(wire < 100 * KiB, `the compressible frame shrank on the wire (${wire} bytes in all)`);
    const [out] = reassemble(chunks);
    assertSamePacket(out!, packet);
  });

  test("without a coder, or for frames it declines, toChunkSources sends frames raw", () => {
    const packet = { header: patterned(10, 1), frames: [patterned(5000, 2)] };
    const sources = toChunkSources(packet, 1024, () => false, compressFrame);
    assert.ok(sources.every((s) => typeof s !== "function"));
    assertSamePacket(reassemble(sources as Uint8Array[])[0]!, packet);
  });

  test("decoded sizes count against maxPacketBytes (no inflating past the limit)", () => {
    const zeros = new Uint8Array(2 * MiB);
    const chunks = run(toChunkSources({ header: patterned(10, 1), frames: [zeros] }, 64 * KiB, always, compressFrame));
    assert.ok(chunks.reduce((n, c) => n + c.byteLength, 0) < 64 * KiB, "2 MiB of zeros deflate to little");
    assert.throws(
      () => reassemble(chunks, MiB),
      (e: unknown) => e instanceof ProtocolError && /exceeds the limit of 1048576/.test(e.message),
    );
  });

  test("bad pieces are refused: unknown codec, raw size mismatch, too big, decoding past the frame, not inflating", () => {
    const head = (len: number) => cat(prelude(1, 0, [len], undefined, [1], [1]));
    refuses([cat(head(4), pieceHead(7, 4, 4))], /unknown piece codec 7/);
    refuses([cat(head(4), pieceHead(0, 4, 5))], /raw piece of 4 bytes announced as 5/);
    refuses([cat(head(32 * MiB), pieceHead(1, 4, 32 * MiB))], /a piece of 33554432 bytes/, 64 * MiB);
    refuses([cat(head(4), pieceHead(0, 8, 8))], /more than their frame/);
    refuses(
      [cat(head(100), pieceHead(1, 5, 100), new Uint8Array([0x93, 0xff, 0xff, 0xff, 0xff]))],
      /does not inflate|inflated to/,
    );
    refuses([prelude(1, 0, [4], undefined, [2])], /unknown frame mode 2/);
    refuses([prelude(1, 0, [4], undefined, [1], [9])], /bad piece count 9/);
  });
});

describe("PacketReader memory", () => {
  test("a prelude announcing a huge packet costs nothing until its bytes arrive", () => {
    const reader = new PacketReader(2 * 1024 * MiB);
    const before = process.memoryUsage().arrayBuffers;
    reader.push(prelude(1, 0, [1536 * MiB])); // a 1.5 GiB frame announced in 36 bytes
    reader.push(new Uint8Array(1000)); // and a little of it
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.ok(grown < 16 * MiB, `the reader allocated ${(grown / MiB).toFixed(1)} MiB for 1,000 bytes received`);
    assert.equal(reader.inProgress, true);
  });
});

test("a reader without an inflater refuses compressed pieces (links that never compress)", () => {
  const chunks = run(
    toChunkSources({ header: patterned(10, 1), frames: [new Uint8Array(50_000)] }, 64 * KiB, () => true, compressFrame),
  );
  const reader = new PacketReader(MiB);
  assert.throws(() => chunks.forEach((c) => reader.push(c)), /compressed frame on a link that does not decompress/);
});
