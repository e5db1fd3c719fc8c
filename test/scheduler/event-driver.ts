// Drives a SchedulerState with plain-data actions, as its workers and clients would: a model of
// each worker (its queue, what it started and holds, steal-requests and copies asked of it) and of
// what each client was last told about each key. Actions name things by index, taken modulo what
// exists when they run, so that every random sequence is valid and fast-check can shrink it.

import { SchedulerState, serialize, type Instruction, type TaskMsg } from "../../src/internal.js";
import type { SchedulerEvent } from "../../src/scheduler/events.js";
import { FN } from "../helpers/scheduler.js";
import { GROUP_BOUNDS, pick, type ShellAction, shellStep } from "./driver-shell.js";

export type Action =
  | {
      op: "submit";
      client: number;
      tasks: {
        deps: number[];
        want: boolean;
        verify: 0 | 1 | 2;
        gpu: boolean;
        retries: number;
        private: boolean;
        /** Its function from the i-th uploaded module (if any), else a shipped one. */
        module: number | null;
      }[];
      unknownDep: boolean;
    }
  | { op: "finish"; pick: number; nbytes: number; addKeys: boolean }
  | { op: "start"; pick: number }
  | { op: "err"; pick: number }
  | { op: "release"; client: number; pick: number }
  | { op: "cancel"; client: number; pick: number }
  | { op: "add-client" }
  | { op: "remove-client"; client: number }
  | {
      op: "add-worker";
      trusted: boolean;
      liar: boolean;
      gpu: boolean;
      nthreads: number;
      host: number;
      /** A tab (kind "browser"): no task of a Node-only module. */
      tab: boolean;
      /** A thread of the i-th adaptive worker process (`meshwork worker --adapt`), or a fixed worker. */
      group: number | null;
    }
  | { op: "remove-worker"; pick: number; graceful: boolean }
  | { op: "retire"; pick: number }
  | ShellAction
  | { op: "balance" }
  | { op: "answer-steal"; pick: number }
  | { op: "answer-copies"; pick: number; fail: boolean }
  | { op: "close-told" }
  | { op: "missing"; pick: number }
  | { op: "scatter"; client: number; worker: number; nbytes: number }
  | { op: "bad-data"; pick: number; reader: number };

interface WorkerModel {
  readonly id: string;
  readonly trusted: boolean;
  /** Reports a digest of its own for every verified result (and any bytes count it likes). */
  readonly liar: boolean;
  /** Tasks sent to it and not yet finished or freed: whether it must report a digest, and the inputs it fetches. */
  readonly queue: Map<string, { digest: boolean; deps: { key: string; who: string[] }[] }>;
  readonly started: Set<string>;
  /** Answers to steal-requests, decided when each arrived (as a worker does), not yet delivered. */
  readonly stealAnswers: { stolen: string[]; kept: string[] }[];
  readonly copiesAsked: { key: string; nbytes: number }[];
  toldToClose: boolean;
}

/** What a client was last told about a key: it settles a future on key-in-memory, key-erred or key-cancelled. */
export type ClientNews = "key-in-memory" | "key-erred" | "key-cancelled" | "key-lost" | "key-waiting";

export class Driver {
  readonly s: SchedulerState;
  readonly workers = new Map<string, WorkerModel>();
  readonly news = new Map<string, Map<string, ClientNews>>();
  /** Hashes of the modules uploaded so far. */
  readonly modules: string[] = [];
  /** Workers the state let go for their silence (worker-expired), whose connections the shell closes. */
  readonly expired: string[] = [];
  /** The adaptive loop's count of checks in a row that called for fewer workers (adaptDecision's hysteresis). */
  lowChecks = 0;
  private clientCount = 0;
  private workerCount = 0;
  taskCount = 0;
  readonly log: string[] = [];
  private pending: Instruction[] = [];

  constructor() {
    this.s = new SchedulerState({ validate: true, allowedFailures: 2 });
    this.s.now = 1_000;
    this.addClient();
    this.addWorker(true, false, false, 1, 0, false, null);
  }

  addClient(): void {
    const id = `c${this.clientCount++}`;
    this.feed({ op: "client-added", client: id });
    this.news.set(id, new Map());
    this.deliver();
  }

