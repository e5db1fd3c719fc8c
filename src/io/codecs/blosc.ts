// Blosc (version 1 chunks, as zarr-python and numcodecs write them: xarray's default compressor).
// Chunks compressed with LZ4 (the default) or stored uncompressed, byte-shuffled or not, are
// decoded here, straight into storage of their own: with our WebAssembly (blosc-wasm.ts) where it
// runs, else in JavaScript; the other inner compressors (blosclz, zlib, zstd) and bit-shuffling
// go to numcodecs' WebAssembly build of C-Blosc.
// Format: https://github.com/Blosc/c-blosc/blob/main/README_CHUNK_FORMAT.rst

import { FormatError } from "../../errors.js";
import { takeBuffer } from "../../util/buffer-pool.js";
import { leaseWasmBlocks, type WasmBlocks } from "./blosc-wasm.js";
import { lz4DecodeBlock, lz4EncodeBlock } from "./lz4.js";

const HEADER_BYTES = 16;
const FLAG_SHUFFLE = 0x1;
const FLAG_MEMCPYED = 0x2;
const FLAG_BITSHUFFLE = 0x4;
const FLAG_DONT_SPLIT = 0x10;
/** Inner compressor codes (flags bits 5-7). */
const LZ4 = 1;
/** C-Blosc splits a block into one stream per byte of an element only for elements this small ... */
const MAX_SPLITS = 16;
/** ... and blocks of at least this many elements. */
const MIN_BUFFERSIZE = 128;

export interface BloscHeader {
  version: number;
  flags: number;
  typesize: number;
  nbytes: number;
  blocksize: number;
  cbytes: number;
}

export function bloscHeader(src: Uint8Array): BloscHeader {
  if (src.length < HEADER_BYTES)
    throw new FormatError(`a Blosc chunk of ${src.length} bytes is shorter than its 16-byte header (truncated?)`);
  const v = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const h = {
    version: src[0]!,
    flags: src[2]!,
    typesize: src[3]!,
    nbytes: v.getInt32(4, true),
    blocksize: v.getInt32(8, true),
    cbytes: v.getInt32(12, true),
  };
  if (h.version < 1 || h.version > 2)
    throw new FormatError(
      `Blosc format version ${h.version} is not supported (only version 1 chunks, formats 1 and 2)`,
    );
  if (h.cbytes > src.length)
    throw new FormatError(`a Blosc chunk says it has ${h.cbytes} bytes but ${src.length} arrived: it is truncated`);
  if (h.nbytes < 0 || (h.blocksize <= 0 && h.nbytes > 0))
    throw new FormatError(`a Blosc header is corrupt (nbytes ${h.nbytes}, blocksize ${h.blocksize})`);
  return h;
}

/** Whether decodeBlosc can decode this chunk itself (else numcodecs must). */
export function bloscNative(h: BloscHeader): boolean {
  if (h.flags & FLAG_MEMCPYED) return true;
  return (h.flags & FLAG_BITSHUFFLE) === 0 && h.flags >> 5 === LZ4;
}

/** Which decoder runs: WebAssembly where it can (default), or JavaScript. */
export type BloscEngine = "auto" | "wasm" | "js";

/**
 * Decodes a Blosc chunk that bloscNative accepts; the result has storage of its own (recycled
 * from dropped blocks where a worker has some: util/buffer-pool.ts). With "auto", WebAssembly
 * decodes where it is available (blosc-wasm.ts), else JavaScript; "wasm" fails without it.
 */
export function decodeBlosc(src: Uint8Array, h = bloscHeader(src), engine: BloscEngine = "auto"): Uint8Array {
  const out = new Uint8Array(takeBuffer(h.nbytes, false), 0, h.nbytes);
  if (h.flags & FLAG_MEMCPYED) {
    out.set(memcpyed(src, h));
    return out;
  }
  const wasm = engine === "js" ? null : leaseWasmBlocks(h.blocksize);
  if (engine === "wasm" && !wasm) throw new FormatError("WebAssembly is not available here to decode Blosc");
  try {
    if (wasm) {
      wasm.reserve(h.blocksize); // cannot refuse: the lease was for this block size
      forEachBlock(src, h, (j, start, end, splits, neblock, bsize) => {
        const at = wasm.decodeBlock(src, start, end, splits, neblock, bsize, h.typesize, shuffledFlag(h), j);
        out.set(wasm.bytes(at, bsize), j * h.blocksize);
      });
    } else {
      decodeBloscJs(src, h, out);
    }
  } finally {
    wasm?.release();
  }
  return out;
}

