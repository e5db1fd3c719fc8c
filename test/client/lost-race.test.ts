// A result lost and recomputed while a fetch of it is failing: the future gives the new value.
// (Found by bench/resilience.mjs with worker processes: key-lost and key-in-memory arrived in one
// batch with the failed fetch's answer, and result() rejected with LostDataError.)

import assert from "node:assert/strict";
import { test } from "node:test";
import { LostDataError } from "../../src/errors.js";
import { Future, KeyState, type FutureHost } from "../../src/client/future.js";

test("result() fetches again when the key was lost and recomputed while its fetch failed", async () => {
  let ks!: KeyState;
  let fetches = 0;
  const host: FutureHost = {
    closedError: null,
    cancelKeys: async () => {},
    drop: () => {},
    hold: () => {},
    async fetch() {
      fetches++;
      if (fetches === 1) {
        // The holder died: the scheduler says lost, recomputes, and says in memory again before
        // this fetch's failure reaches the caller.
        ks.reset();
        ks.finish(["new-holder"], 8);
        throw new LostDataError("no worker holds k: its result was released or lost");
      }
      return 42;
    },
  };
  ks = new KeyState("k", host);
  const f = new Future<number>("k", host, ks);
  ks.finish(["old-holder"], 8);
  assert.equal(await f.result(), 42);
  assert.equal(fetches, 2);
});

test("a fetch that fails for good still rejects", async () => {
  const host: FutureHost = {
    closedError: null,
    cancelKeys: async () => {},
    drop: () => {},
    hold: () => {},
    fetch: async () => {
      throw new LostDataError("no worker has k any more");
    },
  };
  const ks = new KeyState("k", host);
  const f = new Future<number>("k", host, ks);
  ks.finish(["holder"], 8);
  await assert.rejects(f.result(), LostDataError);
});
