// Framing: cutting packets into size-capped chunks (views for big frames, no copy) and putting them
// back together with PacketReader, which refuses malformed or oversized input with ProtocolError.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CODEC_DEFLATE, compressFrame, decompressFrame, PacketReader, preludeBytes, ProtocolError, toChunks, type Packet, type WireFrame } from "../../src/internal.js";

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
  expected.frames.forEach((f, i) => assert.ok(Buffer.from(f).equals(Buffer.from(actual.frames[i]!)), `frame ${i} differs`));
}

/** A prelude by hand: magic, frame count, header length, then one f64 length per frame. */
/** A hand-made prelude: per frame [u32 codec][u32 0][f64 wire length][f64 decoded length]. */
function prelude(frameCount: number, headerBytes: number, frameLengths: number[], magic = 0x6d736832, codecs: number[] = [], rawLengths: number[] = []): Uint8Array {
  const out = new Uint8Array(preludeBytes(frameLengths.length));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, magic);
  dv.setUint32(4, frameCount);
  dv.setUint32(8, headerBytes);
  frameLengths.forEach((len, i) => {
    dv.setUint32(12 + 24 * i, codecs[i] ?? 0);
    dv.setFloat64(12 + 24 * i + 8, len);
    dv.setFloat64(12 + 24 * i + 16, rawLengths[i] ?? len);
  });
  return out;
}

describe("toChunks", () => {
  test("never yields a chunk larger than maxChunk", () => {
    const packet = { header: patterned(3000, 1), frames: [patterned(100 * KiB + 7, 2), patterned(10, 3), patterned(40 * KiB, 4)] };
    for (const maxChunk of [64, 1000, 16 * KiB, 64 * KiB]) {
      const chunks = toChunks(packet, maxChunk);
      for (const c of chunks) assert.ok(c.byteLength > 0 && c.byteLength <= maxChunk, `chunk of ${c.byteLength} bytes with maxChunk ${maxChunk}`);
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
    assert.deepEqual(out!.frames.map((f) => f.byteLength), [0, 3, 0]);
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
  assert.throws(() => chunks.forEach((c) => reader.push(c)), (e: unknown) => e instanceof ProtocolError && pattern.test(e.message));
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

describe("compressed frames", () => {
  const deflate = (f: Uint8Array): WireFrame => {
    const c = compressFrame(f);
    return c ? { bytes: c, codec: CODEC_DEFLATE, rawLength: f.byteLength } : { bytes: f, codec: 0, rawLength: f.byteLength };
  };

  test("a deflated frame travels smaller and arrives as its original bytes", () => {
    const compressible = new Uint8Array(200 * KiB).map((_, i) => i % 7);
    const random = crypto.getRandomValues(new Uint8Array(50 * KiB));
    const packet = { header: patterned(100, 1), frames: [compressible, random] };
    const chunks = toChunks(packet, 64 * KiB, deflate);
    const wire = chunks.reduce((n, c) => n + c.byteLength, 0);
    assert.ok(wire < 100 * KiB, `the compressible frame shrank on the wire (${wire} bytes in all)`);
    const [out] = reassemble(chunks);
    assertSamePacket(out!, packet);
  });

  test("decoded sizes count against maxPacketBytes (no inflating past the limit)", () => {
    const zeros = new Uint8Array(2 * MiB);
    const chunks = toChunks({ header: patterned(10, 1), frames: [zeros] }, 64 * KiB, deflate);
    assert.ok(chunks.reduce((n, c) => n + c.byteLength, 0) < 64 * KiB, "2 MiB of zeros deflate to little");
    assert.throws(() => reassemble(chunks, MiB), (e: unknown) => e instanceof ProtocolError && /exceeds the limit of 1048576/.test(e.message));
  });

  test("an unknown codec, a raw frame with a different decoded length, or bytes that do not inflate are refused", () => {
    refuses([prelude(1, 0, [4], undefined, [7])], /unknown frame codec 7/);
    refuses([prelude(1, 0, [4], undefined, [0], [5])], /bad decoded frame length/);
    const head = prelude(1, 1, [4], undefined, [CODEC_DEFLATE], [100]);
    const garbage = new Uint8Array(head.byteLength + 5);
    garbage.set(head);
    garbage.set([0x93, 0xff, 0xff, 0xff, 0xff], head.byteLength);
    refuses([garbage], /does not inflate|inflated to/);
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

test("a reader without an inflater refuses compressed frames (links that never compress)", () => {
  const frame = new Uint8Array(50_000);
  const chunks = toChunks({ header: patterned(10, 1), frames: [frame] }, 64 * KiB, (f) => ({ bytes: compressFrame(f)!, codec: CODEC_DEFLATE, rawLength: f.byteLength }));
  const reader = new PacketReader(MiB);
  assert.throws(() => chunks.forEach((c) => reader.push(c)), /compressed frame on a link that does not decompress/);
});
