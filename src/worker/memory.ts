// The results a worker holds: in memory (least recently used first) or spilled to a SpillStore,
// with their sizes, kept under the memory limit's thresholds (spill above SPILL_FRACTION, pause
// above PAUSE_FRACTION). Part of WorkerState (state.ts), which decides what is stored and dropped.

import { dropBuffers, exposeBuffers, holdBuffers } from "../util/buffer-pool.js";
import { deserialize, serialize } from "../protocol/serialize.js";
import { type Logger, realmLogger } from "../log.js";
import { PAUSE_FRACTION, SPILL_FRACTION, type SpillStore } from "./spill.js";

export interface MemoryOptions {
  /** Bytes of results to hold in memory at most; 0: no limit. */
  limit: number;
  /** Where results go when memory passes SPILL_FRACTION of the limit; none: the worker only pauses. */
  spill?: SpillStore | undefined;
  /** Where a failed spill is logged: the worker's runtime's logger. Default: the realm's (setLogger). */
  log?: Logger | undefined;
}

export class WorkerMemory {
  /** Results held in memory, least recently used first. */
  readonly data = new Map<string, unknown>();
  /** Results spilled to the SpillStore, with their sizes. */
  readonly spilled = new Map<string, number>();
  readonly sizes = new Map<string, number>();
  /** Bytes of results held in memory. */
  bytes = 0;
  /** Bytes of results spilled. */
  spilledBytes = 0;
  /** Above PAUSE_FRACTION of the limit: start no tasks until memory is freed. */
  paused = false;

  constructor(private readonly options: MemoryOptions = { limit: 0 }) {}

  /** Whether `key` is held, in memory or spilled. */
  holds(key: string): boolean {
    return this.data.has(key) || this.spilled.has(key);
  }

  /** The value of `key` (read back into memory if it was spilled), or undefined if not held. */
  value(key: string): unknown {
    if (this.data.has(key)) {
      const v = this.data.get(key);
      this.data.delete(key); // most recently used now
      this.data.set(key, v);
      return v;
    }
    const nbytes = this.spilled.get(key);
    if (nbytes === undefined) return undefined;
    const store = this.options.spill!;
    const v = deserialize(store.read(key));
    store.remove(key);
    this.spilled.delete(key);
    this.spilledBytes -= nbytes;
    this.data.set(key, v);
    holdBuffers(v);
    this.bytes += nbytes;
    this.check(key);
    return v;
  }

  store(key: string, value: unknown, nbytes: number): void {
    if (this.holds(key)) this.drop(key);
    this.data.set(key, value);
    holdBuffers(value);
    this.sizes.set(key, nbytes);
    this.bytes += nbytes;
    this.check(key);
  }

  drop(key: string): void {
    const spilled = this.spilled.get(key);
    if (spilled !== undefined) {
      this.spilled.delete(key);
      this.spilledBytes -= spilled;
      this.sizes.delete(key);
      this.options.spill!.remove(key);
      this.check();
      return;
    }
    const value = this.data.get(key);
    if (!this.data.delete(key)) return;
    dropBuffers(value); // storage only this value held is reused for the next block
    this.bytes -= this.sizes.get(key) ?? 0;
    this.sizes.delete(key);
    this.check();
  }

  /**
   * Keeps memory under the limit's thresholds: spills the least recently used results (never
   * `keep`, the one just stored or read) while above SPILL_FRACTION, then pauses or resumes.
   */
  private check(keep?: string): void {
    const { limit, spill } = this.options;
    if (limit <= 0) return;
    if (spill) {
      for (const [key, value] of this.data) {
        if (this.bytes <= SPILL_FRACTION * limit) break;
        if (key === keep) continue;
        const nbytes = this.sizes.get(key) ?? 0;
        try {
          exposeBuffers(value); // it is encoded as views of its storage; never reuse that storage
          spill.write(key, serialize(value).payload);
        } catch (err) {
          (this.options.log ?? realmLogger).warn(`could not spill ${key}: ${(err as Error).message}`);
          break;
        }
        this.data.delete(key);
        this.spilled.set(key, nbytes);
        this.bytes -= nbytes;
        this.spilledBytes += nbytes;
      }
    }
    this.paused = this.bytes > PAUSE_FRACTION * limit;
  }
}
