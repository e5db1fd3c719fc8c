// Drives a WorkerState with plain-data actions, as its scheduler, its peers, its clients and its
// task loop would: compute-task (inputs on peers, here, or nowhere), free-keys and steal-requests
// within the scheduler's rules, peers answering fetches (all, some missing, failing, expired
// tickets, bad bytes), fresh tickets, copies asked for, scatters, the loop running, finishing and
// failing tasks, and results read back from the spill store. Actions name things by index, taken
// modulo what exists when they run, so every random sequence is valid and fast-check can shrink it.
// It records what the worker answered for each task, to check that every task ends settled.

import { serialize, WorkerState, type DepLocation } from "../../src/internal.js";
import type { WorkerEvent, WorkerInstruction, WorkerTask } from "../../src/worker/state.js";
import { MapStore } from "./map-store.js";

export const SELF = "addr-self";
const PEERS = ["p1", "p2", "p3"];
/** The memory limit of the runs: a few results of 8-90 bytes pass its 60 % and 80 % thresholds. */
export const LIMIT = 200;

export type WorkerAction =
  | { op: "compute"; key: number; deps: number[]; holders: number; digest: boolean; priority: number }
  | { op: "free"; pick: number }
  | { op: "steal"; picks: number[] }
  | { op: "run" }
  | { op: "started" }
  | { op: "finish"; ok: boolean; nbytes: number }
  | { op: "answer"; pick: number; outcome: "arrive" | "partial" | "fail" | "expired" | "bad-data" }
  | { op: "renew"; pick: number; holders: number }
  | { op: "acquire"; keys: number[]; holders: number }
  | { op: "scatter"; key: number; nbytes: number }
  | { op: "read"; pick: number };

/** Instructions and answers seen per kind, over every run: shows the runs reach what they are meant to. */
export const seen = new Map<string, number>();

export class WorkerDriver {
  readonly w: WorkerState;
  /** Tasks the scheduler sent and is waiting to hear about (finished, erred, missing input, stolen). */
  readonly outstanding = new Set<string>();
  /** Fetch requests sent to peers and not answered yet. */
  readonly requests: { from: string; keys: string[] }[] = [];
  /** Keys whose tickets the worker asked to renew, not renewed yet. */
  readonly renewals = new Set<string>();
  /** The task the loop runs now. */
  executing: WorkerTask | undefined = undefined;
  /** What the worker last told the scheduler about pausing. */
  toldPaused = false;
  private stimuli = 0;

  constructor(spill: boolean) {
    this.w = new WorkerState(SELF, { limit: LIMIT, spill: spill ? new MapStore() : undefined, validate: true });
  }

