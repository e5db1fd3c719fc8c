// The worker's fetching of results from peers: which tasks wait for which input, the holders left
// to try for each key and the one asked now, copies the scheduler asked for (acquire-replicas),
// expired tickets, and the requests to send, batched per peer. Part of WorkerState (state.ts),
// which owns the tasks and the memory and hands the fetch events here.

import type { DepLocation, WorkerToScheduler } from "../protocol/messages.js";
import type { WorkerInstruction, WorkerTask } from "./events.js";

/**
 * Bytes asked of one peer in one request, at most (one bigger key goes alone). Replies stay well
 * below the transports' packet limit, and the first inputs arrive while later ones are still
 * being sent. Dask's transfer-message-bytes-limit is 50 MB.
 */
export const FETCH_BATCH_BYTES = 64 * 1024 * 1024;

/**
 * Fresh tickets asked for one fetch before it counts as failed there: a clock so far off that each
 * fresh ticket is refused as expired would otherwise ask forever.
 */
export const MAX_TICKET_RENEWALS = 3;

export interface Fetch {
  /** Bytes of the value, as the scheduler reported it. */
  nbytes: number;
  /** Holders not tried yet, in the scheduler's order. */
  candidates: string[];
  /** The holder asked now, if a request is in flight; null while waiting for fresh tickets. */
  from: string | null;
  /** Times a holder said this worker's ticket had expired (see ticketsExpired). */
  renewals?: number;
}

/** What fetching needs of the rest of the worker's state. */
export interface FetchHost {
  holds(key: string): boolean;
  /** The size of a result held. */
  size(key: string): number | undefined;
  store(key: string, value: unknown, nbytes: number): void;
  /** `task`'s input `key` is here now. */
  arrivedFor(task: WorkerTask, key: string): void;
  /** `task` cannot run here: its input `key` is missing (the scheduler was told). */
  drop(task: WorkerTask, key: string): void;
  send(msg: WorkerToScheduler): void;
  /** Notes a move of `key` in the worker's story ("fetch": to be asked of a holder; "flight": asked). */
  record(key: string, from: string, to: string, note?: string): void;
}

export class Fetches {
  /** Each key being fetched: in flight, or waiting for fresh tickets. */
  readonly byKey = new Map<string, Fetch>();
  /** Tasks waiting for each input key. */
  readonly waitingFor = new Map<string, Set<WorkerTask>>();
  /** Keys the scheduler asked this worker to hold copies of (acquire-replicas), still being fetched. */
  readonly replicaWanted = new Set<string>();
  /** Requests to send, per holder: batches of keys of at most FETCH_BATCH_BYTES. */
  private readonly pending = new Map<string, { keys: string[]; bytes: number }[]>();

  constructor(
    private readonly self: string,
    private readonly host: FetchHost,
  ) {}

  /** `task` needs `dep`, which is not held here: fetch it unless it is on its way. */
  need(task: WorkerTask, dep: DepLocation): void {
    (task.missing ??= new Set()).add(dep.key);
    let waiting = this.waitingFor.get(dep.key);
    if (!waiting) this.waitingFor.set(dep.key, (waiting = new Set()));
    waiting.add(task);
    this.fetch(dep);
  }

  /** `task` left (done, freed, stolen, dropped): it waits for nothing any more. */
  taskGone(task: WorkerTask): void {
    for (const key of task.missing ?? []) {
      const waiting = this.waitingFor.get(key);
      waiting?.delete(task);
      if (waiting && waiting.size === 0) {
        this.waitingFor.delete(key);
        this.dropIdle(key);
      }
    }
    task.missing = null;
  }

  /**
   * `key` is held here now without a fetch (computed here, or scattered here) while it was being
   * fetched: the tasks waiting for it have it; an answer still in flight is dropped.
   */
  heldHere(key: string): void {
    const f = this.byKey.get(key);
    if (!f) return;
    this.byKey.delete(key);
    this.replicaWanted.delete(key);
    this.host.record(key, f.from === null ? "fetch" : "flight", "released", "held here already");
    const waiting = this.waitingFor.get(key);
    this.waitingFor.delete(key);
    for (const task of waiting ?? []) this.host.arrivedFor(task, key);
  }

  /** The scheduler freed `key` here: a copy of it is no longer wanted. */
  freed(key: string): void {
    this.replicaWanted.delete(key);
    this.dropIdle(key);
  }

  /** Fetch and keep copies of these results (a retiring worker's), from the holders given. */
  acquire(deps: DepLocation[]): void {
    for (const dep of deps) {
      if (this.host.holds(dep.key)) {
        this.host.send({ op: "add-keys", keys: [{ key: dep.key, nbytes: this.host.size(dep.key) ?? dep.nbytes }] });
        continue;
      }
      this.replicaWanted.add(dep.key);
      this.fetch(dep);
    }
  }

  /** `from` answered: `values` arrived (kept if still wanted here), `missing` it did not have. */
  arrived(from: string, values: Map<string, { value: unknown; nbytes: number }>, missing: string[]): void {
    const added: { key: string; nbytes: number }[] = [];
    for (const [key, { value, nbytes }] of values) {
      const f = this.byKey.get(key);
      if (!f || f.from !== from) continue;
      this.byKey.delete(key);
      const waiting = this.waitingFor.get(key);
      this.waitingFor.delete(key);
      const asked = this.replicaWanted.delete(key);
      if (!asked && (!waiting || waiting.size === 0)) {
        this.host.record(key, "flight", "released", "nobody here needs it any more");
        continue;
      }
      this.host.record(key, "flight", "memory", `from ${from}`);
      this.host.store(key, value, nbytes);
      added.push({ key, nbytes });
      for (const task of waiting ?? []) this.host.arrivedFor(task, key);
    }
    if (added.length > 0) this.host.send({ op: "add-keys", keys: added });
    for (const key of missing) this.failed(from, [key]);
  }

