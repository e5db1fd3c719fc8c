// A Comm is one connection as the rest of meshwork sees it: send a message, receive messages in
// order, close with a reason. It batches: every message sent in one turn of the event loop goes
// out as one packet at the end of that turn (a microtask), so bulk traffic is coalesced and a lone
// message does not wait for a timer.

import { CommClosedError, ProtocolError, TimeoutError } from "../errors.js";
import { type Logger, realmLogger } from "../log.js";
import type { Message } from "../protocol/messages.js";
import { decodePacket, encodePacket, packetBytes, type Packet } from "../protocol/packet.js";
import type { Channel, LinkKind } from "./types.js";

export interface CloseInfo {
  reason: string;
  /** True when the peer said goodbye or we closed it; false on a crash, a drop or a protocol error. */
  graceful: boolean;
}

export interface CommStats {
  messagesOut: number;
  packetsOut: number;
  bytesOut: number;
  messagesIn: number;
  packetsIn: number;
  bytesIn: number;
}

/**
 * Messages sent in one turn go out as one packet, unless the values in them would add up to more
 * than this many bytes: then the batch so far leaves at once and a new one starts.
 */
export const BATCH_FLUSH_BYTES = 64 * 1024 * 1024;

/** Bytes of encoded values a message carries (data replies, scattered data, task arguments); 0 for the rest. */
function bulkBytes(msg: Message): number {
  switch (msg.op) {
    case "data":
    case "put-data": {
      let n = 0;
      for (const v of Object.values(msg.values)) n += v.nbytes;
      return n;
    }
    case "compute-task":
      return msg.args.nbytes;
    default:
      return 0;
  }
}

export class Comm {
  readonly stats: CommStats = { messagesOut: 0, packetsOut: 0, bytesOut: 0, messagesIn: 0, packetsIn: 0, bytesIn: 0 };
  /** Resolves once, when the connection is closed for any reason. Never rejects. */
  readonly closed: Promise<CloseInfo>;
  /** Free-form label for logs ("scheduler→worker-1"). */
  name: string;

  private outbox: Message[] = [];
  /** Bytes of values (frames) in the outbox, as far as bulkBytes sees them. */
  private outboxBytes = 0;
  private flushScheduled = false;
  private handler: ((msg: Message) => void) | null = null;
  private inbox: Message[] = [];
  private waiters: { resolve: (m: Message) => void; reject: (e: Error) => void }[] = [];
  private closeInfo: CloseInfo | null = null;
  private goodbye: string | null = null;
  private resolveClosed!: (info: CloseInfo) => void;

  constructor(
    private readonly channel: Channel,
    name?: string,
    /** Where this connection's diagnostics go: its member's runtime's logger. */
    readonly log: Logger = realmLogger,
  ) {
    this.name = name ?? `${channel.localAddress}→${channel.peerAddress}`;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    channel.onPacket = (p) => this.receive(p);
    channel.onClose = (reason) => this.finish(this.goodbye ?? reason, this.goodbye !== null);
  }

  get localAddress(): string {
    return this.channel.localAddress;
  }
  get peerAddress(): string {
    return this.channel.peerAddress;
  }
  get kind(): LinkKind {
    return this.channel.kind;
  }
  /** Frames may cross as shared memory on this link. */
  get sharedMemory(): boolean {
    return this.channel.sharedMemory;
  }
  get isClosed(): boolean {
    return this.closeInfo !== null;
  }

  /** The handshake admitted the peer: the link lifts the limits it reads with until then. */
  authenticated(): void {
    this.channel.authenticated?.();
  }

  /** Tells the link which frame codecs the peer decodes (from the handshake). */
  /** Whether this connection keeps its process alive while open (Node; see Channel.keepAlive). */
  keepAlive(on: boolean): void {
    this.channel.keepAlive?.(on);
  }

  peerCodecs(codecs: string[]): void {
    this.channel.peerCodecs?.(codecs);
  }

