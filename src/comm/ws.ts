// The WebSocket transport, `ws://host:port` and `wss://host:port`. Connecting uses the platform's
// WebSocket (injected: the browser's, or the `ws` package's in Node 20, which has none built in);
// listening is only possible in Node and is injected by node/platform/ws-listen.ts.

import { ConnectError, TimeoutError } from "../errors.js";
import type { CompressionMode } from "../protocol/compression.js";
import { SocketChannel, type SocketLike } from "./socket.js";
import type { Channel, LinkKind, Transport, TransportListener, TransportOptions } from "./types.js";
import { DEFAULT_MAX_PACKET_BYTES } from "./types.js";

export interface WsPlatform {
  /** Opens a WebSocket to `url` (may load the implementation first). `options` carries settings such as TLS trust. */
  open(url: string, options: TransportOptions): SocketLike | Promise<SocketLike>;
  /** Listens at `address` and hands over each accepted socket; absent where listening is impossible. */
  listen?(
    address: string,
    onSocket: (socket: SocketLike, peerAddress: string) => void,
    options: TransportOptions,
  ): Promise<TransportListener>;
}

/** SocketChannel settings from generic transport options. */
export function socketOptions(options: TransportOptions) {
  return {
    maxPacketBytes: options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES,
    chunkBytes: typeof options["chunkBytes"] === "number" ? options["chunkBytes"] : undefined,
    compression: (options["compression"] ?? "auto") as CompressionMode,
    throttleBytesPerSec:
      typeof options["throttleBytesPerSec"] === "number" ? options["throttleBytesPerSec"] : undefined,
    receiveBuffers: options.receiveBuffers,
    logger: options.logger,
  };
}

/** A Transport for `scheme` ("ws" or "wss") on the given platform. */
export function wsTransport(platform: WsPlatform, scheme: "ws" | "wss" = "ws"): Transport {
  return {
    scheme,

    async listen(address, onChannel, options): Promise<TransportListener> {
      if (!platform.listen)
        throw new ConnectError(`cannot listen at ${address}: this platform can only connect to ${scheme}:// addresses`);
      let local = address;
      const listener = await platform.listen(
        address,
        (socket, peer) =>
          onChannel(new SocketChannel(socket, local, peer, "ws", { ...socketOptions(options), preHello: true })),
        options,
      );
      local = listener.address;
      return listener;
    },

    connect(address, options): Promise<Channel> {
      return openSocketChannel(platform, address, address, "ws", options);
    },
  };
}

/**
 * Opens a WebSocket to `url` and resolves with a SocketChannel over it once open (`address` names
 * the peer in errors and on the channel; `kind` is the link kind shown to users).
 */
export async function openSocketChannel(
  platform: Pick<WsPlatform, "open">,
  url: string,
  address: string,
  kind: LinkKind,
  options: TransportOptions,
): Promise<Channel> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const timeout = new TimeoutError(`connecting to ${address} took longer than ${timeoutMs} ms`);
  let socket: SocketLike & { addEventListener(type: "open", l: () => void): void };
  try {
    socket = (await platform.open(url, options)) as typeof socket;
  } catch (err) {
    throw new ConnectError(`cannot connect to ${address}: ${(err as Error).message}`);
  }
  return new Promise<Channel>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      socket.close();
      reject(timeout);
    }, timeoutMs);
    socket.addEventListener("open", () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(new SocketChannel(socket, `${schemeOfUrl(url)}://client`, address, kind, socketOptions(options)));
    });
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new ConnectError(`cannot connect to ${address}: ${why}`));
    };
    socket.addEventListener("error", (e) => fail((e as { message?: string }).message ?? "connection failed"));
    socket.addEventListener("close", (e) => fail(`closed (code ${e.code}${e.reason ? `: ${String(e.reason)}` : ""})`));
  });
}

function schemeOfUrl(url: string): string {
  return url.slice(0, url.indexOf(":"));
}
