// Hostile input over real WebSockets: thousands of random and mutated messages to the scheduler and
// to a worker's data server, connections that never say hello, oversized packets. Each bad
// connection is closed with a reason; afterwards the cluster still computes correctly and nothing
// else was disturbed. Seeded, so a failure reproduces.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client, Scheduler } from "../../node/index.js";
import { WorkerGroup } from "../../node/hosts/worker-group.js";
import {
  consoleLogger,
  encodePacket,
  opener,
  PROTOCOL_VERSION,
  serialize,
  setLogger,
  toChunks,
  type Message,
} from "../../src/internal.js";
import { Hostile } from "../security/hostile.js";

const CLIENT_TOKEN = "client-secret";
const WORKER_TOKEN = "worker-secret";
const MAX_PACKET = 1024 * 1024;

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** Opens a session and does the handshake for `role`; returns it with the welcome. */
async function session(
  address: string,
  role: "client" | "peer",
  token: string,
  name?: string,
): Promise<{ s: Hostile; welcome: Message }> {
  const s = await Hostile.open(address, "127.0.0.1");
  s.send([{ op: "hello", version: PROTOCOL_VERSION, role, token, codecs: ["deflate"], name }]);
  const welcome = await s.next();
  assert.equal(welcome?.op, "welcome", `handshake as ${role}: ${JSON.stringify(welcome)}`);
  return { s, welcome: welcome! };
}

/** A value of any kind, to put where a field of one kind is expected. */
function randomValue(r: () => number, depth = 0): unknown {
  const kinds = depth > 2 ? 7 : 10;
  switch (Math.floor(r() * kinds)) {
    case 0:
      return [0, -1, 1.5, NaN, Infinity, -Infinity, 2 ** 53 + 2, 1e308][Math.floor(r() * 8)];
    case 1:
      return Math.random()
        .toString(36)
        .slice(2, 2 + Math.floor(r() * 12));
    case 2:
      return r() < 0.5;
    case 3:
      return null;
    case 4:
      return undefined;
    case 5:
      return new Uint8Array(Math.floor(r() * 40));
    case 6:
      return BigInt(Math.floor(r() * 1e9)) * 10n ** 12n;
    case 7:
      return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    case 8:
      return Object.fromEntries(
        Array.from({ length: Math.floor(r() * 4) }, (_, i) => [`f${i}`, randomValue(r, depth + 1)]),
      );
    default:
      return new Map([[randomValue(r, depth + 1), randomValue(r, depth + 1)]]);
  }
}

/** Real messages of each kind a scheduler or data server receives: the corpus to mutate. */
function corpus(): Message[] {
  const args = serialize([1, "two", new Float64Array(3)]).payload;
  return [
    {
      op: "update-graph",
      tasks: [{ key: "fz-a", fn: { kind: "source", id: "fz" }, args, deps: [], priority: [0, 1, 2], retries: 0 }],
      fns: [{ id: "fz", source: "(a, b, c) => a", name: "f" }],
      wants: ["fz-a"],
    },
    { op: "release-keys", keys: ["fz-a", "nope"] },
    { op: "cancel", keys: ["fz-b"] },
    { op: "update-data", entries: [{ key: "fz-c", worker: "ws://127.0.0.1:1", nbytes: 8 }] },
    { op: "request", id: 1, what: { kind: "who-has", keys: ["fz-a"] } },
    { op: "request", id: 2, what: { kind: "story", key: "fz-a" } },
    { op: "task-finished", key: "fz-a", nbytes: 8, duration: 1 },
    { op: "request", id: 5, what: { kind: "retire", workers: ["fz-no-such-worker"] } },
    { op: "heartbeat", memory: 1, spilled: 0, paused: false, executing: 0, ready: 0 },
    { op: "task-started", key: "fz-a" },
    { op: "steal-response", stolen: ["fz-a"], kept: ["fz-b"] },
    { op: "acquire-failed", keys: ["fz-a"] },
    { op: "retire-me", reason: "fuzz" },
    { op: "get-data", id: 3, keys: ["fz-a"] },
    { op: "put-data", id: 4, values: { "fz-d": serialize("x").payload } },
  ] as Message[];
}

