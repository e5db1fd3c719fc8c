// The relay's pipes: two sockets (or two channels) joined so that what one end sends the other
// gets unchanged, and each closes with the other; a fast sender waits while its receiver has too
// much unsent (RELAY_HIGH_WATER_BYTES).

import type { WebSocket } from "ws";
import type { Channel } from "../../src/comm/types.js";

/** A message as `ws` hands it over. */
export type Message = { data: Buffer | ArrayBuffer | Buffer[]; binary: boolean };

/** Joins two channels packet for packet, and closes each when the other closes. */
export function bridge(a: Channel, b: Channel): void {
  a.onPacket = (p) => b.send(p);
  b.onPacket = (p) => a.send(p);
  a.onClose = (why) => b.close(why);
  b.onClose = (why) => a.close(why);
}

export function joinWs(a: WebSocket, b: WebSocket): void {
  forward(a as unknown as Pipe, b as unknown as Pipe);
  forward(b as unknown as Pipe, a as unknown as Pipe);
  a.on("close", () => b.close(1000, "peer closed"));
  b.on("close", () => a.close(1000, "peer closed"));
}

/**
 * What one end of a pipe holds unsent before the hub stops reading from the other: the hub then
 * buffers at most this much per direction, and a fast sender waits for a slow receiver.
 */
export const RELAY_HIGH_WATER_BYTES = 8 * 1024 * 1024;

/** One end of a pipe: a `ws` WebSocket (on/pause/resume) or our FastWebSocket client (addEventListener/pause/resume). */
export interface Pipe {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array, options?: { binary: boolean }): void;
  pause(): void;
  resume(): void;
  on?(type: "message", l: (data: Buffer, binary: boolean) => void): void;
  addEventListener?(type: "message", l: (e: { data: Buffer }) => void): void;
}

/** How often a paused pipe looks whether the other end has drained. */
const RELAY_DRAIN_POLL_MS = 2;

/** Passes `from`'s messages to `to` as they are, pausing `from` while `to` has too much unsent. */
export function forward(from: Pipe, to: Pipe): void {
  let paused: ReturnType<typeof setInterval> | undefined;
  const pass = (data: Buffer | ArrayBuffer | Buffer[], binary: boolean) => {
    if (to.readyState !== 1) return;
    to.send(toBytes(data), { binary });
    if (paused === undefined && to.bufferedAmount > RELAY_HIGH_WATER_BYTES) {
      from.pause();
      paused = setInterval(() => {
        if (to.readyState === 1 && to.bufferedAmount > RELAY_HIGH_WATER_BYTES / 4) return;
        clearInterval(paused);
        paused = undefined;
        from.resume();
      }, RELAY_DRAIN_POLL_MS);
    }
  };
  if (from.on) from.on("message", pass);
  else from.addEventListener?.("message", (e) => pass(e.data, true));
}

export function byteLength(data: Buffer | ArrayBuffer | Buffer[]): number {
  return Array.isArray(data) ? data.reduce((n, b) => n + b.byteLength, 0) : data.byteLength;
}

export function toBytes(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}
