// A buffer a thread reuses for bytes it needs only briefly: a compressed chunk between its read
// and its decoding. Reading each 22 MB chunk of a Zarr store into fresh memory cost a worker
// ~3 ms of zeroing and page faults per chunk, and garbage collections besides (V8 collects when
// fresh external memory passes its limit); reusing one buffer costs neither.
//
// Ownership: a lease hands its buffer out once (`take`); whoever takes it must be done with the
// bytes before `release`. A second `take` in the same lease, or a lease while another is out (two
// reads at once in one thread), gets fresh memory instead, so nothing handed out is ever written
// again while someone holds it. The buffer grows to the largest size taken, up to
// MAX_SCRATCH_BYTES, and is dropped when no lease has used it for IDLE_MS.

import { unrefTimer } from "./timers.js";

/** Larger requests get memory of their own: a buffer kept this large would hold too much for long. */
export const MAX_SCRATCH_BYTES = 256 * 1024 * 1024;
/** Below this, fresh memory is cheap and keeping it not worth it. */
const MIN_SCRATCH_BYTES = 1024 * 1024;
/** The buffer is dropped when unused for this long, so a quiet thread gives its memory back. */
const IDLE_MS = 2000;

let kept: ArrayBuffer | null = null;
let out = false;
let idleTimer: ReturnType<typeof setTimeout> | undefined;
const stats = { leases: 0, reused: 0, fresh: 0 };

export interface ScratchLease {
  /**
   * `size` bytes to write into: the thread's scratch buffer the first time (when free and
   * allowed), fresh memory otherwise. Valid until `release`.
   */
  take(size: number): Uint8Array;
  /** Whether `bytes` (or any view) lies in the scratch buffer this lease took. */
  holds(bytes: ArrayBufferView): boolean;
  /** Done with what `take` gave: the scratch buffer may be handed out again. */
  release(): void;
}

/** A lease on this thread's scratch buffer (see the module's note for the rules). */
export function leaseScratch(): ScratchLease {
  stats.leases++;
  let mine: ArrayBuffer | null = null;
  let taken = false;
  let released = false;
  return {
    take(size) {
      if (taken || out || released || size < MIN_SCRATCH_BYTES || size > MAX_SCRATCH_BYTES) {
        stats.fresh++;
        return new Uint8Array(size);
      }
      taken = true;
      out = true;
      if (!kept || kept.byteLength < size) kept = new ArrayBuffer(size);
      else stats.reused++;
      mine = kept;
      clearTimeout(idleTimer);
      return new Uint8Array(kept, 0, size);
    },
    holds(bytes) {
      return mine !== null && bytes.buffer === mine;
    },
    release() {
      if (released) return;
      released = true;
      if (!mine) return;
      out = false;
      mine = null;
      armIdleTimer();
    },
  };
}

/** Counters for tests and diagnostics. */
export function scratchStats(): { leases: number; reused: number; fresh: number; keptBytes: number } {
  return { ...stats, keptBytes: kept?.byteLength ?? 0 };
}

function armIdleTimer(): void {
  clearTimeout(idleTimer);
  idleTimer = unrefTimer(
    setTimeout(() => {
      idleTimer = undefined;
      if (!out) kept = null;
    }, IDLE_MS),
  );
}
