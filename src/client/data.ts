// The client's data plane: results come straight from the workers that hold them, never through
// the scheduler. Fetches asked for in one turn are batched into one request per worker; a worker
// that no longer has a key (or is gone) is skipped after asking the scheduler who has it now.
// Where the scheduler requires tokens, each location comes with this client's ticket for it
// (scheduler/grants.ts): a worker's data server serves and stores nothing without one.

import type { PeerPool } from "../comm/peers.js";
import { CommClosedError, LostDataError, ProtocolError } from "../errors.js";
import type { DataReply, PutReply } from "../protocol/messages.js";
import type { Serialized } from "../protocol/refs.js";
import { deserialize } from "../protocol/serialize.js";
import { opener } from "../util/tickets.js";
import { digestOf } from "../protocol/digest.js";
import type { DigestMaker } from "../util/sha256.js";
import type { Logger } from "../log.js";
import { defaultRuntime } from "../runtime.js";

/**
 * Who holds a key, with this client's tickets to fetch it there and, for a verified result, the
 * digest its bytes must have (the reply to a "locate" request).
 */
export type Locations = Record<string, { who: string[]; tickets?: string[] | undefined; digest?: string | undefined }>;

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

interface Want {
  waiters: Waiter[];
  /** Holders not tried yet. */
  candidates: string[];
  asked: number;
  /** Why the last attempt failed, if it failed on the transport: the cause of a final error. */
  lastError?: Error | undefined;
  /** Given up (the result was lost): attempts still in flight for it are ignored. */
  dropped?: boolean;
}

function rejectAll(want: Want, err: Error): void {
  for (const w of want.waiters) w.reject(err);
}

/** Times a key is looked up again with the scheduler before it counts as lost. */
const MAX_LOOKUPS = 3;

/**
 * A client's data plane: fetches results from the workers that hold them (batched per worker,
 * asking the scheduler again on a miss; verified ones checked against their digests) and puts
 * scattered data on them. The
 * worker's counterpart, which serves those fetches, is WorkerDataPlane (worker/data-plane.ts).
 */
export class ClientDataPlane {
  /** Where this data plane logs: its client's runtime's logger (set by the Client). */
  log: Logger = defaultRuntime().logger;
  private pending = new Map<string, Want>();
  /** Every fetch not yet settled, pending or in flight, by key. */
  private readonly active = new Map<string, Want>();
  private flushScheduled = false;
  /** This client's tickets to fetch each key from each holder (by key, then address). */
  private readonly tickets = new Map<string, Map<string, string>>();
  /** The digests verified results must have (KeyInMemory.digest), by key. */
  private readonly digests = new Map<string, string>();

  constructor(
    private readonly peers: PeerPool,
    /** Asks the scheduler which workers hold each key now, with this client's tickets there. */
    private readonly whoHas: (keys: string[]) => Promise<Locations>,
    /** Tells the scheduler that `from` served bytes for `key` that do not match its digest (BadData). */
    private readonly badData: (key: string, from: string) => void = () => {},
    /** The SHA-256 that checks them (plain JavaScript unless given). */
    private readonly digestMaker?: DigestMaker,
  ) {}

  /**
   * Keeps the tickets the scheduler gave for fetching `key` from each of `who` (same order), and
   * the digest its bytes must have when it was verified.
   */
  learn(key: string, who: string[], tickets: string[] | undefined, digest?: string): void {
    // Each location is the scheduler's latest word: a result computed again without verification has none.
    if (digest !== undefined) this.digests.set(key, digest);
    else this.digests.delete(key);
    if (tickets === undefined) return;
    let byHolder = this.tickets.get(key);
    if (!byHolder) this.tickets.set(key, (byHolder = new Map()));
    for (let i = 0; i < who.length; i++) if (tickets[i]) byHolder.set(who[i]!, tickets[i]!);
  }

  /** This client released `key`: its tickets are of no more use. */
  forget(key: string): void {
    this.tickets.delete(key);
    this.digests.delete(key);
  }

  /** The value of `key`, from one of `who`. Concurrent requests for a key share one transfer. */
  fetch(key: string, who: string[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const known = this.active.get(key);
      if (known) {
        known.waiters.push({ resolve, reject });
        return;
      }
      const want: Want = { waiters: [], candidates: [...who], asked: 0 };
      const done = () => this.active.get(key) === want && this.active.delete(key);
      want.waiters.push({
        resolve: (v) => {
          done();
          resolve(v);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      });
      this.active.set(key, want);
      this.pending.set(key, want);
      this.schedule();
    });
  }

  /**
   * The result of `key` was lost (its holders are gone) and is being computed again: fetches of it
   * under way fail now with `err` instead of trying the old holders one by one; the caller waits
   * for the new result and fetches that (Future.result does).
   */
  drop(key: string, err: Error): void {
    const want = this.active.get(key);
    if (!want) return;
    this.active.delete(key);
    want.dropped = true;
    if (this.pending.get(key) === want) this.pending.delete(key);
    rejectAll(want, err);
  }

