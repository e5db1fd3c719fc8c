// The scheduler's side of the relay transport (src/comm/relay.ts): WebSocket routes on the
// scheduler's HTTP server that join two sockets and forward messages between them unchanged.
//   /relay-listen/<slot>?token=T   a listener (a browser tab's data server) holds its slot open:
//                                  T is the worker token or the tab token
//   /relay/<slot>?token=C          a caller; the listener is told the new pipe's id
//   /relay-accept/<pipe>           the listener's end of that pipe (the pipe id is the secret)
//   /relay-to/<address>?token=C    a browser reaching a Node worker's data server through us (its
//                                  page may connect to its own origin only); admitted workers only
// Callers present their own credential C (each connected client and worker has one from its
// welcome; void once it leaves). Pipes are also
// authenticated end to end by the data-plane handshake that runs through them; until the far end
// has answered, a caller's messages are capped at a hello's size and what waits is bounded.

import type { Duplex } from "node:stream";
import type { WebSocket, WebSocketServer } from "ws";
import { type Logger, realmLogger } from "../../src/log.js";
import { randomId } from "../../src/util/ids.js";
import { inprocTransport } from "../../src/comm/inproc.js";
import { SocketChannel, type SocketLike } from "../../src/comm/socket.js";
import { DEFAULT_MAX_PACKET_BYTES, PRE_HELLO_MAX_PACKET_BYTES, type Channel } from "../../src/comm/types.js";
import { packetBytes, type Packet } from "../../src/protocol/packet.js";
import { matches, type SecretCompare } from "../../src/util/secret.js";
import { timingSafeSecretEquals } from "../platform/secrets.js";
import { bridge, byteLength, forward, joinWs, toBytes, type Message, type Pipe } from "./relay-pipes.js";
import { loadWs, MAX_WS_MESSAGE_BYTES, openWs, setMaxPayload, type UpgradeHandler } from "../platform/ws-listen.js";

/** A caller waits this long for the listener to take its pipe. */
const ACCEPT_TIMEOUT_MS = 10_000;
/**
 * Relay sockets (listeners, callers, accepted pipes) one remote address may hold open at once: a
 * machine with a few tabs, each with links to dozens of workers, stays well under it; a caller
 * scanning ports through the relay (issue 20: 2,000 in 1 s) does not.
 */
export const RELAY_MAX_PER_ADDRESS = 256;
/**
 * Bytes a caller may send before the far end has answered (waiting for the listener to take the
 * pipe, or for a worker's data server to be reached): a hello is under PRE_HELLO_MAX_PACKET_BYTES.
 */
export const RELAY_MAX_QUEUED_BYTES = 4 * PRE_HELLO_MAX_PACKET_BYTES;

export interface RelayHubOptions {
  /** Required from listeners when set (the worker token: only workers may offer a data server). */
  token?: string | undefined;
  /** Also accepted from listeners (the tab token: tabs' data servers listen here). */
  tabToken?: string | undefined;
  /**
   * Whether a caller's token is acceptable (the scheduler's check: the credential of a client or
   * worker connected now). Callers need none when unset.
   */
  callerOk?: ((token: string | undefined) => boolean) | undefined;
  /** How tokens are compared. Default: SHA-256 digests with timingSafeEqual. */
  compare?: SecretCompare | undefined;
  /** Relay sockets one remote address may hold open at once. Default RELAY_MAX_PER_ADDRESS. */
  maxPerAddress?: number | undefined;
  /**
   * Cap a caller's messages at a hello's size until the far end has answered. Default true; only
   * tests of the bare transport, which speak no handshake through the pipe, turn it off.
   */
  capUntilAnswered?: boolean | undefined;
  /** Whether a browser may reach `address` through the relay (the scheduler's known workers). */
  canReach(address: string): boolean | Promise<boolean>;
  /**
   * Whether a caller presenting `token` may reach the listener at relay slot `slot` (the scheduler:
   * a worker whose address has that slot answered its challenge there; its own challenge may
   * always). Any caller with an acceptable token may when unset.
   */
  canReachSlot?: ((slot: string, token: string | undefined) => boolean | Promise<boolean>) | undefined;
  /** The listener at `slot` left: what it answered vouches for nobody who listens there next. */
  onSlotClosed?: ((slot: string) => void) | undefined;
  /** Where failed relays are logged: the scheduler's logger. Default: the realm's (setLogger). */
  log?: Logger | undefined;
}

type Waiting = {
  caller: WebSocket;
  queued: Message[] | null;
  queuedBytes: number;
  timer: ReturnType<typeof setTimeout>;
};

export class RelayHub {
  private readonly slots = new Map<string, WebSocket>();
  /** Callers waiting for the listener to take their pipe, with what they sent meanwhile. */
  private readonly waiting = new Map<string, Waiting>();
  private readonly open = new Set<WebSocket | SocketLike>();
  /** Relay sockets open per remote address. */
  private readonly perHost = new Map<string, number>();
  private wss: WebSocketServer | null = null;
  private readonly compare: SecretCompare;
  private readonly maxPerAddress: number;
  /** Bytes a caller may send before the far end answers (RELAY_MAX_QUEUED_BYTES; unbounded without the cap). */
  private readonly maxQueued: number;

