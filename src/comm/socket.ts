// A Channel over a WebSocket, the browser's or the `ws` package's (they share this API). Packets
// are cut into binary messages (framing.ts); sending is queued with a high-water mark on the
// socket's bufferedAmount, can be throttled to a rate (for tests and benchmarks), and compresses
// frames where a sample says it pays on this link's measured speed (compression.ts).

import { type Logger, realmLogger } from "../log.js";
import {
  compressFrame,
  decide,
  decompressFrame,
  type CompressionMode,
  type LinkSpeed,
} from "../protocol/compression.js";
import { toChunkSources, type ChunkSource } from "../protocol/framing.js";
import { PacketReader } from "../protocol/packet-reader.js";
import type { ReceiveBuffers } from "../util/receive-buffers.js";
import type { Packet } from "../protocol/packet.js";
import { PRE_HELLO_MAX_PACKET_BYTES, type Channel, type LinkKind } from "./types.js";
import { unrefTimer } from "../util/timers.js";

/** The part of the WebSocket API used here. */
export interface SocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  /** The platform sets it when opening: "arraybuffer" in browsers, "nodebuffer" with `ws` (no extra copy). */
  binaryType: string;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "message", listener: (e: { data: unknown }) => void): void;
  addEventListener(
    type: "close",
    listener: (e: { code: number; reason: string | { toString(): string } }) => void,
  ): void;
  addEventListener(type: "error", listener: (e: unknown) => void): void;
  /**
   * Calls `callback` once when bufferedAmount has fallen to `below` or less. Sockets with a drain
   * event (an RTCDataChannel's bufferedamountlow) offer it; without it the sender polls.
   */
  whenDrained?(below: number, callback: () => void): void;
  /**
   * Set by sockets that can lose the last messages sent before they close (data channels in
   * libdatachannel: node-datachannel issues #188, #375). Closing from this side then waits for the
   * peer to close first (it does on reading our goodbye), for at most this many milliseconds.
   */
  readonly closeLingerMs?: number;
  /**
   * Sockets that buffer whole messages before handing them over (`ws` on a server) take a cap on
   * a message's size: `bytes` until the peer is authenticated, null for the socket's own limit.
   */
  limitMessages?(bytes: number | null): void;
  /** Whether the open socket keeps its process alive (Node sockets: ref/unref). */
  keepAlive?(on: boolean): void;
}

const OPEN = 1;

export interface SocketChannelOptions {
  maxPacketBytes: number;
  /** Largest binary message sent. Default DEFAULT_CHUNK_BYTES. */
  chunkBytes?: number | undefined;
  /** "auto" (default): compress frames where it pays on this link; "deflate": whenever they shrink; false: never. */
  compression?: CompressionMode | undefined;
  /** Send no faster than this (bytes per second): a slow link on demand, for tests and benchmarks. */
  throttleBytesPerSec?: number | undefined;
  /** Stop handing chunks to the socket while it holds this much unsent. Default HIGH_WATER_BYTES. */
  highWaterBytes?: number | undefined;
  /**
   * A listening end: until authenticated() (the handshake admitted the peer), read packets of at
   * most PRE_HELLO_MAX_PACKET_BYTES and refuse compressed frames, so nothing sent before the hello
   * costs more than a hello.
   */
  preHello?: boolean | undefined;
  /** Where large incoming frames get their storage: the owning member's. Default: the realm's. */
  receiveBuffers?: ReceiveBuffers | undefined;
  /** Where the link's diagnostics go: its member's runtime's logger. Default: the realm's. */
  logger?: Logger | undefined;
}

/**
 * Binary messages of up to 8 MiB: Dask's websocket shard size. Large enough that a 256 MiB frame is
 * 32 messages; small enough that a control message does not wait behind one huge write.
 */
export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;
/**
 * Stop handing chunks to the socket while it holds this much unsent: bounds what a slow peer
 * makes us buffer beyond the packets themselves, and keeps the speed measurement honest.
 */
export const HIGH_WATER_BYTES = 16 * 1024 * 1024;
/** How often to look at bufferedAmount while waiting (WebSocket has no drain event). */
const POLL_MS = 1;
/** Packets at least this big are timed to measure the link's speed. */
const MEASURE_MIN_BYTES = 1024 * 1024;

export class SocketChannel implements Channel {
  readonly sharedMemory = false;
  onPacket: (packet: Packet) => void = () => {};
  onClose: (reason: string) => void = () => {};
  /** Measured bytes per second of this link (EWMA over large packets), for compression decisions. */
  readonly speed: LinkSpeed = { bytesPerSecond: undefined };

