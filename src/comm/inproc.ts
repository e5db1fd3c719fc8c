// The in-process transport: `inproc://name` over MessagePorts, between objects of one thread or
// threads of one process. It runs the real codec (packets of msgpack header + frames). Options add
// latency and cap the message size (packets are then cut into chunks by the framing layer, the
// path WebRTC takes), so tests exercise production code paths.
//
// Threads: each thread has one hub. A hub that does not serve a name asks its parent (the thread
// that started it) to route the connection; the parent knows which child announced which name.
// Ports travel between threads by transfer, so connecting costs one hop through the parent once.

import { ConnectError, TimeoutError } from "../errors.js";
import { toChunks } from "../protocol/framing.js";
import { PacketReader } from "../protocol/packet-reader.js";
import type { ReceiveBuffers } from "../util/receive-buffers.js";
import { packetBytes, type Packet } from "../protocol/packet.js";
import { isShared } from "../protocol/buffers.js";
import { randomId } from "../util/ids.js";
import type { Channel, MessagePortLike, Transfer, Transport, TransportListener, TransportOptions } from "./types.js";
import { DEFAULT_MAX_PACKET_BYTES } from "./types.js";

export interface InprocOptions {
  /** Delay every packet by this many milliseconds (order kept). Default 0. */
  latencyMs?: number | undefined;
  /** Cut packets into port messages of at most this many bytes (as WebRTC must). Default: no cap. */
  maxChunkBytes?: number | undefined;
}

/** What crosses a port: a packet, a chunk of one (capped links), or a control word. */
type PortMessage =
  | { h: Uint8Array; f: Uint8Array[] }
  | { k: Uint8Array }
  | { c: "open" }
  | { c: "close" | "refused"; reason: string };

/** Messages between a hub and its parent or child hubs (carried on the host's own thread channel). */
export type HubMessage =
  | { inproc: "connect"; name: string; port: MessagePortLike; options: InprocOptions }
  | { inproc: "announce"; name: string; up: boolean };

/** How a hub reaches a parent or child hub: the host supplies it (worker_threads, Web Workers). */
export interface HubLink {
  post(msg: HubMessage, transfer: Transfer[]): void;
}

const SCHEME = "inproc://";

/** Where a routed connection came from: this thread, the parent hub, or a child hub. */
type Origin = "local" | "parent" | HubLink;

class InprocHub {
  readonly listeners = new Map<string, (port: MessagePortLike, options: InprocOptions) => void>();
  /** Names served by child threads (or their children), and the link towards each. */
  private readonly childNames = new Map<string, HubLink>();
  private parent: HubLink | null = null;

  /** Connects this hub to the hub of the thread that started this one. */
  setParent(link: HubLink | null): void {
    this.parent = link;
    if (link) for (const name of this.listeners.keys()) link.post({ inproc: "announce", name, up: true }, []);
  }

  /**
   * Handles a message that arrived on a host's thread channel, from `origin` ("parent" or the
   * child's link). Returns false if it is not a hub message, so hosts can share the channel.
   */
  receive(msg: unknown, origin: "parent" | HubLink): boolean {
    if (typeof msg !== "object" || msg === null || !("inproc" in msg)) return false;
    const m = msg as HubMessage;
    if (m.inproc === "connect") {
      this.route(m.name, m.port, m.options, origin);
    } else if (origin !== "parent") {
      if (m.up) this.childNames.set(m.name, origin);
      else if (this.childNames.get(m.name) === origin) this.childNames.delete(m.name);
      this.parent?.post(m, []); // our parent routes to our children through us
    }
    return true;
  }

  /** Forgets every name a child announced (its thread is gone). */
  dropChild(link: HubLink): void {
    for (const [name, l] of this.childNames) {
      if (l !== link) continue;
      this.childNames.delete(name);
      this.parent?.post({ inproc: "announce", name, up: false }, []);
    }
  }

