// Building blocks for the pure SchedulerState tests: tasks, workers, a drained scheduler, and a
// compact rendering of instructions for exact comparisons.

import { SchedulerState, serialize, type FnDef, type Instruction, type TaskMsg } from "../../src/internal.js";
import type { SchedulerStateOptions } from "../../src/scheduler/state.js";

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
  s.addWorker(
    id,
    { address: `addr-${id}`, kind: "thread", nthreads: 1, memoryLimit: 0, resources, name: id },
    trusted,
    host,
  );
}

/** A scheduler with client "c" and the given workers, start-up output drained; it validates its state after every event. */
export function cluster(workers: string[], options?: SchedulerStateOptions): SchedulerState {
  const s = new SchedulerState({ validate: true, ...options });
  s.addClient("c");
  for (const w of workers) addWorker(s, w);
  s.takeInstructions();
  return s;
}

export function submit(
  s: SchedulerState,
  tasks: TaskMsg[],
  wants = tasks.map((t) => t.key),
  client = "c",
): Instruction[] {
  s.updateGraph(client, tasks, [FN], wants);
  return s.takeInstructions();
}

export function finish(s: SchedulerState, worker: string, key: string, nbytes = 8): Instruction[] {
  s.taskFinished(worker, key, nbytes, 1);
  return s.takeInstructions();
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
