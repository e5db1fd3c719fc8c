// The WebRTC transport inside Chromium, run by web-test-runner (web-test-runner.config.mjs): the
// transport conformance suite and the negotiation suite that Node runs over node-datachannel
// (test/comm/webrtc.test.ts), here over the browser's own RTCPeerConnection. Twice: with each data
// channel transferred through a MessageChannel to the link, as the worker page hands channels to its
// Web Worker; and through a MessagePort pipe, the fallback where a channel cannot be transferred.

import { after } from "node:test";
import type { PeerConnectionLike } from "../../src/comm/rtc-host.js";
import { registerRtcTransport, rtcEnds } from "../helpers/rtc.js";
import { transportConformance } from "../comm/conformance.js";
import { webrtcNegotiation } from "../comm/webrtc-negotiation.js";

const load = async () => (config: RTCConfiguration) => new RTCPeerConnection(config) as unknown as PeerConnectionLike;

for (const transfer of ["channel", "pipe"] as const) {
  const scheme = transfer === "channel" ? "webrtc" : "webrtc-pipe";
  const ends = rtcEnds({ load, transfer });
  after(registerRtcTransport(scheme, ends));
  const name = `webrtc (Chromium, ${transfer === "channel" ? "channels transferred" : "MessagePort pipes"})`;
  let n = 0;
  transportConformance(name, { address: () => `${scheme}://listener-${++n}` });
  webrtcNegotiation(name, ends);
}
