// The scheduler's side of the relay transport (src/comm/relay.ts): WebSocket routes on the
// scheduler's HTTP server that join two sockets and forward messages between them unchanged.
//   /relay-listen/<slot>?token=T   a listener (a browser tab's data server) holds its slot open
//   /relay/<slot>                  a caller; the listener is told the new pipe's id
//   /relay-accept/<pipe>           the listener's end of that pipe
//   /relay-to/<address>            a browser reaching a Node worker's data server through us (its
//                                  page may connect to its own origin only); known workers only
// Pipes are authenticated end to end by the data-plane handshake that runs through them.

import type { Duplex } from "node:stream";
import type { WebSocket, WebSocketServer } from "ws";
import { log } from "../src/log.js";
import { randomId } from "../src/util/ids.js";
import { inprocTransport } from "../src/comm/inproc.js";
import { SocketChannel, type SocketLike } from "../src/comm/socket.js";
import { DEFAULT_MAX_PACKET_BYTES, type Channel } from "../src/comm/types.js";
import type { Packet } from "../src/protocol/packet.js";
import { loadWs, openWs, type UpgradeHandler } from "./ws-listen.js";

/** A caller waits this long for the listener to take its pipe. */
const ACCEPT_TIMEOUT_MS = 10_000;
const MAX_MESSAGE_BYTES = 65 * 1024 * 1024;

export interface RelayHubOptions {
  /** Required from listeners when set (the worker token: only workers may offer a data server). */
  token?: string | undefined;
  /** Whether a browser may reach `address` through the relay (the scheduler's known workers). */
  canReach(address: string): boolean;
}

type Message = { data: Buffer | ArrayBuffer | Buffer[]; binary: boolean };
type Waiting = { caller: WebSocket; queued: Message[] | null; timer: ReturnType<typeof setTimeout> };

export class RelayHub {
  private readonly slots = new Map<string, WebSocket>();
  /** Callers waiting for the listener to take their pipe, with what they sent meanwhile. */
  private readonly waiting = new Map<string, Waiting>();
  private readonly open = new Set<WebSocket | SocketLike>();
  private wss: WebSocketServer | null = null;

  private constructor(private readonly options: RelayHubOptions) {}