/**
 * Decodes the first `rows` rows of a Blosc chunk of float32 or float64 values (runs of `rowElems`
 * values from the start; a chunk at the array's edge may hold more) a block at a time into
 * `wasm`'s memory, and hands each piece of a row to `visit` while it is in the cache: `n` values
 * at `at` in the module's memory, which are values [col, col + n) of row `row` (zarr-reduce.ts
 * adds them to running sums). The caller has reserved room for the chunk's blocks.
 */
export function decodeBloscRows(
  src: Uint8Array,
  h: BloscHeader,
  rows: number,
  rowElems: number,
  itemsize: 4 | 8,
  wasm: WasmBlocks,
  visit: (at: number, row: number, col: number, n: number) => void,
): void {
  const limit = rows * rowElems; // values to take
  if (limit * itemsize > h.nbytes)
    throw new FormatError(`a Blosc chunk of ${h.nbytes} bytes is too short for ${rows} rows of ${rowElems} values`);
  const pieces = (at: number, first: number, n: number): void => {
    // values [first, first + n) of the chunk are at `at`: cut where rows end
    let done = 0;
    while (done < n && first + done < limit) {
      const v = first + done;
      const row = Math.floor(v / rowElems);
      const col = v - row * rowElems;
      const k = Math.min(n - done, rowElems - col, limit - v);
      visit(at + done * itemsize, row, col, k);
      done += k;
    }
  };
  if (h.flags & FLAG_MEMCPYED) {
    const bytes = memcpyed(src, h);
    const step = Math.floor(h.blocksize / itemsize) * itemsize || itemsize;
    for (let p = 0; p < limit * itemsize; p += step) {
      const piece = bytes.subarray(p, Math.min(p + step, limit * itemsize));
      pieces(wasm.place(piece), p / itemsize, piece.length / itemsize);
    }
    return;
  }
  if (h.blocksize % itemsize !== 0)
    throw new FormatError(`Blosc blocks of ${h.blocksize} bytes do not hold whole ${itemsize}-byte values`);
  forEachBlock(src, h, (j, start, end, splits, neblock, bsize) => {
    if ((j * h.blocksize) / itemsize >= limit) return;
    const at = wasm.decodeBlock(src, start, end, splits, neblock, bsize, h.typesize, shuffledFlag(h), j);
    pieces(at, (j * h.blocksize) / itemsize, Math.floor(bsize / itemsize));
  });
}

/** The bytes of a chunk stored as they are. */
function memcpyed(src: Uint8Array, h: BloscHeader): Uint8Array {
  if (src.length < HEADER_BYTES + h.nbytes)
    throw new FormatError(
      `an uncompressed Blosc chunk holds ${src.length - HEADER_BYTES} of its ${h.nbytes} bytes: it is truncated`,
    );
  return src.subarray(HEADER_BYTES, HEADER_BYTES + h.nbytes);
}

function shuffledFlag(h: BloscHeader): boolean {
  return (h.flags & FLAG_SHUFFLE) !== 0 && h.typesize > 1;
}

/**
 * Calls `visit` for each block of a compressed chunk, in order, once its streams are checked: each
 * a 4-byte size and at most `neblock` bytes (C-Blosc stores a stream that would not shrink as it
 * is), all inside the chunk; `src[start, end)` holds them.
 */
function forEachBlock(
  src: Uint8Array,
  h: BloscHeader,
  visit: (j: number, start: number, end: number, splits: number, neblock: number, bsize: number) => void,
): void {
  const v = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const { typesize, blocksize, nbytes } = h;
  const nblocks = Math.ceil(nbytes / blocksize);
  if (HEADER_BYTES + 4 * nblocks > src.length) throw new FormatError("a Blosc chunk is cut off inside its block table");
  for (let j = 0; j < nblocks; j++) {
    const leftover = j === nblocks - 1 && nbytes % blocksize !== 0;
    const bsize = leftover ? nbytes % blocksize : blocksize;
    const splits =
      (h.flags & FLAG_DONT_SPLIT) === 0 && typesize <= MAX_SPLITS && blocksize / typesize >= MIN_BUFFERSIZE && !leftover
        ? typesize
        : 1;
    const neblock = Math.floor(bsize / splits);
    if (neblock * splits !== bsize)
      throw new FormatError(`a Blosc header is corrupt (blocks of ${blocksize} bytes split into ${splits} streams)`);
    const start = v.getInt32(HEADER_BYTES + 4 * j, true);
    let end = start;
    for (let k = 0; k < splits; k++) {
      if (end < HEADER_BYTES || end + 4 > src.length)
        throw new FormatError(`Blosc block ${j} starts outside the chunk: it is truncated or corrupt`);
      const csize = v.getInt32(end, true);
      if (csize < 0 || csize > neblock)
        throw new FormatError(`Blosc block ${j} has a stream of ${csize} bytes for ${neblock}: the chunk is corrupt`);
      end += 4 + csize;
      if (end > src.length) throw new FormatError(`Blosc block ${j} runs past the end of the chunk: it is truncated`);
    }
    visit(j, start, end, splits, neblock, bsize);
  }
}

