// The scheduler as a pure state machine: events in (a client submitted, a worker finished),
// instructions out (messages to send). No sockets, timers or awaits, so scheduling tests are
// synchronous and exact. The shell (server.ts) feeds it and delivers what it returns.

import { LostDataError, type ErrorData } from "../errors.js";
import { comparePriority } from "../graph/priority.js";
import type { FnDef, LinkReport, ModuleDef, TaskMsg, WorkerHello } from "../protocol/messages.js";
import type { Serialized } from "../protocol/refs.js";
import { ClientState, TaskState, WorkerRecord, type Retirement, type TaskStateName } from "./model.js";
import { holders, Outbox, type Instruction } from "./outbox.js";
import { canRun, coAssign } from "./placement.js";
import { balance } from "./stealing.js";
import { advanceRetirements, retiredWorkerLeft, type PendingReplicas, type ReplicaAttempts } from "./retire.js";
import { Story, type StoryEntry } from "./story.js";

export type { Instruction } from "./outbox.js";
import { endSteal, moveTask, TRANSITIONS, type TransitionExtra } from "./transitions.js";

export interface SchedulerStateOptions {
  /**
   * A task fails with KilledWorkerError once this many workers died while running it. Default 3
   * (the futures issue's figure; Dask's `allowed-failures` of 3 fails on the fourth death).
   */
  allowedFailures?: number;
  /** Transitions kept for story(). Default 100,000. */
  storyCapacity?: number;
}

export class SchedulerState {
  readonly tasks = new Map<string, TaskState>();
  readonly workers = new Map<string, WorkerRecord>();
  readonly clients = new Map<string, ClientState>();
  /** Tasks no current worker may run (restrictions, resources, or no workers at all). */
  readonly unrunnable = new Set<TaskState>();
  /** Typical duration in ms per task group, learned from completions. */
  readonly durations = new Map<string, number>();
  readonly fns = new Map<string, FnDef>();
  readonly modules = new Map<string, ModuleDef>();
  readonly story: Story;
  /** The shell's clock, in ms, set before each event. Only recorded, never read for decisions. */
  now = 0;
  readonly allowedFailures: number;
  /** Retirements under way (see retire.ts). */
  readonly retirements = new Set<Retirement>();
  readonly pendingReplicas: PendingReplicas = new Map();
  /** Copies asked for per result during retirements; cleared when none are under way. */
  readonly replicaAttempts = new Map<TaskState, ReplicaAttempts>();

  private recs = new Map<TaskState, TaskStateName>();
  /** Facts for the recommendations that carry any (most carry none). */
  private recExtras = new Map<TaskState, TransitionExtra>();
  /** The messages decisions produce; the shell takes and delivers them after each event. */
  readonly outbox: Outbox;
  private stimulusCount = 0;
  private stimulus = "";
  private readonly workersByAddress = new Map<string, WorkerRecord>();

  constructor(options: SchedulerStateOptions = {}) {
    this.allowedFailures = options.allowedFailures ?? 3;
    this.story = new Story(options.storyCapacity);
    this.outbox = new Outbox(this.fns);
  }

  /** Instructions produced since the last call, in order. */
  takeInstructions(): Instruction[] {
    return this.outbox.take();
  }

  // ---------------------------------------------------------------- clients

  addClient(id: string): void {
    this.clients.set(id, new ClientState(id));
  }

  removeClient(id: string): void {
    const cs = this.clients.get(id);
    if (!cs) return;
    this.clients.delete(id);
    this.begin("client-gone");
    for (const ts of cs.wants) {
      ts.whoWants.delete(cs);
      if (!this.isNeeded(ts)) this.recommend(ts, "released");
    }
    cs.wants.clear();
    this.run();
  }