  static async create(options: RelayHubOptions): Promise<RelayHub> {
    const hub = new RelayHub(options);
    const { WebSocketServer } = await loadWs();
    hub.wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_MESSAGE_BYTES });
    return hub;
  }

  /** For ws-listen's `onUpgrade`: takes the relay's paths, leaves the rest. */
  readonly onUpgrade: UpgradeHandler = (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://relay");
    const [, route, id = ""] = url.pathname.split("/");
    const take = (then: (ws: WebSocket) => void) => this.wss!.handleUpgrade(req, socket, head, (ws) => {
      this.open.add(ws);
      ws.on("close", () => this.open.delete(ws));
      then(ws);
    });
    switch (route) {
      case "relay-listen":
        if (this.options.token !== undefined && url.searchParams.get("token") !== this.options.token) return refuse(socket, 403, "a relay listener needs the worker token");
        if (!/^[\w-]+$/.test(id) || this.slots.has(id)) return refuse(socket, 409, `relay slot "${id}" is taken or malformed`);
        take((ws) => {
          this.slots.set(id, ws);
          ws.on("close", () => this.slots.get(id) === ws && this.slots.delete(id));
        });
        return true;
      case "relay": {
        const listener = this.slots.get(id);
        if (!listener) return refuse(socket, 404, `nobody listens at relay slot "${id}"`);
        // The caller's upgrade completes at once and its messages wait here until the listener
        // takes the pipe. Holding the upgrade instead deadlocks two tabs of one browser: a browser
        // opens one WebSocket at a time to a host:port (RFC 6455 4.1), so the listener's
        // /relay-accept would wait behind the caller's pending upgrade.
        take((caller) => {
          const pipe = randomId(8);
          const timer = setTimeout(() => {
            this.drop(pipe);
            caller.close(1011, "the relay's listener did not take the connection");
          }, ACCEPT_TIMEOUT_MS);
          const w: Waiting = { caller, queued: [], timer };
          caller.on("message", (data, binary) => w.queued?.push({ data: data as Buffer, binary }));
          caller.on("close", () => this.drop(pipe));
          this.waiting.set(pipe, w);
          listener.send(pipe);
        });
        return true;
      }
      case "relay-accept": {
        const w = this.waiting.get(id);
        if (!w) return refuse(socket, 404, `no relay pipe "${id}" waiting`);
        this.drop(id);
        take((accepted) => {
          if (w.caller.readyState !== 1) return accepted.close(1000, "the caller left");
          for (const m of w.queued!) accepted.send(m.data, { binary: m.binary });
          w.queued = null;
          joinWs(w.caller, accepted);
        });
        return true;
      }
      case "relay-to": {
        const target = decodeURIComponent(id);
        if (!/^(ws|inproc):\/\//.test(target) || !this.options.canReach(target)) return refuse(socket, 403, `${target} is not a worker this relay may reach`);
        take((caller) => void (target.startsWith("inproc:") ? this.bridgeTo(caller, target) : this.relayTo(caller, target)));
        return true;
      }
      default:
        return false;
    }
  };

  /** Closes every relayed socket and listener. */
  close(): void {
    for (const w of this.waiting.values()) clearTimeout(w.timer);
    this.waiting.clear();
    for (const s of this.open) s.close(1001, "scheduler closing");
    this.open.clear();
    this.wss?.close();
  }

  private drop(pipe: string): void {
    const w = this.waiting.get(pipe);
    if (!w) return;
    clearTimeout(w.timer);
    this.waiting.delete(pipe);
  }

  /**
   * A browser reaching a worker thread of this process (an inproc:// data server): its WebSocket
   * becomes a channel whose packets are passed to and from an in-process connection.
   */
  private async bridgeTo(caller: WebSocket, target: string): Promise<void> {
    caller.binaryType = "nodebuffer";
    // No compression: the handshake (and so the codecs agreed) runs end to end, beyond this hop.
    const outer = new SocketChannel(caller as unknown as SocketLike, "relay-hub", "browser", "relay", { maxPacketBytes: DEFAULT_MAX_PACKET_BYTES, compression: false });
    const held: Packet[] = [];
    outer.onPacket = (p) => held.push(p);
    let inner: Channel;
    try {
      inner = await inprocTransport.connect(target, {});
    } catch (err) {
      outer.close(`cannot reach ${target}`);
      log().debug(`relay to ${target} failed: ${(err as Error).message}`);
      return;
    }
    bridge(outer, inner);
    for (const p of held) inner.send(p);
  }

  private async relayTo(caller: WebSocket, target: string): Promise<void> {
    const queued: Message[] = [];
    let joined = false;
    caller.on("message", (data, binary) => !joined && queued.push({ data: data as Buffer, binary }));
    let far: SocketLike;
    try {
      far = await openWs(target, {});
    } catch (err) {
      caller.close(1011, `cannot reach ${target}`.slice(0, 120));
      log().debug(`relay to ${target} failed: ${(err as Error).message}`);
      return;
    }
    this.open.add(far);
    (far as unknown as { addEventListener(t: "open", l: () => void): void }).addEventListener("open", () => {
      joined = true;
      for (const m of queued) far.send(toBytes(m.data));
      forward(caller as unknown as Pipe, far as unknown as Pipe);
      forward(far as unknown as Pipe, caller as unknown as Pipe);
      far.addEventListener("close", () => caller.close(1000, "peer closed"));
      caller.on("close", () => far.close(1000, "peer closed"));
    });
    far.addEventListener("close", () => this.open.delete(far));
  }
}

/** Joins two channels packet for packet, and closes each when the other closes. */
function bridge(a: Channel, b: Channel): void {
  a.onPacket = (p) => b.send(p);
  b.onPacket = (p) => a.send(p);
  a.onClose = (why) => b.close(why);
  b.onClose = (why) => a.close(why);
}

function joinWs(a: WebSocket, b: WebSocket): void {
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
interface Pipe {
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
function forward(from: Pipe, to: Pipe): void {
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

function toBytes(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

function refuse(socket: Duplex, status: number, why: string): true {
  socket.end(`HTTP/1.1 ${status} ${why.replace(/[\r\n]/g, " ")}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  return true;
}
