// The one small interface every transport implements (STYLE 4). A transport moves packets over a
// Channel; Comm (comm.ts) adds batching, the codec and close semantics on top, the same for all.

import type { Logger } from "../log.js";
import type { Packet } from "../protocol/packet.js";
import type { ReceiveBuffers } from "../util/receive-buffers.js";
import type { Transports } from "./registry.js";

/** How a link moves bytes, as shown by client.links() and the dashboard. */
export type LinkKind = "port" | "ws" | "webrtc" | "relay";

/** One open connection as a transport sees it: packets in, packets out. */
export interface Channel {
  readonly localAddress: string;
  readonly peerAddress: string;
  readonly kind: LinkKind;
  /** Frames may cross as shared memory (both ends are threads of one process). */
  readonly sharedMemory: boolean;
  /** Sends one packet. The header buffer is owned by the packet and may be transferred. */
  send(packet: Packet): void;
  /**
   * Closes the channel once what was sent before has gone out; onClose fires (once) either way.
   * `answer`: the peer said goodbye first and waits for this side to close, so close at once (a
   * link that can lose its last messages when closed right after them waits for that answer).
   */
  close(reason: string, answer?: boolean): void;
  /** Set by the owner before any packet can arrive. */
  onPacket: (packet: Packet) => void;
  /** Called once when the channel closes, from either end or by failure. */
  onClose: (reason: string) => void;
  /** After the handshake: the frame codecs the peer decodes (links that compress use only these). */
  peerCodecs?(codecs: string[]): void;
  /**
   * The handshake admitted the peer: lift the limits a listening end keeps until then (packets of
   * PRE_HELLO_MAX_PACKET_BYTES, no compressed frames). Channels without such limits omit it.
   */
  authenticated?(): void;
  /**
   * Whether this open channel keeps its process alive (Node's ref/unref; default on). Platforms
   * without such a notion leave it out. Messages flow either way.
   */
  keepAlive?(on: boolean): void;
}

export interface TransportOptions {
  /** Largest packet accepted from the peer, in bytes. Default DEFAULT_MAX_PACKET_BYTES. */
  maxPacketBytes?: number | undefined;
  /** Milliseconds to wait for a connection to open. Default 10 s. */
  timeoutMs?: number | undefined;
  /**
   * The transports to pick from by scheme: the member's Runtime's (src/runtime.ts). Default: the
   * realm's registry (registerTransport).
   */
  transports?: Transports | undefined;
  /** Where large incoming frames get their storage: the owning member's. Default: the realm's. */
  receiveBuffers?: ReceiveBuffers | undefined;
  /** Where the link's diagnostics go: the owning member's runtime's logger. Default: the realm's (setLogger). */
  logger?: Logger | undefined;
  /** Transport-specific settings (e.g. inproc latency), passed through untouched. */
  [option: string]: unknown;
}

export interface TransportListener {
  readonly address: string;
  close(): Promise<void>;
}

export interface Transport {
  /** Address scheme this transport handles, without "://", e.g. "inproc". */
  readonly scheme: string;
  listen(address: string, onChannel: (channel: Channel) => void, options: TransportOptions): Promise<TransportListener>;
  connect(address: string, options: TransportOptions): Promise<Channel>;
}

/**
 * Default for the largest packet a peer may send: 1 GiB. Large enough for big array chunks,
 * small enough that a hostile length prefix cannot make us allocate without bound.
 */
export const DEFAULT_MAX_PACKET_BYTES = 1024 * 1024 * 1024;

/**
 * The largest packet a listening end reads before the peer's hello is accepted, in bytes, and the
 * largest transport message it lets the socket buffer meanwhile. A hello is a few hundred bytes
 * (a worker's, with its resources and group, under 2 KiB); anything bigger before authentication is
 * an attack on memory (issue 20: 0.92 MiB of deflated pieces grew a scheduler by 1 GiB).
 */
export const PRE_HELLO_MAX_PACKET_BYTES = 8 * 1024;

/**
 * What a postMessage may transfer (ArrayBuffers, MessagePorts, RTCDataChannels). `Transferable`
 * is the DOM's name, which a Node project's types lack: the published declarations say this instead.
 */
export type Transfer = object;

/**
 * A MessagePort, Node's or the web's, as the signatures of the core name it (the DOM's
 * `MessagePort` type is not there in a Node project, and Node's is not a global type).
 */
export interface MessagePortLike {
  postMessage(message: unknown, transfer?: Transfer[]): void;
  close(): void;
}