  updateGraph(clientId: string, tasks: TaskMsg[], fns: FnDef[], wants: string[]): void {
    const cs = this.clients.get(clientId);
    if (!cs) return;
    this.begin("update-graph");
    for (const def of fns) this.fns.set(def.id, def);
    const fresh: TaskState[] = [];
    /** Tasks that name a dependency the scheduler does not know (its future was released). */
    const unknownDep = new Map<TaskState, string>();
    for (const t of tasks) {
      let ts = this.tasks.get(t.key);
      if (!ts) {
        ts = new TaskState(t.key);
        this.tasks.set(t.key, ts);
      }
      if (ts.spec !== null || ts.state !== "released") continue; // known already: same key, same task
      ts.spec = { fn: t.fn, args: t.args, retries: t.retries, workers: t.workers, resources: t.resources };
      ts.retriesLeft = t.retries;
      ts.priority = t.priority;
      for (const depKey of t.deps) {
        const dep = this.tasks.get(depKey);
        if (!dep) {
          unknownDep.set(ts, depKey);
          continue;
        }
        ts.add("deps", dep);
        dep.add("dependents", ts);
      }
      fresh.push(ts);
    }
    let threads = 0;
    for (const ws of this.workers.values()) if (ws.status === "running") threads += ws.nthreads;
    coAssign(fresh, threads);
    for (const key of wants) {
      const ts = this.tasks.get(key);
      if (!ts) continue;
      ts.addWanter(cs);
      cs.wants.add(ts);
      if (ts.state === "memory") this.outbox.alreadyInMemory(ts, cs);
      else if (ts.state === "erred") this.outbox.erred(ts, [cs]);
      // Known from before, released but kept for its lineage (a dependent still refers to it): compute it again.
      else if (ts.state === "released" && ts.spec && !this.recs.has(ts)) this.recommend(ts, "waiting");
    }
    for (const ts of fresh) {
      const missing = unknownDep.get(ts);
      if (missing === undefined) {
        this.recommend(ts, "waiting");
        continue;
      }
      this.recommend(ts, "erred", {
        error: {
          name: "LostDataError",
          code: "LOST_DATA",
          message: `dependency ${missing} of ${ts.key} is not known to the scheduler (its future was released, or it never existed)`,
        },
        blame: ts.key,
      });
    }
    this.run();
  }

  releaseKeys(clientId: string, keys: string[]): void {
    const cs = this.clients.get(clientId);
    if (!cs) return;
    this.begin("release-keys");
    for (const key of keys) {
      const ts = this.tasks.get(key);
      if (!ts || !cs.wants.delete(ts)) continue;
      ts.whoWants.delete(cs);
      if (!this.isNeeded(ts)) this.recommend(ts, "released");
    }
    this.run();
  }

  /** The client gives up these keys and the ones of its keys that depend on them. */
  cancel(clientId: string, keys: string[]): void {
    const cs = this.clients.get(clientId);
    if (!cs) return;
    this.begin("cancel");
    const seen = new Set<TaskState>();
    const stack = keys.map((k) => this.tasks.get(k)).filter((t): t is TaskState => t !== undefined);
    while (stack.length > 0) {
      const ts = stack.pop()!;
      if (seen.has(ts)) continue;
      seen.add(ts);
      for (const d of ts.dependents) stack.push(d);
      if (!cs.wants.delete(ts)) continue;
      ts.whoWants.delete(cs);
      this.outbox.toClient(cs, { op: "key-cancelled", key: ts.key });
      if (!this.isNeeded(ts)) this.recommend(ts, "released");
    }
    this.run();
  }

  /** Scattered values now held by workers. */
  updateData(clientId: string, entries: { key: string; worker: string; nbytes: number }[]): void {
    const cs = this.clients.get(clientId);
    this.begin("update-data");
    for (const e of entries) {
      const ws = this.workersByAddress.get(e.worker) ?? this.workers.get(e.worker);
      if (!ws) continue;
      let ts = this.tasks.get(e.key);
      if (!ts) {
        ts = new TaskState(e.key);
        this.tasks.set(e.key, ts);
      }
      if (cs && !ts.whoWants.has(cs)) {
        ts.addWanter(cs);
        cs.wants.add(ts);
      }
      if (ts.state === "memory") this.addReplica(ts, ws, e.nbytes);
      else if (ts.state === "released") this.transition(ts, "memory", { worker: ws, nbytes: e.nbytes });
      else this.outbox.free(ws, e.key); // being computed under the same key: keep that, drop the copy
    }
    this.run();
  }

  // ---------------------------------------------------------------- workers

  /** The worker whose data server is at `address`. */
  workerAt(address: string): WorkerRecord | undefined {
    return this.workersByAddress.get(address);
  }

  addWorker(id: string, hello: WorkerHello): WorkerRecord {
    const ws = new WorkerRecord(id, hello.address, hello.name, hello.kind, hello.nthreads, hello.memoryLimit, hello.resources);
    ws.lastSeen = this.now;
    ws.group = hello.group;
    ws.webrtc = hello.webrtc ?? false;
    this.workers.set(id, ws);
    this.workersByAddress.set(ws.address, ws);
    for (const module of this.modules.values()) this.outbox.toWorker(ws, { op: "load-module", module });
    this.begin("worker-added");
    this.offerUnrunnable();
    this.run();
    return ws;
  }

