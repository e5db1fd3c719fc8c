// RTCDataChannels as the sockets a SocketChannel sends packets over, in two forms:
// - the channel itself, where it lives on the thread that uses it (a browser tab's Web Worker,
//   to which the page transfers it at creation);
// - a MessagePort pipe, where it cannot move (node-datachannel works on the main thread only,
//   and a browser without RTCDataChannel transfer): the owner of the channel pumps messages
//   between it and a port (pipeDataChannel), and the user of the port sees a socket (portSocket).
// Either way the link sends messages of at most DATA_CHANNEL_MESSAGE_BYTES and keeps its send
// queue far below Chromium's 16 MiB cap (which throws "send queue is full").

import { type Logger, realmLogger } from "../log.js";
import type { SocketLike } from "./socket.js";
import type { Transfer } from "./types.js";

/** The part of the standard RTCDataChannel used here (the browser's, or node-datachannel's polyfill). */
export interface DataChannelLike {
  readonly label: string;
  readonly readyState: string;
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  binaryType: string;
  send(data: Uint8Array): void;
  close(): void;
  addEventListener(type: "open" | "close" | "bufferedamountlow", listener: () => void): void;
  addEventListener(type: "message", listener: (e: { data: unknown }) => void): void;
  addEventListener(type: "error", listener: (e: unknown) => void): void;
  removeEventListener(type: "bufferedamountlow", listener: () => void): void;
}

/**
 * The largest message put on a data channel: 64 KiB is within every browser's negotiated maximum
 * (Chromium and libdatachannel advertise 256 KiB), and interleaves well with other channels.
 */
export const DATA_CHANNEL_MESSAGE_BYTES = 64 * 1024;
/**
 * Stop sending while a data channel holds this much unsent (resume below a quarter of it). Far from
 * Chromium's 16 MiB cap, where send() throws. On loopback 256 KiB and 4 MiB ran tab → tab at the
 * same speed (bench/browser.mjs); a MiB leaves room for a link with a longer round trip.
 */
export const DATA_CHANNEL_HIGH_WATER_BYTES = 1024 * 1024;

const STATES: Record<string, number> = { connecting: 0, open: 1, closing: 2, closed: 3 };

/**
 * Closing a data channel right after sending on it can lose what was sent (libdatachannel; seen
 * about once in 30 runs of the close tests): the side that closes first waits this long at most
 * for the peer, which closes on reading the goodbye (SocketLike.closeLingerMs).
 */
export const DATA_CHANNEL_CLOSE_LINGER_MS = 2000;

/** `dc` as a SocketLike: open/close/message events, and a drain event from bufferedamountlow. */
export function dataChannelSocket(
  dc: DataChannelLike,
): SocketLike & { addEventListener(type: "open", l: () => void): void } {
  dc.binaryType = "arraybuffer";
  let closedWhy = "";
  return {
    get readyState() {
      return STATES[dc.readyState] ?? 3;
    },
    get bufferedAmount() {
      return dc.bufferedAmount;
    },
    binaryType: "arraybuffer",
    closeLingerMs: DATA_CHANNEL_CLOSE_LINGER_MS,
    send: (data) => {
      try {
        dc.send(data);
      } catch (err) {
        // The channel failed under us (the peer went away): it closes, and the link with it.
        closedWhy ||= `send failed: ${(err as Error).message}`;
        dc.close();
      }
    },
    close: (_code, reason) => {
      closedWhy ||= reason ?? "";
      dc.close();
    },
    whenDrained: (below, callback) => onceDrained(dc, below, callback),
    addEventListener(type: string, listener: (e: never) => void) {
      if (type === "close")
        dc.addEventListener("close", () =>
          (listener as (e: { code: number; reason: string }) => void)({
            code: 1000,
            reason: closedWhy || "data channel closed",
          }),
        );
      else dc.addEventListener(type as "open", listener as () => void);
    },
  } as SocketLike & { addEventListener(type: "open", l: () => void): void };
}

function onceDrained(dc: DataChannelLike, below: number, callback: () => void): void {
  if (dc.bufferedAmount <= below || dc.readyState !== "open") return void queueMicrotask(callback);
  dc.bufferedAmountLowThreshold = below;
  // The event, and a slow poll beside it: a channel moved to a worker may report bufferedAmount a
  // task late, and a missed event would stall the link for good.
  let done = false;
  const fire = () => {
    if (done) return;
    done = true;
    dc.removeEventListener("bufferedamountlow", fire);
    clearInterval(poll);
    callback();
  };
  const poll = setInterval(() => (dc.bufferedAmount <= below || dc.readyState !== "open") && fire(), DRAIN_POLL_MS);
  dc.addEventListener("bufferedamountlow", fire);
}

/** How often a sender waiting for a data channel to drain looks at it, beside the bufferedamountlow event. */
const DRAIN_POLL_MS = 25;

// ---------------------------------------------------------------- the MessagePort pipe

/** What crosses a pipe's port. Bytes are transferred, never copied by the structured clone. */
type PipeMessage =
  | { t: "open" }
  | { t: "data"; b: ArrayBuffer }
  /** The owner has handed `n` more bytes to the data channel (the port end's bufferedAmount falls). */
  | { t: "drained"; n: number }
  | { t: "close"; reason: string };

/** The part of MessagePort used here (the platform's, in Node and browsers alike). */
export interface PortLike {
  postMessage(message: unknown, transfer?: Transfer[]): void;
  addEventListener(type: "message", listener: (e: { data: unknown }) => void): void;
  start(): void;
  close(): void;
}

