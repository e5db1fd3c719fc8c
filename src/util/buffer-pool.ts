// Recycled storage for large blocks. A fresh ArrayBuffer of tens of megabytes pays for its page
// faults when it is first written: 13 ms for 32 MB on the machines we measured, as long as filling
// it with random numbers takes (NumPy escapes most of that with transparent huge pages, which
// JavaScript cannot ask for). A worker drops a block as soon as nothing needs it any more, and the
// next block of the same size takes its storage over, already mapped.
//
// Only storage that provably nobody else can see comes back:
// - it was allocated in this thread through takeBuffer (data that arrived, was scattered or came
//   from a user is never taken);
// - no value the worker still holds references it: the worker counts, per buffer, the stored
//   values that reach it (a block and views of it are several values over one buffer);
// - it never went anywhere it could be kept: into or out of a user's function, or out of this
//   thread (served to a peer or a client, or sent with a result). Such a buffer is marked exposed
//   and left to the garbage collector.
// The pool is per thread, holds at most MAX_POOLED_BYTES, and empties itself when unused for a
// while, so a worker that goes quiet gives its memory back.

import { unrefTimer } from "./timers.js";

/** Below this, allocating is cheap: no pooling. */
export const POOL_MIN_BYTES = 1 << 20;
/** At most this much storage waits for reuse in one thread. */
const MAX_POOLED_BYTES = 192 * 1024 * 1024;
/** The pool is emptied when nothing was taken from it for this long. */
const IDLE_MS = 2000;
/** Values are searched this far for buffers; a bigger value's buffers are treated as exposed. */
const MAX_VISITS = 4096;

const owned = new WeakSet<ArrayBuffer>();
const exposed = new WeakSet<ArrayBuffer>();
const holders = new WeakMap<ArrayBuffer, number>();
const free = new Map<number, ArrayBuffer[]>();
let pooledBytes = 0;
let idleTimer: ReturnType<typeof setTimeout> | undefined;
const stats = { taken: 0, reused: 0, returned: 0 };

/**
 * Storage of `bytes` bytes: a recycled buffer of exactly that size when one is waiting, zeroed
 * when `zero` (callers that write every byte pass false), else a new one.
 */
export function takeBuffer(bytes: number, zero: boolean): ArrayBuffer {
  if (bytes < POOL_MIN_BYTES) return new ArrayBuffer(bytes);
  stats.taken++;
  const list = free.get(bytes);
  let buf: ArrayBuffer | undefined;
  while (list && list.length > 0 && !buf) {
    const b = list.pop()!;
    pooledBytes -= bytes;
    if (b.byteLength === bytes) buf = b; // never a detached one (byteLength 0)
  }
  if (list && list.length === 0) free.delete(bytes);
  if (buf) {
    stats.reused++;
    if (zero) new Uint8Array(buf).fill(0);
  } else {
    buf = new ArrayBuffer(bytes);
  }
  owned.add(buf);
  armIdleTimer();
  return buf;
}

/** A value was stored: the buffers it reaches have one more holder. */
export function holdBuffers(value: unknown): void {
  if (value === null || typeof value !== "object") return;
  const seen = new Set<ArrayBuffer>();
  const complete = forEachBuffer(value, (b) => {
    if (!owned.has(b) || seen.has(b)) return;
    seen.add(b); // once per value however many views of it the value holds, as dropBuffers counts
    holders.set(b, (holders.get(b) ?? 0) + 1);
  });
  if (!complete) exposeBuffers(value);
}

/** A stored value was dropped: buffers nothing else holds, and nobody else has seen, are reused. */
export function dropBuffers(value: unknown): void {
  if (value === null || typeof value !== "object") return;
  const seen = new Set<ArrayBuffer>();
  forEachBuffer(value, (b) => {
    if (!owned.has(b) || seen.has(b)) return;
    seen.add(b);
    const held = holders.get(b);
    if (held === undefined) return; // not counted when stored (changed since by a user's function): not ours to reuse
    const n = held - 1;
    if (n > 0) {
      holders.set(b, n);
      return;
    }
    holders.delete(b);
    if (!exposed.has(b)) giveBack(b);
  });
}

/** The buffers `value` reaches went where they may be kept: never reuse them. */
export function exposeBuffers(value: unknown): void {
  if (value === null || typeof value !== "object") return;
  forEachBuffer(
    value,
    (b) => {
      if (owned.has(b)) exposed.add(b);
    },
    Infinity,
  );
}

/** Counters for tests and diagnostics. */
export function bufferPoolStats(): { taken: number; reused: number; returned: number; pooledBytes: number } {
  return { ...stats, pooledBytes };
}

/** Empties the pool (tests; a worker closing). */
export function clearBufferPool(): void {
  free.clear();
  pooledBytes = 0;
  clearTimeout(idleTimer);
  idleTimer = undefined;
}

function giveBack(b: ArrayBuffer): void {
  const bytes = b.byteLength;
  if (bytes < POOL_MIN_BYTES || bytes > MAX_POOLED_BYTES) return;
  // Oldest first out when full: the sizes in use now are the ones worth keeping.
  while (pooledBytes + bytes > MAX_POOLED_BYTES && evictOne());
  owned.delete(b); // owned again only when taken
  const list = free.get(bytes);
  if (list) list.push(b);
  else free.set(bytes, [b]);
  pooledBytes += bytes;
  stats.returned++;
  armIdleTimer();
}

function evictOne(): boolean {
  for (const [bytes, list] of free) {
    list.shift();
    pooledBytes -= bytes;
    if (list.length === 0) free.delete(bytes);
    return true;
  }
  return false;
}

function armIdleTimer(): void {
  if (pooledBytes === 0 && idleTimer === undefined) return;
  clearTimeout(idleTimer);
  idleTimer = unrefTimer(
    setTimeout(() => {
      idleTimer = undefined;
      clearBufferPool();
    }, IDLE_MS),
  );
}

/**
 * Calls `fn` with every ArrayBuffer behind the typed arrays and ArrayBuffers inside `value`, searching
 * arrays, plain objects and the own fields of class instances (an NDArray's storage). Returns false
 * when the search stopped at `limit` visits before the end.
 */
function forEachBuffer(value: object, fn: (b: ArrayBuffer) => void, limit = MAX_VISITS): boolean {
  const stack: unknown[] = [value];
  const seen = new Set<object>();
  let visits = 0;
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== "object" || seen.has(v)) continue;
    if (++visits > limit) return false;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof ArrayBuffer) fn(v.buffer);
    } else if (v instanceof ArrayBuffer) {
      fn(v);
    } else if (Array.isArray(v)) {
      for (const x of v) if (x !== null && typeof x === "object") stack.push(x);
    } else if (v instanceof Map) {
      for (const [k, x] of v) stack.push(k, x);
    } else if (v instanceof Set) {
      for (const x of v) stack.push(x);
    } else {
      for (const key of Object.keys(v)) {
        const x = (v as Record<string, unknown>)[key];
        if (x !== null && typeof x === "object") stack.push(x);
      }
    }
  }
  return true;
}