  /** Offers the tasks no worker could take to the workers there are now. */
  offerUnrunnable(): void {
    for (const ts of this.unrunnable) this.recommend(ts, "processing");
  }

  /**
   * Starts retiring workers (by id, name or address) gracefully; the answer comes as a "scheduler"
   * instruction with `ticket` once each has left or been kept (see retire.ts).
   */
  retireWorkers(names: string[], ticket: number): void {
    this.begin("retire-workers");
    const r: Retirement = { ticket, workers: new Set(), retired: [], kept: [], moved: { keys: 0, bytes: 0 }, startedAt: this.now };
    this.retirements.add(r);
    for (const name of new Set(names)) {
      const ws = this.findWorker(name);
      if (!ws) r.kept.push({ id: name, reason: "no such worker" });
      else if (ws.status !== "running") r.kept.push({ id: ws.id, reason: "already leaving" });
      else {
        ws.status = "closing";
        ws.retiring = r;
        r.workers.add(ws);
        // Queued tasks go elsewhere; the ones it said it is running finish here and their results move.
        for (const ts of ws.processing) if (!ws.started.has(ts)) this.recommend(ts, "released");
      }
    }
    this.run();
  }

  /**
   * A worker left or died: recompute what it was running and what only it held. Only a worker that
   * died (`graceful` false) counts against the tasks it was running (KilledWorkerError); one that
   * said goodbye (scaled down, closed) did not die of them.
   */
  removeWorker(id: string, reason: string, graceful = false): void {
    const ws = this.workers.get(id);
    if (!ws) return;
    ws.status = "gone";
    this.workers.delete(id);
    this.workersByAddress.delete(ws.address);
    this.begin(`worker-removed`);
    const suspects = graceful ? new Set<TaskState>() : suspectsOf(ws);
    for (const ts of ws.processing) {
      if (suspects.has(ts)) ts.suspicious++;
      if (ts.suspicious >= this.allowedFailures && suspects.has(ts)) {
        this.transition(ts, "erred", {
          workerGone: true,
          error: {
            name: "KilledWorkerError",
            code: "KILLED_WORKER",
            message: `task ${ts.key} was running on ${ts.suspicious} workers when they died (last: ${ws.name}, ${reason}); it is stopped rather than kill more`,
          },
        });
      } else {
        this.transition(ts, "released", { workerGone: true });
      }
    }
    for (const ts of ws.hasWhat) {
      ts.whoHas.delete(ws);
      if (ts.whoHas.size === 0 && ts.state === "memory") this.transition(ts, "released", { workerGone: true });
    }
    ws.hasWhat.clear();
    ws.processing.clear();
    ws.started.clear();
    for (const [ts, to] of this.pendingReplicas) if (to === ws) this.pendingReplicas.delete(ts);
    if (ws.retiring) retiredWorkerLeft(this, ws.retiring, ws);
    this.run();
  }

  /** Work stealing: asks loaded workers for queued tasks to move to idle ones (see stealing.ts). */
  balance(): number {
    this.begin("balance");
    const asked = balance(this);
    this.run();
    return asked;
  }

  /** A victim's answer to a steal-request: moves the tasks it dropped to the workers they were stolen for. */
  stealResponse(workerId: string, stolen: string[], kept: string[]): void {
    const victim = this.workers.get(workerId);
    if (!victim) return;
    this.begin("steal-response");
    for (const key of kept) {
      const ts = this.tasks.get(key);
      if (ts && ts.processingOn === victim) endSteal(ts, victim);
    }
    for (const key of stolen) {
      const ts = this.tasks.get(key);
      if (!ts || ts.processingOn !== victim || !ts.stealTo) continue; // moved or released meanwhile
      const thief = ts.stealTo;
      endSteal(ts, victim);
      if (thief.status === "running" && this.workers.has(thief.id) && canRun(ts, thief)) {
        moveTask(this, ts, thief);
        this.story.record(ts.key, "processing", "processing", this.stimulus, this.now);
      } else {
        this.recommend(ts, "released"); // the thief left meanwhile; the victim has dropped it: place it anew
      }
    }
    this.run();
  }

  /** A worker says it is running `key` (see TaskStarted). */
  taskStarted(workerId: string, key: string): void {
    const ws = this.workers.get(workerId);
    const ts = this.tasks.get(key);
    if (ws && ts && ts.processingOn === ws) ws.started.add(ts);
  }