  private readonly reader: PacketReader;
  /** Chunks to send, and pieces still to be compressed (run when the sender reaches them). */
  private readonly queue: ChunkSource[] = [];
  private queueHead = 0;
  private pumping: ReturnType<typeof setTimeout> | undefined;
  private nextSendAt = 0;
  private closing: string | null = null;
  private closed = false;
  /** The packet being timed: bytes, start, and the queue position of its last chunk. */
  private timing: { bytes: number; start: number; endIndex: number } | null = null;
  private sentChunks = 0;
  private readonly chunkBytes: number;
  private compression: CompressionMode;
  private readonly throttle: number | undefined;
  private readonly highWater: number;
  /** Waiting for the socket's drain event (rather than a timer). */
  private draining = false;
  /** Closing because the peer said goodbye (it waits for our close). */
  private answering = false;
  /** Waiting for the peer to close before closing the socket (closeLingerMs). */
  private lingering = false;
  private readonly maxPacketBytes: number;
  /** Reading with the pre-hello limits (SocketChannelOptions.preHello). */
  private restricted: boolean;

  constructor(
    private readonly socket: SocketLike,
    readonly localAddress: string,
    readonly peerAddress: string,
    readonly kind: LinkKind,
    options: SocketChannelOptions,
  ) {
    this.maxPacketBytes = options.maxPacketBytes;
    this.restricted = options.preHello === true;
    this.reader = this.restricted
      ? new PacketReader(
          Math.min(PRE_HELLO_MAX_PACKET_BYTES, options.maxPacketBytes),
          undefined,
          options.receiveBuffers,
        )
      : new PacketReader(options.maxPacketBytes, decompressFrame, options.receiveBuffers);
    if (this.restricted) socket.limitMessages?.(PRE_HELLO_MAX_PACKET_BYTES);
    this.throttle = options.throttleBytesPerSec;
    // Throttled links send small chunks, so the rate holds over short spans too.
    this.chunkBytes = Math.min(
      options.chunkBytes ?? DEFAULT_CHUNK_BYTES,
      this.throttle ? Math.max(16 * 1024, Math.floor(this.throttle / 50)) : Infinity,
    );
    this.compression = options.compression ?? "auto";
    this.highWater = options.highWaterBytes ?? HIGH_WATER_BYTES;
    // A configured rate limit is a known link speed; measurement refines it from the first big packet.
    if (this.throttle) this.speed.bytesPerSecond = this.throttle;
    // Browsers deliver Blobs by default; `ws` sockets come with "nodebuffer" already set.
    if (socket.binaryType === "blob") socket.binaryType = "arraybuffer";
    // A socket that can read a message into a buffer we choose gets the reader's destinations.
    if ("allocator" in socket)
      (socket as { allocator: unknown }).allocator = (len: number) => this.reader.destination(len);
    socket.addEventListener("message", (e) => this.receive(e.data));
    socket.addEventListener("close", (e) => this.finish(String(e.reason) || `connection closed (code ${e.code})`));
    const logger = options.logger ?? realmLogger;
    socket.addEventListener("error", (e) => logger.debug(`${this.peerAddress}: socket error`, e));
  }

  authenticated(): void {
    if (!this.restricted) return;
    this.restricted = false;
    this.reader.limit(this.maxPacketBytes, decompressFrame);
    this.socket.limitMessages?.(null);
  }

  peerCodecs(codecs: string[]): void {
    if (!codecs.includes("deflate")) this.compression = false;
  }

  keepAlive(on: boolean): void {
    this.socket.keepAlive?.(on);
  }

  send(packet: Packet): void {
    if (this.closing !== null || this.closed) return;
    let compressing = false;
    const sources = toChunkSources(
      packet,
      this.chunkBytes,
      (frame) => {
        const yes = decide(frame, this.compression, this.speed).compress;
        compressing ||= yes;
        return yes;
      },
      compressFrame,
    );
    let bytes = 0;
    for (const c of sources) {
      this.queue.push(c);
      if (typeof c !== "function") bytes += c.byteLength;
    }
    // Time only packets that go raw: with compression the time is the compressor's, not the link's.
    if (!compressing && bytes >= MEASURE_MIN_BYTES && this.timing === null) {
      this.timing = {
        bytes,
        start: performance.now(),
        endIndex: this.sentChunks + (this.queue.length - this.queueHead),
      };
    }
    this.pump();
  }

  close(reason: string, answer = false): void {
    if (this.closed) return;
    if (this.closing !== null) {
      // Waiting for the peer's answer, and this is it (both ends closed at once): close now.
      if (answer && this.lingering && this.pumping !== undefined) {
        clearTimeout(this.pumping);
        this.pumping = undefined;
        this.closeSocket();
      }
      return;
    }
    this.closing = reason;
    this.answering = answer;
    this.pump(); // closes once what is queued (the goodbye) has gone out
  }