  /** Hands `port` to whoever serves `name`: here, down to a child, or up to the parent. */
  route(name: string, port: MessagePortLike, options: InprocOptions, origin: Origin): void {
    const local = this.listeners.get(name);
    if (local) return local(port, options);
    const child = this.childNames.get(name);
    if (child && child !== origin) return child.post({ inproc: "connect", name, port, options }, [port]);
    if (this.parent && origin !== "parent") return this.parent.post({ inproc: "connect", name, port, options }, [port]);
    refuse(port, `nothing listens at ${SCHEME}${name}`);
  }

  announce(name: string, up: boolean): void {
    this.parent?.post({ inproc: "announce", name, up }, []);
  }
}

/** This thread's hub. Hosts wire it to parent and child threads. */
export const inprocHub = new InprocHub();

function refuse(port: MessagePortLike, reason: string): void {
  port.postMessage({ c: "refused", reason } satisfies PortMessage);
  port.close();
}

/** Whether frames can be shared between the threads of this process (SharedArrayBuffer exists). */
function canShareMemory(): boolean {
  return typeof SharedArrayBuffer === "function";
}

class PortChannel implements Channel {
  readonly kind = "port" as const;
  readonly sharedMemory = canShareMemory();
  onPacket: (packet: Packet) => void = () => {};
  onClose: (reason: string) => void = () => {};
  private closed = false;
  private closing = false;
  private readonly reader: PacketReader | null;
  private readonly latencyMs: number;
  private readonly maxChunk: number | undefined;

  constructor(
    private readonly port: MessagePort,
    readonly localAddress: string,
    readonly peerAddress: string,
    options: InprocOptions,
    private readonly maxPacketBytes: number,
    receiveBuffers: ReceiveBuffers | undefined,
  ) {
    this.latencyMs = options.latencyMs ?? 0;
    this.maxChunk = options.maxChunkBytes;
    this.reader = this.maxChunk ? new PacketReader(maxPacketBytes, undefined, receiveBuffers) : null;
    port.onmessage = (e: MessageEvent) => this.receive(e.data as PortMessage);
    // Node fires "close" on a port whose other end closed or whose thread died; browsers may not,
    // which is why a deliberate close also sends a control word first.
    port.addEventListener("close", () => this.finish("peer closed the port"));
  }

  keepAlive(on: boolean): void {
    // Node's MessagePort has ref/unref; the web's has neither (and nothing to keep alive).
    const port = this.port as { ref?(): void; unref?(): void };
    if (on) port.ref?.();
    else port.unref?.();
  }

  send(packet: Packet): void {
    if (this.closing || this.closed) return;
    if (this.maxChunk) {
      for (const chunk of toChunks(packet, this.maxChunk)) {
        const own = ownedCopy(chunk);
        this.post({ k: own }, isShared(own.buffer) ? [] : [own.buffer as ArrayBuffer]);
      }
      return;
    }
    const transfer: Transfer[] = [packet.header.buffer as ArrayBuffer];
    const frames = packet.frames.map((f) => {
      if (isShared(f.buffer)) return f;
      const own = ownedCopy(f);
      transfer.push(own.buffer as ArrayBuffer);
      return own;
    });
    this.post({ h: packet.header, f: frames }, transfer);
  }

  close(reason: string): void {
    if (this.closing) return;
    this.closing = true;
    // Goes through post() so that, with latency, it arrives after what was sent before it.
    this.post({ c: "close", reason }, []);
    if (this.latencyMs > 0) setTimeout(() => this.finish(reason), this.latencyMs);
    else this.finish(reason);
  }

  private post(msg: PortMessage, transfer: Transfer[]): void {
    if (this.latencyMs > 0) {
      setTimeout(() => {
        if (!this.closed) this.port.postMessage(msg, transfer);
      }, this.latencyMs);
    } else {
      this.port.postMessage(msg, transfer);
    }
  }

