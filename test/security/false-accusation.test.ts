// A hostile reader's false accusation (issue 20), over real sockets: on a cluster of untrusted
// workers only, a verified result is kept on the honest tabs that agreed on it. A stranger with the
// tab link's token, told to fetch that result, reports each honest holder for serving bytes that do
// not match the digest (bad-data) without ever fetching. An untrusted reader's word is not enough:
// nobody is banned or dropped as a holder, and honest work on that result finishes right. An
// accusation about a key it was never told to fetch is ignored too.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Message } from "../../src/internal.js";
import { TAB, useGuardedCluster } from "./cluster.js";
import { Hostile } from "./hostile.js";

describe("a hostile reader's false accusation", () => {
  // Honest untrusted workers (real threads that joined with the tab token): no trusted worker decides.
  const c = useGuardedCluster({ groups: { tab: { token: TAB, count: 2 } } });

  test("an untrusted reader that accuses honest holders bans nobody, drops no holder, and honest work finishes right", async () => {
    const honest = await c.client.workers();
    assert.equal(honest.length, 2);
    assert.ok(honest.every((w) => !w.trusted));
    // A verified result (computed on one tab, checked on the other), big enough to be fetched rather than inlined.
    const result = c.client.with({ pure: false }).submit((n: number) => new Float64Array(n).fill(2), 1000);
    await result.settled();
    const holdersBefore = c.scheduler.state.whoHas([result.key])[result.key]!;
    assert.equal(holdersBefore.length, 2, "both tabs agreed, and both copies are kept");

    const accuser = await Hostile.open(c.scheduler.address, "127.0.8.1");
    accuser.hello("worker", TAB, {
      worker: {
        address: "ws://127.0.0.1:3",
        kind: "browser",
        nthreads: 1,
        memoryLimit: 0,
        resources: {},
        name: "accuser",
      },
    });
    assert.equal((await accuser.next())?.op, "welcome");
    const bait = c.client.with({ workers: ["accuser"], pure: false }).submit((x: Float64Array) => x.length, result);
    let compute: Message | null;
    do compute = await accuser.next(5000);
    while (compute && compute.op !== "compute-task");
    const dep = (compute as { deps: { key: string; who: string[]; digest?: string }[] }).deps[0]!;
    assert.equal(dep.key, result.key);
    assert.ok(dep.digest, "the location carries the agreed digest");
    // It accuses every holder of the key it was told to fetch, and a key it was never told about.
    const unrelated = c.client.with({ pure: false }).submit((n: number) => n + 1, 1);
    await unrelated;
    accuser.send([
      ...dep.who.map((from) => ({ op: "bad-data", key: result.key, from })),
      { op: "bad-data", key: unrelated.key, from: dep.who[0] },
    ] as Message[]);
    // A fixed wait: what is asserted is that the accusations ban and drop nobody.
    await new Promise((r) => setTimeout(r, 500));

    // Nobody was banned or dropped: both honest tabs are connected and still hold the result.
    const after = await c.client.workers();
    assert.deepEqual(
      after
        .map((w) => w.name)
        .filter((n) => n !== "accuser")
        .sort(),
      honest.map((w) => w.name).sort(),
    );
    assert.deepEqual(c.scheduler.state.whoHas([result.key])[result.key]!.sort(), [...holdersBefore].sort());
    // Honest work on the accused result finishes right, and the client reads it.
    const sum = c.client.with({ pure: false }).submit((x: Float64Array) => x.reduce((s, v) => s + v, 0), result);
    assert.equal(await sum, 2000);
    assert.equal((await result.result())[999], 2);
    assert.equal(await unrelated, 2);
    // A fresh tab from an honest worker's host still joins (its host was not banned).
    const again = await Hostile.open(c.scheduler.address, "127.0.0.1");
    again.hello("worker", TAB, {
      worker: {
        address: "ws://127.0.0.1:4",
        kind: "browser",
        nthreads: 1,
        memoryLimit: 0,
        resources: {},
        name: "later",
      },
    });
    assert.equal((await again.next())?.op, "welcome");
    again.close();
    accuser.close();
    await bait.cancel();
  });
});
