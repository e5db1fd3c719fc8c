// Storage for large incoming frames, made ready before the frame arrives. A fresh buffer of tens of
// megabytes costs the receiver twice while the sender waits on it: V8 collects garbage when the
// allocation pushes external memory past its limit (2-5 ms in a worker for a 64 MiB frame), and the
// kernel zeroes each page as the socket first writes it (with transparent huge pages, now and then
// a compaction stall of 100-300 ms). Frames of one size recur (the blocks of a chunked array), so
// once a size has been received twice this thread prepares a buffer of that size for the next one:
// allocated (the collection happens then) and its pages touched a few ms per turn, never while a
// frame is being read in place (that competed with the frame and undid the gain). Measured in
// docs/BENCHMARKS.md (the 2026-12-05 transfer section): 64 MiB worker to worker in ~23 ms instead
// of ~32, in the same run.
//
// What it costs: a prepared buffer is resident memory nobody uses until the next frame of its size
// comes. So at most MAX_SPARE_BYTES wait per member, a worker with a memory limit lends only what
// its results leave below the spilling threshold (its budget), and everything prepared is
// dropped when no frame has taken it for IDLE_MS. A spare holds only zeros and nobody has seen it:
// taking one is the same as allocating.

import { type BackgroundTimers, platformTimers } from "./timers.js";

/** Frames smaller than this get a new buffer: the allocation is cheap and a spare not worth its memory. */
export const SPARE_MIN_BYTES = 8 * 1024 * 1024;
/** At most this much prepared storage waits in one thread (a 256 MiB frame needs one of 256 MiB). */
export const MAX_SPARE_BYTES = 512 * 1024 * 1024;
/** A size is prepared for once it has been received again within this long. */
const RECUR_MS = 60_000;
/** Sizes remembered, to tell a recurring one. */
const MAX_SIZES = 32;
/** Replacements asked for and not yet started; more are not queued (a burst of frames asks for one each). */
const MAX_WANTED = 64;
/** Prepared storage that no frame took for this long is dropped. */
const IDLE_MS = 10_000;
/**
 * Preparation touches pages for at most about this long per turn, then lets the thread's I/O and
 * tasks run (a worker runs tasks in slices of 10 ms, so this blocks no longer than a task may).
 * Touching 64 MiB takes ~6-10 ms here with transparent huge pages, ~30 ms without.
 */
const PREPARE_SLICE_MS = 4;
/** Pages touched between looks at the clock. */
const TOUCH_STEP_BYTES = 1024 * 1024;
/** The smallest page size: touching one byte per page faults every page in. */
const PAGE_BYTES = 4096;

// Each cluster member (a Worker, a Scheduler, a Client) has a ReceiveBuffers of its own, made from
// its Runtime (src/runtime.ts) and handed to its links through TransportOptions.receiveBuffers: one
// worker's budget and close() touch only its own spares. The functions at the end of this file act
// on the realm's default instance, which links that no member owns (tests, tools) use.

export interface ReceiveBuffersOptions {
  /** Prepare buffers ahead for recurring sizes (default true); off: every frame gets a new buffer. */
  ahead?: boolean | undefined;
  /** How many more bytes may wait in prepared buffers, asked before each is made (default: no bound beyond MAX_SPARE_BYTES). */
  budget?: (() => number) | undefined;
  timers?: BackgroundTimers | undefined;
}

interface Spare {
  readonly bytes: Uint8Array;
  /** Bytes touched so far (from the start). */
  touched: number;
}

/** One member's storage for large incoming frames, and its preparation ahead. */
export class ReceiveBuffers {
  /** Prepared (or being prepared) buffers by size, oldest first. */
  private readonly spares = new Map<number, Spare[]>();
  private spareBytes = 0;
  /** Sizes to prepare, in the order they were asked for. */
  private readonly wanted: number[] = [];
  /** When each size was last received (recurrence). */
  private readonly seen = new Map<number, number>();
  private budget: () => number;
  private enabled: boolean;
  /** Frames being read into their buffers now (beginReceive without endReceive yet). */
  private receiving = 0;
  private cancelPreparing: (() => void) | undefined;
  private cancelIdle: (() => void) | undefined;
  private readonly timers: BackgroundTimers;
  private readonly counts = { taken: 0, fromSpare: 0, prepared: 0, dropped: 0 };

  constructor(options: ReceiveBuffersOptions = {}) {
    this.enabled = options.ahead ?? true;
    this.budget = options.budget ?? (() => Infinity);
    this.timers = options.timers ?? platformTimers;
  }

  /**
   * A zeroed buffer of `bytes` bytes for an incoming frame that the caller fills at once: a prepared
   * one when one of that size is waiting, else a new one. A size received again within RECUR_MS gets
   * a replacement prepared.
   */
  take(bytes: number): Uint8Array {
    if (bytes < SPARE_MIN_BYTES) return new Uint8Array(bytes);
    this.counts.taken++;
    const now = Date.now();
    const last = this.seen.get(bytes);
    this.seen.delete(bytes);
    this.seen.set(bytes, now); // most recent last
    if (this.seen.size > MAX_SIZES) this.seen.delete(this.seen.keys().next().value!);
    const spare = this.takeSpare(bytes);
    if (this.enabled && last !== undefined && now - last <= RECUR_MS && this.wanted.length < MAX_WANTED)
      this.wanted.push(bytes);
    this.schedule();
    this.armIdleTimer();
    if (spare) this.counts.fromSpare++;
    return spare ?? new Uint8Array(bytes);
  }