  private receive(msg: PortMessage): void {
    if (this.closed) return;
    if ("h" in msg) {
      const packet = { header: msg.h, frames: msg.f };
      const bytes = packetBytes(packet);
      if (bytes > this.maxPacketBytes) {
        const reason = `packet of ${bytes} bytes exceeds the limit of ${this.maxPacketBytes} bytes`;
        this.port.postMessage({ c: "close", reason } satisfies PortMessage);
        return this.finish(`protocol error: ${reason}`);
      }
      return this.onPacket(packet);
    }
    if ("k" in msg) {
      let packet: Packet | null;
      try {
        packet = this.reader!.push(msg.k);
      } catch (err) {
        this.port.postMessage({ c: "close", reason: (err as Error).message } satisfies PortMessage);
        return this.finish(`protocol error: ${(err as Error).message}`);
      }
      if (packet) this.onPacket(packet);
      return;
    }
    if (msg.c === "close" || msg.c === "refused") this.finish(msg.reason);
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.port.onmessage = null;
    this.port.close();
    this.onClose(reason);
  }
}

/**
 * A copy of the bytes a view spans, in a buffer of their own, ready to transfer. Posting a view
 * without this would clone its whole underlying buffer, not just the view. Views over shared
 * memory are returned as they are: they cross without a copy.
 */
function ownedCopy(view: Uint8Array): Uint8Array {
  if (isShared(view.buffer)) return view;
  return view.slice();
}

function nameOf(address: string): string {
  if (!address.startsWith(SCHEME)) throw new ConnectError(`not an inproc address: ${address}`);
  return address.slice(SCHEME.length);
}

function inprocOptions(options: TransportOptions): InprocOptions {
  return {
    latencyMs: typeof options["latencyMs"] === "number" ? options["latencyMs"] : undefined,
    maxChunkBytes: typeof options["maxChunkBytes"] === "number" ? options["maxChunkBytes"] : undefined,
  };
}

export const inprocTransport: Transport = {
  scheme: "inproc",

  async listen(address, onChannel, options): Promise<TransportListener> {
    const name = nameOf(address) || `auto-${randomId(6)}`;
    if (inprocHub.listeners.has(name)) throw new ConnectError(`${SCHEME}${name} is already in use`);
    const local = `${SCHEME}${name}`;
    const maxPacket = options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
    let peerCount = 0;
    inprocHub.listeners.set(name, (port, linkOptions) => {
      // Every port the hub routes is a platform MessagePort (made by a MessageChannel here or in another thread).
      const channel = new PortChannel(
        port as MessagePort,
        local,
        `${local}#peer-${++peerCount}`,
        linkOptions,
        maxPacket,
        options.receiveBuffers,
      );
      onChannel(channel);
      port.postMessage({ c: "open" } satisfies PortMessage);
    });
    inprocHub.announce(name, true);
    return {
      address: local,
      async close() {
        if (inprocHub.listeners.delete(name)) inprocHub.announce(name, false);
      },
    };
  },

  connect(address, options): Promise<Channel> {
    const name = nameOf(address);
    const linkOptions = inprocOptions(options);
    const { port1, port2 } = new MessageChannel();
    const timeoutMs = options.timeoutMs ?? 10_000;
    const timeoutError = new TimeoutError(`connecting to ${address} took longer than ${timeoutMs} ms`);
    return new Promise<Channel>((resolve, reject) => {
      const timer = setTimeout(() => {
        port1.close();
        reject(timeoutError);
      }, timeoutMs);
      port1.onmessage = (e: MessageEvent) => {
        const msg = e.data as PortMessage;
        clearTimeout(timer);
        port1.onmessage = null;
        if ("c" in msg && msg.c === "open") {
          resolve(
            new PortChannel(
              port1,
              `${SCHEME}client-${randomId(4)}`,
              address,
              linkOptions,
              options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES,
              options.receiveBuffers,
            ),
          );
        } else {
          port1.close();
          reject(
            new ConnectError(`cannot connect to ${address}: ${"reason" in msg ? msg.reason : "unexpected reply"}`),
          );
        }
      };
      inprocHub.route(name, port2, linkOptions, "local");
    });
  },
};
