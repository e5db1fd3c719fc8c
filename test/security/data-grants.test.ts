// Per-worker data credentials (issue 20, Build 2), attacked over real loopback sockets. The attack
// the issue reports: with the tab link's token, a stranger joined as a worker, took the cluster's
// data token from its welcome, read a result and a scattered value from an honest worker's data
// server, and overwrote the scattered value with put-data. Now its welcome carries only its own
// credential and secret, and an honest worker's data server serves a key only with the ticket the
// scheduler made for that reader and key: the stranger reads what it was told to fetch and nothing
// else, stores nothing, and the honest values stay right.

import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { describe, test } from "node:test";
import { opener, serialize, sha256, TicketKey, type Message } from "../../src/internal.js";
import { CLIENT, TAB, useGuardedCluster } from "./cluster.js";
import { Hostile } from "./hostile.js";

describe("the ticket HMAC", () => {
  test("SHA-256 and HMAC-SHA256 agree with node:crypto, across block boundaries and long keys", () => {
    const enc = new TextEncoder();
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000]) {
      const text = "é".repeat(n);
      assert.equal(
        Buffer.from(sha256(enc.encode(text))).toString("hex"),
        createHash("sha256").update(text).digest("hex"),
      );
      for (const secret of ["k", "s".repeat(64), "t".repeat(65), "u".repeat(300)]) {
        assert.equal(
          Buffer.from(new TicketKey(secret).hmac(enc.encode(text))).toString("hex"),
          createHmac("sha256", secret).update(text).digest("hex"),
        );
      }
    }
    const key = new TicketKey("per-worker-secret");
    const t = key.ticket("get", "reader", "inc-1", 90_000);
    assert.equal(
      t,
      `${createHmac("sha256", "per-worker-secret")
        .update(`get\nreader\ninc-1\n${(90_000).toString(36)}`)
        .digest()
        .subarray(0, 16)
        .toString("base64url")}.${(90_000).toString(36)}`,
    );
    assert.equal(key.check("get", "reader", "inc-1", t, 1_000), "valid");
    assert.equal(key.check("get", "reader", "inc-1", t, 90_001), "expired", "a ticket expires");
    assert.equal(key.check("put", "reader", "inc-1", t, 0), "invalid", "a read ticket is no store ticket");
    assert.equal(key.check("get", "other", "inc-1", t, 0), "invalid", "a ticket is for its reader only");
    assert.equal(key.check("get", "reader", "inc-2", t, 0), "invalid", "a ticket is for its key only");
    assert.equal(
      new TicketKey("another-worker").check("get", "reader", "inc-1", t, 0),
      "invalid",
      "a ticket is for its worker only",
    );
    // Its expiry is under the MAC: a holder of an expired ticket cannot push the expiry later.
    const later = `${t.slice(0, 23)}${(10 ** 12).toString(36)}`;
    assert.equal(key.check("get", "reader", "inc-1", later, 90_001), "invalid");
    for (const junk of [t.slice(0, 22), `${t.slice(0, 22)}.`, `${t}x`.repeat(3), 42, undefined])
      assert.equal(key.check("get", "reader", "inc-1", junk, 0), "invalid", String(junk));
  });
});

