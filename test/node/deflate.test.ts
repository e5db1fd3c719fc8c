// Node compresses with its native zlib, browsers with fflate: both raw DEFLATE, so a frame
// compressed by one is decompressed by the other, and bombs are stopped by either.

import assert from "node:assert/strict";
import { test } from "node:test";
import { zlibDeflate } from "../../node/platform/deflate.js";
import { fflateDeflate } from "../../src/protocol/compression.js";

const data = new Uint8Array(new Float64Array(500_000).map((_, i) => i % 16).buffer);

test("zlib's output inflates with fflate and fflate's with zlib, to the same bytes", () => {
  assert.deepEqual(fflateDeflate.inflate(zlibDeflate.deflate(data), data.byteLength + 1), data);
  assert.deepEqual(new Uint8Array(zlibDeflate.inflate(fflateDeflate.deflate(data), data.byteLength + 1)), data);
});

test("both stop at the largest size accepted", () => {
  const bomb = zlibDeflate.deflate(new Uint8Array(10_000_000));
  assert.throws(() => zlibDeflate.inflate(bomb, 1000));
  assert.ok(fflateDeflate.inflate(bomb, 1000).byteLength <= 1000);
});