  taskFinished(workerId: string, key: string, nbytes: number, duration: number, value?: Serialized): void {
    const ws = this.workers.get(workerId);
    const ts = this.tasks.get(key);
    if (!ws) return;
    this.begin("task-finished");
    if (ts && ts.state === "processing" && ts.processingOn === ws) {
      this.transition(ts, "memory", { worker: ws, nbytes, duration, value });
    } else if (ts && ts.state === "memory") {
      this.addReplica(ts, ws, nbytes);
    } else {
      this.outbox.free(ws, key); // cancelled or reassigned meanwhile: the worker may drop it
    }
    this.run();
  }

  taskErred(workerId: string, key: string, error: ErrorData): void {
    const ws = this.workers.get(workerId);
    const ts = this.tasks.get(key);
    if (!ws || !ts || ts.state !== "processing" || ts.processingOn !== ws) return;
    this.begin("task-erred");
    if (ts.retriesLeft > 0) {
      ts.retriesLeft--;
      this.transition(ts, "released", NO_EXTRA);
    } else {
      this.transition(ts, "erred", { error, blame: key });
    }
    this.run();
  }

  /** A worker could not get `dep` from `from`: the scheduler's record was wrong; fix it and retry. */
  missingData(workerId: string, key: string, dep: string, from: string): void {
    const ws = this.workers.get(workerId);
    if (!ws) return;
    this.begin("missing-data");
    const dts = this.tasks.get(dep);
    const holder = this.workersByAddress.get(from);
    if (dts && holder && dts.whoHas.delete(holder)) {
      holder.hasWhat.delete(dts);
      holder.nbytes -= dts.nbytes;
      if (dts.whoHas.size === 0 && dts.state === "memory") this.transition(dts, "released", { workerGone: true });
    }
    const ts = this.tasks.get(key);
    if (ts && ts.state === "processing" && ts.processingOn === ws) this.recommend(ts, "released");
    this.run();
  }

  /** A worker holds replicas it fetched (as dependencies, or asked to by a retirement). */
  addKeys(workerId: string, keys: { key: string; nbytes: number }[]): void {
    const ws = this.workers.get(workerId);
    if (!ws) return;
    for (const { key, nbytes } of keys) {
      const ts = this.tasks.get(key);
      if (ts && ts.state === "memory") {
        this.addReplica(ts, ws, nbytes);
        if (this.pendingReplicas.get(ts) === ws) {
          this.pendingReplicas.delete(ts);
          for (const holder of ts.whoHas) {
            if (!holder.retiring) continue;
            holder.retiring.moved.keys++;
            holder.retiring.moved.bytes += ts.nbytes;
            break;
          }
        }
      } else this.outbox.free(ws, key);
    }
    if (this.retirements.size > 0) {
      this.begin("add-keys");
      this.run();
    } else this.outbox.flushFrees();
  }

  /** A worker could not fetch replicas it was asked for: ask again (elsewhere), or give up on them. */
  acquireFailed(workerId: string, keys: string[]): void {
    const ws = this.workers.get(workerId);
    if (!ws) return;
    this.begin("acquire-failed");
    for (const key of keys) {
      const ts = this.tasks.get(key);
      if (!ts || this.pendingReplicas.get(ts) !== ws) continue;
      this.pendingReplicas.delete(ts);
      this.replicaAttempts.get(ts)?.failed.add(ws);
    }
    this.run();
  }

  heartbeat(workerId: string, memory: number, executing: number, spilled = 0, paused = false, links?: LinkReport[]): void {
    const ws = this.workers.get(workerId);
    if (!ws) return;
    if (links) {
      const before = new Map(ws.links.map((l) => [l.peer, l]));
      ws.links = links.map((l) => {
        const prev = before.get(l.peer);
        const dt = prev ? (this.now - prev.at) / 1000 : 0;
        const moved = prev ? l.bytesIn + l.bytesOut - prev.bytesIn - prev.bytesOut : 0;
        return { ...l, bytesPerSecond: dt > 0 && moved > 0 ? moved / dt : 0, at: this.now };
      });
    }
    ws.lastSeen = this.now;
    ws.memory = memory;
    ws.executing = executing;
    ws.spilled = spilled;
    if (paused === ws.paused) return;
    ws.paused = paused;
    this.begin(paused ? "worker-paused" : "worker-resumed");
    // Paused: its queued tasks are stolen by others (stealing.ts). Resumed: it may take the tasks nobody could.
    if (!paused) this.offerUnrunnable();
    this.run();
  }

  uploadModule(module: ModuleDef): void {
    this.modules.set(module.hash, module);
    for (const ws of this.workers.values()) this.outbox.toWorker(ws, { op: "load-module", module });
  }