describe("per-worker data credentials", () => {
  const c = useGuardedCluster({ honest: 2 });

  /** The data server answers `h`'s last request by closing the connection, saying why (never with data). */
  async function shutOut(h: Hostile, why: RegExp): Promise<void> {
    const m = (await h.next()) as { op: string; reason?: string } | null;
    assert.equal(m?.op, "goodbye", JSON.stringify(m));
    assert.match(m!.reason!, why);
    await h.closed;
  }

  /** Opens `address` (a data server) as `name` with hello token `token`; the first answer. */
  async function open(
    address: string,
    name: string,
    token: string | undefined,
  ): Promise<{ h: Hostile; answer: Message | null }> {
    const h = await Hostile.open(address, "127.0.0.3");
    h.hello("peer", token, { name });
    return { h, answer: await h.next() };
  }

  test("a tab-token worker cannot read an honest worker's result or scattered value, nor overwrite it; it reads only what it was told to fetch", async () => {
    const [a] = (await c.client.workers()).sort((x, y) => x.name.localeCompare(y.name));
    const onA = c.client.with({ workers: [a!.id] });
    const onAFresh = c.client.with({ workers: [a!.id], pure: false });
    const result = onA.submit((n: number) => new Float64Array(n).fill(7), 1000);
    await result;
    const [scattered] = await c.client.scatter([{ secret: "scattered by the client" }], { workers: [a!.id] });
    const granted = onAFresh.submit((x: number) => x + 1, 41);
    await granted;

    // The stranger joins with the tab link's token. Its welcome has its own credential and secret, no cluster-wide token.
    const evil = await Hostile.open(c.scheduler.address, "127.0.0.3");
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
    const welcome = (await evil.next()) as { op: string; dataToken?: string; dataSecret?: string };
    assert.equal(welcome.op, "welcome");
    assert.ok(welcome.dataToken && welcome.dataSecret);

    // Neither its credential nor tickets it makes with its own secret open the honest worker's data server.
    for (const token of [
      undefined,
      welcome.dataToken,
      opener("get", new TicketKey(welcome.dataSecret).ticket("get", "evil", result.key, 1e12), result.key),
    ]) {
      const { h, answer } = await open(a!.address, "evil", token);
      assert.equal(answer?.op, "refused", `hello token ${String(token)}: ${JSON.stringify(answer)}`);
      h.close();
    }

    // The scheduler gives it a task that needs `granted` (held by the honest worker): it gets a ticket for that key only.
    const task = c.client.with({ workers: ["evil"], pure: false }).submit((x: number) => x * 2, granted);
    let compute: Message | null;
    do compute = await evil.next(5000);
    while (compute && compute.op !== "compute-task");
    assert.equal(compute?.op, "compute-task");
    const dep = (compute as { deps: { key: string; who: string[]; tickets?: string[] }[] }).deps[0]!;
    assert.equal(dep.key, granted.key);
    const ticket = dep.tickets![dep.who.indexOf(a!.address)]!;

    // With that ticket it reads that key, as it should…
    let { h, answer } = await open(a!.address, "evil", opener("get", ticket, granted.key));
    assert.equal(answer?.op, "welcome");
    h.send([{ op: "get-data", id: 1, keys: [granted.key], tickets: [ticket] } as Message]);
    const data = (await h.next()) as { op: string; values: Record<string, unknown>; missing: string[] };
    assert.equal(data.op, "data");
    assert.deepEqual(Object.keys(data.values), [granted.key]);
    // …but not the result, nor the scattered value, with that ticket or without one: the connection is closed.
    for (const key of [result.key, scattered!.key]) {
      for (const tickets of [undefined, [ticket], [""]]) {
        ({ h, answer } = await open(a!.address, "evil", opener("get", ticket, granted.key)));
        assert.equal(answer?.op, "welcome");
        h.send([{ op: "get-data", id: 2, keys: [key], ...(tickets ? { tickets } : {}) } as Message]);
        await shutOut(h, new RegExp(`get-data without a valid ticket for ${key}`));
      }
    }
    // A ticket it makes itself for the key it was granted is worth nothing either.
    ({ h, answer } = await open(a!.address, "evil", opener("get", ticket, granted.key)));
    h.send([
      {
        op: "get-data",
        id: 3,
        keys: [granted.key],
        tickets: [new TicketKey(welcome.dataSecret).ticket("get", "evil", granted.key, 1e12)],
      } as Message,
    ]);
    await shutOut(h, /get-data without a valid ticket/);

    // It cannot overwrite the scattered value: put-data needs a store ticket the scheduler gives only to the scattering client.
    for (const tickets of [undefined, { [scattered!.key]: ticket }]) {
      ({ h, answer } = await open(a!.address, "evil", opener("get", ticket, granted.key)));
      h.send([
        {
          op: "put-data",
          id: 4,
          values: { [scattered!.key]: serialize({ secret: "forged" }).payload },
          ...(tickets ? { tickets } : {}),
        } as Message,
      ]);
      await shutOut(h, /put-data without a valid ticket/);
    }
    // Nor claim to the scheduler that it stored one there.
    evil.send([
      { op: "task-finished", key: task.key, nbytes: 8, duration: 1, value: serialize(84).payload } as Message,
    ]);

    // The honest values are intact, and honest work (transfers between the workers) still finishes right.
    assert.deepEqual(await scattered!.result(), { secret: "scattered by the client" });
    assert.equal((await result.result()).length, 1000);
    const fromBoth = c.client.submit(
      (x: Float64Array, s: { secret: string }) => x[0]! + s.secret.length,
      result,
      scattered!,
    );
    assert.equal(await fromBoth, 7 + "scattered by the client".length);
    assert.equal(await task, 84);
    evil.close();
  });

  test("a client's update-data counts only the placements the scheduler granted it", async () => {
    const [a, b] = await c.client.workers();
    const [x] = await c.client.scatter([123], { workers: [a!.id], hash: false });
    const h = await Hostile.open(c.scheduler.address, "127.0.0.4");
    h.hello("client", CLIENT);
    assert.equal((await h.next())?.op, "welcome");
    // It claims the key is also held at the other worker (which never stored it): ignored.
    h.send([{ op: "update-data", entries: [{ key: x!.key, worker: b!.address, nbytes: 8 }] } as Message]);
    h.send([{ op: "request", id: 1, what: { kind: "who-has", keys: [x!.key] } } as Message]);
    const reply = (await h.next()) as { value: Record<string, string[]> };
    assert.deepEqual(reply.value[x!.key], [a!.address]);
    assert.equal(await c.client.submit((v: number) => v + 1, x!), 124);
    h.close();
  });
});
