// Where a worker puts results when its memory fills: a SpillStore keeps encoded values outside
// the JavaScript heap (Node: files in a temporary directory) and gives them back on demand. The
// thresholds follow Dask's: above SPILL_FRACTION of the memory limit the least recently used
// results are spilled; above PAUSE_FRACTION (when spilling cannot bring memory down) the worker
// stops starting tasks until memory is freed.

import type { Serialized } from "../protocol/refs.js";

/** Fraction of the memory limit above which results are spilled (Dask's memory.target). */
export const SPILL_FRACTION = 0.6;

/** Fraction of the memory limit above which the worker takes no new tasks (Dask's memory.pause). */
export const PAUSE_FRACTION = 0.8;

export interface SpillStore {
  /** Stores the encoded value of `key` (synchronously: the worker frees its memory right after). */
  write(key: string, value: Serialized): void;
  /** The encoded value of `key`, as written. */
  read(key: string): Serialized;
  remove(key: string): void;
  /** Removes everything stored. */
  close(): void;
}
