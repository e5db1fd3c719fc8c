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
import type { Logger } from "../log.js";
import { defaultRuntime } from "../runtime.js";
import { AddressWindow, DEFAULT_FAILED_LOGINS_PER_MINUTE, HandshakeGate, hostOf, LogThrottle } from "../comm/gate.js";
import { TicketKey } from "../util/tickets.js";
import { CHALLENGER, opener, openedBy } from "../util/tickets.js";
import type { DataReply, DepLocation, Handlers, ToDataServer } from "../protocol/messages.js";
import type { Serialized } from "../protocol/refs.js";
import { digestOf } from "../protocol/digest.js";
import type { DigestMaker } from "../util/sha256.js";
import { deserialize, measure, serialize } from "../protocol/serialize.js";
import { exposeBuffers } from "../util/buffer-pool.js";
import { randomId } from "../util/ids.js";
import type { WorkerEvent } from "./events.js";
import type { WebRtcOptions } from "./options.js";

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

/** What a worker's data plane needs of its worker (server.ts). */
export interface DataPlaneHost {
  /** Whether the worker holds `key` (with every event so far handled). */
  holds(key: string): boolean;
  /** The value of `key`, read back if it was spilled. */
  value(key: string): unknown;
  /** Feeds what happened (a fetch settled, a client put data) to the worker's state, this turn. */
  deliver(event: WorkerEvent): void;
  /** A fresh stimulus for an event (its number: see Stimulus in events.ts). */
  stimulus(): number;
}

/**
 * A worker's data plane: its data server (peers and clients read results, clients put scattered
 * data) and its fetching side (its tasks' inputs, from peers). The client's counterpart is
 * ClientDataPlane (client/data.ts).
 */
export class WorkerDataPlane {
  /** The WebRTC side of this worker, when it has one (set once, before joining). */
  rtc: RtcLink | null = null;
  /**
   * This worker's data secret from the scheduler's welcome, as an HMAC key: its data server serves
   * and stores keys only with the tickets the scheduler made with it (scheduler/grants.ts). Null
   * when the scheduler requires no tokens; undefined until the welcome, when a hello is refused
   * if this worker presented a token (it cannot check tickets yet).
   */
  private ticketKey: TicketKey | null | undefined;
  /** The scheduler's clock minus this one's, as seen at the welcome: tickets expire on the scheduler's clock. */
  private clockOffset = 0;
  /** Resolves when the welcome has given the data secret (a hello that comes first waits for it). */
  private readonly secretKnown: Promise<void>;
  private resolveSecret!: () => void;
  /** Digests the verified keys to fetch must have (DepLocation.digest), by key. */
  private readonly digests = new Map<string, string>();
  /** The SHA-256 that checks them (WorkerOptions.digest; plain JavaScript by default). */
  digestMaker: DigestMaker | undefined;
  /** Adversarial tests only (WorkerOptions.lieForTests "serve"): serve "FORGED" for every key. */
  serveForgedForTests = false;
  /** Tickets the scheduler gave this worker, to fetch each key from each holder (by key, then address). */
  private readonly tickets = new Map<string, Map<string, string>>();
  private readonly peers: PeerPool;
  private readonly incoming = new Set<Comm>();
  /** Who is at the other end of each incoming connection, as its hello said (for status pages). */
  private readonly incomingPeers = new WeakMap<Comm, { name: string; role: "peer" | "client" }>();
  /** Connections to the data server still in their handshake (limits per address and overall). */
  private readonly gate: HandshakeGate;
  private readonly failedLogins = new AddressWindow(DEFAULT_FAILED_LOGINS_PER_MINUTE);
  private readonly authLog: LogThrottle;
  /** When a WebRTC link to each of these peers last failed. */
  private readonly rtcFailed = new Map<string, number>();
  private closed = false;
  /** This worker's own credential (for the relay), from the welcome. */
  private credential: string | undefined;

  /** Where this data plane logs: its worker's runtime's logger (set by the Worker). */
  log: Logger = defaultRuntime().logger;

  constructor(
    private readonly name: string,
    private readonly worker: DataPlaneHost,
    private readonly transport: TransportOptions | undefined,
    private readonly webrtc: WebRtcOptions | undefined,
    /** Whether this worker joins with a token: its data server then refuses everyone until the welcome gives its secret. */
    expectSecret = true,
  ) {
    this.gate = new HandshakeGate(`${name}'s data server`, {}, transport?.logger);
    this.authLog = new LogThrottle(transport?.logger);
    this.peers = new PeerPool("peer", name, undefined, transport, (a) => this.dial(a));
    this.ticketKey = expectSecret ? undefined : null;
    this.secretKnown = new Promise((r) => (this.resolveSecret = r));
  }

