// What the worker page and its Web Worker tell each other.

export type ToTabWorker =
  | { kind: "start"; token: string | undefined; webrtc: boolean; lieForTests?: boolean }
  | { kind: "retire"; reason: string };

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
  /** One entry per peer (both directions together): who, how they are linked, bytes each way. */
  peers: TabPeer[];
}

export interface TabPeer {
  /** The worker's name (a client's, for a client fetching results); its address if it gave none. */
  name: string;
  role: "peer" | "client";
  /** Link kinds in use with it: "port", "ws", "webrtc", "relay". */
  kinds: string[];
  /** Its data server's address, where this tab fetched from it. */
  address: string | undefined;
  bytesIn: number;
  bytesOut: number;
}