  /** Fetching `keys` from `from` failed: ask the next holder, or give up. */
  failed(from: string, keys: string[]): void {
    for (const key of keys) {
      const f = this.byKey.get(key);
      if (!f || f.from !== from) continue;
      f.from = null;
      this.host.record(key, "flight", "fetch", `${from} could not provide it`);
      if (this.dropIdle(key)) continue; // its tasks were freed meanwhile: ask nobody else
      this.askNext(key, from);
    }
  }

  /**
   * `from` refused this worker's tickets for `keys` as expired (the fetch waited long, in a queue):
   * ask the scheduler for fresh ones (renew-tickets); the fetches wait for them (ticketsRenewed).
   */
  ticketsExpired(from: string, keys: string[]): void {
    const renew: string[] = [];
    for (const key of keys) {
      const f = this.byKey.get(key);
      if (!f || f.from !== from) continue;
      f.renewals = (f.renewals ?? 0) + 1;
      if (f.renewals > MAX_TICKET_RENEWALS) {
        this.failed(from, [key]);
        continue;
      }
      f.from = null;
      f.candidates = []; // the other holders' tickets are as old: wait for fresh ones
      this.host.record(key, "flight", "fetch", `tickets expired at ${from}: waiting for fresh ones`);
      if (!this.dropIdle(key)) renew.push(key);
    }
    if (renew.length > 0) this.host.send({ op: "renew-tickets", keys: renew });
  }

  /** Fresh tickets came (the data plane keeps them): fetch again, from the holders the scheduler names now. */
  ticketsRenewed(locations: DepLocation[]): void {
    for (const loc of locations) {
      const f = this.byKey.get(loc.key);
      if (!f || f.from !== null || f.candidates.length > 0) continue; // started again meanwhile (another task's compute-task)
      f.candidates = loc.who.filter((w) => w !== this.self);
      // No holder the scheduler will vouch for: as for a key nobody has.
      this.askNext(loc.key, this.self);
    }
  }

  /** The requests queued since the last call, as fetch instructions (one per peer and batch). */
  takeRequests(out: WorkerInstruction[]): void {
    if (this.pending.size === 0) return;
    for (const [from, batches] of this.pending)
      for (const b of batches) out.push({ kind: "fetch", from, keys: b.keys });
    this.pending.clear();
  }

  get size(): number {
    return this.byKey.size;
  }

  /**
   * Gets `dep` on its way: a fetch in flight stays as it is; otherwise the holders `dep` names
   * (never this worker) are asked in turn. None: the scheduler believes this worker has it, and it
   * does not; say so by name.
   */
  private fetch(dep: DepLocation): void {
    const f = this.byKey.get(dep.key);
    if (f && (f.from !== null || f.candidates.length > 0)) return;
    const candidates = dep.who.filter((w) => w !== this.self);
    if (f) f.candidates = candidates;
    else this.byKey.set(dep.key, { nbytes: dep.nbytes, candidates, from: null });
    this.askNext(dep.key, this.self, f ? "fetch" : "released");
  }

  /** Asks the next holder of `key` (queued in its peer's batch), or gives up on it (`lastTried` did not have it). */
  private askNext(key: string, lastTried: string, was = "fetch"): void {
    const f = this.byKey.get(key)!;
    const from = f.candidates.shift();
    if (from === undefined) return this.giveUp(key, lastTried, was);
    f.from = from;
    this.host.record(key, was, "flight", `from ${from}`);
    let batches = this.pending.get(from);
    if (!batches) this.pending.set(from, (batches = []));
    const last = batches[batches.length - 1];
    if (last && last.bytes + f.nbytes <= FETCH_BATCH_BYTES) {
      last.keys.push(key);
      last.bytes += f.nbytes;
    } else batches.push({ keys: [key], bytes: f.nbytes });
  }

  /** No holder of `key` could provide it: tell the scheduler (it recomputes or reassigns), drop the tasks. */
  private giveUp(key: string, lastTried: string, was: string): void {
    this.byKey.delete(key);
    this.host.record(key, was, "released", "no holder could provide it");
    if (this.replicaWanted.delete(key)) this.host.send({ op: "acquire-failed", keys: [key] });
    const waiting = this.waitingFor.get(key);
    this.waitingFor.delete(key);
    for (const task of waiting ?? []) {
      this.host.send({ op: "missing-data", key: task.key, dep: key, from: lastTried });
      this.host.drop(task, key);
    }
  }

  /** Drops a fetch not in flight that nothing here waits for any more (its tasks freed or stolen); true if it did. */
  private dropIdle(key: string): boolean {
    const f = this.byKey.get(key);
    if (!f || f.from !== null || this.waitingFor.has(key) || this.replicaWanted.has(key)) return false;
    this.byKey.delete(key);
    this.host.record(key, "fetch", "released", "nobody here needs it any more");
    return true;
  }
}
