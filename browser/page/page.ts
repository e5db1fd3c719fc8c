// The worker page: anyone who opens it lends this tab to the cluster. The page only shows status;
// the meshwork worker runs in a Web Worker (worker.ts), so compute and heartbeats are not stalled
// by the timer throttling of background tabs. The join link carries the worker token in its
// fragment (#token=…), which never reaches a server log.

import { bridgeEnd, serveBridge, type BridgeMessage } from "../../src/comm/rtc-link.js";
import type { PeerConnectionLike } from "../../src/comm/rtc-host.js";
import type { TabStatus, ToTabWorker, WebRtcMode } from "./protocol.js";

const params = new URLSearchParams(location.hash.slice(1));
const token = params.get("token") ?? new URLSearchParams(location.search).get("token") ?? undefined;
// #webrtc=off keeps this tab on the relay; #webrtc=pipe hands channels over as MessagePort pipes
// (what a browser without RTCDataChannel transfer gets): both for tests and comparisons.
const webrtc = (["on", "off", "pipe"].includes(params.get("webrtc") ?? "") ? params.get("webrtc") : "on") as WebRtcMode;
const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "meshwork" });

// WebRTC: RTCPeerConnection exists only here, on the page. The page owns the connections and hands
// each data channel to the Web Worker as it is made (before any send, the rule for transferring it).
const bridge = bridgeEnd((m, transfer) => worker.postMessage(m, transfer));
if (webrtc !== "off" && typeof RTCPeerConnection === "function") {
  serveBridge(bridge, {
    load: async () => (config) => new RTCPeerConnection(config as RTCConfiguration) as unknown as PeerConnectionLike,
    transfer: webrtc === "pipe" ? "pipe" : "channel",
  });
}
const $ = (id: string) => document.getElementById(id)!;

function bytes(n: number): string {
  const units = ["B", "kB", "MB", "GB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

worker.onmessage = (e: MessageEvent<TabStatus | BridgeMessage>) => {
  if (bridge.take(e.data)) return;
  const s = e.data;
  const status = $("status");
  status.textContent = s.state === "failed" ? `failed: ${s.error}` : s.state;
  status.className = s.state;
  $("worker").textContent = s.workerId ? `${s.name} (${s.workerId})` : "–";
  $("tasks").textContent = String(s.tasksDone);
  $("memory").textContent = bytes(s.memory);
  $("bytes").textContent = `${bytes(s.bytesIn)} / ${bytes(s.bytesOut)}`;
  // One line per peer, by name (text only: a name is the peer's own claim).
  const peers = $("peers");
  peers.replaceChildren(
    ...(s.peers.length === 0
      ? [Object.assign(document.createElement("li"), { textContent: "none yet" })]
      : s.peers.map((p) =>
          Object.assign(document.createElement("li"), {
            textContent: `${p.name}${p.role === "client" ? " (client)" : ""}: ${p.kinds.join(" + ")}, ${bytes(p.bytesIn)} in, ${bytes(p.bytesOut)} out`,
          }),
        )),
  );
  (window as unknown as { meshwork?: TabStatus }).meshwork = s; // for tests and the curious
};
worker.onerror = (e) => {
  $("status").textContent = `failed: ${e.message}`;
  $("status").className = "failed";
};

// #test-lie=1 makes this tab forge every result: for the adversarial test of verification only.
const lieForTests = params.get("test-lie") === "1";
worker.postMessage({
  kind: "start",
  token,
  webrtc: webrtc !== "off" && typeof RTCPeerConnection === "function",
  lieForTests,
} satisfies ToTabWorker);
// Leaving: the worker asks to be retired, so the results only this tab holds move to other workers
// first (if the browser gives it the time; otherwise it is a lost worker and they are recomputed).
addEventListener("pagehide", () =>
  worker.postMessage({ kind: "retire", reason: "the tab is closing" } satisfies ToTabWorker),
);
