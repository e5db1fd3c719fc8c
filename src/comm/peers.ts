// Connections to workers' data servers, opened on first use and reused: one per address.
// Used by workers (fetching dependencies) and clients (gathering, scattering).

import { ProtocolError } from "../errors.js";
import type { Role } from "../protocol/messages.js";
import type { Comm } from "./comm.js";
import { greet } from "./handshake.js";
import { connect } from "./registry.js";
import { Requests } from "./requests.js";
import type { TransportOptions } from "./types.js";

export interface Peer {
  comm: Comm;
  requests: Requests;
}

/** Transport options that give the relay (relay://, a tab's relay-to) the data token as the caller's credential. */
export function withRelayToken(transport: TransportOptions | undefined, token: string | undefined): TransportOptions {
  return token === undefined ? { ...transport } : { ...transport, relayToken: token };
}

/** Longest peer name a status page shows. */
const MAX_DISPLAY_NAME = 64;

/**
 * A name a peer gave itself, fit to show: control characters out, at most 64 characters. Names
 * are claims (an untrusted tab names itself), shown as text only, never trusted for anything.
 */
export function displayName(name: string): string {
  return name.replace(/[\u0000-\u001f\u007f-\u009f]/g, "").slice(0, MAX_DISPLAY_NAME);
}

export class PeerPool {
  private readonly peers = new Map<string, Promise<Peer>>();
  /** Open connections, by address (for status pages). */
  readonly connected = new Map<string, Comm>();
  /** The name each connection's data server gave in its welcome (a worker's name), for status pages. */
  readonly names = new WeakMap<Comm, string>();
  private closed = false;
  /** Whether connections keep the process alive (a client's do not: it holds the process while it waits). */
  keepAlive = true;

  constructor(
    private readonly role: Role,
    private readonly name: string,
    /** Presented to data servers (the cluster's data token); set once known. */
    public token: string | undefined,
    transport: TransportOptions | undefined,
    /** Opens a connection to `address` (default: its transport, by scheme, with the data token for relays). */
    private readonly dial: (address: string) => Promise<Comm> = (address) =>
      connect(address, withRelayToken(transport, this.token)),
  ) {}

  /**
   * The connection to `address`, opening it (with the handshake) if needed; a new one presents
   * `opener` as its hello's token when given (a ticket there: util/tickets.ts), else `token`.
   */
  get(address: string, opener?: string): Promise<Peer> {
    const known = this.peers.get(address);
    if (known) return known;
    const p = this.open(address, opener ?? this.token);
    this.peers.set(address, p);
    // A failed or closed connection is forgotten, so the next get() opens a fresh one.
    const forget = () => {
      if (this.peers.get(address) === p) this.peers.delete(address);
    };
    p.then((peer) => void peer.comm.closed.then(forget), forget);
    return p;
  }

  /** Closes every connection; later get() calls fail. */
  close(reason: string): void {
    this.closed = true;
    for (const p of this.peers.values())
      p.then(
        (peer) => peer.comm.close(reason),
        () => {},
      );
    this.peers.clear();
  }

  private async open(address: string, token: string | undefined): Promise<Peer> {
    if (this.closed) throw new ProtocolError(`${this.name} is closed`);
    const comm = await this.dial(address);
    if (!this.keepAlive) comm.keepAlive(false);
    comm.name = `${this.name}→${address}`;
    this.connected.set(address, comm);
    void comm.closed.then(() => this.connected.get(address) === comm && this.connected.delete(address));
    const w = await greet(comm, { role: this.role, token, name: this.name });
    if (w.name !== undefined) this.names.set(comm, displayName(w.name));
    const requests = new Requests(comm);
    comm.setHandler((msg) => {
      if (msg.op === "data" || msg.op === "put-reply") requests.settle(msg.id, msg);
      else throw new ProtocolError(`a data server sent "${msg.op}"`);
    });
    if (this.closed) comm.close("closed");
    return { comm, requests };
  }
}