/** One hostile thing to send: raw bytes, or messages with fields replaced, or an unknown op. */
function hostile(
  r: () => number,
  base: Message[],
): { bytes?: Uint8Array | string; messages?: Message[]; truncated?: boolean } {
  const pick = base[Math.floor(r() * base.length)]!;
  switch (Math.floor(r() * 6)) {
    case 0: {
      const n = Math.floor(r() * 200);
      const bytes = new Uint8Array(n);
      for (let i = 0; i < n; i++) bytes[i] = Math.floor(r() * 256);
      return { bytes };
    }
    case 1: {
      // A real packet with a few bytes changed anywhere: framing, msgpack or a value.
      const [chunk] = toChunks(encodePacket([pick]), 1 << 20);
      const bytes = chunk!.slice();
      for (let k = 0; k < 1 + Math.floor(r() * 6); k++) bytes[Math.floor(r() * bytes.length)] = Math.floor(r() * 256);
      return { bytes };
    }
    case 2: {
      const [chunk] = toChunks(encodePacket([pick]), 1 << 20);
      return { bytes: chunk!.subarray(0, Math.floor(r() * chunk!.byteLength)), truncated: true };
    }
    case 3:
      return { bytes: "a text message" };
    case 4: {
      const fields = Object.keys(pick).filter((k) => k !== "op");
      const broken = { ...pick, [fields[Math.floor(r() * fields.length)] ?? "x"]: randomValue(r) } as Message;
      return { messages: [broken] };
    }
    default:
      return {
        messages: [
          {
            op: ["constructor", "__proto__", "toString", "hello", "welcome", "fz-" + Math.floor(r() * 100)][
              Math.floor(r() * 6)
            ],
            ...(randomValue(r) as object),
          } as unknown as Message,
        ],
      };
  }
}

/**
 * Sends `count` hostile inputs to `address`, each on a handshaken connection (reused while it stays
 * open), and waits until each is dealt with. Returns how many connections the far end closed.
 */
