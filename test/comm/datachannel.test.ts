// The MessagePort pipe between a data channel's owner and its user (src/comm/datachannel.ts), and a
// link taking a channel, with a scripted channel: states and events in the order a browser can
// produce them. Real channels are covered by the WebRTC suites (webrtc.test.ts, test/web in Chromium).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { pipeDataChannel, portSocket, type DataChannelLike, type PortLike } from "../../src/comm/datachannel.js";
import { RtcLink, type BridgeMessage } from "../../src/comm/rtc-link.js";
import type { Channel } from "../../src/comm/types.js";

/** A data channel whose state the test sets; what it sends is kept. */
class ScriptedChannel extends EventTarget {
  readonly label = "scripted";
  readyState = "connecting";
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  binaryType = "blob";
  readonly sent: number[][] = [];
  send(data: Uint8Array): void {
    if (this.readyState !== "open") throw new DOMException("not open", "InvalidStateError");
    this.sent.push([...data]);
  }
  close(): void {
    if (this.readyState === "closed") return;
    this.readyState = "closed";
    this.dispatchEvent(new Event("close"));
  }
  open(): void {
    this.readyState = "open";
    this.dispatchEvent(new Event("open"));
  }
  receive(bytes: number[]): void {
    this.dispatchEvent(Object.assign(new Event("message"), { data: new Uint8Array(bytes).buffer }));
  }
}

function pipe(dc: ScriptedChannel) {
  const { port1, port2 } = new MessageChannel();
  pipeDataChannel(dc as unknown as DataChannelLike, port1 as unknown as PortLike);
  const socket = portSocket(port2 as unknown as PortLike);
  const events: string[] = [];
  const messages: number[][] = [];
  const on = socket.addEventListener.bind(socket) as (type: string, l: (e: { reason: string; data: ArrayBuffer }) => void) => void;
  on("open", () => events.push("open"));
  on("close", (e) => events.push(`close: ${e.reason}`));
  on("message", (e) => messages.push([...new Uint8Array(e.data)]));
  return { socket, events, messages };
}

/** Lets messages cross the ports (each hop is a task). */
const settle = () => new Promise((r) => setTimeout(r, 20));

describe("data channel pipe", () => {
  test("bytes cross both ways once the channel opens, and a close crosses too", async () => {
    const dc = new ScriptedChannel();
    const { socket, events, messages } = pipe(dc);
    await settle();
    assert.equal(socket.readyState, 0, "not open before the channel is");
    dc.open();
    await settle();
    assert.deepEqual(events, ["open"]);
    socket.send(new Uint8Array([1, 2, 3]));
    dc.receive([9, 8]);
    await settle();
    assert.deepEqual(dc.sent, [[1, 2, 3]]);
    assert.deepEqual(messages, [[9, 8]]);
    assert.equal(dc.binaryType, "arraybuffer");
    dc.close();
    await settle();
    assert.deepEqual(events, ["open", "close: data channel closed"]);
  });

  test("what is sent while a channel announced open reads 'connecting' goes out at its second open event", async () => {
    // Chromium 150, a channel from `datachannel`: "open", then "connecting" a moment, then "open" again.
    const dc = new ScriptedChannel();
    dc.readyState = "open";
    const { socket, events } = pipe(dc);
    await settle();
    assert.deepEqual(events, ["open"]);
    dc.readyState = "connecting";
    socket.send(new Uint8Array([0x6d]));
    await settle();
    assert.deepEqual(dc.sent, [], "held while the channel cannot send");
    dc.open();
    await settle();
    assert.deepEqual(dc.sent, [[0x6d]], "sent when it opens again");
    assert.deepEqual(events, ["open"], "the port end hears of one opening");
    socket.close(1000, "done");
    await settle();
    assert.equal(dc.readyState, "closed", "closing the port end closes the channel");
  });

  test("a link takes a channel that opens twice once: one READY, one incoming channel", async () => {
    let toLink: (m: BridgeMessage) => void = () => {};
    const link = new RtcLink({ post: () => {}, receive: (h) => (toLink = h) }, "webrtc://me");
    const accepted: Channel[] = [];
    link.onChannel = (c) => accepted.push(c);
    const dc = new ScriptedChannel();
    toLink({ rtc: "channel", peer: "webrtc://peer", channel: dc as unknown as DataChannelLike });
    dc.open();
    dc.open();
    await settle();
    assert.equal(accepted.length, 1);
    assert.deepEqual(dc.sent, [[0x6d]], "READY once");
    for (const c of accepted) c.close("done");
    link.close();
  });
});
