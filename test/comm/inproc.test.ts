// The in-process transport: the conformance suite three ways (plain, with latency, with a message
// size cap that sends packets through the framing layer), then what only inproc does.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ConnectError,
  type Serialized,
  UnknownSchemeError,
  connect,
  deserialize,
  inprocHub,
  knownSchemes,
  listen,
  serialize,
  type Message,
} from "../../src/internal.js";
import { BATCH_FLUSH_BYTES } from "../../src/comm/comm.js";
import { Harness, transportConformance } from "./conformance.js";

let n = 0;
const address = () => `inproc://inproc-test-${++n}`;

transportConformance("inproc", { address });
transportConformance("inproc, latencyMs 5", { address, options: { latencyMs: 5 } });
transportConformance("inproc, maxChunkBytes 1024", { address, options: { maxChunkBytes: 1024 } });

const reply = (id: number, value?: unknown): Message => ({ op: "reply", id, value });

/** Opens a raw port to `listenerAddress` as a capped link, bypassing PortChannel, for hostile input. */
async function rawCappedPort(
  listenerAddress: string,
): Promise<{ port: MessagePort; closedByPeer: Promise<{ reason: string }> }> {
  const { port1, port2 } = new MessageChannel();
  let opened!: () => void;
  let peerClosed!: (m: { reason: string }) => void;
  const open = new Promise<void>((r) => (opened = r));
  const closedByPeer = new Promise<{ reason: string }>((r) => (peerClosed = r));
  port1.onmessage = (e: MessageEvent) => {
    const msg = e.data as { c?: string; reason: string };
    if (msg.c === "open") opened();
    if (msg.c === "close") peerClosed(msg);
  };
  inprocHub.route(listenerAddress.slice("inproc://".length), port2, { maxChunkBytes: 1024 }, "local");
  await open;
  return { port: port1, closedByPeer };
}