/** The JavaScript decoder: streams into a block buffer, unshuffled into place (or straight into place). */
function decodeBloscJs(src: Uint8Array, h: BloscHeader, out: Uint8Array): void {
  const v = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const shuffled = shuffledFlag(h);
  const tmp = shuffled ? new Uint8Array(h.blocksize) : null;
  forEachBlock(src, h, (j, start, _end, splits, neblock, bsize) => {
    const target = tmp ?? out;
    let dp = tmp ? 0 : j * h.blocksize;
    let sp = start;
    for (let k = 0; k < splits; k++) {
      const csize = v.getInt32(sp, true);
      sp += 4;
      if (csize === neblock) target.set(src.subarray(sp, sp + csize), dp);
      else if (lz4DecodeBlock(src, sp, sp + csize, target, dp, neblock) !== neblock)
        throw new FormatError(`Blosc block ${j} decoded to the wrong size: the chunk is corrupt`);
      sp += csize;
      dp += neblock;
    }
    if (tmp) unshuffle(tmp, bsize, h.typesize, out, j * h.blocksize);
  });
}

/**
 * Undoes the byte shuffle of one block: byte b of element i sits at b * n + i, for the n whole
 * elements; bytes past them are copied as they are.
 */
export function unshuffle(src: Uint8Array, bsize: number, typesize: number, dst: Uint8Array, at: number): void {
  const n = Math.floor(bsize / typesize);
  if (typesize === 4 && n % 4 === 0 && (dst.byteOffset + at) % 4 === 0) unshuffle4(src, n, dst, at);
  else if (typesize === 8 && (dst.byteOffset + at) % 4 === 0) unshuffle8(src, n, dst, at);
  else {
    for (let b = 0; b < typesize; b++) {
      const s = b * n;
      for (let i = 0, o = at + b; i < n; i++, o += typesize) dst[o] = src[s + i]!;
    }
  }
  const rest = n * typesize;
  if (rest < bsize) dst.set(src.subarray(rest, bsize), at + rest);
}

/** Four streams read a word at a time: four elements per step, assembled with shifts. */
function unshuffle4(src: Uint8Array, n: number, dst: Uint8Array, at: number): void {
  const s = new Uint32Array(src.buffer, src.byteOffset, n);
  const d = new Uint32Array(dst.buffer, dst.byteOffset + at, n);
  const q = n >>> 2;
  for (let i = 0, o = 0; i < q; i++, o += 4) {
    const w0 = s[i]!;
    const w1 = s[q + i]!;
    const w2 = s[2 * q + i]!;
    const w3 = s[3 * q + i]!;
    d[o] = (w0 & 0xff) | ((w1 & 0xff) << 8) | ((w2 & 0xff) << 16) | (w3 << 24);
    d[o + 1] = ((w0 >>> 8) & 0xff) | (w1 & 0xff00) | ((w2 & 0xff00) << 8) | ((w3 & 0xff00) << 16);
    d[o + 2] = ((w0 >>> 16) & 0xff) | ((w1 >>> 8) & 0xff00) | (w2 & 0xff0000) | ((w3 & 0xff0000) << 8);
    d[o + 3] = (w0 >>> 24) | ((w1 >>> 16) & 0xff00) | ((w2 >>> 8) & 0xff0000) | (w3 & 0xff000000);
  }
}

/** Eight streams: each element as two words. */
function unshuffle8(src: Uint8Array, n: number, dst: Uint8Array, at: number): void {
  const d = new Uint32Array(dst.buffer, dst.byteOffset + at, 2 * n);
  const s1 = n,
    s2 = 2 * n,
    s3 = 3 * n,
    s4 = 4 * n,
    s5 = 5 * n,
    s6 = 6 * n,
    s7 = 7 * n;
  for (let i = 0; i < n; i++) {
    d[2 * i] = src[i]! | (src[s1 + i]! << 8) | (src[s2 + i]! << 16) | (src[s3 + i]! << 24);
    d[2 * i + 1] = src[s4 + i]! | (src[s5 + i]! << 8) | (src[s6 + i]! << 16) | (src[s7 + i]! << 24);
  }
}

