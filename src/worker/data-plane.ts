// A worker's data plane: its data server, which peers and clients fetch results from (and clients
// put scattered data into), and the connections it fetches its tasks' inputs over, worker to
// worker: over WebRTC where the worker uses it for that peer, else over the peer's own transport.

import { Comm } from "../comm/comm.js";
import { HANDSHAKE_TIMEOUT_MS, welcome } from "../comm/handshake.js";
import { dispatch } from "../comm/dispatch.js";
import { connect, schemeOf } from "../comm/registry.js";
import type { RtcLink } from "../comm/rtc-link.js";
import { displayName, PeerPool, withRelayToken } from "../comm/peers.js";
import type { TransportOptions } from "../comm/types.js";
import { log } from "../log.js";
import { AddressWindow, DEFAULT_FAILED_LOGINS_PER_MINUTE, HandshakeGate, hostOf, LogThrottle } from "../comm/gate.js";
import { matches, portableSecretEquals, type SecretCompare } from "../util/secret.js";
import type { DataReply, Handlers, ToDataServer } from "../protocol/messages.js";
import type { Serialized } from "../protocol/refs.js";
import { deserialize, measure, serialize } from "../protocol/serialize.js";
import { exposeBuffers } from "../util/buffer-pool.js";
import { randomId } from "../util/ids.js";
import type { WorkerState } from "./state.js";
import type { WebRtcOptions } from "./server.js";

/**
 * How long a WebRTC link may take to open before the worker uses the peer's own transport (the
 * relay, for a tab) instead. Loopback links open in milliseconds; libdatachannel's DTLS sometimes
 * takes a second.
 */
export const RTC_LINK_TIMEOUT_MS = 5_000;
/** After a WebRTC link to a peer could not be made, use its own transport for this long before trying again. */
export const RTC_RETRY_AFTER_MS = 60_000;

/** The data server's hello deadline: the transport option `helloTimeoutMs`, else HANDSHAKE_TIMEOUT_MS. */
function helloTimeout(transport: TransportOptions | undefined): number {
  const ms = transport?.["helloTimeoutMs"];
  return typeof ms === "number" && ms > 0 ? ms : HANDSHAKE_TIMEOUT_MS;
}

