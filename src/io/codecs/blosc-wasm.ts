// The WebAssembly side of Blosc decoding (blosc-wasm.c: LZ4 and the byte unshuffle with SIMD),
// driven one Blosc block at a time: the block's compressed streams are copied into the module's
// memory, decoded and unshuffled there, and the block copied out into the chunk's storage. A
// block fits in the caches, so the two copies cost little beside the decoding, and the module's
// memory stays small (three blocks). Where WebAssembly or its SIMD is missing, or compiling is
// refused (a page whose Content-Security-Policy lacks 'wasm-unsafe-eval'), there is no module
// and blosc.ts decodes in JavaScript.

import { FormatError } from "../../errors.js";
import { log } from "../../log.js";
import { BLOSC_WASM_BASE64 } from "./blosc-wasm-binary.js";

interface Exports {
  memory: WebAssembly.Memory;
  lz4_decode(src: number, srclen: number, dst: number, expected: number): number;
  unshuffle(src: number, dst: number, bsize: number, typesize: number): void;
  __heap_base: WebAssembly.Global;
}

/** blosc-wasm.c reads up to this many bytes past an input's end (its literal copies). */
const INPUT_SLACK = 16;
/** Room for the size words of a block's streams (at most 16 streams of 4 bytes) and alignment. */
const STREAM_WORDS = 16 * 4 + 64;
/**
 * The instance a thread keeps has memory for blocks up to this size (its memory is then ~6 MiB
 * and never shrinks: WebAssembly memory only grows). C-Blosc's blocks are 32 KiB-2 MiB for every
 * codec and level; a chunk with bigger blocks gets an instance of its own, dropped after it.
 */
const KEEP_BLOCK_BYTES = 2 * 1024 * 1024;
const PAGE = 65536;

let compiled: WebAssembly.Module | null | undefined;
let kept: WasmBlocks | null = null;

/** The compiled module, or null where WebAssembly cannot run it (compiled once per thread). */
export function bloscWasmModule(): WebAssembly.Module | null {
  if (compiled === undefined) compiled = compileBloscWasm(globalThis.WebAssembly);
  return compiled;
}

/** Compiles the module with `wa` (a platform's WebAssembly namespace, or none): null where it cannot. */
export function compileBloscWasm(wa: typeof WebAssembly | undefined): WebAssembly.Module | null {
  if (wa === undefined || typeof wa.Module !== "function") return null;
  const bin = atob(BLOSC_WASM_BASE64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  try {
    // Validating first: an engine without SIMD says no here rather than throwing.
    if (!wa.validate(bytes)) {
      log().debug("Blosc: this engine cannot run our WebAssembly (no SIMD?); decoding in JavaScript");
      return null;
    }
    return new wa.Module(bytes);
  } catch (err) {
    // CompileError from a Content-Security-Policy without 'wasm-unsafe-eval', or an engine that
    // refuses synchronous compiling: JavaScript decodes instead.
    log().debug(`Blosc: WebAssembly refused (${(err as Error).message}); decoding in JavaScript`);
    return null;
  }
}

/** An instance with room for blocks of `blocksize` bytes, or null without WebAssembly. */
export function wasmBlocks(blocksize: number): WasmBlocks | null {
  const module = bloscWasmModule();
  if (!module) return null;
  if (blocksize > KEEP_BLOCK_BYTES) return new WasmBlocks(module, blocksize);
  kept ??= new WasmBlocks(module, 0);
  kept.reserve(blocksize);
  return kept;
}

/** One instance of the module and where its buffers are: IN (compressed), TMP (streams), OUT (unshuffled). */
export class WasmBlocks {
  private readonly x: Exports;
  private mem: Uint8Array;
  private capacity = 0;
  private IN = 0;
  private TMP = 0;
  private OUT = 0;

  constructor(module: WebAssembly.Module, capacity: number) {
    this.x = new WebAssembly.Instance(module, {}).exports as unknown as Exports;
    this.mem = new Uint8Array(this.x.memory.buffer);
    this.reserve(capacity);
  }

  /** Makes room for blocks of `blocksize` bytes. */
  reserve(blocksize: number): void {
    if (blocksize <= this.capacity) return;
    const align = (n: number) => (n + 63) & ~63;
    const base = align(this.x.__heap_base.value as number);
    this.IN = base;
    this.TMP = align(this.IN + blocksize + STREAM_WORDS + INPUT_SLACK);
    this.OUT = align(this.TMP + blocksize + 64);
    const need = this.OUT + blocksize + 64;
    const have = this.x.memory.buffer.byteLength;
    if (need > have) this.x.memory.grow(Math.ceil((need - have) / PAGE));
    this.mem = new Uint8Array(this.x.memory.buffer); // growing detached the old view
    this.capacity = blocksize;
  }

  /**
   * Decodes one Blosc block whose streams (each a 4-byte size and its bytes, already checked to
   * lie inside `src`) are `src[start, end)`, into `out` at `at`: `splits` streams of `neblock`
   * bytes making `bsize` bytes, unshuffled for elements of `typesize` bytes when `shuffled`.
   */
  decodeBlock(src: Uint8Array, start: number, end: number, splits: number, neblock: number, bsize: number, typesize: number, shuffled: boolean, out: Uint8Array, at: number, block: number): void {
    const { mem, IN, TMP, OUT, x } = this;
    mem.set(src.subarray(start, end), IN);
    let ip = IN;
    let dp = shuffled ? TMP : OUT;
    for (let k = 0; k < splits; k++) {
      const csize = mem[ip]! | (mem[ip + 1]! << 8) | (mem[ip + 2]! << 16) | (mem[ip + 3]! << 24);
      ip += 4;
      if (csize === neblock) mem.copyWithin(dp, ip, ip + csize);
      else if (x.lz4_decode(ip, csize, dp, neblock) !== neblock) throw new FormatError(`Blosc block ${block} decoded to the wrong size: the chunk is corrupt`);
      ip += csize;
      dp += neblock;
    }
    if (shuffled) x.unshuffle(TMP, OUT, bsize, typesize);
    out.set(mem.subarray(OUT, OUT + bsize), at);
  }
}
