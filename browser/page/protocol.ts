// What the worker page and its Web Worker tell each other.

export type ToTabWorker = { kind: "start"; token: string | undefined; webrtc: boolean; lieForTests?: boolean } | { kind: "retire"; reason: string };

/** How the page links by WebRTC: "on" (channels transferred to the Web Worker), "pipe" (through MessagePorts), "off" (relay only). */
export type WebRtcMode = "on" | "off" | "pipe";

export interface TabStatus {
  state: "starting" | "connected" | "closed" | "failed";
  error?: string;
  name: string;
  workerId: string;
  tasksDone: number;
  /** Bytes of results held. */
  memory: number;
  bytesIn: number;
  bytesOut: number;
  links: { peer: string; kind: string; bytesIn: number; bytesOut: number }[];
}
