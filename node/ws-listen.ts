// Listening for WebSocket connections in Node: one HTTP(S) server per listener, `ws` handling the
// upgrade. The same server answers plain HTTP requests through `httpHandler` (the scheduler's
// pages and API will live there), so a cluster needs one port.

import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import type { SocketLike } from "../src/comm/socket.js";
import type { TransportListener, TransportOptions } from "../src/comm/types.js";
import { ConnectError } from "../src/errors.js";

/** TLS material for wss:// (PEM strings). `ca` lets a client trust a self-signed certificate. */
export interface TlsOptions {
  cert?: string;
  key?: string;
  ca?: string;
}

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Largest WebSocket message accepted: our chunks are at most 8 MiB (socket.ts), so 64 MiB leaves
 * room for peers configured with bigger chunks while refusing absurd lengths early; whole packets
 * are bounded separately by maxPacketBytes.
 */
const MAX_WS_MESSAGE_BYTES = 64 * 1024 * 1024;

export interface WsListener extends TransportListener {
  /** The port actually bound. */
  readonly port: number;
}

export async function listenWs(address: string, onSocket: (socket: SocketLike, peer: string) => void, options: TransportOptions): Promise<WsListener> {
  const url = new URL(address);
  const secure = url.protocol === "wss:";
  const tls = options["tls"] as TlsOptions | undefined;
  if (secure && !(tls?.cert && tls.key)) throw new ConnectError(`cannot listen at ${address}: wss:// needs { tls: { cert, key } }`);
  const handler = (options["httpHandler"] as HttpHandler | undefined) ?? notFound;
  const server = secure ? createHttpsServer({ cert: tls!.cert, key: tls!.key }, handler) : createHttpServer(handler);
  const { WebSocketServer } = await loadWs();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_WS_MESSAGE_BYTES });
  const sockets = new Set<WebSocket>();
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on("close", () => sockets.delete(ws));
      const host = req.socket.remoteAddress?.includes(":") ? `[${req.socket.remoteAddress}]` : req.socket.remoteAddress;
      onSocket(ws as unknown as SocketLike, `${url.protocol}//${host}:${req.socket.remotePort}`);
    });
  });
  const hostname = url.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(new ConnectError(`cannot listen at ${address}: ${err.message}`, { cause: err })));
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

function notFound(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(426, { "content-type": "text/plain; charset=utf-8", upgrade: "websocket" });
  res.end("meshwork: connect with a WebSocket client\n");
}

/** Opens a client WebSocket with the `ws` package (Node 20 has no WebSocket of its own). */
export async function openWs(url: string, options: TransportOptions): Promise<SocketLike> {
  const tls = options["tls"] as TlsOptions | undefined;
  const { WebSocket } = await loadWs();
  return new WebSocket(url, { perMessageDeflate: false, maxPayload: MAX_WS_MESSAGE_BYTES, ca: tls?.ca }) as unknown as SocketLike;
}

/**
 * `ws` is loaded on first use of a ws:// address, not at start: every worker thread imports this
 * module, and loading `ws` in each cost a LocalCluster (in-process links only) ~100 ms to start.
 */
let wsModule: Promise<typeof import("ws")> | null = null;
function loadWs(): Promise<typeof import("ws")> {
  return (wsModule ??= import("ws"));
}