  /**
   * What the scheduler's welcome gave: this worker's own credential (the relay asks for it when
   * this worker fetches through it) and its data secret (see ticketKey).
   */
  setCredentials(credential: string | undefined, secret: string | undefined, clock?: number): void {
    this.credential = credential;
    if (clock !== undefined) this.clockOffset = clock - performance.now();
    this.ticketKey = secret === undefined ? null : new TicketKey(secret);
    this.resolveSecret();
  }

  /** Keeps the tickets of these locations (a task's dependencies, replicas to copy) for fetching them. */
  learn(locations: DepLocation[]): void {
    for (const loc of locations) {
      if (loc.digest !== undefined) this.digests.set(loc.key, loc.digest);
      else this.digests.delete(loc.key); // the scheduler's latest word: computed again without verification
      const t = loc.tickets;
      if (t === undefined) continue;
      let byHolder = this.tickets.get(loc.key);
      if (!byHolder) this.tickets.set(loc.key, (byHolder = new Map()));
      for (let i = 0; i < loc.who.length; i++) if (t[i]) byHolder.set(loc.who[i]!, t[i]!);
    }
  }

  /** The scheduler freed these keys here: their tickets are of no more use. */
  forget(keys: string[]): void {
    for (const key of keys) {
      this.tickets.delete(key);
      this.digests.delete(key);
    }
  }

