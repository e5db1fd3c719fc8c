// The WebAssembly side of Blosc decoding (blosc-wasm.c: LZ4 and the byte unshuffle with SIMD),
// driven one Blosc block at a time: the block's compressed streams are copied into the module's
// memory (or the whole chunk was read straight into it), decoded and unshuffled there, and the
// block copied out into the chunk's storage, or added there to running sums (zarr-reduce.ts). A
// block fits in the caches, so the copies cost little beside the decoding, and the module's
// memory stays small (three blocks, the sums, and a chunk's compressed bytes when read into it).
// Where WebAssembly or its SIMD is missing, or compiling is refused (a page whose
// Content-Security-Policy lacks 'wasm-unsafe-eval'), there is no module and blosc.ts decodes in
// JavaScript.

import { FormatError } from "../../errors.js";
import { log } from "../../log.js";
import { BLOSC_WASM_BASE64 } from "./blosc-wasm-binary.js";
import { unrefTimer } from "../../util/timers.js";

interface Exports {
  memory: WebAssembly.Memory;
  lz4_decode(src: number, srclen: number, dst: number, expected: number): number;
  unshuffle(src: number, dst: number, bsize: number, typesize: number): void;
  add_f32(acc: number, src: number, n: number): void;
  add_f64(acc: number, src: number, n: number): void;
  add_nan_f32(acc: number, nan: number, src: number, n: number): number;
  add_nan_f64(acc: number, nan: number, src: number, n: number): number;
  combine_f32(op: number, x: number, y: number, n: number): void;
  combine_f64(op: number, x: number, y: number, n: number): void;
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
/**
 * Running sums (and their counts) the kept instance holds at most: a row of 1M float64, or of
 * ~700k with int32 counts (xarray's 500 × 500 grid is 250k; a chunk of 32 days spans two months,
 * so a grouped mean keeps two rows of sums and counts, 6 MB).
 */
const KEEP_ACCUMULATOR_BYTES = 8 * 1024 * 1024;
/** A compressed chunk the kept instance takes into its memory at most (xarray's 32 MB chunks are ~22 MB). */
const KEEP_INPUT_BYTES = 64 * 1024 * 1024;
/** The kept instance is dropped when not used for this long, so a quiet thread gives its memory back. */
const IDLE_MS = 2000;
const PAGE = 65536;

let compiled: WebAssembly.Module | null | undefined;
let kept: WasmBlocks | null = null;
/** Whether the kept instance is lent out now (a second user in the thread gets one of its own). */
let keptLent = false;
let idleTimer: ReturnType<typeof setTimeout> | undefined;

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

/**
 * An instance of the module for this thread's use until `release`: the kept one (memory for
 * blocks up to KEEP_BLOCK_BYTES and an accumulator) when it is free, else one of its own (when
 * the kept one is lent, or for bigger blocks), dropped after. Null without WebAssembly.
 */
export function leaseWasmBlocks(blocksize: number, accumulatorBytes = 0): WasmBlocks | null {
  const module = bloscWasmModule();
  if (!module) return null;
  if (blocksize > KEEP_BLOCK_BYTES || accumulatorBytes > KEEP_ACCUMULATOR_BYTES || keptLent)
    return new WasmBlocks(module, null);
  kept ??= new WasmBlocks(module, giveBackKept);
  keptLent = true;
  clearTimeout(idleTimer);
  return kept;
}

/**
 * One instance of the module and where its buffers are: ACC (running sums) and INPUT (a chunk's
 * compressed bytes read straight into memory) first, so they stay put while the block buffers
 * after them move; IN (a block's compressed streams), TMP (its streams decoded), OUT (unshuffled).
 */
export class WasmBlocks {
  private readonly x: Exports;
  private mem: Uint8Array;
  private readonly base: number;
  private capacity = 0;
  private accBytes = 0;
  private inputBytes = 0;
  /** How many sums the accumulator holds (its counts follow them). */
  private sums = 0;
  private ACC = 0;
  private INPUT = 0;
  private IN = 0;
  private TMP = 0;
  private OUT = 0;

