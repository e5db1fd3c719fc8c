// Checks the whole worker state for consistency (Dask's WorkerState.validate_state): each task in
// exactly one state and its inputs accounted for, fetches matching what waits for them, the ready
// heap matching the ready tasks, the bytes held matching the results held, pausing matching the
// memory limit. Run after every event when WorkerStateOptions.validate is on (tests, fuzzing).
// Pure: reads, never writes.

import { MAX_PROBLEMS } from "../util/invariant.js";
import type { WorkerTask } from "./events.js";
import type { Fetch } from "./fetches.js";
import type { WorkerMemory } from "./memory.js";
import { PAUSE_FRACTION } from "./spill.js";

/** What a check reads of a WorkerState (its private parts, handed over by the state itself). */
export interface WorkerStateView {
  readonly tasks: ReadonlyMap<string, WorkerTask>;
  /** The ready heap's entries, stale ones (stolen, freed) included. */
  readonly ready: readonly WorkerTask[];
  readonly fetches: ReadonlyMap<string, Fetch>;
  readonly waitingFor: ReadonlyMap<string, ReadonlySet<WorkerTask>>;
  readonly replicaWanted: ReadonlySet<string>;
  readonly memory: WorkerMemory;
  readonly memoryLimit: number;
  readonly threads: number;
}

/** Every broken invariant of the worker state `s`, in words naming the keys involved (empty: consistent). */
export function findWorkerProblems(s: WorkerStateView): string[] {
  const out: string[] = [];
  const bad = (text: string) => {
    if (out.length < MAX_PROBLEMS) out.push(text);
  };
  const held = (key: string) => s.memory.holds(key);
  let running = 0;

  for (const [key, t] of s.tasks) {
    if (t.key !== key) bad(`tasks has ${t.key} under the key ${key}`);
    const missing = t.missing?.size ?? 0;
    switch (t.state) {
      case "waiting":
        if (missing === 0) bad(`${key} is waiting for nothing`);
        break;
      case "ready":
      case "executing":
      case "cancelled":
        if (missing > 0) bad(`${key} is ${t.state} but misses ${[...t.missing!].join(", ")}`);
        if (t.state !== "ready") running++;
        break;
      default:
        bad(`${key} is ${t.state} but still among the tasks`);
    }
    if ((t.state === "waiting" || t.state === "ready") && held(key))
      bad(`${key} is ${t.state} though its result is held here`);
    // The scheduler frees no input of a task it left here; the task loop reads them when it runs the task.
    if (t.state === "waiting" || t.state === "ready")
      for (const dep of t.deps)
        if (!held(dep.key) && !t.missing?.has(dep.key)) bad(`${key} is ${t.state} but its input ${dep.key} is gone`);
    for (const dep of t.missing ?? []) {
      if (held(dep)) bad(`${key} misses ${dep}, which is held here`);
      if (!s.waitingFor.get(dep)?.has(t)) bad(`${key} misses ${dep} but is not among the tasks waiting for it`);
      if (!s.fetches.has(dep)) bad(`${key} misses ${dep}, which is not being fetched`);
    }
  }
  if (running > s.threads) bad(`${running} tasks are executing on ${s.threads} thread(s)`);

  for (const [dep, waiting] of s.waitingFor) {
    if (waiting.size === 0) bad(`nothing waits for ${dep}, yet it is listed`);
    for (const t of waiting) {
      if (s.tasks.get(t.key) !== t) bad(`${t.key} (${t.state}) waits for ${dep} but is not among the tasks`);
      if (!t.missing?.has(dep)) bad(`${t.key} is listed as waiting for ${dep} but does not miss it`);
    }
  }

  for (const [key, f] of s.fetches) {
    if (held(key)) bad(`${key} is being fetched but is held here`);
    // After an event every request is sent: a fetch is in flight, or waits for fresh tickets.
    if (f.from === null && (f.candidates.length > 0 || !f.renewals))
      bad(`${key} is being fetched from nobody, with ${f.candidates.length} holder(s) left to ask`);
    // One in flight may have lost its takers (they were freed); its answer is then dropped.
    if (f.from === null && !s.waitingFor.has(key) && !s.replicaWanted.has(key))
      bad(`${key} waits for fresh tickets, but nothing here wants it`);
  }
  for (const key of s.replicaWanted) {
    if (held(key)) bad(`a copy of ${key} is wanted but it is held here`);
    if (!s.fetches.has(key)) bad(`a copy of ${key} is wanted but is not being fetched`);
  }

  // The ready heap holds every ready task (and stale entries, skipped when popped).
  const inHeap = new Set<WorkerTask>();
  for (const t of s.ready) {
    if (t.state !== "ready") continue;
    if (inHeap.has(t)) bad(`${t.key} is in the ready heap twice`);
    inHeap.add(t);
    if (s.tasks.get(t.key) !== t) bad(`${t.key} is ready in the heap but not among the tasks`);
  }
  for (const t of s.tasks.values()) if (t.state === "ready" && !inHeap.has(t)) bad(`${t.key} is ready but not queued`);

  checkMemory(s, bad);
  return out;
}

/** Results held: in memory or spilled, never both; sizes and byte counts agree; paused iff past the pause threshold. */
function checkMemory(s: WorkerStateView, bad: (text: string) => void): void {
  const m = s.memory;
  let bytes = 0;
  for (const key of m.data.keys()) {
    const n = m.sizes.get(key);
    if (n === undefined) bad(`${key} is held in memory without a size`);
    else bytes += n;
    if (m.spilled.has(key)) bad(`${key} is both in memory and spilled`);
  }
  let spilled = 0;
  for (const [key, n] of m.spilled) {
    spilled += n;
    if (m.sizes.get(key) !== n) bad(`${key} is spilled at ${n} bytes but its size says ${m.sizes.get(key)}`);
  }
  for (const key of m.sizes.keys()) if (!m.holds(key)) bad(`${key} has a size but is not held`);
  if (bytes !== m.bytes) bad(`memory counts ${m.bytes} bytes, the results in memory add up to ${bytes}`);
  if (spilled !== m.spilledBytes)
    bad(`spilled counts ${m.spilledBytes} bytes, the spilled results add up to ${spilled}`);
  const over = s.memoryLimit > 0 && m.bytes > PAUSE_FRACTION * s.memoryLimit;
  if (m.paused !== over)
    bad(`paused is ${m.paused} with ${m.bytes} bytes in memory and a limit of ${s.memoryLimit} bytes`);
}