  /**
   * Open connections: to the peers this worker fetches from ("out"), from those fetching here
   * ("in"), with the other end's name where it gave one (a worker's name; a client's) and its
   * role ("peer": a worker, "client").
   */
  connections(): { comm: Comm; direction: "out" | "in"; name: string | undefined; role: "peer" | "client" }[] {
    const out: { comm: Comm; direction: "out" | "in"; name: string | undefined; role: "peer" | "client" }[] = [];
    for (const comm of this.peers.connected.values())
      out.push({ comm, direction: "out", name: this.peers.names.get(comm), role: "peer" });
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
    if (this.ticketKey === undefined) {
      // The scheduler's challenge may arrive before its welcome to this worker: wait for the secret (its hello waits in the inbox).
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.secretKnown,
        new Promise<void>((r) => (timer = setTimeout(r, helloTimeout(this.transport)))),
      ]);
      clearTimeout(timer);
    }
    const admitted = await welcome(
      comm,
      (hello) => {
        if (hello.role !== "peer" && hello.role !== "client")
          return { refuse: `role "${hello.role}" cannot use a data server` };
        const key = this.ticketKey;
        if (key === undefined) return { refuse: "this worker has not joined its scheduler yet" };
        if (key !== null && !openedBy(key, hello.name, hello.token)) {
          if (hello.name === CHALLENGER) return { refuse: "wrong ticket" }; // another worker claimed this address
          this.failed(comm, host, "a hello without a valid ticket");
          return {
            refuse: hello.token ? "wrong ticket" : "this worker's data server needs a ticket from the scheduler",
          };
        }
        return { id: `${this.name}-conn-${randomId(3)}`, name: this.name };
      },
      helloTimeout(this.transport),
    );
    this.gate.leave(comm);
    if (!admitted) return;
    if (this.closed) return comm.close("worker closing");
    this.incoming.add(comm);
    const { name, role } = admitted.hello;
    if (name !== undefined && (role === "peer" || role === "client"))
      this.incomingPeers.set(comm, { name: displayName(name), role });
    void comm.closed.then(() => this.incoming.delete(comm));
    const reader = admitted.hello.name ?? "";
    const handlers: Handlers<ToDataServer> = {
      "get-data": (m) => {
        const values: Record<string, Serialized> = {};
        const missing: string[] = [];
        let expired: string[] | undefined;
        let keys = m.keys;
        const key = this.ticketKey;
        if (key) {
          const now = this.schedulerNow();
          for (let i = 0; i < m.keys.length; i++) {
            const verdict = key.check("get", reader, m.keys[i]!, m.tickets?.[i], now);
            if (verdict === "invalid")
              return this.failed(comm, host, `get-data without a valid ticket for ${m.keys[i]}`, true);
            if (verdict === "expired") (expired ??= []).push(m.keys[i]!);
          }
          if (expired) keys = m.keys.filter((k) => !expired!.includes(k));
        }
        for (const key of keys) {
          if (!this.worker.holds(key)) {
            missing.push(key);
            continue;
          }
          const value = this.worker.value(key);
          exposeBuffers(value); // a transport may still read it after this turn
          values[key] = serialize(this.serveForgedForTests ? "FORGED" : value).payload;
        }
        comm.send(
          expired ? { op: "data", id: m.id, values, missing, expired } : { op: "data", id: m.id, values, missing },
        );
      },
      "put-data": (m) => {
        const key = this.ticketKey;
        if (key) {
          const now = this.schedulerNow();
          for (const k of Object.keys(m.values)) {
            const verdict = key.check("put", reader, k, m.tickets?.[k], now);
            if (verdict === "invalid") return this.failed(comm, host, `put-data without a valid ticket for ${k}`, true);
            // The scheduler's word was given, but long ago: store nothing (the client's scatter fails, nobody is blamed).
            if (verdict === "expired") return comm.close(`put-data with an expired ticket for ${k}: nothing stored`);
          }
        }
        const nbytes: Record<string, number> = {};
        for (const [key, payload] of Object.entries(m.values)) {
          const value = deserialize(payload);
          nbytes[key] = measure(value);
          this.worker.deliver({
            op: "data-put",
            key,
            value,
            nbytes: nbytes[key],
            stimulus: this.worker.stimulus(),
          });
        }
        comm.send({ op: "put-reply", id: m.id, nbytes });
      },
    };
    comm.setHandler((msg) => dispatch(handlers, msg));
  }

  /** Now on the scheduler's clock, as far as this worker can tell (tickets expire on it). */
  private schedulerNow(): number {
    return performance.now() + this.clockOffset;
  }

  /** A request or hello without a valid ticket: logged (throttled), counted against its address, and with `close` its connection closed. */
  private failed(comm: Comm, host: string, what: string, close = false): void {
    const n = this.failedLogins.hit(host);
    this.authLog.warn(`${this.name}: ${what} from ${comm.peerAddress} (${n} failed from ${host} in the last minute)`);
    if (close) comm.close(`${what}: this worker serves and stores only what the scheduler granted`);
  }

  // ------------------------------------------------------------ fetching

  /** Fetches `keys` from the worker whose data server is at `from`, and tells the worker what came. */
  async fetch(from: string, keys: string[]): Promise<void> {
    try {
      const tickets = this.ticketsFor(from, keys);
      const peer = await this.peers.get(from, tickets && opener("get", tickets[0]!, keys[0]!));
      const reply = await peer.requests.request<DataReply>((id) => ({ op: "get-data", id, keys, tickets }));
      const values = new Map<string, { value: unknown; nbytes: number }>();
      const missing = reply.missing;
      for (const [key, payload] of Object.entries(reply.values)) {
        const expected = this.digests.get(key);
        if (expected !== undefined && digestOf(payload, this.digestMaker) !== expected) {
          // Not the bytes the workers agreed on: drop them, tell the scheduler, try another holder.
          this.log.warn(
            `${this.name}: ${from} served bytes for ${key} that do not match its agreed digest; trying another holder`,
          );
          this.worker.deliver({ op: "bad-data", key, from, stimulus: this.worker.stimulus() });
          missing.push(key);
          continue;
        }
        const value = deserialize(payload);
        values.set(key, { value, nbytes: measure(value) });
      }
      for (const key of values.keys()) {
        this.tickets.delete(key);
        this.digests.delete(key);
      }
      this.worker.deliver({
        op: "data-arrived",
        from,
        values,
        missing,
        stimulus: this.worker.stimulus(),
      });
      if (reply.expired?.length)
        this.worker.deliver({
          op: "tickets-expired",
          from,
          keys: reply.expired,
          stimulus: this.worker.stimulus(),
        });
    } catch (err) {
      this.log.debug(`${this.name}: fetching ${keys.length} keys from ${from} failed: ${(err as Error).message}`);
      this.worker.deliver({ op: "fetch-failed", from, keys, stimulus: this.worker.stimulus() });
    }
  }

  /** The tickets for fetching `keys` from `from`, or undefined where the scheduler gives none. */
  private ticketsFor(from: string, keys: string[]): string[] | undefined {
    if (this.tickets.size === 0) return undefined;
    return keys.map((k) => this.tickets.get(k)?.get(from) ?? "");
  }

  /**
   * A connection to the data server at `address`: over WebRTC where this worker uses it for that
   * peer, else (and when WebRTC cannot be made in time, visibly) over the address's own transport.
   */
  private async dial(address: string): Promise<Comm> {
    const rtc = this.rtc;
    const options = this.webrtc;
    if (rtc && options?.useFor(address)) {
      const failedAt = this.rtcFailed.get(address);
      if (failedAt === undefined || performance.now() - failedAt > RTC_RETRY_AFTER_MS) {
        try {
          return new Comm(await rtc.dial(address, options.timeoutMs ?? RTC_LINK_TIMEOUT_MS), undefined, this.log);
        } catch (err) {
          this.rtcFailed.set(address, performance.now());
          this.log.warn(
            `${this.name}: no WebRTC link to ${address} (${(err as Error).message}); using its own transport (${schemeOf(address)}) for ${RTC_RETRY_AFTER_MS / 1000} s`,
          );
        }
      }
    }
    return connect(address, withRelayToken(this.transport, this.credential));
  }
}
