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
// comes. So at most MAX_SPARE_BYTES wait per thread, a worker with a memory limit lends only what
// its results leave below the spilling threshold (setSpareBudget), and everything prepared is
// dropped when no frame has taken it for IDLE_MS. A spare holds only zeros and nobody has seen it:
// taking one is the same as allocating.

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

interface Spare {
  readonly bytes: Uint8Array;
  /** Bytes touched so far (from the start). */
  touched: number;
}

/** Prepared (or being prepared) buffers by size, oldest first. */
const spares = new Map<number, Spare[]>();
let spareBytes = 0;
/** Sizes to prepare, in the order they were asked for. */
const wanted: number[] = [];
/** When each size was last received (recurrence). */
const seen = new Map<number, number>();
let budget: () => number = () => Infinity;
let enabled = true;
/** Frames being read into their buffers now (beginReceive without endReceive yet). */
let receiving = 0;
let preparing: ReturnType<typeof setTimeout> | undefined;
let idleTimer: ReturnType<typeof setTimeout> | undefined;
const stats = { taken: 0, fromSpare: 0, prepared: 0, dropped: 0 };

/**
 * A zeroed buffer of `bytes` bytes for an incoming frame that the caller fills at once: a prepared
 * one when one of that size is waiting, else a new one. A size received again within RECUR_MS gets
 * a replacement prepared.
 */
export function receiveBuffer(bytes: number): Uint8Array {
  if (bytes < SPARE_MIN_BYTES) return new Uint8Array(bytes);
  stats.taken++;
  const now = Date.now();
  const last = seen.get(bytes);
  seen.delete(bytes);
  seen.set(bytes, now); // most recent last
  if (seen.size > MAX_SIZES) seen.delete(seen.keys().next().value!);
  const spare = takeSpare(bytes);
  if (enabled && last !== undefined && now - last <= RECUR_MS && wanted.length < MAX_WANTED) wanted.push(bytes);
  schedule();
  armIdleTimer();
  if (spare) stats.fromSpare++;
  return spare ?? new Uint8Array(bytes);
}

/**
 * receiveBuffer for a frame that arrives over time (a socket reads into it): no preparation runs
 * until endReceive, since allocating and touching pages then would compete with the frame itself
 * for this thread (measured: it took the gain away).
 */
export function beginReceive(bytes: number): Uint8Array {
  if (bytes >= SPARE_MIN_BYTES) receiving++;
  return receiveBuffer(bytes);
}

/** The frame begun with beginReceive(bytes) is complete, or abandoned. */
export function endReceive(bytes: number): void {
  if (bytes < SPARE_MIN_BYTES || receiving === 0) return;
  receiving--;
  schedule();
}

/** Turns preparing buffers ahead on or off for this thread (off: every frame gets a new buffer). */
export function setReceiveAhead(on: boolean): void {
  enabled = on;
  if (!on) dropSpares();
}

/**
 * How many more bytes this thread may hold in prepared buffers, asked before each is made. A worker
 * with a memory limit passes what its results leave below the spilling threshold; default: no bound
 * beyond MAX_SPARE_BYTES.
 */
export function setSpareBudget(fn: () => number): void {
  budget = fn;
}

/**
 * Counters for tests and diagnostics: frames served, from a spare, spares prepared and dropped;
 * bytes waiting in spares, and how many of them are not touched yet.
 */
export function receiveBufferStats(): {
  taken: number;
  fromSpare: number;
  prepared: number;
  dropped: number;
  spareBytes: number;
  untouchedBytes: number;
} {
  let untouchedBytes = 0;
  for (const list of spares.values())
    for (const spare of list) untouchedBytes += spare.bytes.byteLength - spare.touched;
  return { ...stats, spareBytes, untouchedBytes };
}

/** Drops every spare and forgets the sizes seen (tests; a worker closing). */
export function clearReceiveBuffers(): void {
  dropSpares();
  seen.clear();
  receiving = 0;
  clearTimeout(preparing);
  preparing = undefined;
  clearTimeout(idleTimer);
  idleTimer = undefined;
}

/** The oldest spare of exactly `bytes` bytes, taken out before anything else can touch it. */
function takeSpare(bytes: number): Uint8Array | undefined {
  const list = spares.get(bytes);
  const spare = list?.shift();
  if (!spare) return undefined;
  if (list!.length === 0) spares.delete(bytes);
  spareBytes -= bytes;
  return spare.bytes;
}

function schedule(): void {
  if (preparing !== undefined || receiving > 0 || wanted.length + spareBytes === 0) return;
  preparing = setTimeout(prepareStep, 0);
  (preparing as { unref?: () => void }).unref?.();
}

/** One turn of preparation: touch a slice of an unfinished spare, or start the next wanted one. */
function prepareStep(): void {
  preparing = undefined;
  if (receiving > 0) return; // endReceive schedules again
  if (spareBytes > Math.min(MAX_SPARE_BYTES, budget())) return dropSpares(); // the worker's results need the room now
  for (const list of spares.values()) {
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
      return schedule();
    }
  }
  const bytes = wanted.shift();
  if (bytes === undefined) return;
  if (spareBytes + bytes <= Math.min(MAX_SPARE_BYTES, budget())) {
    const list = spares.get(bytes) ?? [];
    list.push({ bytes: new Uint8Array(bytes), touched: 0 });
    spares.set(bytes, list);
    spareBytes += bytes;
    stats.prepared++;
  }
  schedule();
}

/** Lets every spare go (the garbage collector frees it), and what was wanted with them. */
function dropSpares(): void {
  for (const list of spares.values()) stats.dropped += list.length;
  spares.clear();
  spareBytes = 0;
  wanted.length = 0;
}

function armIdleTimer(): void {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    idleTimer = undefined;
    dropSpares();
  }, IDLE_MS);
  (idleTimer as { unref?: () => void }).unref?.();
}
