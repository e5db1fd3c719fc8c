// A WebSocket client for ws:// in Node that reads each message straight into a buffer of its own
// size: `net.connect({ onread })` lets us choose the buffer for every socket read, so the kernel
// copies a message's payload directly where it will live (a 64 MiB frame becomes that buffer, with
// no copy in JavaScript). The `ws` package's client reassembles messages from Node's read buffers
// instead: two passes over fresh memory, which held worker-to-worker transfers to ~450 MB/s.
//
// Speaks RFC 6455 as a client: the HTTP upgrade, binary/text/continuation/close/ping/pong frames;
// sends binary frames with an all-zero mask (see ws-listen.ts's zeroMask for why that is fine
// between meshwork's own processes). Servers are `ws` (node/platform/ws-listen.ts) or anything standard.

import { createHash, randomBytes } from "node:crypto";
import { connect as netConnect, type Socket } from "node:net";
import type { SocketLike } from "../../src/comm/socket.js";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
/** Reads that are not into a message's payload (headers, small messages) go through this. */
const SCRATCH_BYTES = 64 * 1024;
/** How long a close waits for the server's close frame before ending the connection. */
const CLOSE_TIMEOUT_MS = 1000;

/** Any event listener: each event type passes its own event shape (see SocketLike). */
type Listener = (e: never) => void;

export class FastWebSocket implements SocketLike {
  readyState = CONNECTING;
  binaryType = "nodebuffer";
  private readonly socket: Socket;

  keepAlive(on: boolean): void {
    if (on) this.socket.ref();
    else this.socket.unref();
  }
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  /** Bytes read but not yet parsed (outside payloads): the upgrade response, frame headers. */
  private pending: Buffer = Buffer.alloc(0);
  private upgraded = false;
  private readonly key = randomBytes(16).toString("base64");
  /**
   * Where a binary message of `len` bytes should be read to, when the reader above already knows
   * (the next stretch of a large frame's final buffer: then not even reassembly copies it). Set by
   * the channel (SocketChannel.allocator); otherwise each message gets a buffer of its own.
   */
  allocator: ((len: number) => Uint8Array | undefined) | null = null;
  /** The payload being read: where the bytes go, and how many are in. */
  private payload: Uint8Array | null = null;
  private payloadFill = 0;
  private payloadOp = 0;
  private payloadFin = true;
  private fragments: Buffer[] = [];
  private fragmentOp = 0;
  private closeSent = false;
  private closeInfo: { code: number; reason: string } | null = null;