  private readonly log: Logger;

  private constructor(private readonly options: RelayHubOptions) {
    this.log = options.log ?? realmLogger;
    this.compare = options.compare ?? timingSafeSecretEquals;
    this.maxPerAddress = options.maxPerAddress ?? RELAY_MAX_PER_ADDRESS;
    this.maxQueued = options.capUntilAnswered === false ? Infinity : RELAY_MAX_QUEUED_BYTES;
  }

  static async create(options: RelayHubOptions): Promise<RelayHub> {
    const hub = new RelayHub(options);
    const { WebSocketServer } = await loadWs();
    // Every relayed socket starts capped at a hello's size; a pipe's ends are lifted once joined.
    hub.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: options.capUntilAnswered === false ? MAX_WS_MESSAGE_BYTES : PRE_HELLO_MAX_PACKET_BYTES,
    });
    return hub;
  }

  /** For ws-listen's `onUpgrade`: takes the relay's paths, leaves the rest. */
  readonly onUpgrade: UpgradeHandler = (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://relay");
    const [, route, id = ""] = url.pathname.split("/");
    if (route !== "relay-listen" && route !== "relay" && route !== "relay-accept" && route !== "relay-to") return false;
    const host = req.socket.remoteAddress ?? "";
    if ((this.perHost.get(host) ?? 0) >= this.maxPerAddress)
      return refuse(socket, 429, `too many relay connections from ${host}`);
    const take = (then: (ws: WebSocket) => void) =>
      this.wss!.handleUpgrade(req, socket, head, (ws) => {
        this.open.add(ws);
        // A socket error (a message over the cap, a reset) closes the socket; unheard, it would be
        // thrown as an uncaught exception and end the scheduler.
        ws.on("error", (err) => this.log.debug(`relay: a socket from ${host} failed: ${err.message}`));
        this.perHost.set(host, (this.perHost.get(host) ?? 0) + 1);
        ws.on("close", () => {
          this.open.delete(ws);
          const n = (this.perHost.get(host) ?? 1) - 1;
          if (n > 0) this.perHost.set(host, n);
          else this.perHost.delete(host);
        });
        then(ws);
      });
    const given = url.searchParams.get("token") ?? undefined;
    const callerOk = this.options.callerOk;
    if ((route === "relay" || route === "relay-to") && callerOk && !callerOk(given)) {
      return refuse(socket, 403, "the relay needs the credential of a connected client or worker");
    }
    switch (route) {
      case "relay-listen":
        if (
          this.options.token !== undefined &&
          !matches(this.compare, given, this.options.token) &&
          !matches(this.compare, given, this.options.tabToken)
        ) {
          return refuse(socket, 403, "a relay listener needs the worker token or the tab token");
        }
        if (!/^[\w-]+$/.test(id) || this.slots.has(id))
          return refuse(socket, 409, `relay slot "${id}" is taken or malformed`);
        take((ws) => {
          this.slots.set(id, ws);
          ws.on("close", () => {
            if (this.slots.get(id) !== ws) return;
            this.slots.delete(id);
            this.options.onSlotClosed?.(id);
          });
        });
        return true;
      case "relay": {
        if (!this.slots.has(id)) return refuse(socket, 404, `nobody listens at relay slot "${id}"`);
        const reach = this.options.canReachSlot?.(id, given) ?? true;
        const refused = () =>
          refuse(socket, 403, `relay slot "${id}" is no worker's whose data server answered the scheduler's challenge`);
        if (reach === false) return refused();
        if (reach !== true) {
          void reach.then(
            (ok) => (ok ? this.call(id, take, socket) : refused()),
            () => refused(),
          );
          return true;
        }
        return this.call(id, take, socket);
      }
      case "relay-accept": {
        const w = this.waiting.get(id);
        if (!w) return refuse(socket, 404, `no relay pipe "${id}" waiting`);
        this.drop(id);
        take((accepted) => {
          if (w.caller.readyState !== 1) return accepted.close(1000, "the caller left");
          for (const m of w.queued!) accepted.send(m.data, { binary: m.binary });
          w.queued = null;
          // The listener's end is a tab's data server (it held the worker or tab token): lift its
          // cap now; the caller's once the listener has answered (its welcome, or its refusal).
          setMaxPayload(accepted, MAX_WS_MESSAGE_BYTES);
          accepted.once("message", () => w.caller.readyState === 1 && setMaxPayload(w.caller, MAX_WS_MESSAGE_BYTES));
          joinWs(w.caller, accepted);
        });
        return true;
      }
      case "relay-to": {
        const target = decodeURIComponent(id);
        if (!/^(ws|inproc):\/\//.test(target))
          return refuse(socket, 403, `${target} is not a worker this relay may reach`);
        const go = () =>
          take(
            (caller) =>
              void (target.startsWith("inproc:") ? this.bridgeTo(caller, target) : this.relayTo(caller, target)),
          );
        const reach = this.options.canReach(target);
        if (reach === true) go();
        else if (reach === false) return refuse(socket, 403, `${target} is not a worker this relay may reach`);
        else
          void reach.then(
            (ok) =>
              ok
                ? go()
                : refuse(
                    socket,
                    403,
                    `${target} is not a worker (whose data server answered the scheduler's challenge) this relay may reach`,
                  ),
            () => refuse(socket, 403, `${target} is not a worker this relay may reach`),
          );
        return true;
      }
    }
    return false;
  };

  /** Takes a caller's upgrade for the listener at `slot` (if it is still there) and tells the listener the new pipe. */
  private call(slot: string, take: (then: (ws: WebSocket) => void) => void, socket: Duplex): boolean {
    const listener = this.slots.get(slot);
    if (!listener) return refuse(socket, 404, `nobody listens at relay slot "${slot}"`);
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
      const w: Waiting = { caller, queued: [], queuedBytes: 0, timer };
      caller.on("message", (data, binary) => {
        if (!w.queued) return;
        w.queuedBytes += byteLength(data as Buffer);
        if (w.queuedBytes > this.maxQueued) return void caller.close(1009, "too much sent before the far end answered");
        w.queued.push({ data: data as Buffer, binary });
      });
      caller.on("close", () => this.drop(pipe));
      this.waiting.set(pipe, w);
      listener.send(pipe);
    });
    return true;
  }

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
    // Capped at a hello's size (preHello) until the worker thread's data server has answered.
    (caller as unknown as SocketLike).limitMessages = (bytes) => setMaxPayload(caller, bytes ?? MAX_WS_MESSAGE_BYTES);
    const outer = new SocketChannel(caller as unknown as SocketLike, "relay-hub", "browser", "relay", {
      maxPacketBytes: DEFAULT_MAX_PACKET_BYTES,
      compression: false,
      preHello: this.maxQueued !== Infinity,
      logger: this.log,
    });
    const held: Packet[] = [];
    let heldBytes = 0;
    outer.onPacket = (p) => {
      heldBytes += packetBytes(p);
      if (heldBytes > this.maxQueued) return outer.close("too much sent before the far end answered");
      held.push(p);
    };
    let inner: Channel;
    try {
      inner = await inprocTransport.connect(target, {});
    } catch (err) {
      outer.close(`cannot reach ${target}`);
      this.log.debug(`relay to ${target} failed: ${(err as Error).message}`);
      return;
    }
    bridge(outer, inner);
    const answered = inner.onPacket;
    inner.onPacket = (p) => {
      outer.authenticated();
      inner.onPacket = answered;
      answered(p);
    };
    for (const p of held) inner.send(p);
  }

  private async relayTo(caller: WebSocket, target: string): Promise<void> {
    const queued: Message[] = [];
    let queuedBytes = 0;
    let joined = false;
    caller.on("message", (data, binary) => {
      if (joined) return;
      queuedBytes += byteLength(data as Buffer);
      if (queuedBytes > this.maxQueued) return void caller.close(1009, "too much sent before the far end answered");
      queued.push({ data: data as Buffer, binary });
    });
    let far: SocketLike;
    try {
      far = await openWs(target, {});
    } catch (err) {
      caller.close(1011, `cannot reach ${target}`.slice(0, 120));
      this.log.debug(`relay to ${target} failed: ${(err as Error).message}`);
      return;
    }
    this.open.add(far);
    // The caller leaves when the far end fails or closes, opened or not; and the far end with it.
    far.addEventListener("close", () => {
      this.open.delete(far);
      if (caller.readyState === 1)
        caller.close(joined ? 1000 : 1011, joined ? "peer closed" : `cannot reach ${target}`.slice(0, 120));
    });
    caller.on("close", () => far.close(1000, "peer closed"));
    (far as unknown as { addEventListener(t: "open", l: () => void): void }).addEventListener("open", () => {
      if (caller.readyState !== 1) return far.close(1000, "the caller left");
      joined = true;
      for (const m of queued) far.send(toBytes(m.data));
      // The far end's first answer (its welcome, or its refusal) lifts the caller's cap.
      let answered = false;
      (far as unknown as { addEventListener(t: "message", l: () => void): void }).addEventListener("message", () => {
        if (answered) return;
        answered = true;
        if (caller.readyState === 1) setMaxPayload(caller, MAX_WS_MESSAGE_BYTES);
      });
      forward(caller as unknown as Pipe, far as unknown as Pipe);
      forward(far as unknown as Pipe, caller as unknown as Pipe);
    });
  }
}

function refuse(socket: Duplex, status: number, why: string): true {
  socket.end(`HTTP/1.1 ${status} ${why.replace(/[\r\n]/g, " ")}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  return true;
}