  /** `onRelease`: what releasing does for the kept instance; null for one dropped after use. */
  constructor(
    module: WebAssembly.Module,
    private readonly onRelease: (() => void) | null,
  ) {
    this.x = new WebAssembly.Instance(module, {}).exports as unknown as Exports;
    this.mem = new Uint8Array(this.x.memory.buffer);
    this.base = align(this.x.__heap_base.value as number);
  }

  /** Gives the instance back (the kept one to the thread; another to the collector). */
  release(): void {
    this.onRelease?.();
  }

  /**
   * Makes room for blocks of `blocksize` bytes, after an accumulator of `accumulatorBytes` and an
   * input of `inputBytes` (a whole compressed chunk read straight into this memory), whose
   * contents stay where they are as long as the accumulator's size does not change. Growing
   * detaches views of the memory taken before. False when the kept instance would have to grow
   * past what it keeps (its memory never shrinks).
   */
  reserve(blocksize: number, accumulatorBytes = 0, inputBytes = 0): boolean {
    if (
      this.onRelease &&
      (blocksize > KEEP_BLOCK_BYTES || accumulatorBytes > KEEP_ACCUMULATOR_BYTES || inputBytes > KEEP_INPUT_BYTES)
    )
      return false;
    if (blocksize <= this.capacity && accumulatorBytes === this.accBytes && inputBytes <= this.inputBytes) return true;
    const cap = Math.max(blocksize, this.capacity);
    const input = accumulatorBytes === this.accBytes ? Math.max(inputBytes, this.inputBytes) : inputBytes;
    this.ACC = this.base;
    this.INPUT = align(this.ACC + accumulatorBytes);
    this.IN = align(this.INPUT + input + INPUT_SLACK);
    this.TMP = align(this.IN + cap + STREAM_WORDS + INPUT_SLACK);
    this.OUT = align(this.TMP + cap + 64);
    const need = this.OUT + cap + 64;
    const have = this.x.memory.buffer.byteLength;
    if (need > have) this.x.memory.grow(Math.ceil((need - have) / PAGE));
    this.mem = new Uint8Array(this.x.memory.buffer); // growing detached the old view
    this.capacity = cap;
    this.accBytes = accumulatorBytes;
    this.inputBytes = input;
    return true;
  }

  /**
   * Room for a compressed chunk of `size` bytes in this memory, to read it straight there (no copy
   * into the module per block), or null when the kept instance would grow past what it keeps.
   */
  input(size: number): Uint8Array | null {
    if (!this.reserve(this.capacity, this.accBytes, size)) return null;
    return this.mem.subarray(this.INPUT, this.INPUT + size);
  }

  /** Whether `bytes` lie in this instance's memory (input() gave them, and it has not grown since). */
  holds(bytes: Uint8Array): boolean {
    return bytes.buffer === this.x.memory.buffer;
  }

  /**
   * Decodes one Blosc block whose streams (each a 4-byte size and its bytes, already checked to
   * lie inside `src`) are `src[start, end)`: `splits` streams of `neblock` bytes making `bsize`
   * bytes, unshuffled for elements of `typesize` bytes when `shuffled`. Returns where in the
   * module's memory the block now is (until the next call).
   */
  decodeBlock(
    src: Uint8Array,
    start: number,
    end: number,
    splits: number,
    neblock: number,
    bsize: number,
    typesize: number,
    shuffled: boolean,
    block: number,
  ): number {
    const { mem, IN, TMP, OUT, x } = this;
    let ip = IN;
    if (src.buffer === x.memory.buffer)
      ip = src.byteOffset + start; // read straight into the input region
    else mem.set(src.subarray(start, end), IN);
    let dp = shuffled ? TMP : OUT;
    for (let k = 0; k < splits; k++) {
      const csize = mem[ip]! | (mem[ip + 1]! << 8) | (mem[ip + 2]! << 16) | (mem[ip + 3]! << 24);
      ip += 4;
      if (csize === neblock) mem.copyWithin(dp, ip, ip + csize);
      else if (x.lz4_decode(ip, csize, dp, neblock) !== neblock)
        throw new FormatError(`Blosc block ${block} decoded to the wrong size: the chunk is corrupt`);
      ip += csize;
      dp += neblock;
    }
    if (shuffled) x.unshuffle(TMP, OUT, bsize, typesize);
    return OUT;
  }

