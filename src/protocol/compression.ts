// Whether to compress a frame before it crosses a network link, and doing it (fflate's deflate).
// Dask's heuristic: for a frame of at least 10 kB, take five samples of up to 10 kB from its own
// bytes; compress the whole frame only if the samples shrink to ≤ 0.7; keep the result only if it
// is ≤ 0.7 too. On top of that, compression must pay on this link: deflating and inflating must
// cost less time than the bytes it saves would take to send.

import { deflateSync, inflateSync } from "fflate";
import { ProtocolError } from "../errors.js";

/**
 * Raw DEFLATE (RFC 1951), one implementation per platform. fflate everywhere by default (pure
 * JavaScript, so browsers and Node speak the same format); Node plugs in its native zlib, which
 * produces the same format ~10x faster on compressible data (node/platform/platform.ts). A link between a
 * browser and Node still compresses and decompresses either way.
 */
export interface Deflate {
  /** Raw DEFLATE of `bytes`. */
  deflate(bytes: Uint8Array): Uint8Array;
  /** Inflates `wire`, producing at most `maxBytes` (then it stops or throws); returns the bytes. */
  inflate(wire: Uint8Array, maxBytes: number): Uint8Array;
  /** Typical speeds on compressible data, bytes per second, to start the "does it pay" estimate from. */
  deflateBps: number;
  inflateBps: number;
}

export const fflateDeflate: Deflate = {
  deflate: (bytes) => deflateSync(bytes, { level: LEVEL }),
  inflate: (wire, maxBytes) => inflateSync(wire, { out: new Uint8Array(maxBytes) }),
  // Measured on this machine: level 6 on `i % 16` float64 in 4 MiB pieces.
  deflateBps: 100e6,
  inflateBps: 200e6,
};

let impl: Deflate = fflateDeflate;

/** Sets the DEFLATE implementation for this thread (platform entry points call it). */
export function setDeflate(d: Deflate): void {
  impl = d;
  compressorSpeed.deflateBps = d.deflateBps;
  compressorSpeed.inflateBps = d.inflateBps;
}

/** Frames smaller than this are never compressed (Dask's `min_size`). */
export const COMPRESS_MIN_BYTES = 10_000;
/** Samples per frame and bytes per sample (Dask: 5 × 10,000). */
export const SAMPLES = 5;
export const SAMPLE_BYTES = 10_000;
/** Compress only if samples, and then the whole frame, shrink to this fraction or less (the 0.7). */
export const KEEP_RATIO = 0.7;
/**
 * A sample whose byte entropy exceeds this cannot reach KEEP_RATIO by Huffman coding alone (it
 * needs at least entropy/8 of the size), only through repeats, which `repeatedWords` detects. Such
 * a sample is counted as incompressible without running deflate: fflate needs ~2.5 ms for five
 * 10 kB samples of random data (20 MB/s), over the 1 ms budget for the decision, while counting
 * bytes and words takes ~0.1 ms. Random float64 has ~7 bits per byte; `i % 16` far less.
 */
export const INCOMPRESSIBLE_BITS_PER_BYTE = 8 * KEEP_RATIO;
/** Share of repeated 8-byte words (in a sample) from which deflate is tried despite high entropy. */
const REPEATS_WORTH_TRYING = 0.05;

/**
 * fflate level 6: on compressible typed-array data it was both faster than level 1 here (114 vs
 * 74 MB/s for `i % 16` float64 in 4 MiB pieces) and smaller (0.34 % vs 0.62 %), and inflates faster.
 */
const LEVEL = 6;

export type CompressionMode = "auto" | "deflate" | false;

export { CODEC_RAW, CODEC_DEFLATE } from "./codecs.js";

export interface Decision {
  compress: boolean;
  /** Compressed/raw size of the samples (1 when not measured). */
  ratio: number;
  /** Why: for logs, tests and the benchmark. */
  reason: "small" | "off" | "incompressible" | "ratio" | "link-fast" | "pays" | "forced";
}

/** The samples of `frame`: evenly spread over the frame's own bytes (its view, not its buffer). */
export function sampleFrame(frame: Uint8Array): Uint8Array[] {
  const n = frame.byteLength;
  if (n <= SAMPLES * SAMPLE_BYTES) return [frame];
  const out: Uint8Array[] = [];
  const stride = Math.floor((n - SAMPLE_BYTES) / (SAMPLES - 1));
  for (let i = 0; i < SAMPLES; i++) out.push(frame.subarray(i * stride, i * stride + SAMPLE_BYTES));
  return out;
}

/** Shannon entropy of the bytes, in bits per byte (0..8). */
export function byteEntropy(bytes: Uint8Array): number {
  const counts = new Uint32Array(256);
  for (let i = 0; i < bytes.length; i++) counts[bytes[i]!]!++;
  let h = 0;
  const n = bytes.length;
  for (let i = 0; i < 256; i++) {
    const c = counts[i]!;
    if (c > 0) {
      const p = c / n;
      h -= p * Math.log2(p);
    }
  }
  return h;
}

/** Open-addressing table for repeatedWords, reused between calls (cleared per sample). */
const TABLE_SIZE = 4096; // a power of two above the 1,250 words of a 10 kB sample
const table = new Int32Array(TABLE_SIZE);

/**
 * Share of 8-byte words of `bytes` (aligned to the sample) equal to an earlier one, by a 32-bit
 * hash of each word: a collision can only make us try deflate needlessly, never skip it wrongly.
 */
