// Data tickets expire (issue 20): a reader that was once told to fetch a key holds a ticket worth
// `ticketTtlMs`, not one for as long as the holder is connected. A hostile peer replaying an old
// ticket reads nothing and cannot push its expiry later; it can ask for fresh tickets only for keys
// the scheduler told it to fetch. Honest readers whose tickets expired meanwhile (a task that waited
// in a busy worker's queue, a client gathering late) ask for fresh ones and get the right values.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { opener, serialize, type Message } from "../../src/internal.js";
import { TAB, useGuardedCluster } from "./cluster.js";
import { Hostile } from "./hostile.js";
import { waitFor } from "../helpers/wait-for.js";

const TTL_MS = 1_500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("data tickets expire", { timeout: 60_000 }, () => {
  const c = useGuardedCluster({ honest: 2, scheduler: { ticketTtlMs: TTL_MS } });

  type Data = { op: string; values: Record<string, unknown>; missing: string[]; expired?: string[]; reason?: string };

  test("a ticket replayed after its expiry reads nothing, its expiry cannot be moved, and fresh ones are given only for keys the reader was told to fetch", async () => {
    const [a] = (await c.client.workers()).sort((x, y) => x.name.localeCompare(y.name));
    const onA = c.client.with({ workers: [a!.id], pure: false });
    const granted = onA.submit((x: number) => x + 1, 41);
    const other = onA.submit((x: number) => x + 2, 40);
    await Promise.all([granted, other]);

    const evil = await Hostile.open(c.scheduler.address, "127.0.0.5");
    evil.hello("worker", TAB, {
      worker: {
        address: "ws://127.0.0.1:9",
        kind: "browser",
        nthreads: 1,
        memoryLimit: 0,
        resources: {},
        name: "evil",
      },
    });
    assert.equal((await evil.next())?.op, "welcome");
    const task = c.client.with({ workers: ["evil"], pure: false }).submit((x: number) => x * 2, granted);
    let compute: Message | null;
    do compute = await evil.next(5000);
    while (compute && compute.op !== "compute-task");
    const dep = (compute as { deps: { key: string; who: string[]; tickets?: string[] }[] }).deps[0]!;
    const ticket = dep.tickets![dep.who.indexOf(a!.address)]!;

    // Fresh, the ticket reads the key (as the scheduler meant it to).
    const h = await Hostile.open(a!.address, "127.0.0.5");
    h.hello("peer", opener("get", ticket, granted.key), { name: "evil" });
    assert.equal((await h.next())?.op, "welcome");
    h.send([{ op: "get-data", id: 1, keys: [granted.key], tickets: [ticket] } as Message]);
    let data = (await h.next()) as Data;
    assert.deepEqual(Object.keys(data.values), [granted.key]);

    await sleep(TTL_MS + 300); // the ticket's lifetime: a clock, nothing to poll
    // Replayed on the same connection after its expiry: not served, only named as expired.
    h.send([{ op: "get-data", id: 2, keys: [granted.key], tickets: [ticket] } as Message]);
    data = (await h.next()) as Data;
    assert.equal(data.op, "data");
    assert.deepEqual(data.values, {});
    assert.deepEqual(data.expired, [granted.key]);
    // …and on a new connection (an expired opener lets it say hello, and nothing more).
    const h2 = await Hostile.open(a!.address, "127.0.0.5");
    h2.hello("peer", opener("get", ticket, granted.key), { name: "evil" });
    assert.equal((await h2.next())?.op, "welcome");
    h2.send([{ op: "get-data", id: 3, keys: [granted.key], tickets: [ticket] } as Message]);
    data = (await h2.next()) as Data;
    assert.deepEqual([data.values, data.expired], [{}, [granted.key]]);
    // The expiry is under the MAC: moving it later makes the ticket no ticket at all (the connection is closed).
    const moved = `${ticket.slice(0, 23)}${(Number.parseInt(ticket.slice(23), 36) + 3_600_000).toString(36)}`;
    h2.send([{ op: "get-data", id: 4, keys: [granted.key], tickets: [moved] } as Message]);
    const bye = (await h2.next()) as Data;
    assert.equal(bye.op, "goodbye");
    assert.match(bye.reason!, /without a valid ticket/);

    // It may ask for fresh tickets, and gets them for the key it was told to fetch, not for another.
    evil.send([{ op: "renew-tickets", keys: [granted.key, other.key] } as Message]);
    let renewed: Message | null;
    do renewed = await evil.next(5000);
    while (renewed && renewed.op !== "tickets");
    const locs = (renewed as { keys: { key: string; who: string[]; tickets?: string[] }[] }).keys;
    assert.deepEqual(locs[0]!.who, [a!.address]);
    assert.deepEqual(locs[1], { key: other.key, who: [], nbytes: 0 });
    const fresh = locs[0]!.tickets![0]!;
    h.send([{ op: "get-data", id: 5, keys: [granted.key], tickets: [fresh] } as Message]);
    data = (await h.next()) as Data;
    assert.deepEqual(Object.keys(data.values), [granted.key]);
    // A fresh ticket for one key is no ticket for the other.
    h.send([{ op: "get-data", id: 6, keys: [other.key], tickets: [fresh] } as Message]);
    assert.equal((await h.next())?.op, "goodbye");

    evil.send([
      { op: "task-finished", key: task.key, nbytes: 8, duration: 1, value: serialize(84).payload } as Message,
    ]);
    // Honest work is unaffected (the stranger's answer is checked on an honest worker).
    assert.equal(await task, 84);
    assert.equal(await other, 42);
    h.close();
    evil.close();
  });

  test("a task that waits in a busy worker's queue past the ticket's expiry gets fresh tickets and computes right", async () => {
    const [a, b] = (await c.client.workers()).sort((x, y) => x.name.localeCompare(y.name));
    const big = c.client
      .with({ workers: [a!.id], pure: false })
      .submit((n: number) => new Float64Array(n).fill(3), 10_000);
    await big.settled();
    const onB = c.client.with({ workers: [b!.id], pure: false });
    // b's only thread spins past the tickets' lifetime; the dependent task's compute-task (and its
    // ticket for `big` at a) waits behind it, so b fetches `big` with a ticket that has expired.
    const busy = onB.submit((ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end);
      return ms;
    }, TTL_MS + 800);
    await waitFor(async () => (await c.client.workers()).find((w) => w.id === b!.id)!.tasks.processing > 0, {
      message: "b to be busy",
    });
    const sum = onB.submit((x: Float64Array) => x.reduce((s, v) => s + v, 0), big);
    assert.equal(await sum, 30_000);
    assert.equal(await busy, TTL_MS + 800);
  });

  test("a client that gathers a result after its ticket expired gets a fresh one and the right bytes", async () => {
    const f = c.client.with({ pure: false }).submit((n: number) => new Float64Array(n).fill(5), 10_000);
    await f.settled();
    await sleep(TTL_MS + 300); // the ticket's lifetime: a clock, nothing to poll
    const value = await f.result();
    assert.equal(value.length, 10_000);
    assert.equal(value[9_999], 5);
  });
});
