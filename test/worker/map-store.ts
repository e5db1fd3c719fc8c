// A SpillStore in a Map, for tests of spilling that need no disk (node/platform/spill.ts's
// DiskSpillStore is tested in memory.test.ts).

import type { Serialized } from "../../src/internal.js";
import type { SpillStore } from "../../src/worker/spill.js";

/** A SpillStore in a Map; `stored` shows what was written and not yet removed. */
export class MapStore implements SpillStore {
  readonly stored = new Map<string, Serialized>();
  write(key: string, v: Serialized) {
    this.stored.set(key, v);
  }
  read(key: string) {
    return this.stored.get(key)!;
  }
  remove(key: string) {
    this.stored.delete(key);
  }
  close() {
    this.stored.clear();
  }
}
