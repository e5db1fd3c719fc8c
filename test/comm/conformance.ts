// The behaviour every transport must show, as node:test suites (STYLE 13). A transport's test file
// calls transportConformance() with a way to make fresh addresses; see inproc.test.ts. The suite
// also runs inside Chromium (test/web/webrtc.web.ts): nothing here may need Node.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type Comm,
  CommClosedError,
  ConnectError,
  HandshakeError,
  PROTOCOL_VERSION,
  Requests,
  Serialized,
  connect,
  deserialize,
  greet,
  listen,
  serialize,
  welcome,
  type Listener,
  type Message,
  type TransportOptions,
} from "../../src/internal.js";
import { expectNoLeaks, resourceCounts } from "../helpers/leaks.js";

export interface ConformanceSetup {
  /** A fresh address to listen at (the transport may pick the concrete name or port from it). */
  address(): string;
  /** An address nobody listens at. Default: a fresh address(). */
  unusedAddress?(): string;
  /** Passed to both listen() and connect(). */
  options?: TransportOptions;
}

/** A listener plus every comm opened through it; disposal closes them all and checks for leaks. */
export class Harness implements AsyncDisposable {
  private readonly accepted: Comm[] = [];
  private readonly waiting: ((c: Comm) => void)[] = [];
  private readonly clients: Comm[] = [];
  private handedOut = 0;

  public listener!: Listener;

  private constructor(
    readonly setup: ConformanceSetup,
    private readonly baseline: Map<string, number>,
  ) {}

  static async start(setup: ConformanceSetup): Promise<Harness> {
    const h = new Harness(setup, resourceCounts());
    h.listener = await listen(setup.address(), (c) => h.onComm(c), setup.options);
    return h;
  }

  private onComm(c: Comm): void {
    // These tests speak no handshake: lift the limits a listening end reads with until a hello is
    // accepted (test/security/pre-hello.test.ts tests those).
    c.authenticated();
    this.accepted.push(c);
    this.waiting.shift()?.(c);
  }

