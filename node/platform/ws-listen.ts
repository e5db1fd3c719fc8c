// Listening for WebSocket connections in Node: one HTTP(S) server per listener, `ws` handling the
// upgrade. The same server answers plain HTTP requests through `httpHandler` (the scheduler's
// pages and API will live there), so a cluster needs one port.

import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import type { SocketLike } from "../../src/comm/socket.js";
import { FastWebSocket } from "./ws-client.js";
import { PRE_HELLO_MAX_PACKET_BYTES, type TransportListener, type TransportOptions } from "../../src/comm/types.js";
import { ConnectError } from "../../src/errors.js";

/** TLS material for wss:// (PEM strings). `ca` lets a client trust a self-signed certificate. */
export interface TlsOptions {
  cert?: string;
  key?: string;
  ca?: string;
}

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Takes a WebSocket upgrade for a path of its own (returns true), or leaves it to the listener. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean;

/**
 * Messages between Node processes are up to 64 MiB (NODE_CHUNK_BYTES): a 64 MiB frame is one
 * message, which `ws` hands over in one buffer we keep without another copy. Browsers get 8 MiB
 * messages (socket.ts's default). `ws` refuses anything larger before buffering it.
 */
export const NODE_CHUNK_BYTES = 64 * 1024 * 1024;
export const MAX_WS_MESSAGE_BYTES = NODE_CHUNK_BYTES + 1024 * 1024;

export interface WsListener extends TransportListener {
  /** The port actually bound. */
  readonly port: number;
}

export async function listenWs(
  address: string,
  onSocket: (socket: SocketLike, peer: string) => void,
  options: TransportOptions,
): Promise<WsListener> {
  const url = new URL(address);
  const secure = url.protocol === "wss:";
  const tls = options["tls"] as TlsOptions | undefined;
  if (secure && !(tls?.cert && tls.key))
    throw new ConnectError(`cannot listen at ${address}: wss:// needs { tls: { cert, key } }`);
  const handler = (options["httpHandler"] as HttpHandler | undefined) ?? notFound;
  const server = secure ? createHttpsServer({ cert: tls!.cert, key: tls!.key }, handler) : createHttpServer(handler);
  const { WebSocketServer } = await loadWs();
  // Until the peer's hello is accepted, `ws` buffers no message bigger than a hello may be
  // (SocketChannel lifts the cap through limitMessages once the handshake admits the peer).
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: PRE_HELLO_MAX_PACKET_BYTES });
  const sockets = new Set<WebSocket>();
  const onUpgrade = options["onUpgrade"] as UpgradeHandler | undefined;
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (onUpgrade?.(req, socket, head)) return; // another route (the relay) took it
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.binaryType = "nodebuffer";
      (ws as unknown as SocketLike).limitMessages = (bytes) => setMaxPayload(ws, bytes ?? MAX_WS_MESSAGE_BYTES);
      sockets.add(ws);
      ws.on("close", () => sockets.delete(ws));
      const host = req.socket.remoteAddress?.includes(":") ? `[${req.socket.remoteAddress}]` : req.socket.remoteAddress;
      onSocket(ws as unknown as SocketLike, `${url.protocol}//${host}:${req.socket.remotePort}`);
    });
  });
  const hostname = url.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) =>
      reject(new ConnectError(`cannot listen at ${address}: ${err.message}`, { cause: err })),
    );
    server.listen(url.port === "" ? 0 : Number(url.port), hostname, () => resolve());
  });
  const bound = server.address();
  const port = typeof bound === "object" && bound ? bound.port : Number(url.port);
  const shownHost = hostname.includes(":") ? `[${hostname}]` : hostname;
  return {
    address: `${url.protocol}//${shownHost}:${port}`,
    port,
    async close() {
      // Stop accepting; connections already made are closed by their owners (like other transports).
      wss.close();
      server.close();
      server.closeIdleConnections();
    },
  };
}

/**
 * Changes the largest message `ws` accepts on one socket. `ws` takes the limit per server only;
 * its receiver reads it from `_maxPayload` on every frame header (ws 8, lib/receiver.js
 * haveLength), before buffering the payload. Loud if that field is gone: a silent miss would keep
 * every authenticated peer at the pre-hello cap (test/security/pre-hello.test.ts checks both ways).
 */
export function setMaxPayload(ws: WebSocket, bytes: number): void {
  const receiver = (ws as unknown as { _receiver?: { _maxPayload?: unknown } })._receiver;
  if (!receiver || typeof receiver._maxPayload !== "number")
    throw new Error("this version of `ws` keeps no per-socket _maxPayload: node/platform/ws-listen.ts must be updated");
  receiver._maxPayload = bytes;
}

function notFound(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(426, { "content-type": "text/plain; charset=utf-8", upgrade: "websocket" });
  res.end("meshwork: connect with a WebSocket client\n");
}

/**
 * Opens a client WebSocket (Node 20 has none of its own): ws:// with our reader that places each
 * message straight into its own buffer (ws-client.ts); wss:// with the `ws` package, since TLS
 * sockets cannot choose their read buffers.
 */
export async function openWs(url: string, options: TransportOptions): Promise<SocketLike> {
  if (url.startsWith("ws:")) return new FastWebSocket(url, MAX_WS_MESSAGE_BYTES);
  const tls = options["tls"] as TlsOptions | undefined;
  const { WebSocket } = await loadWs();
  const ws = new WebSocket(url, {
    perMessageDeflate: false,
    maxPayload: MAX_WS_MESSAGE_BYTES,
    ca: tls?.ca,
    generateMask: zeroMask,
  });
  ws.binaryType = "nodebuffer";
  return ws as unknown as SocketLike;
}

/**
 * WebSocket clients must mask what they send (RFC 6455), so that a browser cannot be made to send
 * bytes that poison a caching proxy between it and a hostile server. Between meshwork's own Node
 * processes that threat does not exist, while masking costs a full copy and an XOR of every byte
 * (measured: client-to-server 70-120 MB/s with masking). `ws` skips the work for an all-zero mask.
 */
function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

/**
 * `ws` is loaded on first use of a ws:// address, not at start: every worker thread imports this
 * module, and loading `ws` in each cost a LocalCluster (in-process links only) ~100 ms to start.
 */
let wsModule: Promise<typeof import("ws")> | null = null;
export function loadWs(): Promise<typeof import("ws")> {
  return (wsModule ??= import("ws"));
}