export class DataPlane {
  /** The WebRTC side of this worker, when it has one (set once, before joining). */
  rtc: RtcLink | null = null;
  /** The data-plane secret from the scheduler's welcome (none when it requires no tokens). */
  private token: string | undefined;
  private readonly peers: PeerPool;
  private readonly incoming = new Set<Comm>();
  /** Who is at the other end of each incoming connection, as its hello said (for status pages). */
  private readonly incomingPeers = new WeakMap<Comm, { name: string; role: "peer" | "client" }>();
  /** Connections to the data server still in their handshake (limits per address and overall). */
  private readonly gate: HandshakeGate;
  private readonly failedLogins = new AddressWindow(DEFAULT_FAILED_LOGINS_PER_MINUTE);
  private readonly authLog = new LogThrottle();
  /** When a WebRTC link to each of these peers last failed. */
  private readonly rtcFailed = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly name: string,
    private readonly state: WorkerState,
    private readonly transport: TransportOptions | undefined,
    private readonly webrtc: WebRtcOptions | undefined,
    /** Called after a fetch has settled (data arrived or not), for the worker to act on the state. */
    private readonly afterFetch: () => void,
    private readonly compare: SecretCompare = portableSecretEquals,
  ) {
    this.gate = new HandshakeGate(`${name}'s data server`);
    this.peers = new PeerPool("peer", name, undefined, transport, (a) => this.dial(a));
  }

  /** The cluster's data token: asked of those who fetch here, presented where this worker fetches. */
  setToken(token: string | undefined): void {
    this.token = token;
    this.peers.token = token;
  }

  /**
   * Open connections: to the peers this worker fetches from ("out"), from those fetching here
   * ("in"), with the other end's name where it gave one (a worker's name; a client's) and its
   * role ("peer": a worker, "client").
   */
  connections(): { comm: Comm; direction: "out" | "in"; name: string | undefined; role: "peer" | "client" }[] {
    const out: { comm: Comm; direction: "out" | "in"; name: string | undefined; role: "peer" | "client" }[] = [];
    for (const comm of this.peers.connected.values()) out.push({ comm, direction: "out", name: this.peers.names.get(comm), role: "peer" });
    for (const comm of this.incoming) {
      const who = this.incomingPeers.get(comm);
      out.push({ comm, direction: "in", name: who?.name, role: who?.role ?? "peer" });
    }
    return out;
  }

  /** Closes every data connection, both ways; connections accepted later are closed at once. */
  close(reason: string): void {
    this.closed = true;
    this.rtc?.close();
    this.gate.closeAll(reason);
    for (const c of this.incoming) c.close(reason);
    this.peers.close(reason);
  }

  // ------------------------------------------------------------ serving

  /** Serves a connection to this worker's data server, once its handshake is accepted. */
  async accept(comm: Comm): Promise<void> {
    if (this.closed) return comm.close("worker closing");
    const host = hostOf(comm.peerAddress);
    if (this.failedLogins.full(host)) return comm.close("too many failed logins from this address: try again later");
    this.gate.enter(comm);
    const admitted = await welcome(comm, (hello) => {
      if (this.token !== undefined && !matches(this.compare, hello.token, this.token)) {
        const n = this.failedLogins.hit(host);
        this.authLog.warn(`${this.name}: failed login to its data server from ${comm.peerAddress} (${n} from ${host} in the last minute)`);
        return { refuse: hello.token ? "wrong data token" : "this worker's data server needs the cluster's data token" };
      }
      if (hello.role !== "peer" && hello.role !== "client") return { refuse: `role "${hello.role}" cannot use a data server` };
      return { id: `${this.name}-conn-${randomId(3)}`, name: this.name };
    }, helloTimeout(this.transport));
    this.gate.leave(comm);
    if (!admitted) return;
    if (this.closed) return comm.close("worker closing");
    this.incoming.add(comm);
    const { name, role } = admitted.hello;
    if (name !== undefined && (role === "peer" || role === "client")) this.incomingPeers.set(comm, { name: displayName(name), role });
    void comm.closed.then(() => this.incoming.delete(comm));
    const handlers: Handlers<ToDataServer> = {
      "get-data": (m) => {
        const values: Record<string, Serialized> = {};
        const missing: string[] = [];
        for (const key of m.keys) {
          if (!this.state.holds(key)) {
            missing.push(key);
            continue;
          }
          const value = this.state.value(key);
          exposeBuffers(value); // a transport may still read it after this turn
          values[key] = serialize(value).payload;
        }
        comm.send({ op: "data", id: m.id, values, missing });
      },
      "put-data": (m) => {
        const nbytes: Record<string, number> = {};
        for (const [key, payload] of Object.entries(m.values)) {
          const value = deserialize(payload);
          nbytes[key] = measure(value);
          this.state.putData(key, value, nbytes[key]);
        }
        comm.send({ op: "put-reply", id: m.id, nbytes });
      },
    };
    comm.setHandler((msg) => dispatch(handlers, msg));
  }

  // ------------------------------------------------------------ fetching

  /** Fetches `keys` from the worker whose data server is at `from`, and tells the state what came. */
  async fetch(from: string, keys: string[]): Promise<void> {
    try {
      const peer = await this.peers.get(from);
      const reply = await peer.requests.request<DataReply>((id) => ({ op: "get-data", id, keys }));
      const values = new Map<string, { value: unknown; nbytes: number }>();
      for (const [key, payload] of Object.entries(reply.values)) {
        const value = deserialize(payload);
        values.set(key, { value, nbytes: measure(value) });
      }
      this.state.dataArrived(from, values, reply.missing);
    } catch (err) {
      log().debug(`${this.name}: fetching ${keys.length} keys from ${from} failed: ${(err as Error).message}`);
      this.state.fetchFailed(from, keys);
    }
    this.afterFetch();
  }

  /**
   * A connection to the data server at `address`: over WebRTC where this worker uses it for that
   * peer, else (and when WebRTC cannot be made in time, visibly) over the address's own transport.
   */
  private async dial(address: string): Promise<Comm> {
    const rtc = this.rtc;
    const options = this.webrtc;
    if (rtc && options && options.useFor(address)) {
      const failedAt = this.rtcFailed.get(address);
      if (failedAt === undefined || performance.now() - failedAt > RTC_RETRY_AFTER_MS) {
        try {
          return new Comm(await rtc.dial(address, options.timeoutMs ?? RTC_LINK_TIMEOUT_MS));
        } catch (err) {
          this.rtcFailed.set(address, performance.now());
          log().warn(`${this.name}: no WebRTC link to ${address} (${(err as Error).message}); using its own transport (${schemeOf(address)}) for ${RTC_RETRY_AFTER_MS / 1000} s`);
        }
      }
    }
    return connect(address, withRelayToken(this.transport, this.token));
  }
}