  /**
   * take() for a frame that arrives over time (a socket reads into it): no preparation runs
   * until end(), since allocating and touching pages then would compete with the frame itself
   * for this thread (measured: it took the gain away).
   */
  begin(bytes: number): Uint8Array {
    if (bytes >= SPARE_MIN_BYTES) this.receiving++;
    return this.take(bytes);
  }

  /** The frame begun with begin(bytes) is complete, or abandoned. */
  end(bytes: number): void {
    if (bytes < SPARE_MIN_BYTES || this.receiving === 0) return;
    this.receiving--;
    this.schedule();
  }

  /** Whether buffers are prepared ahead. */
  get aheadEnabled(): boolean {
    return this.enabled;
  }

  /** Turns preparing buffers ahead on or off (off: every frame gets a new buffer). */
  setAhead(on: boolean): void {
    this.enabled = on;
    if (!on) this.dropSpares();
  }

  /** How many more bytes may wait in prepared buffers, asked before each is made. */
  setBudget(fn: () => number): void {
    this.budget = fn;
  }

  /**
   * Counters for tests and diagnostics: frames served, from a spare, spares prepared and dropped;
   * bytes waiting in spares, and how many of them are not touched yet.
   */
  stats(): {
    taken: number;
    fromSpare: number;
    prepared: number;
    dropped: number;
    spareBytes: number;
    untouchedBytes: number;
  } {
    let untouchedBytes = 0;
    for (const list of this.spares.values())
      for (const spare of list) untouchedBytes += spare.bytes.byteLength - spare.touched;
    return { ...this.counts, spareBytes: this.spareBytes, untouchedBytes };
  }

  /** Drops every spare and forgets the sizes seen (tests; the member closing). */
  clear(): void {
    this.dropSpares();
    this.seen.clear();
    this.receiving = 0;
    this.cancelPreparing?.();
    this.cancelPreparing = undefined;
    this.cancelIdle?.();
    this.cancelIdle = undefined;
  }

  /** The oldest spare of exactly `bytes` bytes, taken out before anything else can touch it. */
  private takeSpare(bytes: number): Uint8Array | undefined {
    const list = this.spares.get(bytes);
    const spare = list?.shift();
    if (!spare) return undefined;
    if (list!.length === 0) this.spares.delete(bytes);
    this.spareBytes -= bytes;
    return spare.bytes;
  }

  private schedule(): void {
    if (this.cancelPreparing !== undefined || this.receiving > 0 || this.wanted.length + this.spareBytes === 0) return;
    this.cancelPreparing = this.timers.background(() => this.prepareStep(), 0);
  }

  /** One turn of preparation: touch a slice of an unfinished spare, or start the next wanted one. */
  private prepareStep(): void {
    this.cancelPreparing = undefined;
    if (this.receiving > 0) return; // end() schedules again
    if (this.spareBytes > Math.min(MAX_SPARE_BYTES, this.budget())) return this.dropSpares(); // the worker's results need the room now
    for (const list of this.spares.values()) {
      for (const spare of list) {
        if (spare.touched >= spare.bytes.byteLength) continue;
        const started = performance.now();
        const size = spare.bytes.byteLength;
        while (spare.touched < size && performance.now() - started < PREPARE_SLICE_MS) {
          const end = Math.min(size, spare.touched + TOUCH_STEP_BYTES);
          // Writing a zero where the kernel put one changes nothing but faults the page in.
          for (let i = spare.touched; i < end; i += PAGE_BYTES) spare.bytes[i] = 0;
          spare.touched = end;
        }
        return this.schedule();
      }
    }
    const bytes = this.wanted.shift();
    if (bytes === undefined) return;
    if (this.spareBytes + bytes <= Math.min(MAX_SPARE_BYTES, this.budget())) {
      const list = this.spares.get(bytes) ?? [];
      list.push({ bytes: new Uint8Array(bytes), touched: 0 });
      this.spares.set(bytes, list);
      this.spareBytes += bytes;
      this.counts.prepared++;
    }
    this.schedule();
  }

  /** Lets every spare go (the garbage collector frees it), and what was wanted with them. */
  private dropSpares(): void {
    for (const list of this.spares.values()) this.counts.dropped += list.length;
    this.spares.clear();
    this.spareBytes = 0;
    this.wanted.length = 0;
  }

  private armIdleTimer(): void {
    this.cancelIdle?.();
    this.cancelIdle = this.timers.background(() => {
      this.cancelIdle = undefined;
      this.dropSpares();
    }, IDLE_MS);
  }
}

/** The realm's default instance: what links get when their owner passes none (tests, tools, PacketReader alone). */
export const realmReceiveBuffers = new ReceiveBuffers();

/** realmReceiveBuffers.take. */
export function receiveBuffer(bytes: number): Uint8Array {
  return realmReceiveBuffers.take(bytes);
}

/** realmReceiveBuffers.begin. */
export function beginReceive(bytes: number): Uint8Array {
  return realmReceiveBuffers.begin(bytes);
}

/** realmReceiveBuffers.end. */
export function endReceive(bytes: number): void {
  realmReceiveBuffers.end(bytes);
}

/** Turns preparing ahead on or off for the realm's default instance (members take theirs from their Runtime). */
export function setReceiveAhead(on: boolean): void {
  realmReceiveBuffers.setAhead(on);
}

/** The realm's default instance's budget (a Worker sets its own instance's, not this). */
export function setSpareBudget(fn: () => number): void {
  realmReceiveBuffers.setBudget(fn);
}

/** realmReceiveBuffers.stats. */
export function receiveBufferStats(): ReturnType<ReceiveBuffers["stats"]> {
  return realmReceiveBuffers.stats();
}

/** Drops the realm's default instance's spares and forgets its sizes (tests). */
export function clearReceiveBuffers(): void {
  realmReceiveBuffers.clear();
}
