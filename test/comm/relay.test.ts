// The relay transport: connections through the scheduler's HTTP server, for ends that cannot
// listen (browser tabs). The conformance suite over a real relay hub on 127.0.0.1, then the
// hub's own rules.

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import "../../node/platform/platform.js";
import { RelayHub } from "../../node/servers/relay-hub.js";
import { ConnectError, connect, listen, type Message } from "../../src/internal.js";
import { transportConformance } from "./conformance.js";

// The bare transport speaks no handshake through its pipes: no cap until the far end answers
// (test/security/relay.test.ts tests the hub as a scheduler runs it).
const hub = await RelayHub.create({ token: "wt", canReach: (a) => a === reachable, capUntilAnswered: false });
let reachable = "";
const server = await listen("ws://127.0.0.1:0", (c) => c.close("not for this test"), { onUpgrade: hub.onUpgrade });
const base = server.address.replace("ws://", "relay://");
after(async () => {
  hub.close();
  await server.close();
});

transportConformance("relay", {
  address: () => base,
  unusedAddress: () => `${base}/nobody-here`,
  options: { relayToken: "wt" },
});

const reply = (id: number, value?: unknown): Message => ({ op: "reply", id, value });

describe("relay hub", () => {
  test("a listener without the worker token is refused, and a taken slot cannot be listened at twice", async () => {
    await assert.rejects(
      listen(`${base}/slot-a`, () => {}, {}),
      ConnectError,
    );
    const l = await listen(`${base}/slot-b`, () => {}, { relayToken: "wt" });
    try {
      await assert.rejects(
        listen(`${base}/slot-b`, () => {}, { relayToken: "wt" }),
        ConnectError,
      );
    } finally {
      await l.close();
    }
  });

  test("relay-to reaches a known worker's ws:// data server, and nothing else", async () => {
    const target = await listen("ws://127.0.0.1:0", (c) =>
      c.setHandler((m) => c.send(reply((m as { id: number }).id + 1))),
    );
    try {
      const via = `${server.address}/relay-to/${encodeURIComponent(target.address)}`;
      await assert.rejects(connect(via), ConnectError); // not (yet) a known worker
      reachable = target.address;
      const c = await connect(via);
      c.send(reply(1));
      assert.deepEqual(await c.next(), reply(2));
      c.close();
    } finally {
      reachable = "";
      await target.close();
    }
  });
});