async function fuzz(
  address: string,
  role: "client" | "peer",
  token: string,
  count: number,
  seed: number,
  name?: string,
): Promise<{ closedByPeer: number; reasons: Set<string> }> {
  const r = prng(seed);
  const base = corpus();
  let current: Hostile | null = null;
  let closedByPeer = 0;
  const reasons = new Set<string>();
  for (let i = 0; i < count; i++) {
    current ??= (await session(address, role, token, name)).s;
    const h = hostile(r, base);
    if (h.bytes !== undefined) current.sendBytes(h.bytes);
    else current.send(h.messages!);
    if (h.truncated) {
      // The far end now waits for the rest of a packet that never comes: leave it like that.
      await new Promise((r) => setTimeout(r, 5));
      current.close();
      current = null;
      continue;
    }
    // A request the far end answers only after everything sent before it: proof it was handled.
    current.send(
      role === "client"
        ? [{ op: "request", id: 1e6 + i, what: { kind: "workers" } }]
        : [{ op: "get-data", id: 1e6 + i, keys: [] }],
    );
    let answered = false;
    for (;;) {
      // A truncated packet leaves the far end waiting for the rest, which then swallows our
      // request: no answer and no close. Give up on such a connection quickly.
      const m = await current.next(100);
      if (m === null) break;
      if ((m.op === "reply" || m.op === "data") && (m as { id: number }).id === 1e6 + i) {
        answered = true;
        break;
      }
    }
    if (!answered && current.isOpen) {
      current.close();
      current = null;
      continue;
    }
    if (!current.isOpen) {
      const info = await current.closed;
      closedByPeer++;
      reasons.add(info.reason.replace(/[\d"]+/g, "#").slice(0, 40));
      current = null;
    }
  }
  current?.close();
  return { closedByPeer, reasons };
}

describe("hostile input", () => {
  let scheduler: Scheduler;
  let workers: WorkerGroup;
  let client: Client;
  let restoreLogger: ReturnType<typeof setLogger>;

  before(async () => {
    restoreLogger = setLogger(consoleLogger("silent")); // thousands of "closing connection" warnings
    scheduler = await Scheduler.start({
      address: "ws://127.0.0.1:0",
      token: CLIENT_TOKEN,
      workerToken: WORKER_TOKEN,
      transport: { maxPacketBytes: MAX_PACKET },
      handshakeTimeoutMs: 300,
      maxPendingHandshakes: 40,
    });
    workers = new WorkerGroup({
      scheduler: scheduler.address,
      listen: "ws://127.0.0.1:0",
      kind: "node",
      namePrefix: "fz",
      token: WORKER_TOKEN,
      logLevel: "silent",
    });
    await workers.grow(2);
    client = await Client.connect(scheduler.address, { token: CLIENT_TOKEN });
  });

  after(async () => {
    await client.close();
    await workers.close();
    await scheduler.close();
    setLogger(restoreLogger);
  });

  test("2,000 random and mutated messages to the scheduler: bad connections closed, good ones untouched", async () => {
    const before = await client.submit((x: number) => x * 2, 21);
    assert.equal(before, 42);
    const { closedByPeer, reasons } = await fuzz(scheduler.address, "client", CLIENT_TOKEN, 2000, 1);
    assert.ok(closedByPeer > 1000, `most hostile inputs close their connection (closed ${closedByPeer})`);
    assert.ok(
      [...reasons].some((x) => /protocol error/.test(x)),
      [...reasons].join(" | "),
    );
    // The cluster still computes, with the real client and both workers as they were.
    const fs = client.map(
      (x: number) => x * x,
      Array.from({ length: 50 }, (_, i) => i),
    );
    const total = client.submit((xs: number[]) => xs.reduce((a, b) => a + b, 0), fs);
    assert.equal(
      await total,
      Array.from({ length: 50 }, (_, i) => i * i).reduce((a, b) => a + b, 0),
    );
    assert.equal((await client.workers()).length, 2);
    assert.equal(scheduler.connections.clients, 1, "only the real client is left");
  });

  test("1,000 random and mutated messages to a worker's data server; it keeps serving", async () => {
    // A data server admits only a reader holding a ticket there: a client asks where a result is,
    // and opens the connection with the ticket it is given (util/tickets.ts).
    const [w] = await client.workers();
    const held = client.with({ workers: w!.id }).submit((x: number) => x + 1, 1);
    await held;
    const { s, welcome } = await session(scheduler.address, "client", CLIENT_TOKEN);
    s.send([{ op: "request", id: 1, what: { kind: "locate", keys: [held.key] } }]);
    const located = ((await s.next()) as { value: Record<string, { who: string[]; tickets: string[] }> }).value[
      held.key
    ]!;
    s.close();
    const ticket = located.tickets[located.who.indexOf(w!.address)]!;
    const reader = `client-${(welcome as { id: string }).id}`;
    const { closedByPeer } = await fuzz(w!.address, "peer", opener("get", ticket, held.key), 1000, 2, reader);
    assert.ok(closedByPeer > 300, `closed ${closedByPeer}`);
    const big = client.with({ workers: w!.id }).submit((n: number) => new Float64Array(n).fill(1), 100_000);
    const other = (await client.workers()).find((x) => x.id !== w!.id)!;
    const sum = client.with({ workers: other.id }).submit((a: Float64Array) => a.reduce((x, y) => x + y, 0), big);
    assert.equal(await sum, 100_000, "the fuzzed worker still serves its data to its peer");
  });

  test("connections that never say hello are closed: at once beyond the cap, otherwise after the timeout", async () => {
    const idle = await Promise.all(Array.from({ length: 60 }, () => Hostile.open(scheduler.address, "127.0.0.1")));
    const reasons = await Promise.all(idle.map((s) => s.closed.then((c) => c.reason)));
    const flooded = reasons.filter((x) => /too many connections waiting/.test(x)).length;
    const timedOut = reasons.filter((x) => /no hello within 300 ms/.test(x)).length;
    assert.ok(flooded >= 20, `${flooded} refused beyond the cap`);
    assert.ok(timedOut >= 1 && flooded + timedOut === 60, `timed out: ${timedOut}, refused: ${flooded}`);
    assert.equal(await client.submit((x: number) => x + 1, 1), 2);
  });

  test("an oversized packet closes that connection, naming the limit", async () => {
    const { s } = await session(scheduler.address, "client", CLIENT_TOKEN);
    s.send([{ op: "release-keys", keys: ["x".repeat(MAX_PACKET)] }]);
    const info = await s.closed;
    assert.match(info.reason, /exceeds the limit of 1048576 bytes/);
    assert.equal(await client.submit((x: number) => x + 2, 1), 3);
  });

  test("a wrong token or a worker token used as a client is refused alike, without disturbing anything", async () => {
    for (const [token, pattern] of [
      ["nope", /^wrong token$/],
      [WORKER_TOKEN, /^wrong token$/],
    ] as const) {
      const s = await Hostile.open(scheduler.address, "127.0.0.1");
      s.send([{ op: "hello", version: PROTOCOL_VERSION, role: "client", token }]);
      const reply = await s.next();
      assert.equal(reply?.op, "refused");
      assert.match((reply as { reason: string }).reason, pattern);
      await s.closed;
    }
    assert.equal(await client.submit((x: number) => x + 3, 1), 4);
  });
});