  /** Copies up to a block's worth of plain bytes into the module's memory; returns where. */
  place(bytes: Uint8Array): number {
    this.mem.set(bytes, this.OUT);
    return this.OUT;
  }

  /** The module's memory from `at`, `n` bytes long (valid until the next call). */
  bytes(at: number, n: number): Uint8Array {
    return this.mem.subarray(at, at + n);
  }

  /**
   * Sets the accumulator to `n` float64 sums of 0, followed by `n` int32 counts of NaN, 0, when
   * `counted` (the accumulator reserved must hold them: accumulatorBytes(n, counted)).
   */
  clearAccumulator(n: number, counted = false): void {
    this.sums = n;
    this.mem.fill(0, this.ACC, this.ACC + accumulatorBytes(n, counted));
  }

  /**
   * Adds `n` values of `itemsize` bytes (float32 or float64) at `at` to the sums from `index` on;
   * `skipNaN`: NaN left out and counted instead (the accumulator was cleared as counted). Returns
   * how many NaN were left out.
   */
  accumulate(at: number, index: number, n: number, itemsize: 4 | 8, skipNaN = false): number {
    const acc = this.ACC + 8 * index;
    if (skipNaN) {
      const nan = this.ACC + 8 * this.sums + 4 * index;
      return itemsize === 4 ? this.x.add_nan_f32(acc, nan, at, n) : this.x.add_nan_f64(acc, nan, at, n);
    }
    if (itemsize === 4) this.x.add_f32(acc, at, n);
    else this.x.add_f64(acc, at, n);
    return 0;
  }

  /** Copies the accumulator's sums into `out` (its first out.length). */
  readAccumulator(out: Float64Array): void {
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(
      this.mem.subarray(this.ACC, this.ACC + out.byteLength),
    );
  }

  /** Copies `bytes` into the accumulator region at byte `offset`: the rows combine() takes its second operands from. */
  fillAccumulator(bytes: Uint8Array, offset = 0): void {
    this.mem.set(bytes, this.ACC + offset);
  }

  /**
   * x = x op y for `n` values of `itemsize` bytes at `at` (a decoded piece of a row), y the
   * accumulator region's values from `index` on (fillAccumulator's): IEEE float32 or float64
   * arithmetic, in place.
   */
  combine(at: number, index: number, n: number, itemsize: 4 | 8, op: CombineOp): void {
    const code = COMBINE_OPS[op];
    if (itemsize === 4) this.x.combine_f32(code, at, this.ACC + 4 * index, n);
    else this.x.combine_f64(code, at, this.ACC + 8 * index, n);
  }

  /** The counts of NaN after the sums (a view of the module's memory, valid until the next call). */
  nanCounts(): Int32Array {
    return new Int32Array(this.x.memory.buffer, this.ACC + 8 * this.sums, this.sums);
  }
}

/** What combine() does, numbered as blosc-wasm.c's OP_ADD … OP_DIV. */
const COMBINE_OPS = { add: 0, sub: 1, mul: 2, div: 3 } as const;
export type CombineOp = keyof typeof COMBINE_OPS;

/** The accumulator's bytes for `n` float64 sums, and their int32 counts when `counted`. */
export function accumulatorBytes(n: number, counted: boolean): number {
  return n * (counted ? 12 : 8);
}

function giveBackKept(): void {
  keptLent = false;
  clearTimeout(idleTimer);
  idleTimer = unrefTimer(
    setTimeout(() => {
      if (!keptLent) kept = null;
    }, IDLE_MS),
  );
}

function align(n: number): number {
  return (n + 63) & ~63;
}