// ---- compression (what zarr-python writes by default: LZ4, byte shuffle, one stream per byte) ----

export interface BloscOptions {
  /** 0 stores the bytes as they are; 1-9 compress (default 5). */
  clevel?: number;
  /** Byte-shuffle elements of `typesize` bytes before compressing (default true). */
  shuffle?: boolean;
}

/** Blocks of this size (rounded to whole elements) are shuffled and compressed one by one. */
const BLOCK_BYTES = 256 * 1024;

/** A Blosc version-1 chunk of `data` (elements of `typesize` bytes), LZ4 inside. */
export function encodeBlosc(data: Uint8Array, typesize: number, options: BloscOptions = {}): Uint8Array {
  const clevel = options.clevel ?? 5;
  const shuffle = (options.shuffle ?? true) && typesize > 1;
  const nbytes = data.length;
  const blocksize = Math.max(1, Math.min(nbytes, Math.floor(BLOCK_BYTES / typesize) * typesize));
  const nblocks = nbytes === 0 ? 0 : Math.ceil(nbytes / blocksize);
  const flags = (shuffle ? FLAG_SHUFFLE : 0) | (LZ4 << 5);
  const memcpy = (): Uint8Array => {
    const out = new Uint8Array(HEADER_BYTES + nbytes);
    writeHeader(out, flags | FLAG_MEMCPYED | FLAG_DONT_SPLIT, typesize, nbytes, blocksize, out.length);
    out.set(data, HEADER_BYTES);
    return out;
  };
  if (clevel === 0 || nbytes < MIN_BUFFERSIZE) return memcpy();
  // Room for everything stored as it is; a chunk that would not shrink is stored so instead.
  const out = new Uint8Array(HEADER_BYTES + 4 * nblocks + nbytes + 4 * typesize * nblocks);
  const v = new DataView(out.buffer);
  const tmp = shuffle ? new Uint8Array(blocksize) : null;
  let op = HEADER_BYTES + 4 * nblocks;
  for (let j = 0; j < nblocks; j++) {
    const leftover = j === nblocks - 1 && nbytes % blocksize !== 0;
    const bsize = leftover ? nbytes % blocksize : blocksize;
    const splits = typesize <= MAX_SPLITS && blocksize / typesize >= MIN_BUFFERSIZE && !leftover ? typesize : 1;
    const neblock = Math.floor(bsize / splits);
    let src = data;
    let sp = j * blocksize;
    if (tmp) {
      shuffleBlock(data, sp, bsize, typesize, tmp);
      src = tmp;
      sp = 0;
    }
    v.setInt32(HEADER_BYTES + 4 * j, op, true);
    for (let k = 0; k < splits; k++, sp += neblock) {
      if (op + 4 + neblock > nbytes + HEADER_BYTES) return memcpy();
      const n = lz4EncodeBlock(src, sp, sp + neblock, out, op + 4, neblock - 1);
      if (n < 0) {
        out.set(src.subarray(sp, sp + neblock), op + 4);
        v.setInt32(op, neblock, true);
        op += 4 + neblock;
      } else {
        v.setInt32(op, n, true);
        op += 4 + n;
      }
    }
  }
  if (op >= HEADER_BYTES + nbytes) return memcpy();
  writeHeader(out, flags, typesize, nbytes, blocksize, op);
  return out.slice(0, op);
}

function writeHeader(
  out: Uint8Array,
  flags: number,
  typesize: number,
  nbytes: number,
  blocksize: number,
  cbytes: number,
): void {
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out[0] = 2; // Blosc format version
  out[1] = 1; // LZ4 format version
  out[2] = flags;
  out[3] = typesize;
  v.setInt32(4, nbytes, true);
  v.setInt32(8, blocksize, true);
  v.setInt32(12, cbytes, true);
}

/** The inverse of unshuffle: byte b of element i goes to b * n + i. */
function shuffleBlock(src: Uint8Array, at: number, bsize: number, typesize: number, dst: Uint8Array): void {
  const n = Math.floor(bsize / typesize);
  for (let b = 0; b < typesize; b++) {
    const d = b * n;
    for (let i = 0, s = at + b; i < n; i++, s += typesize) dst[d + i] = src[s]!;
  }
  const rest = n * typesize;
  if (rest < bsize) dst.set(src.subarray(at + rest, at + bsize), rest);
}