  /**
   * Stores values on the worker at `address`, with the scheduler's put ticket for each key there
   * (when it gives them); resolves with the bytes each takes there.
   */
  async put(
    address: string,
    values: Record<string, Serialized>,
    tickets?: Record<string, string>,
  ): Promise<Record<string, number>> {
    const first = tickets && Object.entries(tickets)[0];
    const peer = await this.peers.get(address, first && opener("put", first[1], first[0]));
    const reply = await peer.requests.request<PutReply>((id) => ({ op: "put-data", id, values, tickets }));
    return reply.nbytes;
  }

  private schedule(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const wants = this.pending;
    this.pending = new Map();
    const byWorker = new Map<string, Map<string, Want>>();
    const lookup = new Map<string, Want>();
    for (const [key, want] of wants) {
      const from = want.candidates.shift();
      if (from === undefined) {
        lookup.set(key, want);
        continue;
      }
      let batch = byWorker.get(from);
      if (!batch) byWorker.set(from, (batch = new Map()));
      batch.set(key, want);
    }
    for (const [from, batch] of byWorker) void this.get(from, batch);
    if (lookup.size > 0) void this.lookUp(lookup);
  }

  private async get(from: string, batch: Map<string, Want>): Promise<void> {
    let reply: DataReply;
    try {
      const keys = [...batch.keys()];
      const tickets = this.tickets.size === 0 ? undefined : keys.map((k) => this.tickets.get(k)?.get(from) ?? "");
      const peer = await this.peers.get(from, tickets && opener("get", tickets[0]!, keys[0]!));
      reply = await peer.requests.request<DataReply>((id) => ({ op: "get-data", id, keys, tickets }));
    } catch (err) {
      // A reply the link refused (too big, malformed) would fail again from any holder: say so now.
      if (err instanceof ProtocolError || (err instanceof CommClosedError && /protocol error/.test(err.message))) {
        for (const want of batch.values()) rejectAll(want, err);
        return;
      }
      for (const want of batch.values()) want.lastError = err as Error;
      return this.retry(batch); // the worker is gone or unreachable: try other holders
    }
    for (const [key, payload] of Object.entries(reply.values)) {
      const want = batch.get(key);
      if (!want || want.dropped) continue;
      const expected = this.digests.get(key);
      if (expected !== undefined && digestOf(payload, this.digestMaker) !== expected) {
        // Not the bytes the workers agreed on: tell the scheduler, try the next holder (left in batch).
        this.log.warn(`${from} served bytes for ${key} that do not match its agreed digest; trying another holder`);
        want.lastError = new LostDataError(`${from} served bytes for ${key} that do not match its agreed digest`);
        this.badData(key, from);
        continue;
      }
      batch.delete(key);
      let value: unknown;
      try {
        value = deserialize(payload);
      } catch (err) {
        for (const w of want.waiters) w.reject(err as Error);
        continue;
      }
      for (const w of want.waiters) w.resolve(value);
    }
    // An expired ticket: ask the scheduler (locate) for fresh ones now, rather than trying holders with tickets as old.
    for (const key of reply.expired ?? []) {
      const want = batch.get(key);
      if (want) want.candidates = [];
    }
    this.retry(batch); // what is left was missing there, or needs a fresh ticket
  }

  private retry(batch: Map<string, Want>): void {
    let any = false;
    for (const [key, want] of batch) {
      if (want.dropped) continue;
      this.pending.set(key, want);
      any = true;
    }
    if (any) this.schedule();
  }

  private async lookUp(wants: Map<string, Want>): Promise<void> {
    const keys: string[] = [];
    for (const [key, want] of wants) {
      if (want.dropped) {
        wants.delete(key);
      } else if (want.asked++ < MAX_LOOKUPS) {
        keys.push(key);
      } else {
        rejectAll(want, new LostDataError(`no worker has ${key} any more`, { cause: want.lastError }));
        wants.delete(key);
      }
    }
    if (keys.length === 0) return;
    let who: Locations;
    try {
      who = await this.whoHas(keys);
    } catch (err) {
      for (const want of wants.values()) for (const w of want.waiters) w.reject(err as Error);
      return;
    }
    for (const [key, want] of wants) {
      if (want.dropped) {
        wants.delete(key);
        continue;
      }
      const holders = who[key]?.who ?? [];
      this.learn(key, holders, who[key]?.tickets, who[key]?.digest);
      if (holders.length === 0) {
        rejectAll(
          want,
          new LostDataError(`no worker holds ${key}: its result was released or lost`, { cause: want.lastError }),
        );
        wants.delete(key);
      } else {
        want.candidates = holders;
      }
    }
    this.retry(wants);
  }
}