function repeatedWords(bytes: Uint8Array): number {
  const words = Math.min(bytes.length >> 3, TABLE_SIZE >> 1);
  if (words < 2) return 0;
  table.fill(0);
  let repeats = 0;
  for (let i = 0; i < words; i++) {
    const o = i << 3;
    const lo = bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24);
    const hi = bytes[o + 4]! | (bytes[o + 5]! << 8) | (bytes[o + 6]! << 16) | (bytes[o + 7]! << 24);
    const h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) | 1; // never 0, the empty mark
    let slot = (h >>> 20) & (TABLE_SIZE - 1);
    for (;;) {
      const v = table[slot]!;
      if (v === 0) {
        table[slot] = h;
        break;
      }
      if (v === h) {
        repeats++;
        break;
      }
      slot = (slot + 1) & (TABLE_SIZE - 1);
    }
  }
  return repeats / words;
}

export interface LinkSpeed {
  /** Measured bytes per second of the link, or undefined while unknown. */
  bytesPerSecond: number | undefined;
}

/**
 * fflate's speed on compressible data, bytes per second, for the "does it pay" test: starting from
 * what was measured on this machine (deflate level 1 ~100 MB/s, inflate ~200 MB/s for 64 MiB of
 * `i % 16` float64; docs/ARCHITECTURE.md), then following the frames this process actually
 * compresses and inflates. Timing the samples instead proved too noisy: a cold JIT measured a tenth
 * of the real speed and flipped decisions.
 */
export const compressorSpeed = { deflateBps: fflateDeflate.deflateBps, inflateBps: fflateDeflate.inflateBps };

/** Frames smaller than this do not update the speed estimates (timer resolution, fixed costs). */
const TIMED_MIN_BYTES = 1 << 20;

function learn(kind: "deflateBps" | "inflateBps", bytes: number, ms: number): void {
  if (bytes < TIMED_MIN_BYTES || ms <= 0) return;
  compressorSpeed[kind] = 0.7 * compressorSpeed[kind] + 0.3 * (bytes / (ms / 1000));
}

/**
 * Decides for one frame. `mode` false never compresses; "deflate" compresses whenever the samples
 * shrink enough (whatever the link); "auto" also requires the link to be slow enough that
 * compressing pays: time(deflate) + time(inflate) + time(send compressed) < time(send raw).
 */
export function decide(frame: Uint8Array, mode: CompressionMode, link: LinkSpeed): Decision {
  if (mode === false) return { compress: false, ratio: 1, reason: "off" };
  if (frame.byteLength < COMPRESS_MIN_BYTES) return { compress: false, ratio: 1, reason: "small" };
  if (mode === "auto" && link.bytesPerSecond === undefined) {
    // Unknown link: treat it as fast (loopback and LANs are) until a measurement says otherwise.
    return { compress: false, ratio: 1, reason: "link-fast" };
  }
  if (mode === "auto" && !pays(0, link.bytesPerSecond!)) {
    // Compression could not pay even if the frame shrank to nothing: no need to sample (deflating
    // five samples of `i % 16` costs 0.4-1.7 ms per frame).
    return { compress: false, ratio: 1, reason: "link-fast" };
  }
  const samples = sampleFrame(frame);
  let raw = 0;
  let packed = 0;
  let tried = false;
  for (const s of samples) {
    raw += s.byteLength;
    if (byteEntropy(s) >= INCOMPRESSIBLE_BITS_PER_BYTE && repeatedWords(s) < REPEATS_WORTH_TRYING) {
      packed += s.byteLength;
      continue;
    }
    tried = true;
    packed += impl.deflate(s).byteLength;
  }
  const ratio = packed / raw;
  if (!tried) return { compress: false, ratio: 1, reason: "incompressible" };
  if (ratio > KEEP_RATIO) return { compress: false, ratio, reason: "ratio" };
  if (mode === "deflate") return { compress: true, ratio, reason: "forced" };
  const worth = pays(ratio, link.bytesPerSecond!);
  return { compress: worth, ratio, reason: worth ? "pays" : "link-fast" };
}

/**
 * Whether compressing pays on a link of `bps` bytes per second for data that shrinks to `ratio`:
 * time(deflate) + time(inflate) + time(send compressed) < time(send raw).
 */
function pays(ratio: number, bps: number): boolean {
  return 1 / compressorSpeed.deflateBps + 1 / compressorSpeed.inflateBps + ratio / bps < 1 / bps;
}

/** Deflates a frame; returns it only if it shrank to KEEP_RATIO or less, else null (send it raw). */
export function compressFrame(frame: Uint8Array): Uint8Array | null {
  const started = performance.now();
  const out = impl.deflate(frame);
  learn("deflateBps", frame.byteLength, performance.now() - started);
  return out.byteLength <= KEEP_RATIO * frame.byteLength ? out : null;
}

/** Inflates a frame into a fresh buffer of exactly `rawLength` bytes (no intermediate copy). */
export function decompressFrame(wire: Uint8Array, rawLength: number): Uint8Array {
  // One byte of room beyond the announced length: an inflater that stops silently when full (fflate)
  // shows a frame that inflates to more than announced by filling that extra byte.
  const started = performance.now();
  let result: Uint8Array;
  try {
    result = impl.inflate(wire, rawLength + 1);
  } catch (err) {
    throw new ProtocolError(`a compressed frame does not inflate: ${(err as Error).message}`);
  }
  if (result.byteLength !== rawLength) {
    throw new ProtocolError(
      `a compressed frame inflated to ${result.byteLength > rawLength ? "more than" : ""} ${result.byteLength} bytes, expected ${rawLength}`,
    );
  }
  learn("inflateBps", rawLength, performance.now() - started);
  return result;
}
