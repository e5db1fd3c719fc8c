// When a frame is compressed before crossing a network link: Dask's sampling heuristic on the
// frame's own bytes (also for views into larger buffers and blocks of multi-dimensional data, the
// case Dask's 2017 release got wrong), whether it pays on the link, and the codec itself.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  byteEntropy,
  compressFrame,
  compressorSpeed,
  decide,
  decompressFrame,
  ProtocolError,
  sampleFrame,
  serialize,
} from "../../src/internal.js";

const MiB = 2 ** 20;
const SLOW = { bytesPerSecond: 20e6 }; // 20 MB/s: compressing compressible data pays
const FAST = { bytesPerSecond: 2e9 }; // loopback: it never does

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}
const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const mod16 = (n: number) => Float64Array.from({ length: n }, (_, i) => i % 16);

describe("the sampling decision", () => {
  test("random bytes and random float64 are judged incompressible without deflating", () => {
    assert.equal(decide(randomBytes(4 * MiB), "auto", SLOW).reason, "incompressible");
    const floats = Float64Array.from({ length: MiB / 2 }, () => Math.random());
    assert.equal(decide(bytesOf(floats), "auto", SLOW).reason, "incompressible");
  });

  test("compressible data is compressed on a slow link, not on a fast one, not when off", () => {
    const frame = bytesOf(mod16(MiB / 2));
    const slow = decide(frame, "auto", SLOW);
    assert.equal(slow.compress, true);
    assert.equal(slow.reason, "pays");
    assert.ok(slow.ratio < 0.1, `samples shrink a lot (${slow.ratio})`);
    assert.equal(decide(frame, "auto", FAST).reason, "link-fast");
    assert.equal(
      decide(frame, "auto", { bytesPerSecond: undefined }).compress,
      false,
      "an unmeasured link counts as fast",
    );
    assert.equal(decide(frame, false, SLOW).reason, "off");
    assert.equal(decide(frame, "deflate", FAST).reason, "forced");
  });

  test("on a link faster than the compressor, auto decides without deflating samples", () => {
    const frame = bytesOf(mod16(MiB / 2));
    const fast = decide(frame, "auto", FAST);
    assert.equal(fast.reason, "link-fast");
    assert.equal(fast.ratio, 1, "no sample was compressed to measure a ratio");
    // Just slow enough that a frame shrunk to nothing would pay: now the samples are measured.
    const { deflateBps, inflateBps } = compressorSpeed;
    const threshold = 1 / (1 / deflateBps + 1 / inflateBps);
    const edge = decide(frame, "auto", { bytesPerSecond: threshold * 0.99 });
    assert.ok(edge.ratio < 0.1, `samples measured (${edge.ratio})`);
  });

  test("frames under 10 kB are never compressed", () => {
    assert.equal(decide(new Uint8Array(9_999), "deflate", SLOW).reason, "small");
  });

  test("repeated blocks of random bytes have high byte entropy but are still found compressible", () => {
    const block = randomBytes(1024);
    const frame = new Uint8Array(2 * MiB);
    for (let i = 0; i < frame.length; i += 1024) frame.set(block, i);
    assert.ok(byteEntropy(frame) > 7.5);
    assert.equal(decide(frame, "auto", SLOW).compress, true);
  });

  test("samples are the view's own bytes: a compressible view inside a random buffer", () => {
    const buffer = randomBytes(8 * MiB);
    const view = new Float64Array(buffer.buffer, 3 * MiB, MiB / 8); // 1 MiB in the middle
    view.set(mod16(MiB / 8));
    const frame = bytesOf(view);
    for (const s of sampleFrame(frame)) {
      assert.ok(s.byteOffset >= 3 * MiB && s.byteOffset + s.byteLength <= 4 * MiB, "every sample lies inside the view");
    }
    assert.equal(decide(frame, "auto", SLOW).compress, true);
  });

  test("samples are the view's own bytes: a random view inside a buffer of zeros", () => {
    const buffer = new Uint8Array(8 * MiB);
    buffer.set(randomBytes(MiB), 5 * MiB);
    const frame = buffer.subarray(5 * MiB, 6 * MiB);
    assert.equal(decide(frame, "deflate", SLOW).compress, false, "the zeros around the view must not count");
  });

  test("a block of a 2-D array (rows of a row-major matrix) is sampled over its own bytes", () => {
    // A 1024 × 1024 float64 matrix: the top half random, the bottom half i % 16. Its bottom-half
    // block is a view starting half-way into the buffer; its frame (what serialize sends) covers
    // exactly those rows, and the decision follows them, not the whole matrix.
    const rows = 1024;
    const cols = 1024;
    const m = new Float64Array(rows * cols);
    for (let i = 0; i < (rows / 2) * cols; i++) m[i] = Math.random();
    m.set(mod16((rows / 2) * cols), (rows / 2) * cols);
    const bottom = m.subarray((rows / 2) * cols);
    const top = m.subarray(0, (rows / 2) * cols);
    const [bottomFrame] = serialize(bottom).payload.frames;
    const [topFrame] = serialize(top).payload.frames;
    assert.equal(bottomFrame!.byteOffset, (rows / 2) * cols * 8);
    assert.equal(bottomFrame!.byteLength, (rows / 2) * cols * 8);
    assert.equal(decide(bottomFrame!, "auto", SLOW).compress, true);
    assert.equal(decide(topFrame!, "auto", SLOW).compress, false);
  });
});

describe("the codec", () => {
  test("compressFrame keeps a result only if it is ≤ 0.7 of the original; decompress restores the bytes", () => {
    const frame = bytesOf(mod16(100_000));
    const packed = compressFrame(frame)!;
    assert.ok(packed.byteLength <= 0.7 * frame.byteLength);
    assert.deepEqual(decompressFrame(packed, frame.byteLength), frame);
    assert.equal(compressFrame(randomBytes(100_000)), null);
  });

  test("a frame that inflates to another length than announced is a ProtocolError", () => {
    const packed = compressFrame(new Uint8Array(50_000))!;
    assert.throws(() => decompressFrame(packed, 10), ProtocolError);
    assert.throws(() => decompressFrame(new Uint8Array([1, 2, 3, 4]), 100), ProtocolError);
  });
});