  /** Queues `msg`; it leaves with everything else sent in this turn. Throws CommClosedError if closed. */
  send(msg: Message): void {
    if (this.closeInfo)
      throw new CommClosedError(
        `cannot send "${msg.op}": connection ${this.name} is closed (${this.closeInfo.reason})`,
      );
    // Many large values answered in one turn (a peer asking for sixteen 64 MiB blocks) must not
    // become one packet over the transport's limit: a batch that would pass BATCH_FLUSH_BYTES
    // leaves first, and this message starts the next.
    const bytes = bulkBytes(msg);
    if (bytes > 0 && this.outbox.length > 0 && this.outboxBytes + bytes > BATCH_FLUSH_BYTES) this.flush();
    this.outbox.push(msg);
    this.outboxBytes += bytes;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Sends what is queued now rather than at the end of the turn. */
  flush(): void {
    this.flushScheduled = false;
    if (this.outbox.length === 0 || this.closeInfo) return;
    const batch = this.outbox;
    this.outbox = [];
    this.outboxBytes = 0;
    let packet: Packet;
    try {
      packet = encodePacket(batch);
    } catch (err) {
      // Our own messages failed to encode: a bug, not the peer's fault. Say which ops, drop them.
      this.log.error(`${this.name}: could not encode ${batch.map((m) => m.op).join(",")}`, err);
      return;
    }
    this.stats.messagesOut += batch.length;
    this.stats.packetsOut++;
    this.stats.bytesOut += packetBytes(packet);
    try {
      this.channel.send(packet);
    } catch (err) {
      this.finish(`send failed: ${(err as Error).message}`, false);
    }
  }

  /**
   * Delivers every received message to `handler`, in order, starting with any that arrived
   * before it was set. A handler that throws is logged; the connection stays open.
   */
  setHandler(handler: (msg: Message) => void): void {
    this.handler = handler;
    const pending = this.inbox;
    this.inbox = [];
    for (const m of pending) this.dispatch(m);
  }

  /** The next message, for use before a handler is set (the handshake). */
  next(timeoutMs = 10_000): Promise<Message> {
    const queued = this.inbox.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closeInfo)
      return Promise.reject(new CommClosedError(`connection ${this.name} closed: ${this.closeInfo.reason}`));
    const timeout = new TimeoutError(`no message on ${this.name} within ${timeoutMs} ms`);
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (m: Message) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(timeout);
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Says goodbye with `reason`, sends what is queued, and closes. Idempotent. */
  close(reason = "closed"): void {
    if (this.closeInfo) return;
    this.outbox.push({ op: "goodbye", reason });
    this.flush();
    this.finish(reason, true);
    this.channel.close(reason);
  }

  private receive(packet: Packet): void {
    if (this.closeInfo) return this.answerLateGoodbye(packet);
    this.stats.packetsIn++;
    this.stats.bytesIn += packetBytes(packet);
    let messages: Message[];
    try {
      messages = decodePacket(packet);
    } catch (err) {
      this.protocolError(err);
      return;
    }
    for (const m of messages) {
      if (this.closeInfo) return;
      this.stats.messagesIn++;
      if (m.op === "goodbye") {
        // The peer's last message: closing our end answers it (see Channel.close).
        this.goodbye = typeof m.reason === "string" ? m.reason : "goodbye";
        this.finish(this.goodbye, true);
        this.channel.close(this.goodbye, true);
        return;
      }
      const waiter = this.waiters.shift();
      if (waiter) waiter.resolve(m);
      else if (this.handler) this.dispatch(m);
      else this.inbox.push(m);
    }
  }

  /** Both ends closed at once: the peer's goodbye answers ours, so our end need not wait for more. */
  private answerLateGoodbye(packet: Packet): void {
    if (!this.closeInfo?.graceful) return;
    try {
      if (decodePacket(packet).some((m) => m.op === "goodbye")) this.channel.close(this.closeInfo.reason, true);
    } catch {
      // a broken packet after closing: nothing to answer
    }
  }

  private dispatch(m: Message): void {
    try {
      this.handler!(m);
    } catch (err) {
      if (err instanceof ProtocolError) this.protocolError(err);
      else this.log.error(`${this.name}: handler for "${m.op}" failed`, err);
    }
  }

  /** The peer broke the protocol: close this one connection with the reason, disturb nothing else. */
  protocolError(err: unknown): void {
    const reason = `protocol error: ${(err as Error).message}`;
    this.log.warn(`${this.name}: closing connection, ${reason}`);
    if (this.closeInfo) return;
    this.outbox = [{ op: "goodbye", reason }];
    this.flush();
    this.finish(reason, false);
    this.channel.close(reason);
  }

  private finish(reason: string, graceful: boolean): void {
    if (this.closeInfo) return;
    this.closeInfo = { reason, graceful };
    this.outbox = [];
    const err = new CommClosedError(`connection ${this.name} closed: ${reason}`);
    for (const w of this.waiters) w.reject(err);
    this.waiters = [];
    this.resolveClosed(this.closeInfo);
  }
}