  step(a: WorkerAction): void {
    const w = this.w;
    switch (a.op) {
      case "compute": {
        const key = `t${a.key}`;
        const existing = w.tasks.get(key);
        // The scheduler sends a key again only after freeing it (a task still running here resumes).
        if (existing && existing.state !== "cancelled") return;
        // A result is verified (computed again with a digest) before any task uses it: not one held here for a task.
        if (a.digest && this.neededByOthers(key)) return;
        // Inputs are results in memory somewhere: on peers (d0-d9), or results of tasks computed here and held.
        const deps = [...new Set(a.deps)]
          .filter((d) => d < 10 || (d !== a.key + 10 && w.holds(`t${d - 10}`)))
          .map((d) => this.location(d, a.holders));
        // A task's inputs held here stay until it is done: the scheduler frees none it still needs.
        this.outstanding.add(key);
        this.feed({
          op: "compute-task",
          task: {
            op: "compute-task",
            key,
            fn: { kind: "source", id: "fn" },
            args: serialize([key]).payload,
            deps,
            priority: [a.priority, a.key],
            digest: a.digest || undefined,
          },
          stimulus: this.stimulus("compute-task"),
        });
        if (!w.tasks.has(key)) this.outstanding.delete(key); // answered at once (held, or an input missing)
        return;
      }
      case "free": {
        const keys = [...new Set([...w.tasks.keys(), ...w.sizes.keys()])].sort();
        const key = pick(keys, a.pick);
        if (key === undefined || this.neededByOthers(key)) return;
        this.outstanding.delete(key);
        return this.feed({ op: "free-keys", keys: [key], stimulus: this.stimulus("free-keys") });
      }
      case "steal": {
        const keys = [...w.tasks.keys()].sort();
        const asked = [...new Set(a.picks.map((i) => pick(keys, i)!))].filter(Boolean);
        if (asked.length === 0) return;
        return this.feed({ op: "steal-request", keys: asked, stimulus: this.stimulus("steal-request") });
      }
      case "run":
        if (this.executing) return; // one thread
        this.executing = w.nextReady();
        if (this.executing && w.paused) throw new Error(`${this.executing.key} started while the worker is paused`);
        return;
      case "started":
        if (this.executing)
          this.feed({ op: "task-started", task: this.executing, stimulus: this.stimulus("task-started") });
        return;
      case "finish":
        return this.finish(a.ok, a.nbytes);
      case "answer": {
        if (this.requests.length === 0) return;
        const r = this.requests.splice(a.pick % this.requests.length, 1)[0]!;
        return this.answer(r, a.outcome);
      }
      case "renew": {
        const key = pick([...this.renewals].sort(), a.pick);
        if (key === undefined) return;
        this.renewals.delete(key);
        return this.feed({
          op: "tickets-renewed",
          keys: [{ key, who: holders(a.holders), nbytes: bytesOf(key) }],
          stimulus: this.stimulus("tickets-renewed"),
        });
      }
      case "acquire": {
        const keys = [...new Set(a.keys)].map((i) => this.location(i % 10, a.holders));
        return this.feed({ op: "acquire-replicas", keys, stimulus: this.stimulus("acquire-replicas") });
      }
      case "scatter": {
        const key = `s${a.key}`;
        return this.feed({
          op: "data-put",
          key,
          value: new Uint8Array(a.nbytes),
          nbytes: a.nbytes,
          stimulus: this.stimulus("data-put"),
        });
      }
      case "read": {
        // A peer or the task loop reads a result: a spilled one comes back into memory (which may pause the worker).
        const key = pick([...w.sizes.keys()].sort(), a.pick);
        if (key !== undefined) w.value(key);
        return this.feed([]); // the next turn's events, none here: pausing is told even so
      }
    }
  }

  /**
   * Lets the worker finish: peers answer every request, tickets are renewed, the loop runs every
   * ready task, and while the worker stays paused the scheduler frees results nothing here needs.
   */
  settle(maxRounds = 500): void {
    for (let round = 0; round < maxRounds; round++) {
      if (this.executing) this.finish(true, 8);
      else if (this.requests.length > 0) this.answer(this.requests.shift()!, "arrive");
      else if (this.renewals.size > 0) this.step({ op: "renew", pick: 0, holders: 1 });
      else if ((this.executing = this.w.nextReady())) continue;
      else if (this.w.paused) {
        // As the scheduler does: a paused worker's queue is stolen, then results nobody needs are released.
        if (this.w.tasks.size > 0)
          this.feed({ op: "steal-request", keys: [...this.w.tasks.keys()], stimulus: this.stimulus("steal-request") });
        const spare = [...this.w.sizes.keys()].filter((k) => !this.neededByOthers(k));
        if (spare.length === 0) throw new Error("the worker stays paused holding only inputs of its tasks");
        this.feed({ op: "free-keys", keys: spare, stimulus: this.stimulus("free-keys") });
      } else return;
    }
    throw new Error(`the worker did not settle in ${maxRounds} rounds`);
  }

  private finish(ok: boolean, nbytes: number): void {
    const task = this.executing;
    if (!task) return;
    this.executing = undefined;
    if (ok)
      this.feed({
        op: "task-done",
        task,
        value: new Uint8Array(nbytes),
        nbytes,
        duration: 1,
        stimulus: this.stimulus("task-done"),
      });
    else
      this.feed({
        op: "task-erred",
        task,
        error: { name: "Error", message: `${task.key} failed` },
        stimulus: this.stimulus("task-erred"),
      });
  }

