// The futures' side of a client: the record of every key it holds futures for, the futures made
// from those records, and what futures ask of their client (fetch a result, cancel, release when
// the last one goes, keep the process alive while something is awaited).

import { CancelledError, type ClientClosedError, LostDataError } from "../errors.js";
import type { CountSource } from "../graph/computation.js";
import type { ClientToScheduler } from "../protocol/messages.js";
import { deserialize } from "../protocol/serialize.js";
import type { ClientDataPlane } from "./data.js";
import { Future, type FutureHost, KeyState } from "./future.js";

/**
 * While a client waits for something it holds one timer of this period, which keeps a Node
 * process alive (its connections do not). Long: it never fires in practice.
 */
const KEEP_ALIVE_INTERVAL_MS = 1 << 30;
const noop = () => {};

/** What the key table needs of its client. */
export interface KeyTableLink {
  /** Where results are fetched from and forgotten. */
  data: ClientDataPlane;
  /** Sends to the scheduler after this turn's submissions (cancel, release-keys). */
  send(msg: ClientToScheduler): void;
  /** progress()'s count of the tasks behind `keys`. */
  watchProgress(keys: readonly string[]): CountSource;
}

/** The keys a client holds futures for: the FutureHost of every Future it makes. */
export class KeyTable implements FutureHost {
  /** Set once the client is closed. */
  closedError: ClientClosedError | null = null;
  private readonly records = new Map<string, KeyState>();
  /** Keys whose last future went away this turn; released in one message. */
  private readonly releases = new Set<string>();
  /** Things the client waits for (pending keys, requests, fetches); see hold(). */
  private holds = 0;
  private holdTimer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly link: KeyTableLink) {}

  get(key: string): KeyState | undefined {
    return this.records.get(key);
  }

  /** Whether a submission of `key` must be sent: never seen, or cancelled or lost since. */
  isFresh(key: string): boolean {
    const known = this.records.get(key);
    return !known || known.status === "cancelled" || known.status === "lost";
  }

  /** A new Future for `key`, sharing (or, when `fresh`, replacing) the key's record. */
  futureFor<T>(key: string, fresh = false): Future<T> {
    this.releases.delete(key); // wanted again before its release went out
    let ks = this.records.get(key);
    if (!ks || fresh) {
      ks = new KeyState(key, this);
      this.records.set(key, ks);
    }
    return new Future<T>(key, this, ks);
  }

  /** The records of `futures` (of this client). */
  statesOf(futures: readonly Future[]): KeyState[] {
    return futures.map((f) => this.records.get(f.key)).filter((ks): ks is KeyState => ks !== undefined);
  }

  /** Every pending future rejects with `error` (the client closed). */
  close(error: ClientClosedError): void {
    this.closedError = error;
    for (const ks of this.records.values()) ks.fail("cancelled", error);
  }

  /** FutureHost: see hold there. */
  hold(delta: 1 | -1): void {
    this.holds += delta;
    if (this.holds > 0 && this.holdTimer === undefined) this.holdTimer = setInterval(noop, KEEP_ALIVE_INTERVAL_MS);
    else if (this.holds === 0 && this.holdTimer !== undefined) {
      clearInterval(this.holdTimer);
      this.holdTimer = undefined;
    }
  }

  /** `p`, with the process kept alive until it settles. */
  held<T>(p: Promise<T>): Promise<T> {
    this.hold(1);
    return p.finally(() => this.hold(-1));
  }

  fetch(key: string): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    const ks = this.records.get(key);
    if (!ks) return Promise.reject(new LostDataError(`${key} was released by this client`));
    if (ks.inline) {
      try {
        return Promise.resolve(deserialize(ks.inline));
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    return this.held(this.link.data.fetch(key, ks.who));
  }

  async cancelKeys(keys: string[]): Promise<void> {
    for (const key of keys) this.records.get(key)?.fail("cancelled", new CancelledError(key));
    if (this.closedError || keys.length === 0) return;
    this.link.send({ op: "cancel", keys });
  }

  drop(ks: KeyState): void {
    if (--ks.refs > 0 || this.records.get(ks.key) !== ks) return;
    this.records.delete(ks.key);
    this.link.data.forget(ks.key);
    // Whoever still awaits a released future (the released object itself) gets an answer.
    if (ks.status === "pending")
      ks.fail("lost", new LostDataError(`${ks.key} was released by this client before it finished`));
    if (this.closedError) return;
    if (this.releases.size === 0) queueMicrotask(() => this.flushReleases());
    this.releases.add(ks.key);
  }

  watchProgress(keys: readonly string[]): CountSource {
    return this.link.watchProgress(keys);
  }

  private flushReleases(): void {
    const keys = [...this.releases];
    this.releases.clear();
    if (keys.length > 0 && !this.closedError) this.link.send({ op: "release-keys", keys });
  }
}
