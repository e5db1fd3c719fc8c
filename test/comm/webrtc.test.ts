// The WebRTC transport in Node: real data channels (node-datachannel) between RtcLinks, through
// hosts that own the peer connections, as a worker in a thread uses them (channels piped over
// MessagePorts). The conformance suite, then negotiation. The same suites run in Chromium:
// test/web/webrtc.web.ts.

import { after } from "node:test";
import "../../node/platform/platform.js";
import { nodePeerConnections } from "../../node/platform/rtc.js";
import { registerRtcTransport, rtcEnds } from "../helpers/rtc.js";
import { transportConformance } from "./conformance.js";
import { webrtcNegotiation } from "./webrtc-negotiation.js";

const ends = rtcEnds({ load: nodePeerConnections, transfer: "pipe" });
after(registerRtcTransport("webrtc", ends));

let n = 0;
transportConformance("webrtc (node-datachannel)", { address: () => `webrtc://listener-${++n}` });
webrtcNegotiation("webrtc (node-datachannel)", ends);
