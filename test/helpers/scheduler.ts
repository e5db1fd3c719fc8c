// Building blocks for the pure SchedulerState tests: tasks, workers, a drained scheduler, events
// fed in with their instructions kept until taken, and a compact rendering of instructions for
// exact comparisons.

import { SchedulerState, serialize, type FnDef, type Instruction, type TaskMsg } from "../../src/internal.js";
import type { SchedulerEvent } from "../../src/scheduler/events.js";
import type { SchedulerStateOptions } from "../../src/scheduler/state.js";

/** Instructions handed back by each state and not yet taken. */
const untaken = new WeakMap<SchedulerState, Instruction[]>();

/** Hands `s` one event; the instructions it returns wait for take(s), after those of earlier events. */
export function feed(s: SchedulerState, e: SchedulerEvent): void {
  const out = s.handle(e);
  const before = untaken.get(s);
  if (before) before.push(...out);
  else untaken.set(s, out);
}

/** The instructions of the events fed since the last take, in order. */
export function take(s: SchedulerState): Instruction[] {
  const out = untaken.get(s) ?? [];
  untaken.delete(s);
  return out;
}

/** A work-stealing round; returns how many tasks it asked loaded workers for (the keys of its steal-requests). */
export function balance(s: SchedulerState): number {
  const out = s.handle({ op: "balance" });
  untaken.set(s, [...take(s), ...out]);
  let asked = 0;
  for (const ins of out) if (ins.msg.op === "steal-request") asked += ins.msg.keys.length;
  return asked;
}

export const FN: FnDef = { id: "fn-inc", source: "(x) => x + 1", name: "inc" };
let order = 0;

/** A task running FN; `deps` are keys it needs first. Priorities follow creation order. */
export function task(key: string, deps: string[] = [], extra: Partial<TaskMsg> = {}): TaskMsg {
  return {
    key,
    fn: { kind: "source", id: FN.id },
    args: serialize([key]).payload,
    deps,
    priority: [0, 0, order++],
    retries: 0,
    ...extra,
  };
}

export function addWorker(
  s: SchedulerState,
  id: string,
  resources: Record<string, number> = {},
  trusted = true,
  host = "",
): void {
  feed(s, {
    op: "worker-added",
    worker: id,
    hello: { address: `addr-${id}`, kind: "thread", nthreads: 1, memoryLimit: 0, resources, name: id },
    trusted,
    host,
  });
}

/** A scheduler with client "c" and the given workers, start-up output drained; it validates its state after every event. */
export function cluster(workers: string[], options?: SchedulerStateOptions): SchedulerState {
  const s = new SchedulerState({ validate: true, ...options });
  feed(s, { op: "client-added", client: "c" });
  for (const w of workers) addWorker(s, w);
  take(s);
  return s;
}

export function submit(
  s: SchedulerState,
  tasks: TaskMsg[],
  wants = tasks.map((t) => t.key),
  client = "c",
): Instruction[] {
  feed(s, { op: "update-graph", client, tasks, fns: [FN], wants });
  return take(s);
}

export function finish(s: SchedulerState, worker: string, key: string, nbytes = 8): Instruction[] {
  feed(s, { op: "task-finished", worker, key, nbytes, duration: 1 });
  return take(s);
}

/** Instructions as "target op key(s)" lines: exact and in order, and readable in a failure diff. */
export function lines(out: Instruction[]): string[] {
  return out.map((ins) => {
    const msg = ins.msg;
    if (msg.op === "worker-banned") return `scheduler banned ${msg.name}`;
    if (msg.op === "retirement-done")
      return `scheduler retired ${msg.result.retired.join(",")} kept ${msg.result.kept.map((k) => k.id).join(",")}`;
    const keys =
      "key" in msg ? msg.key : "keys" in msg ? msg.keys.map((k) => (typeof k === "string" ? k : k.key)).join(",") : "";
    return `${ins.id} ${msg.op} ${keys}`;
  });
}