  constructor(
    url: string,
    private readonly maxPayload: number,
  ) {
    const u = new URL(url);
    if (u.protocol !== "ws:") throw new Error(`FastWebSocket handles ws:// only, not ${u.protocol}`);
    const host = u.hostname.replace(/^\[|\]$/g, "");
    const port = Number(u.port || 80);
    this.socket = netConnect({
      host,
      port,
      onread: {
        buffer: () => this.nextReadBuffer(),
        callback: (n: number, buf: Uint8Array) => {
          this.onRead(n, buf);
          return true;
        },
      },
    });
    this.socket.setNoDelay(true);
    this.socket.on("connect", () => {
      const path = (u.pathname || "/") + u.search;
      this.socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    this.socket.on("error", (err) => {
      this.emit("error", { message: err.message, error: err });
      this.finish(1006, err.message);
    });
    this.socket.on("close", () =>
      this.finish(this.closeInfo?.code ?? 1006, this.closeInfo?.reason ?? "connection lost"),
    );
  }

  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  addEventListener(type: string, listener: Listener): void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
  }

  /** Stops reading from the socket (the relay hub, while the other end of a pipe drains). */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  send(data: Uint8Array): void {
    if (this.readyState !== OPEN) return;
    this.writeFrame(0x2, data);
  }

  close(code = 1000, reason = ""): void {
    if (this.readyState === CLOSED || this.closeSent) return;
    if (this.readyState === CONNECTING) {
      this.socket.destroy();
      return this.finish(code, reason);
    }
    this.readyState = CLOSING;
    const r = Buffer.from(reason);
    const payload = Buffer.alloc(2 + r.byteLength);
    payload.writeUInt16BE(code, 0);
    r.copy(payload, 2);
    this.writeFrame(0x8, payload);
    this.closeSent = true;
    this.closeInfo ??= { code, reason };
    setTimeout(() => this.socket.destroy(), CLOSE_TIMEOUT_MS).unref();
  }

  // ---------------------------------------------------------------- writing

  /** A client frame: FIN, opcode, the mask bit with a zero key (payload unchanged), the payload. */
  private writeFrame(op: number, data: Uint8Array): void {
    const n = data.byteLength;
    const head = Buffer.allocUnsafe(n < 126 ? 6 : n < 65536 ? 8 : 14);
    head[0] = 0x80 | op;
    let at: number;
    if (n < 126) {
      head[1] = 0x80 | n;
      at = 2;
    } else if (n < 65536) {
      head[1] = 0x80 | 126;
      head.writeUInt16BE(n, 2);
      at = 4;
    } else {
      head[1] = 0x80 | 127;
      head.writeBigUInt64BE(BigInt(n), 2);
      at = 10;
    }
    head.writeUInt32BE(0, at); // the mask key: zero, so the payload goes as it is
    this.socket.cork();
    this.socket.write(head);
    if (n > 0) this.socket.write(data);
    this.socket.uncork();
  }

  // ---------------------------------------------------------------- reading

  /** Where the next read goes: the rest of the payload being read, or the scratch buffer. */
  private nextReadBuffer(): Uint8Array {
    if (this.payload) return this.payload.subarray(this.payloadFill);
    return this.scratch;
  }

  private onRead(n: number, buf: Uint8Array): void {
    if (this.payload && buf.buffer === this.payload.buffer) {
      this.payloadFill += n;
      if (this.payloadFill === this.payload.byteLength) this.endPayload();
      return;
    }
    // Scratch: append to what is pending and parse as far as it goes.
    const fresh = Buffer.from(buf.buffer, buf.byteOffset, n);
    this.pending = this.pending.byteLength === 0 ? Buffer.from(fresh) : Buffer.concat([this.pending, fresh]);
    this.parse();
  }

  private parse(): void {
    for (;;) {
      if (this.readyState === CLOSED) return;
      if (!this.upgraded) {
        const end = this.pending.indexOf("\r\n\r\n");
        if (end < 0) {
          if (this.pending.byteLength > 16 * 1024) this.fail(1002, "an oversized HTTP response to the upgrade");
          return;
        }
        const head = this.pending.subarray(0, end).toString("latin1");
        this.pending = this.pending.subarray(end + 4);
        if (!this.checkUpgrade(head)) return;
        continue;
      }
      if (this.payload) {
        // Payload bytes that came in with the header (or before the payload buffer was offered).
        const take = Math.min(this.pending.byteLength, this.payload.byteLength - this.payloadFill);
        this.payload.set(this.pending.subarray(0, take), this.payloadFill);
        this.pending = this.pending.subarray(take);
        this.payloadFill += take;
        if (this.payloadFill < this.payload.byteLength) return;
        this.endPayload();
        continue;
      }
      if (!this.readHeader()) return;
    }
  }

  private checkUpgrade(head: string): boolean {
    const [status, ...lines] = head.split("\r\n");
    if (!/^HTTP\/1\.1 101 /.test(status ?? "")) {
      this.fail(1002, `the server refused the WebSocket upgrade: ${status}`);
      return false;
    }
    const headers = new Map(
      lines.map((l) => [l.slice(0, l.indexOf(":")).trim().toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]),
    );
    const expected = createHash("sha1")
      .update(this.key + GUID)
      .digest("base64");
    if (headers.get("sec-websocket-accept") !== expected) {
      this.fail(1002, "the server answered the upgrade with a wrong Sec-WebSocket-Accept");
      return false;
    }
    this.upgraded = true;
    this.readyState = OPEN;
    this.emit("open", {});
    return true;
  }

  /** Parses one frame header from `pending`; false if more bytes are needed. */
  private readHeader(): boolean {
    const p = this.pending;
    if (p.byteLength < 2) return false;
    const fin = (p[0]! & 0x80) !== 0;
    const op = p[0]! & 0x0f;
    if ((p[0]! & 0x70) !== 0) return (this.fail(1002, "reserved bits set (no extensions were agreed)"), false);
    if ((p[1]! & 0x80) !== 0) return (this.fail(1002, "a masked frame from the server"), false);
    let len = p[1]! & 0x7f;
    let at = 2;
    if (len === 126) {
      if (p.byteLength < 4) return false;
      len = p.readUInt16BE(2);
      at = 4;
    } else if (len === 127) {
      if (p.byteLength < 10) return false;
      const big = p.readBigUInt64BE(2);
      if (big > BigInt(this.maxPayload))
        return (this.fail(1009, `a message of ${big} bytes (limit ${this.maxPayload})`), false);
      len = Number(big);
      at = 10;
    }
    if (len > this.maxPayload) return (this.fail(1009, `a message of ${len} bytes (limit ${this.maxPayload})`), false);
    this.pending = p.subarray(at);
    // The payload gets its place (or a buffer of its own); the socket reads the rest straight into it.
    this.payload =
      (op === 0x2 && fin && this.fragments.length === 0 ? this.allocator?.(len) : undefined) ??
      Buffer.allocUnsafeSlow(len);
    this.payloadFill = 0;
    this.payloadOp = op;
    this.payloadFin = fin;
    if (len === 0) this.endPayload();
    return true;
  }

  private endPayload(): void {
    const payload = this.payload!;
    const data = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    const op = this.payloadOp;
    this.payload = null;
    this.payloadFill = 0;
    switch (op) {
      case 0x0: // continuation
      case 0x1:
      case 0x2: {
        if (op !== 0x0) this.fragmentOp = op;
        if (!this.payloadFin) {
          this.fragments.push(data);
          return;
        }
        const whole = this.fragments.length === 0 ? payload : Buffer.concat([...this.fragments, data]);
        this.fragments = [];
        this.emit("message", {
          data:
            this.fragmentOp === 0x1
              ? Buffer.from(whole.buffer, whole.byteOffset, whole.byteLength).toString("utf8")
              : whole,
        });
        return;
      }
      case 0x8: {
        const code = data.byteLength >= 2 ? data.readUInt16BE(0) : 1005;
        const reason = data.byteLength > 2 ? data.subarray(2).toString("utf8") : "";
        this.closeInfo = { code, reason };
        if (!this.closeSent) this.close(code === 1005 ? 1000 : code, reason);
        this.socket.end();
        return;
      }
      case 0x9:
        if (this.readyState === OPEN) this.writeFrame(0xa, data);
        return;
      case 0xa:
        return;
      default:
        this.fail(1002, `unknown opcode ${op}`);
    }
  }

  private fail(code: number, reason: string): void {
    this.emit("error", { message: reason });
    this.closeInfo = { code, reason };
    this.socket.destroy();
    this.finish(code, reason);
  }

  private finish(code: number, reason: string): void {
    if (this.readyState === CLOSED) return;
    const wasConnecting = this.readyState === CONNECTING;
    this.readyState = CLOSED;
    if (wasConnecting && !this.listeners.get("close")?.size) return;
    this.emit("close", { code, reason });
  }

  private emit(type: string, e: unknown): void {
    for (const l of this.listeners.get(type) ?? []) l(e as never);
  }
}
