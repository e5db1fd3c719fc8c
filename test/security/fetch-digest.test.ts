// Fetchers check digests (issue 20, Build 3): on a cluster of tabs only, a result agreed on by
// untrusted workers is kept on each of them, and one of them reports the honest digest but serves
// forged bytes to whoever fetches from it (real worker threads, lieForTests "serve", joined with
// the tab token over real loopback sockets). Every reader hashes what it gets, discards the
// forgery and reads another holder; a trusted reader's accusation bans the liar, an untrusted
// reader's does not (it could be lying about an honest holder).

import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import { WorkerGroup } from "../../node/hosts/worker-group.js";
import { TAB, useGuardedCluster, WORKER } from "./cluster.js";
import { waitFor } from "../helpers/wait-for.js";

/** A result too big to travel inline with key-in-memory: readers fetch it from its holders. */
const big = (n: number) => `${n}:`.padEnd(20_000, "x");

describe("fetchers check the digest of verified results", () => {
  const warnings: string[] = [];
  beforeEach(() => {
    warnings.length = 0;
  });
  // A fresh cluster per test, no trusted worker: verification is among tabs only, and every
  // agreeing copy is kept. The sly worker serves forged bytes; the tabs join as each test says.
  const c = useGuardedCluster(
    { groups: { sly: { token: TAB, lieForTests: "serve", count: 1 }, tab: { token: TAB } }, warnings },
    { each: true },
  );

  async function workerNamed(prefix: string): Promise<{ id: string; name: string; trusted: boolean } | undefined> {
    return (await c.client.workers()).find((w) => w.name.startsWith(prefix));
  }

  /**
   * A big result computed first on the sly worker, alone, then verified by the first tab to join
   * (tab-1): readers are given its holders in that order, and so try the sly copy first. Tabs
   * that join later (tab-2, …) hold no copy.
   */
  async function onSly(n: number, tabsAfter: number) {
    const waiting = new Promise<void>((resolve) => {
      const off = c.client.on("no-worker", (e) => {
        if (!/waiting for a second worker/.test(e.reason)) return;
        off();
        resolve();
      });
    });
    const f = c.client.with({ pure: false }).submit(big, n);
    await waiting;
    await c.groups.tab!.grow(1);
    assert.equal(await f.exception(), undefined);
    if (tabsAfter > 0) await c.groups.tab!.grow(tabsAfter);
    return { f };
  }

  test("a client (trusted) that is served forged bytes discards them, gets the right value, and the liar is banned", async () => {
    const { f } = await onSly(7, 1);
    assert.equal(await f, big(7));
    await waitFor(async () => (await workerNamed("sly-")) === undefined, {
      timeout: 15_000,
      interval: 50,
      message: "the sly worker is banned",
    });
    assert.ok(
      warnings.some((w) => /client .* says .* served bytes for .* banned it/.test(w)),
      warnings.join("\n"),
    );
  });

  test("an untrusted dependent fetching from the liar reads another holder and computes right; its word bans nobody", async () => {
    const { f } = await onSly(3, 1);
    const tab = await workerNamed("tab-2");
    const length = c.client.with({ workers: [tab!.id], pure: false }).submit((s: string) => s.length, f);
    assert.equal(await length, big(3).length);
    assert.ok(
      warnings.some((w) => /worker tab-.* says .* served bytes for .* not believed/.test(w)),
      warnings.join("\n"),
    );
    assert.ok(await workerNamed("sly-"), "an untrusted reader's accusation does not ban");
  });

  test("a trusted worker that is served forged bytes bans the liar; what rested on it is computed again, right", async () => {
    const { f } = await onSly(5, 1);
    const trusted = new WorkerGroup({
      scheduler: c.scheduler.address,
      listen: "ws://127.0.0.1:0",
      kind: "node",
      namePrefix: "trusted",
      token: WORKER,
      logLevel: "silent",
    });
    try {
      await trusted.grow(1);
      const t = await workerNamed("trusted-");
      assert.equal(t?.trusted, true);
      const length = c.client.with({ workers: [t!.id], pure: false }).submit((s: string) => s.length, f);
      assert.equal(await length, big(5).length);
      await waitFor(async () => (await workerNamed("sly-")) === undefined, {
        timeout: 15_000,
        interval: 50,
        message: "the sly worker is banned",
      });
      assert.ok(
        warnings.some((w) => /worker trusted-.* says .* served bytes for .* banned it/.test(w)),
        warnings.join("\n"),
      );
      assert.equal(await f, big(5));
    } finally {
      await trusted.close();
    }
  });
});