  addWorker(
    trusted: boolean,
    liar: boolean,
    gpu: boolean,
    nthreads: number,
    host: number,
    tab: boolean,
    group: number | null,
  ): string {
    const id = `w${this.workerCount++}`;
    this.workers.set(id, {
      id,
      trusted,
      liar: liar && !trusted,
      queue: new Map(),
      started: new Set(),
      stealAnswers: [],
      copiesAsked: [],
      toldToClose: false,
    });
    this.feed({
      op: "worker-added",
      worker: id,
      hello: {
        address: `addr-${id}`,
        kind: tab ? "browser" : "thread",
        nthreads,
        memoryLimit: 0,
        resources: gpu ? { gpu: 1 } : {},
        name: id,
        group: group === null ? undefined : { id: `g${group}`, adapt: GROUP_BOUNDS },
      },
      trusted,
      host: `host-${host}`,
    });
    this.deliver();
    return id;
  }

  removeWorker(id: string, graceful: boolean): void {
    this.workers.delete(id);
    this.feed({ op: "worker-removed", worker: id, reason: graceful ? "closed" : "lost", graceful });
    this.deliver();
  }

  /** Carries out one action (a no-op when what it names does not exist). */
  step(a: Action): void {
    this.log.push(JSON.stringify(a));
    const s = this.s;
    switch (a.op) {
      case "submit":
        return this.submit(a);
      case "finish": {
        const q = this.queued(a.pick);
        if (q) this.finish(q.w, q.key, a.nbytes, a.addKeys);
        return;
      }
      case "start": {
        const q = this.queued(a.pick);
        if (!q) return;
        q.w.started.add(q.key);
        this.feed({ op: "task-started", worker: q.w.id, key: q.key });
        return this.deliver();
      }
      case "err": {
        const q = this.queued(a.pick);
        if (!q) return;
        q.w.queue.delete(q.key);
        this.feed({
          op: "task-erred",
          worker: q.w.id,
          key: q.key,
          error: { name: "Error", message: `${q.key} failed on ${q.w.id}` },
        });
        return this.deliver();
      }
      case "release":
      case "cancel": {
        const client = pick([...s.clients.keys()], a.client);
        const wanted = client ? [...s.clients.get(client)!.wants] : [];
        const ts = pick(wanted, a.pick);
        if (!client || !ts) return;
        if (a.op === "release") this.feed({ op: "release-keys", client, keys: [ts.key] });
        else this.feed({ op: "cancel", client, keys: [ts.key] });
        return this.deliver();
      }
      case "add-client":
        return this.addClient();
      case "remove-client": {
        const client = pick([...s.clients.keys()], a.client);
        if (!client) return;
        this.feed({ op: "client-removed", client });
        this.news.delete(client);
        return this.deliver();
      }
      case "add-worker":
        this.addWorker(a.trusted, a.liar, a.gpu, a.nthreads, a.host, a.tab, a.group);
        return;
      case "remove-worker": {
        const w = pick([...this.workers.keys()], a.pick);
        if (w) this.removeWorker(w, a.graceful);
        return;
      }
      case "retire": {
        const w = pick([...this.workers.keys()], a.pick);
        if (!w) return;
        this.feed({ op: "retire-workers", workers: [w], ticket: this.taskCount });
        return this.deliver();
      }
      case "balance":
        this.feed({ op: "balance" });
        return this.deliver();
      case "answer-steal": {
        const w = pick(
          [...this.workers.values()].filter((m) => m.stealAnswers.length > 0),
          a.pick,
        );
        if (w) this.answerSteal(w);
        return;
      }
      case "answer-copies": {
        const w = pick(
          [...this.workers.values()].filter((m) => m.copiesAsked.length > 0),
          a.pick,
        );
        if (w) this.answerCopies(w, a.fail);
        return;
      }
      case "close-told":
        for (const w of [...this.workers.values()]) if (w.toldToClose) this.removeWorker(w.id, true);
        return;
      case "missing": {
        // A worker could not fetch an input from a holder the scheduler named.
        const q = this.queued(a.pick, (w, key) => w.queue.get(key)!.deps.some((d) => d.who.length > 0));
        if (!q) return;
        const dep = q.w.queue.get(q.key)!.deps.find((d) => d.who.length > 0)!;
        q.w.queue.delete(q.key);
        this.feed({ op: "missing-data", worker: q.w.id, key: q.key, dep: dep.key, from: dep.who[0]! });
        return this.deliver();
      }
      case "scatter": {
        const client = pick([...s.clients.keys()], a.client);
        const w = pick([...this.workers.keys()], a.worker);
        if (!client || !w) return;
        this.feed({
          op: "update-data",
          client,
          entries: [{ key: `data-${this.taskCount++}`, worker: `addr-${w}`, nbytes: a.nbytes }],
        });
        return this.deliver();
      }
      case "bad-data": {
        // A reader (a worker told the key, or a client: null) says a holder of a verified result
        // served bytes that do not match its digest.
        const verified = [...s.tasks.values()].filter((t) => t.state === "memory" && t.digest !== null);
        const ts = pick(verified, a.pick);
        if (!ts) return;
        const holder = pick([...ts.whoHas], a.reader)!;
        const readers = [null, ...[...s.workers.values()].filter((w) => w.told.has(ts.key))];
        const reader = pick(readers, a.reader) ?? null;
        this.feed({
          op: "bad-data",
          key: ts.key,
          from: holder.address,
          ...(reader ? { worker: reader.id } : { client: "c0" }),
        });
        return this.deliver();
      }
      default:
        return shellStep(this, a);
    }
  }

