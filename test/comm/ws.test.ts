// The WebSocket transport: the conformance suite (plain, throttled, with small messages and forced
// compression), then what only ws does: a real socket on 127.0.0.1, one HTTP port, garbage bytes.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { WebSocket } from "ws";
import "../../node/platform/platform.js";
import { ConnectError, connect, listen, serialize, type Message } from "../../src/internal.js";
import { Harness, transportConformance } from "./conformance.js";

const address = () => "ws://127.0.0.1:0";
const unusedAddress = () => "ws://127.0.0.1:9"; // the discard port: nothing listens there

transportConformance("ws", { address, unusedAddress });
transportConformance("ws, 64 KiB messages, compression forced", {
  address,
  unusedAddress,
  options: { chunkBytes: 64 * 1024, compression: "deflate" },
});
transportConformance("ws, throttled to 200 MB/s", { address, unusedAddress, options: { throttleBytesPerSec: 200e6 } });

const reply = (id: number, value?: unknown): Message => ({ op: "reply", id, value });

describe("ws transport", () => {
  test("the listener binds 127.0.0.1 on a free port and reports the real address", async () => {
    const l = await listen("ws://127.0.0.1:0", () => {});
    try {
      assert.match(l.address, /^ws:\/\/127\.0\.0\.1:\d+$/);
      assert.notEqual(l.address, "ws://127.0.0.1:0");
    } finally {
      await l.close();
    }
  });

  test("plain HTTP on the same port gets an answer saying to use a WebSocket", async () => {
    const l = await listen("ws://127.0.0.1:0", () => {});
    try {
      const res = await fetch(l.address.replace("ws:", "http:"));
      assert.equal(res.status, 426);
      assert.match(await res.text(), /connect with a WebSocket/);
    } finally {
      await l.close();
    }
  });

  test("a throttled link runs at about its rate", async () => {
    await using h = await Harness.start({ address, options: { throttleBytesPerSec: 20e6 } });
    const { client, server } = await h.pair();
    // Random bytes: zeros would be compressed on this known-slow link and arrive faster than its rate.
    const bytes = new Uint8Array(4 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
    const payload = serialize(bytes).payload;
    const t = performance.now();
    client.send(reply(1, payload));
    await server.next();
    const secs = (performance.now() - t) / 1000;
    const rate = (4 * 1024 * 1024) / secs;
    assert.ok(rate < 25e6 && rate > 10e6, `~20 MB/s, measured ${(rate / 1e6).toFixed(1)} MB/s`);
  });

  test("garbage bytes or a text message close that connection with the reason, and no other", async () => {
    await using h = await Harness.start({ address });
    const { client: bystander, server: bystanderServer } = await h.pair();
    for (const garbage of [new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]), "hello"]) {
      const raw = new WebSocket(h.listener.address);
      await new Promise((r) => raw.once("open", r));
      const accepted = await h.nextAccepted();
      const closedByPeer = new Promise<{ code: number; reason: string }>((r) =>
        raw.once("close", (code, reason) => r({ code, reason: reason.toString() })),
      );
      raw.send(garbage);
      const info = await accepted.closed;
      assert.equal(info.graceful, false);
      assert.match(info.reason, /protocol error/);
      const peer = await closedByPeer;
      assert.equal(peer.code, 1002);
      assert.match(peer.reason, /protocol error/);
    }
    bystander.send(reply(7, "still here"));
    assert.deepEqual(await bystanderServer.next(), reply(7, "still here"));
  });

  test("connecting to a port nobody listens at fails with ConnectError", async () => {
    await assert.rejects(connect("ws://127.0.0.1:9"), ConnectError);
  });
});
