// The MessagePort pipe between a data channel's owner and its user (src/comm/datachannel.ts), and a
// link taking a channel, with a scripted channel: states and events in the order a browser can
// produce them. Real channels are covered by the WebRTC suites (webrtc.test.ts, test/web in Chromium).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Comm } from "../../src/comm/comm.js";
import {
  dataChannelSocket,
  pipeDataChannel,
  portSocket,
  type DataChannelLike,
  type PortLike,
} from "../../src/comm/datachannel.js";
import { SocketChannel } from "../../src/comm/socket.js";
import { RtcLink, type BridgeMessage } from "../../src/comm/rtc-link.js";
import type { Channel } from "../../src/comm/types.js";
import { waitFor } from "../helpers/wait-for.js";

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

/**
 * Two ends of a channel that lose what is still in flight when either end closes, as
 * libdatachannel can (node-datachannel issues #188, #375): a message takes 5 ms to arrive.
 */
function lossyPair(): [LossyChannel, LossyChannel] {
  const a = new LossyChannel();
  const b = new LossyChannel();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

class LossyChannel extends ScriptedChannel {
  peer!: LossyChannel;
  private readonly inFlight = new Set<ReturnType<typeof setTimeout>>();
  override readyState = "open";
  override send(data: Uint8Array): void {
    if (this.readyState !== "open") throw new DOMException("not open", "InvalidStateError");
    const bytes = [...data];
    const t = setTimeout(() => {
      this.inFlight.delete(t);
      this.peer.receive(bytes);
    }, 5);
    this.inFlight.add(t);
  }
  override close(): void {
    if (this.readyState === "closed") return;
    for (const t of this.inFlight) clearTimeout(t); // lost
    this.inFlight.clear();
    super.close();
    this.peer.close();
  }
}

function commOver(dc: ScriptedChannel, name: string): Comm {
  return new Comm(
    new SocketChannel(
      dataChannelSocket(dc as unknown as DataChannelLike),
      `webrtc://${name}`,
      "webrtc://other",
      "webrtc",
      { maxPacketBytes: 1 << 20 },
    ),
    name,
  );
}

function pipe(dc: ScriptedChannel) {
  const { port1, port2 } = new MessageChannel();
  pipeDataChannel(dc as unknown as DataChannelLike, port1 as unknown as PortLike);
  const socket = portSocket(port2 as unknown as PortLike);
  const events: string[] = [];
  const messages: number[][] = [];
  const on = socket.addEventListener.bind(socket) as (
    type: string,
    l: (e: { reason: string; data: ArrayBuffer }) => void,
  ) => void;
  on("open", () => events.push("open"));
  on("close", (e) => events.push(`close: ${e.reason}`));
  on("message", (e) => messages.push([...new Uint8Array(e.data)]));
  return { socket, events, messages };
}

/** A link that is handed a scripted channel from a peer, as its host hands it a real one. */
function linkTaking() {
  let toLink: (m: BridgeMessage) => void = () => {};
  const link = new RtcLink({ post: () => {}, receive: (h) => (toLink = h) }, "webrtc://me");
  const accepted: Channel[] = [];
  link.onChannel = (c) => accepted.push(c);
  const dc = new ScriptedChannel();
  toLink({ rtc: "channel", peer: "webrtc://peer", channel: dc as unknown as DataChannelLike });
  return { link, dc, accepted };
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

  test("a data channel that loses what is in flight at close still delivers the goodbye: the closer waits for the peer", async () => {
    const [a, b] = lossyPair();
    const closer = commOver(a, "closer");
    const other = commOver(b, "other");
    closer.send({ op: "reply", id: 1 } as never);
    closer.close("done here");
    assert.deepEqual(await closer.closed, { reason: "done here", graceful: true });
    assert.deepEqual(
      await other.closed,
      { reason: "done here", graceful: true },
      "the goodbye arrived before the channel closed",
    );
    assert.equal(a.readyState, "closed", "the peer's answer closed the channel");
  });

  test("both ends closing at once answer each other's goodbye: the channel closes without waiting out the linger", async () => {
    const [a, b] = lossyPair();
    const one = commOver(a, "one");
    const two = commOver(b, "two");
    one.close("one is done");
    two.close("two is done");
    assert.deepEqual(await one.closed, { reason: "one is done", graceful: true });
    assert.deepEqual(await two.closed, { reason: "two is done", graceful: true });
    // Goodbyes take 5 ms; the linger would be 2 s.
    await waitFor(() => a.readyState === "closed" && b.readyState === "closed", {
      timeout: 1_000,
      message: "both channels closed, well within the linger",
    });
    assert.equal(a.readyState, "closed");
    assert.equal(b.readyState, "closed");
  });

  test("a link takes a channel that opens twice once: one READY, one incoming channel", async () => {
    const { link, dc, accepted } = linkTaking();
    dc.open();
    dc.open();
    await settle();
    assert.equal(accepted.length, 1);
    assert.deepEqual(dc.sent, [[0x6d]], "READY once");
    for (const c of accepted) c.close("done");
    link.close();
  });

  test("a channel taken by a link closes from this side only after the peer answers (or the linger ends)", async () => {
    const { link, dc, accepted } = linkTaking();
    dc.open();
    await settle();
    const [channel] = accepted;
    assert.ok(channel);
    const closed: string[] = [];
    channel.onClose = (reason) => closed.push(reason);
    channel.close("done here");
    await settle();
    assert.equal(dc.readyState, "open", "kept open for the peer's answer: what was sent last may still be in flight");
    dc.close(); // the peer's answer
    await settle();
    assert.deepEqual(closed, ["data channel closed"]);
    link.close();
  });
});