  /** The next server-side comm not handed out yet, in order of acceptance. */
  nextAccepted(): Promise<Comm> {
    const i = this.handedOut++;
    if (i < this.accepted.length) return Promise.resolve(this.accepted[i]!);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async connect(): Promise<Comm> {
    const c = await connect(this.listener.address, this.setup.options);
    this.clients.push(c);
    return c;
  }

  /** A client comm and the server comm it reached. */
  async pair(): Promise<{ client: Comm; server: Comm }> {
    const [client, server] = await Promise.all([this.connect(), this.nextAccepted()]);
    return { client, server };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const all = [...this.clients, ...this.accepted];
    for (const c of all) c.close("test over");
    await Promise.all(all.map((c) => c.closed));
    await this.listener.close();
    await expectNoLeaks(this.baseline);
  }
}

/** The next `n` messages on `comm`, via its handler; rejects if the comm closes first. */
export function collect(comm: Comm, n: number): Promise<Message[]> {
  return new Promise((resolve, reject) => {
    const got: Message[] = [];
    if (n === 0) return resolve(got);
    comm.setHandler((m) => {
      got.push(m);
      if (got.length === n) resolve(got);
    });
    void comm.closed.then((info) => reject(new Error(`closed after ${got.length} of ${n} messages: ${info.reason}`)));
  });
}

/** Lets the event loop run other tasks (the suite runs in Node and in browsers: no setImmediate). */
const nextTask = () => new Promise((r) => setTimeout(r, 0));

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

const reply = (id: number, value?: unknown): Message => ({ op: "reply", id, value });
const ids = (ms: Message[]) => ms.map((m) => (m as { id: number }).id);

export function transportConformance(name: string, setup: ConformanceSetup): void {
  const start = () => Harness.start(setup);

  describe(`${name}: transport conformance`, { timeout: 30_000 }, () => {
    test("connect reaches the listener and messages flow both ways", async () => {
      await using h = await start();
      const { client, server } = await h.pair();
      assert.equal(client.peerAddress, h.listener.address);
      assert.equal(client.isClosed || server.isClosed, false);
      client.send(reply(1, "ping"));
      assert.deepEqual(await server.next(), reply(1, "ping"));
      server.send(reply(2, "pong"));
      assert.deepEqual(await client.next(), reply(2, "pong"));
    });

    test("1,000 messages arrive in order", async () => {
      await using h = await start();
      const { client, server } = await h.pair();
      const received = collect(server, 1000);
      for (let i = 0; i < 1000; i++) {
        client.send(reply(i));
        if (i % 100 === 99) await nextTask(); // spread over several packets
      }
      assert.deepEqual(
        ids(await received),
        Array.from({ length: 1000 }, (_, i) => i),
      );
      assert.ok(client.stats.packetsOut >= 10, `only ${client.stats.packetsOut} packets`);
    });

    test("messages sent in one turn leave as one packet", async () => {
      await using h = await start();
      const { client, server } = await h.pair();
      const received = collect(server, 100);
      for (let i = 0; i < 100; i++) client.send(reply(i, `m${i}`));
      assert.equal(client.stats.packetsOut, 0, "nothing leaves before the turn ends");
      assert.deepEqual(
        ids(await received),
        Array.from({ length: 100 }, (_, i) => i),
      );
      assert.equal(client.stats.packetsOut, 1);
      assert.equal(client.stats.messagesOut, 100);
      assert.equal(server.stats.packetsIn, 1);
      assert.equal(server.stats.messagesIn, 100);
    });

    test("both directions at once", async () => {
      await using h = await start();
      const { client, server } = await h.pair();
      const atServer = collect(server, 500);
      const atClient = collect(client, 500);
      for (let i = 0; i < 500; i++) {
        client.send(reply(i, "up"));
        server.send(reply(i, "down"));
        if (i % 50 === 49) await nextTask();
      }
      const [up, down] = await Promise.all([atServer, atClient]);
      assert.deepEqual(ids(up), ids(down));
      assert.ok(
        up.every((m) => (m as { value: string }).value === "up") &&
          down.every((m) => (m as { value: string }).value === "down"),
        "crossed wires",
      );
    });

    test("an 8 MiB Float64Array inside a Serialized arrives intact", async () => {
      await using h = await start();
      const { client, server } = await h.pair();
      const arr = new Float64Array(1 << 20).map((_, i) => i * 1.5 - 7);
      client.send(reply(1, serialize({ arr }).payload));
      const m = (await server.next()) as { value: Serialized };
      assert.ok(m.value instanceof Serialized, "value is not a Serialized");
      const out = (deserialize(m.value) as { arr: Float64Array }).arr;
      assert.ok(out instanceof Float64Array, "not a Float64Array");
      assert.equal(out.length, arr.length);
      assert.ok(sameBytes(out, arr), "bytes differ");
      assert.equal(arr[12345], 12345 * 1.5 - 7, "the sender's array is still usable (not detached)");
    });

    test("typed arrays keep their type end to end", async () => {
      await using h = await start();
      const { client, server } = await h.pair();
      const value = {
        i8: new Int8Array([-1, 2]),
        u8c: new Uint8ClampedArray([255]),
        i16: new Int16Array([-300]),
        u32: new Uint32Array([4e9]),
        f32: new Float32Array([0.5]),
        big: new BigInt64Array([-(2n ** 60n)]),
        ubig: new BigUint64Array([2n ** 63n]),
        dv: new DataView(new Uint8Array([1, 2, 3]).buffer),
        ab: new Uint8Array([4, 5]).buffer,
        offset: new Float64Array(new ArrayBuffer(64), 24, 2).fill(2.5),
        map: new Map([["u16", new Uint16Array([65535])]]),
      };
      client.send(reply(1, serialize(value).payload));
      const m = (await server.next()) as { value: Serialized };
      assert.deepEqual(deserialize(m.value), value);
    });

    for (const side of ["client", "server"] as const) {
      test(`closing from the ${side} resolves closed on both ends with the reason, gracefully`, async () => {
        await using h = await start();
        const pair = await h.pair();
        const [closer, other] = side === "client" ? [pair.client, pair.server] : [pair.server, pair.client];
        closer.close(`${side} is done`);
        const expected = { reason: `${side} is done`, graceful: true };
        assert.deepEqual(await closer.closed, expected);
        assert.deepEqual(await other.closed, expected);
        assert.equal(other.isClosed, true);
      });
    }

    test("messages sent in the same turn as close arrive before it", async () => {
      await using h = await start();
      const { client, server } = await h.pair();
      const received = collect(server, 10);
      for (let i = 0; i < 10; i++) client.send(reply(i));
      client.close("after ten");
      assert.deepEqual(
        ids(await received),
        Array.from({ length: 10 }, (_, i) => i),
      );
      assert.equal((await server.closed).reason, "after ten");
    });

    test("close is idempotent: the first reason stands", async () => {
      await using h = await start();
      const { client, server } = await h.pair();
      client.close("first");
      client.close("second");
      assert.equal((await client.closed).reason, "first");
      assert.equal((await server.closed).reason, "first");
    });

    test("send after close throws CommClosedError, on both ends", async () => {
      await using h = await start();
      const { client, server } = await h.pair();
      client.close("bye");
      await server.closed;
      assert.throws(() => client.send(reply(1)), CommClosedError);
      assert.throws(
        () => server.send(reply(1)),
        (e: unknown) => e instanceof CommClosedError && /bye/.test(e.message),
      );
    });

    test("a pending next() rejects with CommClosedError when either end closes", async () => {
      await using h = await start();
      const { client, server } = await h.pair();
      // Both assertions are attached before the close, so neither rejection goes unhandled.
      const atServer = assert.rejects(
        server.next(),
        (e: unknown) => e instanceof CommClosedError && /going away/.test(e.message),
      );
      const atClient = assert.rejects(client.next(), CommClosedError);
      client.close("going away");
      await Promise.all([atServer, atClient]);
      await assert.rejects(server.next(), CommClosedError, "next() after close rejects too");
    });

    test("connecting where nobody listens rejects with ConnectError", async () => {
      const baseline = resourceCounts();
      const address = setup.unusedAddress?.() ?? setup.address();
      await assert.rejects(connect(address, setup.options), ConnectError);
      await expectNoLeaks(baseline);
    });

    test("50 concurrent connections to one listener each reach their own server end", async () => {
      await using h = await start();
      const clients = await Promise.all(Array.from({ length: 50 }, () => h.connect()));
      const servers = await Promise.all(clients.map(() => h.nextAccepted()));
      for (const s of servers) s.setHandler((m) => s.send(reply((m as { id: number }).id * 10)));
      clients.forEach((c, i) => c.send(reply(i)));
      const echoes = await Promise.all(clients.map((c) => c.next()));
      assert.deepEqual(
        ids(echoes),
        clients.map((_, i) => i * 10),
      );
    });

    test("a closed listener stops accepting", async () => {
      await using h = await start();
      await h.pair();
      await h.listener.close();
      await assert.rejects(connect(h.listener.address, setup.options), ConnectError);
    });

    test("handshake: greet and welcome agree, pass the id and data token, and name the codecs each end decodes", async () => {
      await using h = await start();
      const { client, server } = await h.pair();
      const admitted = welcome(server, (hello) => ({ id: `${hello.role}-7`, dataToken: "secret" }));
      const w = await greet(client, { role: "client", name: "tester" });
      assert.deepEqual(w, {
        op: "welcome",
        version: PROTOCOL_VERSION,
        id: "client-7",
        codecs: ["deflate"],
        dataToken: "secret",
      });
      const result = await admitted;
      assert.equal(result?.id, "client-7");
      assert.equal(result?.hello.name, "tester");
      assert.deepEqual(result?.hello.codecs, ["deflate"]);
    });

    test("handshake: a version mismatch fails with HandshakeError naming both versions", async () => {
      await using h = await start();
      const { client, server } = await h.pair();
      const other = PROTOCOL_VERSION + 41;
      const admitted = welcome(server, () => assert.fail("admit must not be asked"));
      // greet spreads its argument after the version it sets: this is how a peer from another release looks.
      const hello = { role: "client", version: other } as Parameters<typeof greet>[1];
      await assert.rejects(greet(client, hello), (e: unknown) => {
        assert.ok(e instanceof HandshakeError, `got ${String(e)}`);
        assert.match(e.message, new RegExp(`version ${PROTOCOL_VERSION}\\b.*\\b${other}\\b`));
        return true;
      });
      assert.equal(await admitted, null);
      assert.equal((await server.closed).graceful, true);
    });

    test("requests: replies settle them; pending ones reject with CommClosedError on close", async () => {
      await using h = await start();
      const { client, server } = await h.pair();
      const requests = new Requests(client);
      client.setHandler((m) => m.op === "reply" && requests.settle(m.id, m.value, m.error));
      let seen = 0;
      server.setHandler((m) => {
        if (m.op === "request" && ++seen === 1) server.send(reply(m.id, "answered"));
      });
      assert.equal(await requests.request((id) => ({ op: "request", id, what: { kind: "workers" } })), "answered");
      const pending = [1, 2, 3].map(() => requests.request((id) => ({ op: "request", id, what: { kind: "workers" } })));
      assert.equal(requests.size, 3);
      server.close("server stopping");
      for (const p of pending)
        await assert.rejects(p, (e: unknown) => e instanceof CommClosedError && /server stopping/.test(e.message));
      assert.equal(requests.size, 0);
      await assert.rejects(
        requests.request((id) => ({ op: "request", id, what: { kind: "workers" } })),
        CommClosedError,
      );
    });
  });
}