describe("inproc transport", { timeout: 30_000 }, () => {
  test("latencyMs delays every packet: a round trip takes at least twice the latency", async () => {
    const latencyMs = 40;
    await using h = await Harness.start({ address, options: { latencyMs } });
    const { client, server } = await h.pair();
    server.setHandler((m) => server.send(reply((m as { id: number }).id + 1)));
    const t0 = performance.now();
    client.send(reply(1));
    assert.deepEqual(await client.next(), reply(2));
    const elapsed = performance.now() - t0;
    // Two delayed hops. Timers may fire a little early; 1.5× latency still tells one hop from two.
    assert.ok(elapsed >= 1.5 * latencyMs, `round trip took ${elapsed.toFixed(1)} ms`);
  });

  test("with maxChunkBytes, a 1 MiB payload still arrives intact", async () => {
    await using h = await Harness.start({ address, options: { maxChunkBytes: 1024 } });
    const { client, server } = await h.pair();
    const arr = new Uint8Array(1 << 20).map((_, i) => (i * 131) & 255);
    client.send(reply(1, serialize(arr).payload));
    const out = deserialize(((await server.next()) as { value: Serialized }).value) as Uint8Array;
    assert.ok(out instanceof Uint8Array, "kind lost");
    assert.ok(Buffer.from(out).equals(Buffer.from(arr)), "bytes differ");
    assert.equal(server.stats.packetsIn, 1);
  });

  test("values sent in one turn leave in packets of at most BATCH_FLUSH_BYTES (a bigger one alone), all in order", async () => {
    await using h = await Harness.start({ address });
    const { client, server } = await h.pair();
    const MiB = 1 << 20;
    const sizes = [30, 30, 30, 100, 1]; // MiB: [30+30], [30], [100], [1]
    sizes.forEach((mib, i) =>
      client.send({
        op: "data",
        id: i,
        values: { k: serialize(new Uint8Array(mib * MiB).fill(i)).payload },
        missing: [],
      }),
    );
    client.send(reply(99));
    const got: number[] = [];
    for (let i = 0; i < sizes.length; i++) {
      const m = (await server.next()) as unknown as { id: number; values: { k: Serialized } };
      const v = deserialize(m.values.k) as Uint8Array;
      assert.equal(v.length, sizes[i]! * MiB);
      got.push(v[0]!);
    }
    assert.deepEqual(await server.next(), reply(99));
    assert.deepEqual(got, [0, 1, 2, 3, 4]);
    assert.equal(BATCH_FLUSH_BYTES, 64 * MiB);
    assert.equal(client.stats.packetsOut, 4);
  });

  test("a capped link enforces the listener's maxPacketBytes, closing that connection", async () => {
    await using h = await Harness.start({ address, options: { maxChunkBytes: 1024, maxPacketBytes: 64 * 1024 } });
    const { client, server } = await h.pair();
    client.send(reply(1, serialize(new Uint8Array(100 * 1024)).payload));
    const info = await server.closed;
    assert.equal(info.graceful, false);
    assert.match(info.reason, /exceeds the limit of 65536 bytes/);
    assert.equal((await client.closed).graceful, false);
  });

  test("an uncapped link enforces the listener's maxPacketBytes too", async () => {
    // TransportOptions.maxPacketBytes: "Largest packet accepted from the peer".
    await using h = await Harness.start({ address, options: { maxPacketBytes: 64 * 1024 } });
    const { client, server } = await h.pair();
    client.send(reply(1, serialize(new Uint8Array(100 * 1024)).payload));
    const first = await Promise.race([
      server.next().then(
        () => "delivered",
        () => "closed",
      ),
      server.closed.then(() => "closed"),
    ]);
    assert.equal(first, "closed", "a packet over maxPacketBytes was delivered");
  });

  test("a malformed chunk on a capped link closes that connection, not gracefully, and no other", async () => {
    await using h = await Harness.start({ address, options: { maxChunkBytes: 1024 } });
    const { client: bystander, server: bystanderServer } = await h.pair();
    const hostile = await rawCappedPort(h.listener.address);
    const hostileServer = await h.nextAccepted();

    hostile.port.postMessage({ k: new Uint8Array(32).fill(0xab) });
    const info = await hostileServer.closed;
    assert.equal(info.graceful, false);
    assert.match(info.reason, /protocol error.*bad magic/);
    assert.match((await hostile.closedByPeer).reason, /bad magic/, "the peer is told why");
    hostile.port.close();

    assert.equal(bystander.isClosed || bystanderServer.isClosed, false);
    bystander.send(reply(1, "still here"));
    assert.deepEqual(await bystanderServer.next(), reply(1, "still here"));
  });

  test("shared-memory frames cross uncapped links without a copy", async () => {
    await using h = await Harness.start({ address });
    const { client, server } = await h.pair();
    assert.equal(client.sharedMemory, true);
    const arr = new Float64Array(new SharedArrayBuffer(8 * 1024));
    client.send(reply(1, serialize(arr).payload));
    const out = deserialize(((await server.next()) as { value: Serialized }).value) as Float64Array;
    assert.ok(out.buffer instanceof SharedArrayBuffer, "arrived as a copy");
    out[7] = 42;
    assert.equal(arr[7], 42, "both ends see the same memory");
  });

  test("sending a subarray copies only the view's bytes, and the sender keeps its buffer", async () => {
    await using h = await Harness.start({ address });
    const { client, server } = await h.pair();
    const whole = new Float64Array(1 << 16).map((_, i) => i);
    client.send(reply(1, serialize(whole.subarray(100, 104)).payload));
    const out = deserialize(((await server.next()) as { value: Serialized }).value) as Float64Array;
    assert.deepEqual([...out], [100, 101, 102, 103]);
    assert.equal(out.buffer.byteLength, 32);
    assert.equal(whole.length, 1 << 16, "the sender's buffer was detached");
  });

  test("a closed listener keeps its open connections", async () => {
    await using h = await Harness.start({ address });
    const { client, server } = await h.pair();
    await h.listener.close();
    client.send(reply(1));
    assert.deepEqual(await server.next(), reply(1));
  });

  test("two listeners cannot share a name; an empty name gets a fresh one", async () => {
    await using h = await Harness.start({ address });
    await assert.rejects(
      listen(h.listener.address, () => {}),
      (e: unknown) => e instanceof ConnectError && /already in use/.test(e.message),
    );
    const auto = await listen("inproc://", () => {});
    try {
      assert.match(auto.address, /^inproc:\/\/auto-\w+/);
      assert.notEqual(auto.address, h.listener.address);
    } finally {
      await auto.close();
    }
  });
});

describe("transport registry", () => {
  test("an unknown scheme rejects with UnknownSchemeError listing the known ones", async () => {
    assert.ok(knownSchemes().includes("inproc"), "inproc is registered by importing meshwork");
    for (const attempt of [() => connect("tcp://x"), () => listen("tcp://x", () => {})]) {
      await assert.rejects(
        attempt,
        (e: unknown) =>
          e instanceof UnknownSchemeError && /"tcp:\/\/x"/.test(e.message) && /inproc:\/\//.test(e.message),
      );
    }
  });

  test("an address without a scheme is an unknown scheme too", async () => {
    await assert.rejects(connect("localhost:8786"), UnknownSchemeError);
  });
});