  // ---------------------------------------------------------------- queries

  whoHas(keys: string[]): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const k of keys) {
      const ts = this.tasks.get(k);
      out[k] = ts ? holders(ts) : [];
    }
    return out;
  }

  storyOf(key: string): StoryEntry[] {
    return this.story.of(key);
  }

  // ---------------------------------------------------------------- machinery used by transitions

  /** Whether anything still needs `ts`'s result: a client, or a dependent not yet computed. */
  isNeeded(ts: TaskState): boolean {
    return ts.whoWants.size > 0 || ts.waiters.size > 0;
  }

  recommend(ts: TaskState, finish: TaskStateName, extra?: TransitionExtra): void {
    this.recs.set(ts, finish);
    if (extra) this.recExtras.set(ts, extra);
    else if (this.recExtras.size > 0) this.recExtras.delete(ts);
  }

  addReplica(ts: TaskState, ws: WorkerRecord, nbytes: number): void {
    if (ts.whoHas.has(ws)) return;
    ts.nbytes = nbytes;
    ts.addHolder(ws);
    ws.hasWhat.add(ts);
    ws.nbytes += nbytes;
  }

  learnDuration(group: string, ms: number): void {
    const prev = this.durations.get(group);
    this.durations.set(group, prev === undefined ? ms : 0.5 * prev + 0.5 * ms);
  }

  lostError(ts: TaskState): ErrorData {
    const e = new LostDataError(`${ts.key} was held only by workers that are gone, and it cannot be recomputed (it was scattered, not computed)`);
    return { name: e.name, message: e.message, code: e.code };
  }

  // ---------------------------------------------------------------- internals

  private findWorker(name: string): WorkerRecord | undefined {
    const byId = this.workers.get(name) ?? this.workersByAddress.get(name);
    if (byId) return byId;
    for (const ws of this.workers.values()) if (ws.name === name) return ws;
    return undefined;
  }

  private begin(what: string): void {
    this.stimulus = `${what}-${++this.stimulusCount}`;
  }

  /**
   * Carries out recommendations until none are left, a round at a time (taking the first entry of
   * a Map after many deletions is slow in V8, so we never do that). A newer recommendation for a
   * task replaces an older one that has not run yet.
   */
  private run(): void {
    for (;;) {
      while (this.recs.size > 0) {
        const round = this.recs;
        const extras = this.recExtras;
        this.recs = new Map();
        this.recExtras = new Map();
        for (const [ts, finish] of round) {
          if (this.recs.has(ts) || ts.state === "forgotten") continue; // superseded, or gone
          this.transition(ts, finish, extras.get(ts) ?? NO_EXTRA);
        }
      }
      // Retirements move on once the tasks have settled (a kept worker may take tasks again).
      if (this.retirements.size === 0) break;
      advanceRetirements(this);
      if (this.recs.size === 0) break;
    }
    if (this.retirements.size === 0 && this.replicaAttempts.size > 0) {
      this.replicaAttempts.clear();
      this.pendingReplicas.clear();
    }
    this.outbox.flushFrees();
  }

  private transition(ts: TaskState, finish: TaskStateName, extra: TransitionExtra): void {
    const start = ts.state;
    if (start === finish) return;
    const fn = TRANSITIONS[`${start}>${finish}`];
    if (fn) {
      fn(this, ts, extra);
      // A no-worker task offered to new workers none of which may run it stays where it was.
      if (ts.state !== start) this.story.record(ts.key, start, ts.state, this.stimulus, this.now);
      return;
    }
    if (start === "released" || finish === "released") {
      throw new Error(`scheduler bug: no transition ${start}>${finish} for ${ts.key}`);
    }
    this.transition(ts, "released", extra);
    if (ts.state === "released") this.transition(ts, finish, extra);
  }
}

const NO_EXTRA: TransitionExtra = Object.freeze({});

/**
 * The tasks a worker that died may have died of: those it said it was running; if it said none
 * (it was in a run of quick tasks), the first in priority of those queued on it, since workers run
 * them in priority order. Counting every queued task instead would stop innocent tasks after a few
 * unrelated deaths (each worker holds a long queue).
 */
function suspectsOf(ws: WorkerRecord): Set<TaskState> {
  if (ws.started.size > 0) return new Set(ws.started);
  let first: TaskState | null = null;
  for (const ts of ws.processing) if (!first || comparePriority(ts.priority, first.priority) < 0) first = ts;
  return new Set(first ? [first] : []);
}