  private submit(a: Extract<Action, { op: "submit" }>): void {
    const client = pick([...this.s.clients.keys()], a.client);
    if (!client) return;
    const known = [...this.s.tasks.keys()];
    const tasks: TaskMsg[] = [];
    for (const t of a.tasks) {
      const key = `t${this.taskCount++}`;
      const choices = [...known, ...tasks.map((x) => x.key)];
      const deps = [...new Set(t.deps.map((i) => choices[i % Math.max(1, choices.length)]!).filter(Boolean))];
      if (a.unknownDep && tasks.length === 0) deps.push("never-submitted");
      tasks.push({
        key,
        fn:
          t.module !== null && this.modules.length > 0
            ? { kind: "module", module: this.modules[t.module % this.modules.length]!, name: "f" }
            : { kind: "source", id: FN.id },
        args: serialize([key]).payload,
        deps,
        priority: [0, 0, this.taskCount],
        retries: t.retries,
        verify: t.verify === 0 ? undefined : t.verify,
        resources: t.gpu ? { gpu: 1 } : undefined,
        // A task only some workers may run gives up after a while in no-worker.
        noWorkerTimeout: t.gpu ? 50_000 : undefined,
        private: t.private || undefined,
        timeout: 60_000,
      });
    }
    const wants = tasks.filter((_, i) => a.tasks[i]!.want).map((t) => t.key);
    this.feed({ op: "update-graph", client, tasks, fns: [FN], wants });
    this.deliver();
  }

  /** The `i`-th (worker, key) pair among the tasks queued on workers (optionally those that `ok` accepts). */
  private queued(
    i: number,
    ok?: (w: WorkerModel, key: string) => boolean,
  ): { w: WorkerModel; key: string } | undefined {
    const all: { w: WorkerModel; key: string }[] = [];
    for (const w of this.workers.values())
      for (const key of w.queue.keys()) if (!ok || ok(w, key)) all.push({ w, key });
    return pick(all, i);
  }

  finish(w: WorkerModel, key: string, nbytes: number, addKeys: boolean): void {
    const job = w.queue.get(key)!;
    w.queue.delete(key);
    w.started.delete(key);
    // A worker reports the inputs it fetched (add-keys) before or without its result.
    if (addKeys && job.deps.length > 0)
      this.feed({ op: "add-keys", worker: w.id, keys: job.deps.map((d) => ({ key: d.key, nbytes: bytesOf(d.key) })) });
    const digest = job.digest ? (w.liar ? `lie-${w.id}-${key}` : `sha-${key}`) : undefined;
    // Trusted workers measure the same bytes for the same result; an untrusted one says what it likes.
    this.feed({
      op: "task-finished",
      worker: w.id,
      key,
      nbytes: w.trusted ? bytesOf(key) : nbytes,
      duration: 1,
      digest,
    });
    this.deliver();
  }

  answerSteal(w: WorkerModel): void {
    const { stolen, kept } = w.stealAnswers.shift()!;
    this.feed({ op: "steal-response", worker: w.id, stolen, kept });
    this.deliver();
  }

  answerCopies(w: WorkerModel, fail: boolean): void {
    const asked = w.copiesAsked.splice(0);
    if (fail) this.feed({ op: "acquire-failed", worker: w.id, keys: asked.map((k) => k.key) });
    else this.feed({ op: "add-keys", worker: w.id, keys: asked.map((k) => ({ key: k.key, nbytes: k.nbytes })) });
    this.deliver();
  }