  /** Hands queued chunks to the socket while it has room (and the throttle allows). */
  private pump(): void {
    if (this.pumping !== undefined || this.draining || this.closed) return;
    let deflated = false;
    while (this.queueHead < this.queue.length) {
      if (this.socket.readyState !== OPEN) return this.finish("connection closed while sending");
      if (this.socket.bufferedAmount >= this.highWater) return this.waitForDrain();
      const now = performance.now();
      if (this.throttle && now < this.nextSendAt) return this.wait(this.nextSendAt - now);
      const next = this.queue[this.queueHead]!;
      if (typeof next === "function") {
        // One piece deflated per turn: it goes out, the peer starts inflating it, and the event loop
        // (other requests, heartbeats) runs, before the next piece is deflated.
        if (deflated) return this.wait(0);
        this.queue.splice(this.queueHead, 1, ...next());
        deflated = true;
        continue;
      }
      const chunk = next;
      this.queue[this.queueHead++] = EMPTY; // let it go once sent
      this.socket.send(chunk);
      this.sentChunks++;
      if (this.throttle) this.nextSendAt = Math.max(now, this.nextSendAt) + (chunk.byteLength / this.throttle) * 1000;
    }
    this.queue.length = 0;
    this.queueHead = 0;
    if (this.timing || this.closing !== null) this.settle();
  }

  /** After the last chunk: finish a speed measurement and a pending close once the socket has drained. */
  private settle(): void {
    if (this.socket.bufferedAmount > 0 && this.socket.readyState === OPEN) return this.wait(POLL_MS);
    if (this.timing && this.sentChunks >= this.timing.endIndex) {
      const secs = (performance.now() - this.timing.start) / 1000;
      if (secs > 0) {
        const bps = this.timing.bytes / secs;
        this.speed.bytesPerSecond =
          this.speed.bytesPerSecond === undefined ? bps : 0.5 * this.speed.bytesPerSecond + 0.5 * bps;
      }
      this.timing = null;
    }
    if (this.closing !== null) {
      const linger = this.socket.closeLingerMs;
      if (linger !== undefined && !this.answering && !this.lingering) {
        // Our goodbye is out; the peer closes when it reads it (the socket's close event ends this).
        this.lingering = true;
        // A process may exit meanwhile.
        this.pumping = unrefTimer(
          setTimeout(() => {
            this.pumping = undefined;
            this.closeSocket();
          }, linger),
        );
        return;
      }
      if (!this.lingering) this.closeSocket();
    }
  }

  private closeSocket(): void {
    if (this.closed) return;
    // WebSocket close reasons are limited to 123 bytes.
    this.socket.close(1000, truncateUtf8(this.closing ?? "closed", 123));
    this.finish(this.closing ?? "closed");
  }

  /** Resumes sending once the socket has sent most of what it holds. */
  private waitForDrain(): void {
    if (!this.socket.whenDrained) return this.wait(POLL_MS);
    this.draining = true;
    this.socket.whenDrained(this.highWater / 4, () => {
      this.draining = false;
      this.pump();
    });
  }

  private wait(ms: number): void {
    this.pumping = setTimeout(
      () => {
        this.pumping = undefined;
        this.pump();
      },
      Math.max(0, ms),
    );
  }

  private receive(data: unknown): void {
    if (this.closed) return;
    let bytes: Uint8Array;
    if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else return this.fail("a text message on a binary protocol");
    let packet: Packet | null;
    try {
      packet = this.reader.push(bytes);
    } catch (err) {
      return this.fail((err as Error).message);
    }
    if (packet) this.onPacket(packet);
  }

  /** The peer broke the framing: close with a protocol-error code and say why. */
  private fail(reason: string): void {
    if (this.closed) return;
    const why = `protocol error: ${reason}`;
    if (this.socket.readyState === OPEN) this.socket.close(1002, truncateUtf8(why, 123));
    this.finish(why);
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.reader.abort();
    clearTimeout(this.pumping);
    this.pumping = undefined;
    this.queue.length = 0;
    if (this.socket.readyState === OPEN) this.socket.close(1000, truncateUtf8(reason, 123));
    this.onClose(reason);
  }
}

const EMPTY = new Uint8Array(0);

function truncateUtf8(s: string, maxBytes: number): string {
  const bytes = new TextEncoder().encode(s);
  if (bytes.byteLength <= maxBytes) return s;
  return new TextDecoder().decode(bytes.subarray(0, maxBytes - 3)).replace(/\uFFFD$/, "") + "...";
}
