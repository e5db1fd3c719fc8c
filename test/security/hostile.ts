// A hostile peer for the adversarial suite: a raw WebSocket (the `ws` package) that writes
// meshwork's wire format by hand, from any loopback source address (127.0.0.x), so a test can send
// what no Comm would and keep the honest peers' address (127.0.0.1) apart from the attacker's.

import { deflateRawSync } from "node:zlib";
import { WebSocket } from "ws";
import {
  decodePacket,
  encodePacket,
  PacketReader,
  PROTOCOL_VERSION,
  toChunks,
  type Message,
} from "../../src/internal.js";

const MAGIC = 0x6d736833;
const MODE_PIECES = 1;
const CODEC_RAW = 0;
const CODEC_DEFLATE = 1;

export class Hostile {
  private readonly reader = new PacketReader(1 << 30);
  readonly inbox: Message[] = [];
  private wake: (() => void) | null = null;
  closeInfo: { code: number; reason: string } | null = null;
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.binaryType = "arraybuffer";
    ws.on("message", (data: ArrayBuffer) => {
      try {
        const packet = this.reader.push(new Uint8Array(data));
        if (packet) this.inbox.push(...decodePacket(packet));
      } catch {
        // what the far end sends is not under test here
      }
      this.wake?.();
    });
    ws.on("error", () => {}); // a refused upgrade or a reset: seen as the close
    this.closed = new Promise((resolve) =>
      ws.on("close", (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        this.wake?.();
        resolve(this.closeInfo);
      }),
    );
  }

  /** Opens a WebSocket to `url` from `from` (a loopback address: 127.0.0.1 … 127.255.255.254). */
  static async open(url: string, from = "127.0.0.2"): Promise<Hostile> {
    const ws = new WebSocket(url, { perMessageDeflate: false, localAddress: from, maxPayload: 1 << 30 });
    const h = new Hostile(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode} ${res.statusMessage}`)));
      ws.once("error", reject);
    });
    return h;
  }

  /** Tries to open; the HTTP status (or error) when the upgrade is refused. */
  static async refusal(url: string, from = "127.0.0.2"): Promise<string | null> {
    try {
      const h = await Hostile.open(url, from);
      h.ws.terminate();
      return null;
    } catch (err) {
      return (err as Error).message;
    }
  }

  get isOpen(): boolean {
    return this.closeInfo === null && this.ws.readyState === WebSocket.OPEN;
  }

  send(messages: Message[]): void {
    for (const c of toChunks(encodePacket(messages), 1 << 20)) this.ws.send(c);
  }

  sendBytes(bytes: Uint8Array | string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(bytes);
  }

  hello(role: string, token: string | undefined, extra: object = {}): void {
    this.send([
      { op: "hello", version: PROTOCOL_VERSION, role, token, codecs: ["deflate"], ...extra } as unknown as Message,
    ]);
  }

  /** The next message, or null if the connection closes first or nothing comes within `ms`. */
  async next(ms = 3000): Promise<Message | null> {
    const deadline = Date.now() + ms;
    // Woken by a message, the close or the deadline (a message may end no packet: wait on).
    while (this.inbox.length === 0 && this.isOpen && Date.now() < deadline) {
      await new Promise<void>((r) => {
        const timer = setTimeout(r, deadline - Date.now());
        this.wake = () => {
          clearTimeout(timer);
          r();
        };
      });
    }
    this.wake = null;
    return this.inbox.shift() ?? null;
  }

  /** Resolves with the close, or null if still open after `ms`. */
  async closedWithin(ms: number): Promise<{ code: number; reason: string } | null> {
    return Promise.race([this.closed, new Promise<null>((r) => setTimeout(() => r(null), ms))]);
  }

  close(): void {
    this.ws.terminate();
  }
}

/** A packet's prelude: one frame sent in `pieces` pieces that decode to `decoded` bytes, and a header of `headerBytes`. */
export function piecedPrelude(pieces: number, decoded: number, headerBytes: number): Uint8Array {
  const b = new Uint8Array(12 + 16);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, MAGIC);
  dv.setUint32(4, 1);
  dv.setUint32(8, headerBytes);
  dv.setUint32(12, MODE_PIECES);
  dv.setUint32(16, pieces);
  dv.setFloat64(20, decoded);
  return b;
}

/** One piece: `decoded` zero bytes, deflated (a few hundred bytes on the wire for megabytes decoded). */
export function deflatedZeros(decoded: number): Uint8Array {
  const body = deflateRawSync(new Uint8Array(decoded));
  const b = new Uint8Array(12 + body.byteLength);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, CODEC_DEFLATE);
  dv.setUint32(4, body.byteLength);
  dv.setUint32(8, decoded);
  b.set(body, 12);
  return b;
}

/** One raw piece of `n` bytes. */
export function rawPiece(n: number): Uint8Array {
  const b = new Uint8Array(12 + n);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, CODEC_RAW);
  dv.setUint32(4, n);
  dv.setUint32(8, n);
  return b;
}

/** Bytes of this process's memory that an attack could grow: resident set and ArrayBuffers. */
export function memory(): { rss: number; arrayBuffers: number } {
  global.gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, arrayBuffers: m.arrayBuffers };
}

export const MiB = 1024 * 1024;

export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}