  private answer(
    r: { from: string; keys: string[] },
    outcome: Extract<WorkerAction, { op: "answer" }>["outcome"],
  ): void {
    seen.set(`answer-${outcome}`, (seen.get(`answer-${outcome}`) ?? 0) + 1);
    const values = (keys: string[]) =>
      new Map(keys.map((k) => [k, { value: new Uint8Array(bytesOf(k)), nbytes: bytesOf(k) }]));
    const events: WorkerEvent[] = [];
    const half = Math.ceil(r.keys.length / 2);
    switch (outcome) {
      case "arrive":
        events.push({ op: "data-arrived", from: r.from, values: values(r.keys), missing: [], stimulus: "" });
        break;
      case "partial":
        events.push({
          op: "data-arrived",
          from: r.from,
          values: values(r.keys.slice(0, half)),
          missing: r.keys.slice(half),
          stimulus: "",
        });
        break;
      case "fail":
        events.push({ op: "fetch-failed", from: r.from, keys: r.keys, stimulus: "" });
        break;
      case "expired":
        events.push({ op: "tickets-expired", from: r.from, keys: r.keys, stimulus: "" });
        break;
      case "bad-data":
        // The data plane drops the bytes that do not match their digest, says so, and tries another holder.
        events.push({ op: "bad-data", key: r.keys[0]!, from: r.from, stimulus: "" });
        events.push({ op: "fetch-failed", from: r.from, keys: [r.keys[0]!], stimulus: "" });
        events.push({ op: "data-arrived", from: r.from, values: values(r.keys.slice(1)), missing: [], stimulus: "" });
        break;
    }
    for (const e of events) e.stimulus = this.stimulus(e.op);
    this.feed(events);
  }

  /** Whether `key` is an input of a task here other than itself (the scheduler does not free it then). */
  private neededByOthers(key: string): boolean {
    for (const t of this.w.tasks.values()) if (t.key !== key && t.deps.some((d) => d.key === key)) return true;
    return this.executing?.deps.some((d) => d.key === key) === true;
  }

  /** Input `i`: d0-d9 are results on peers; 10 and up are results of tasks computed here (t0 …), held here. */
  private location(i: number, mask: number): DepLocation {
    if (i >= 10) return { key: `t${i - 10}`, who: [SELF], nbytes: bytesOf(`t${i - 10}`) };
    return { key: `d${i}`, who: holders(mask), nbytes: bytesOf(`d${i}`) };
  }

  private feed(events: WorkerEvent | WorkerEvent[]): void {
    for (const ins of this.w.handle(events)) this.apply(ins);
  }

  private apply(ins: WorkerInstruction): void {
    const kind = ins.kind === "send" ? ins.msg.op : ins.kind === "paused" ? `paused-${ins.paused}` : "fetch";
    seen.set(kind, (seen.get(kind) ?? 0) + 1);
    if (ins.kind === "fetch") {
      this.requests.push({ from: ins.from, keys: ins.keys });
      return;
    }
    if (ins.kind === "paused") {
      if (ins.paused === this.toldPaused) throw new Error(`told paused: ${ins.paused} twice`);
      this.toldPaused = ins.paused;
      return;
    }
    const msg = ins.msg;
    switch (msg.op) {
      case "task-finished":
      case "task-erred":
      case "missing-data":
        if (!this.outstanding.delete(msg.key) && !(msg.op === "task-finished" && msg.held))
          throw new Error(`${msg.op} for ${msg.key}, which the scheduler is not waiting for`);
        return;
      case "steal-response":
        for (const k of msg.stolen) if (!this.outstanding.delete(k)) throw new Error(`stole ${k}, which is not queued`);
        return;
      case "renew-tickets":
        for (const k of msg.keys) this.renewals.add(k);
        return;
      default:
        return;
    }
  }

  private stimulus(op: string): string {
    return `${op}-${++this.stimuli}`;
  }
}

/** Peers holding a result, by bit (none: only this worker is named, wrongly: the scheduler's mistake). */
function holders(mask: number): string[] {
  const who = PEERS.filter((_, i) => mask & (1 << i));
  return who.length > 0 ? who : [SELF];
}

/** The bytes of `key`'s result: the same wherever it is read. */
function bytesOf(key: string): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) | 0;
  return 8 + (Math.abs(h) % 40);
}

function pick<T>(list: readonly T[], i: number): T | undefined {
  return list.length === 0 ? undefined : list[i % list.length];
}
