// What a listening end keeps about connections that have not said hello yet, and about remote
// addresses: limits on pending handshakes that cannot lock others out (the oldest unauthenticated
// connection goes first), counts per address over a sliding minute (failed logins, joins), and
// warnings that cannot flood the log. Shared by the scheduler and every worker's data server.

import { type Logger, realmLogger } from "../log.js";
import type { Comm } from "./comm.js";

/**
 * Connections that may be mid-handshake at once by default: plenty for clusters of thousands of
 * workers joining together. Past it the oldest waiting connection is closed, never the new one, so
 * idle sockets cannot lock out honest peers (which say hello within milliseconds).
 */
export const DEFAULT_MAX_PENDING_HANDSHAKES = 1024;
/**
 * Connections from one remote address that may be mid-handshake at once: a `meshwork worker`
 * process joining with 32 threads at once stays under it; past it that address's oldest goes.
 */
export const DEFAULT_MAX_PENDING_PER_ADDRESS = 64;
/** Sliding window for the per-address counts below, in milliseconds. */
export const ADDRESS_WINDOW_MS = 60_000;
/**
 * Failed logins (wrong or missing token) from one address per minute before further connections
 * from it are closed before their hello, for the rest of the minute. Tokens are 128-bit random
 * strings, so this is about log floods and wasted work more than guessing.
 */
export const DEFAULT_FAILED_LOGINS_PER_MINUTE = 20;

/** The host part of a peer address ("ws://10.0.0.5:41000" → "10.0.0.5"); anything else as it is. */
export function hostOf(peerAddress: string): string {
  const m = /^[a-z]+:\/\/(\[[^\]]*\]|[^:/]*)/i.exec(peerAddress);
  return m?.[1] ? m[1] : peerAddress;
}

export interface GateLimits {
  /** Connections waiting for their handshake at once. Default DEFAULT_MAX_PENDING_HANDSHAKES. */
  maxPending?: number | undefined;
  /** Of those, from one remote address. Default DEFAULT_MAX_PENDING_PER_ADDRESS. */
  maxPendingPerAddress?: number | undefined;
}

/** Connections waiting to say hello, oldest first; over a limit, the oldest is closed. */
export class HandshakeGate {
  /** Insertion order is age. */
  private readonly pending = new Set<Comm>();
  private readonly byHost = new Map<string, Set<Comm>>();
  private readonly maxPending: number;
  private readonly maxPerAddress: number;
  private readonly warn: LogThrottle;

  constructor(
    private readonly where: string,
    limits: GateLimits = {},
    /** Where the gate's warnings go: its member's runtime's logger. */
    logger: Logger = realmLogger,
  ) {
    this.warn = new LogThrottle(logger);
    this.maxPending = limits.maxPending ?? DEFAULT_MAX_PENDING_HANDSHAKES;
    this.maxPerAddress = limits.maxPendingPerAddress ?? DEFAULT_MAX_PENDING_PER_ADDRESS;
  }

  get size(): number {
    return this.pending.size;
  }

  /** A new connection starts its handshake; makes room by closing the oldest waiting ones. */
  enter(comm: Comm): void {
    const host = hostOf(comm.peerAddress);
    let mine = this.byHost.get(host);
    if (!mine) this.byHost.set(host, (mine = new Set()));
    if (mine.size >= this.maxPerAddress)
      this.evict(mine.values().next().value!, `${mine.size} connections from ${host} are waiting to say hello`);
    if (this.pending.size >= this.maxPending)
      this.evict(this.pending.values().next().value!, `${this.pending.size} connections are waiting to say hello`);
    this.pending.add(comm);
    mine.add(comm);
  }

  /** The connection's handshake ended (admitted, refused or closed). */
  leave(comm: Comm): void {
    if (!this.pending.delete(comm)) return;
    const host = hostOf(comm.peerAddress);
    const mine = this.byHost.get(host);
    mine?.delete(comm);
    if (mine?.size === 0) this.byHost.delete(host);
  }

  /** Closes every waiting connection. */
  closeAll(reason: string): void {
    for (const comm of [...this.pending]) {
      this.leave(comm);
      comm.close(reason);
    }
  }

  private evict(oldest: Comm, why: string): void {
    this.warn.warn(`${this.where}: closing the oldest connection waiting to say hello (${oldest.peerAddress}): ${why}`);
    this.leave(oldest);
    oldest.close("too many connections waiting to say hello: closing the oldest");
  }
}

/** Events per remote address over the last ADDRESS_WINDOW_MS (a sliding log of times, bounded by `limit`). */
export class AddressWindow {
  private readonly times = new Map<string, number[]>();

  constructor(
    readonly limit: number,
    private readonly windowMs = ADDRESS_WINDOW_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether `host` has had `limit` events in the window already. */
  full(host: string): boolean {
    return this.recent(host).length >= this.limit;
  }

  /** Counts one event for `host`; returns how many it has had within the time window so far. */
  hit(host: string): number {
    const list = this.recent(host);
    // Only the last `limit` times matter for full(); older ones are dropped as they come.
    list.push(this.now());
    if (list.length > this.limit) list.shift();
    this.times.set(host, list);
    return list.length;
  }

  private recent(host: string): number[] {
    const list = this.times.get(host);
    if (!list) return [];
    const since = this.now() - this.windowMs;
    while (list.length > 0 && list[0]! < since) list.shift();
    if (list.length === 0) this.times.delete(host);
    // Bound the map itself: a flood from many addresses keeps at most this many entries.
    if (this.times.size > MAX_TRACKED_ADDRESSES) this.times.delete(this.times.keys().next().value!);
    return list;
  }
}

/** Addresses an AddressWindow remembers at once (the oldest entry is dropped past it). */
const MAX_TRACKED_ADDRESSES = 100_000;

/**
 * Warnings that may come from a hostile peer's every connection: at most `perWindow` of them per
 * window, then one line saying how many were left out.
 */
export class LogThrottle {
  private windowStart = -Infinity;
  private count = 0;
  private dropped = 0;

  constructor(
    /** Where the lines go: the owning member's runtime's logger. Default: the realm's (setLogger). */
    private readonly logger: Logger = realmLogger,
    private readonly perWindow = 10,
    private readonly windowMs = 10_000,
  ) {}

  warn(message: string): void {
    const now = performance.now();
    if (now - this.windowStart > this.windowMs) {
      if (this.dropped > 0)
        this.logger.warn(`(${this.dropped} more like the above in ${this.windowMs / 1000} s not shown)`);
      this.windowStart = now;
      this.count = 0;
      this.dropped = 0;
    }
    if (++this.count <= this.perWindow) this.logger.warn(message);
    else this.dropped++;
  }
}