  /** Counts a situation reached (in `seen`, beside the instructions). */
  note(kind: string): void {
    seen.set(kind, (seen.get(kind) ?? 0) + 1);
  }

  /** Applies the instructions of the last event to the models of workers and clients. */
  deliver(): void {
    const out = this.pending;
    this.pending = [];
    for (const ins of out) this.apply(ins);
  }

  /** Hands one event to the state, keeping its instructions for deliver(). */
  feed(e: SchedulerEvent): void {
    this.pending.push(...this.s.handle(e));
  }

  private apply(ins: Instruction): void {
    const op = ins.msg.op;
    seen.set(op, (seen.get(op) ?? 0) + 1);
    if (ins.to === "client") {
      const news = this.news.get(ins.id);
      const msg = ins.msg;
      if (news && "key" in msg && typeof msg.key === "string") news.set(msg.key, msg.op as ClientNews);
      return;
    }
    if (ins.to === "scheduler") {
      if (ins.msg.op === "worker-banned") this.workers.delete(ins.msg.worker); // the state removed it already
      if (ins.msg.op === "worker-expired") this.expired.push(ins.msg.worker); // the shell closes its connection
      return;
    }
    const w = this.workers.get(ins.id);
    if (!w) throw new Error(`an instruction for ${ins.id}, which is gone: ${JSON.stringify(ins.msg)}`);
    const msg = ins.msg;
    switch (msg.op) {
      case "compute-task":
        w.queue.set(msg.key, { digest: msg.digest === true, deps: msg.deps.map((d) => ({ key: d.key, who: d.who })) });
        return;
      case "free-keys":
        for (const k of msg.keys) {
          w.queue.delete(k);
          w.started.delete(k);
        }
        return;
      case "steal-request":
        {
          // The worker gives up at once what it has not started; its answer travels later.
          const stolen = msg.keys.filter((k) => w.queue.has(k) && !w.started.has(k));
          for (const k of stolen) w.queue.delete(k);
          w.stealAnswers.push({ stolen, kept: msg.keys.filter((k) => !stolen.includes(k)) });
        }
        return;
      case "acquire-replicas":
        w.copiesAsked.push(...msg.keys.map((k) => ({ key: k.key, nbytes: k.nbytes })));
        return;
      case "close-worker":
        w.toldToClose = true;
        return;
      default:
        return;
    }
  }

  /**
   * Lets the cluster finish: workers resume, answer what was asked of them and leave when told to;
   * two trusted workers that may run anything join; every queued task is finished honestly, until
   * nothing is left to run. Returns the number of rounds it took.
   */
  settle(maxRounds = 200): number {
    for (const w of this.workers.keys())
      this.feed({ op: "heartbeat", worker: w, memory: 0, executing: 0, spilled: 0, paused: false, ready: 0 });
    this.deliver();
    // Two: a task marked verify: 2 needs a second worker's opinion.
    this.addWorker(true, false, true, 4, 98, false, null);
    this.addWorker(true, false, true, 4, 99, false, null);
    for (let round = 0; round < maxRounds; round++) {
      let moved = false;
      for (const w of [...this.workers.values()]) {
        if (!this.workers.has(w.id)) continue;
        if (w.stealAnswers.length > 0) {
          this.answerSteal(w);
          moved = true;
        }
        if (w.copiesAsked.length > 0) {
          this.answerCopies(w, false);
          moved = true;
        }
        if (w.toldToClose) {
          this.removeWorker(w.id, true);
          moved = true;
          continue;
        }
        const key = w.queue.keys().next().value;
        if (key !== undefined) {
          // From here on every worker tells the truth.
          const job = w.queue.get(key)!;
          w.queue.delete(key);
          this.feed({
            op: "task-finished",
            worker: w.id,
            key,
            nbytes: bytesOf(key),
            duration: 1,
            digest: job.digest ? `sha-${key}` : undefined,
          });
          this.deliver();
          moved = true;
        }
      }
      if (!moved) return round;
    }
    throw new Error(`the cluster did not settle in ${maxRounds} rounds`);
  }
}

/** Instructions seen per op, over every Driver: shows the random runs reach what they are meant to. */
export const seen = new Map<string, number>();

/** The bytes an honest worker measures for `key`'s result: the same everywhere. */
export function bytesOf(key: string): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) | 0;
  return 8 + (Math.abs(h) % 100);
}
