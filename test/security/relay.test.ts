// The relay (issue 20, Build 5), attacked over real loopback sockets on a scheduler that serves the
// worker page: callers need a connected member's own credential and reach only admitted workers'
// addresses (a port scan through it fails), each once its data server answered the scheduler's
// challenge there, and reach a tab's relay slot only once the worker claiming it answered the
// challenge through it (never after that listener left); a caller is capped at a hello's size and a bounded queue until the far end
// answers, one address holds a bounded number of relay sockets. Honest relayed work still finishes right.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { RELAY_MAX_PER_ADDRESS } from "../../node/servers/relay-hub.js";
import { PROTOCOL_VERSION, type Message } from "../../src/internal.js";
import { Hostile } from "./hostile.js";
import { CLIENT, TAB, useGuardedCluster, WORKER } from "./cluster.js";

describe("the relay", () => {
  const c = useGuardedCluster({ network: true, honest: 2 });
  /** A client's own credential (from its welcome), valid while that client (`member`) stays connected. */
  let credential: string;
  let member: Hostile;
  const http = () => c.address;
  const relayTo = (address: string, token?: string) =>
    `${http()}/relay-to/${encodeURIComponent(address)}${token === undefined ? "" : `?token=${token}`}`;

  before(async () => {
    member = await Hostile.open(c.address, "127.0.0.1");
    member.hello("client", CLIENT);
    credential = ((await member.next()) as { dataToken: string }).dataToken;
  });
  after(() => member.close());

  test("relay-to needs a connected member's own credential (not the tab's or a worker's token), and reaches admitted workers only: a port scan through it fails", async () => {
    const [w] = await c.client.workers();
    assert.equal(
      await Hostile.refusal(relayTo(w!.address)),
      "HTTP 403 the relay needs the credential of a connected client or worker",
    );
    assert.match((await Hostile.refusal(relayTo(w!.address, TAB)))!, /^HTTP 403/);
    assert.match((await Hostile.refusal(relayTo(w!.address, WORKER)))!, /^HTTP 403/);
    const t = performance.now();
    const scan = await Promise.all(
      Array.from({ length: 200 }, (_, i) => Hostile.refusal(relayTo(`ws://127.0.0.1:${20_000 + i}`, credential))),
    );
    assert.ok(
      scan.every((r) => /^HTTP 403 .* is not a worker this relay may reach/.test(r ?? "")),
      String(scan.find((r) => !/^HTTP 403/.test(r ?? ""))),
    );
    console.log(
      `  200 ports probed through the relay in ${(performance.now() - t).toFixed(0)} ms: all refused before any connection`,
    );
    // Through the relay, the worker's data server still asks for a ticket: the credential opens the relay only.
    const h = await Hostile.open(relayTo(w!.address, credential), "127.0.0.1");
    h.hello("peer", credential);
    assert.deepEqual(await h.next(), { op: "refused", version: PROTOCOL_VERSION, reason: "wrong ticket" });
    h.close();
    // A member's credential is void once it has left.
    const gone = await Hostile.open(c.address, "127.0.0.1");
    gone.hello("client", CLIENT);
    const old = ((await gone.next()) as { dataToken: string }).dataToken;
    assert.equal(
      await Hostile.refusal(relayTo(w!.address, old)),
      null,
      "the credential works while its client is connected",
    );
    gone.close();
    await gone.closed;
    assert.equal(
      await Hostile.refusal(relayTo(w!.address, old)),
      "HTTP 403 the relay needs the credential of a connected client or worker",
    );
  });

  test("before the far end answers, a caller's messages are capped at a hello's size", async () => {
    const [w] = await c.client.workers();
    const h = await Hostile.open(relayTo(w!.address, credential));
    h.sendBytes(new Uint8Array(64 * 1024));
    const info = await h.closedWithin(3000);
    assert.equal(info?.code, 1009, JSON.stringify(info));
  });

  /**
   * A tab-token worker whose data server listens at relay slot `slot` over raw sockets, claiming
   * `address` (default: that slot on this hub): it takes the first `accept` pipes, answering each
   * hello with a welcome (so its own challenge passes), and leaves later ones waiting.
   */
  async function slotWorker(slot: string, name: string, accept: number, address?: string) {
    const listener = await Hostile.open(`${http()}/relay-listen/${slot}?token=${TAB}`, "127.0.0.8");
    let left = accept;
    listener.ws.on("message", (data: ArrayBuffer, binary: boolean) => {
      if (binary || left <= 0) return;
      left--;
      void (async () => {
        const pipe = await Hostile.open(`${http()}/relay-accept/${Buffer.from(data).toString()}`, "127.0.0.8");
        await pipe.next(); // the caller's hello (the scheduler's challenge)
        pipe.send([{ op: "welcome", version: PROTOCOL_VERSION, id: `${name}-conn` } as Message]);
      })();
    });
    const w = await Hostile.open(c.address, "127.0.0.8");
    w.hello("worker", TAB, {
      worker: {
        address: address ?? `relay://${new URL(http()).host}/${slot}`,
        kind: "browser",
        nthreads: 1,
        memoryLimit: 0,
        resources: {},
        name,
      },
    });
    assert.equal((await w.next())?.op, "welcome");
    return { listener, w };
  }

  test("a caller waiting for a listener that never takes the pipe cannot queue more than 32 KiB at the hub", async () => {
    // A tab whose data server answered the scheduler's challenge at its slot, then takes no pipe.
    const { listener, w } = await slotWorker("never-accepts", "stalls", 1);
    const caller = await Hostile.open(`${http()}/relay/never-accepts?token=${credential}`);
    for (let i = 0; i < 12; i++) caller.sendBytes(new Uint8Array(4000));
    const info = await caller.closedWithin(3000);
    assert.deepEqual(info, { code: 1009, reason: "too much sent before the far end answered" });
    listener.close();
    w.close();
  });

  test("a tab's relay slot is reached only once the worker claiming it answered the scheduler's challenge there, and not after its listener left", async () => {
    // A listener no worker claims: refused before any pipe.
    const loner = await Hostile.open(`${http()}/relay-listen/unclaimed?token=${TAB}`, "127.0.0.8");
    assert.match(
      (await Hostile.refusal(`${http()}/relay/unclaimed?token=${credential}`))!,
      /^HTTP 403 relay slot "unclaimed" is no worker's/,
    );
    // A worker claiming a slot where someone else listens (who does not answer its challenge): refused.
    const squatted = await Hostile.open(`${http()}/relay-listen/squatted?token=${TAB}`, "127.0.0.9");
    const claimer = await Hostile.open(c.address, "127.0.0.8");
    claimer.hello("worker", TAB, {
      worker: {
        address: `relay://${new URL(http()).host}/squatted`,
        kind: "browser",
        nthreads: 1,
        memoryLimit: 0,
        resources: {},
        name: "claimer",
      },
    });
    assert.equal((await claimer.next())?.op, "welcome");
    // The challenge's pipe is offered to the squatter, which never takes it: callers wait for the outcome, then are refused.
    assert.match(
      (await Hostile.refusal(`${http()}/relay/squatted?token=${credential}`))!,
      /^HTTP 403 relay slot "squatted" is no worker's/,
    );
    // A worker whose data server answered at its slot is reached…
    const honest = await slotWorker("answers", "answers", 1);
    assert.equal(await Hostile.refusal(`${http()}/relay/answers?token=${credential}`), null);
    // …until its listener leaves: whoever listens there next is not vouched for.
    honest.listener.close();
    await honest.listener.closed;
    const thief = await Hostile.open(`${http()}/relay-listen/answers?token=${TAB}`, "127.0.0.9");
    assert.match(
      (await Hostile.refusal(`${http()}/relay/answers?token=${credential}`))!,
      /^HTTP 403 relay slot "answers" is no worker's/,
    );
    for (const h of [loner, squatted, claimer, honest.w, thief]) h.close();
  });

  test(`one address holds at most ${RELAY_MAX_PER_ADDRESS} relay sockets; other addresses are not affected`, async () => {
    const held: Hostile[] = [];
    const refused: string[] = [];
    for (let i = 0; i < RELAY_MAX_PER_ADDRESS + 10; i++) {
      try {
        held.push(await Hostile.open(`${http()}/relay-listen/slot-${i}?token=${TAB}`, "127.0.6.1"));
      } catch (err) {
        refused.push((err as Error).message);
      }
    }
    assert.equal(held.length, RELAY_MAX_PER_ADDRESS);
    assert.deepEqual(refused, Array(10).fill("HTTP 429 too many relay connections from 127.0.6.1"));
    const other = await Hostile.open(`${http()}/relay-listen/elsewhere?token=${TAB}`, "127.0.6.2");
    other.close();
    for (const h of held) h.close();
  });

  test("the relay never reaches an address a worker merely claimed: its data server must answer the scheduler's challenge there", async () => {
    // A worker claiming an address nobody serves, and one claiming an honest service's address
    // (a data server that does not hold its secret): both are admitted, and the relay reaches neither.
    const [honest] = await c.client.workers();
    const other = await Hostile.open(c.address, "127.0.0.7");
    other.hello("client", CLIENT);
    await other.next();
    for (const [name, address] of [
      ["liar", "ws://127.0.0.1:9"],
      ["squatter", `ws://127.0.0.1:${new URL(honest!.address).port}/elsewhere`],
    ] as const) {
      const liar = await Hostile.open(c.address, "127.0.0.7");
      liar.hello("worker", TAB, {
        worker: { address, kind: "browser", nthreads: 1, memoryLimit: 0, resources: {}, name },
      });
      assert.equal((await liar.next())?.op, "welcome");
      assert.match(
        (await Hostile.refusal(relayTo(address, credential)))!,
        /^HTTP 403 .* is not a worker .*this relay may reach/,
      );
      liar.close();
      await liar.closed;
    }
    other.close();
    // An honest worker answered its challenge: the relay reaches it.
    assert.equal(await Hostile.refusal(relayTo(honest!.address, credential)), null);
  });

  test("honest work through the scheduler's port still finishes right", async () => {
    const [a, b] = await c.client.workers();
    const made = c.client.with({ workers: a!.id }).submit((n: number) => new Float64Array(n).fill(3), 100_000);
    assert.equal(
      await c.client.with({ workers: b!.id }).submit((x: Float64Array) => x.reduce((s, v) => s + v, 0), made),
      300_000,
    );
  });
});