/**
 * The owner's side of a pipe: moves messages between `dc` and `port` until either closes. What the
 * port end sends is queued here and handed to the channel while it holds less than the high-water
 * mark; each hand-over is acknowledged, so the port end's own high-water mark bounds the queue.
 */
export function pipeDataChannel(dc: DataChannelLike, port: PortLike, highWater = DATA_CHANNEL_HIGH_WATER_BYTES): void {
  dc.binaryType = "arraybuffer";
  const queue: Uint8Array[] = [];
  let ended = false;
  const end = (reason: string, tellPort: boolean) => {
    if (ended) return;
    ended = true;
    queue.length = 0;
    if (tellPort) port.postMessage({ t: "close", reason } satisfies PipeMessage);
    port.close();
    if (dc.readyState === "open" || dc.readyState === "connecting") dc.close();
  };
  let waiting = false;
  const pump = () => {
    if (waiting) return;
    let n = 0;
    while (queue.length > 0 && dc.readyState === "open" && dc.bufferedAmount < highWater) {
      const b = queue.shift()!;
      try {
        dc.send(b);
      } catch (err) {
        return end(`send failed: ${(err as Error).message}`, true);
      }
      n += b.byteLength;
    }
    if (n > 0) port.postMessage({ t: "drained", n } satisfies PipeMessage);
    if (queue.length > 0 && dc.readyState === "open") {
      waiting = true;
      onceDrained(dc, highWater / 4, () => {
        waiting = false;
        pump();
      });
    }
  };
  let draining = false;
  const schedule = () => {
    if (draining) return;
    draining = true;
    queueMicrotask(() => {
      draining = false;
      pump();
    });
  };
  // Chromium (150) can report a channel it announced in `datachannel` as "open", then
  // "connecting" for a moment, then "open" again with a second open event: the port end hears of
  // the first opening only, and whatever the pump held back meanwhile goes out on the next one.
  let announced = false;
  const opened = () => {
    if (!ended && !announced) {
      announced = true;
      port.postMessage({ t: "open" } satisfies PipeMessage);
    }
    pump();
  };
  dc.addEventListener("open", opened);
  if (dc.readyState === "open") opened();
  dc.addEventListener("message", (e) => {
    if (ended) return;
    const data = e.data;
    if (data instanceof ArrayBuffer) port.postMessage({ t: "data", b: data } satisfies PipeMessage, [data]);
    else if (ArrayBuffer.isView(data)) {
      const copy = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice().buffer;
      port.postMessage({ t: "data", b: copy } satisfies PipeMessage, [copy]);
    } else end("a text message on a binary link", true);
  });
  dc.addEventListener("close", () => end("data channel closed", true));
  port.addEventListener("message", (e) => {
    const m = e.data as PipeMessage;
    if (ended) return;
    if (m.t === "data") {
      queue.push(new Uint8Array(m.b));
      schedule();
    } else if (m.t === "close") end(m.reason, false);
  });
  port.start();
}

/**
 * The user's side of a pipe, as a socket. bufferedAmount counts what was posted and not yet handed
 * to the data channel by the owner; messages are copied out of the sender's buffers (a view of a
 * large frame cannot be transferred without taking the whole frame away from its owner).
 */
export function portSocket(
  port: PortLike,
  logger: Logger = realmLogger,
): SocketLike & { addEventListener(type: "open", l: () => void): void } {
  let state = 0;
  let buffered = 0;
  let drainWait: { below: number; callback: () => void } | null = null;
  const listeners: Record<string, ((e: never) => void)[]> = { open: [], message: [], close: [], error: [] };
  const emit = (type: string, e?: unknown) => {
    for (const l of listeners[type] ?? []) (l as (e: unknown) => void)(e);
  };
  const finish = (reason: string) => {
    if (state === 3) return;
    state = 3;
    port.close();
    emit("close", { code: 1000, reason });
  };
  port.addEventListener("message", (e) => {
    const m = e.data as PipeMessage;
    if (state === 3) return;
    if (m.t === "open") {
      state = 1;
      emit("open");
    } else if (m.t === "data") emit("message", { data: m.b });
    else if (m.t === "drained") {
      buffered = Math.max(0, buffered - m.n);
      if (drainWait && buffered <= drainWait.below) {
        const { callback } = drainWait;
        drainWait = null;
        callback();
      }
    } else if (m.t === "close") finish(m.reason);
    else logger.debug(`data channel pipe: unknown message ${String((m as { t?: unknown }).t)}`);
  });
  port.start();
  return {
    get readyState() {
      return state;
    },
    get bufferedAmount() {
      return buffered;
    },
    binaryType: "arraybuffer",
    closeLingerMs: DATA_CHANNEL_CLOSE_LINGER_MS,
    send(data) {
      if (state !== 1) return;
      const copy = data.slice().buffer;
      buffered += copy.byteLength;
      port.postMessage({ t: "data", b: copy } satisfies PipeMessage, [copy]);
    },
    close(_code, reason) {
      if (state === 3) return;
      port.postMessage({ t: "close", reason: reason ?? "closed" } satisfies PipeMessage);
      finish(reason ?? "closed");
    },
    whenDrained(below, callback) {
      if (buffered <= below || state !== 1) return void queueMicrotask(callback);
      drainWait = { below, callback };
    },
    addEventListener(type: string, listener: (e: never) => void) {
      listeners[type]?.push(listener);
    },
  } as SocketLike & { addEventListener(type: "open", l: () => void): void };
}
