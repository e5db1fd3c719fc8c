// Worker processes that joined with adaptive bounds (`meshwork worker --adapt MIN:MAX`): the
// scheduler grows them (more threads in a process with room) and shrinks them (threads retired
// gracefully, never below a process's minimum). These are the decisions, as pure functions of the
// state; the shell (server.ts) runs them in an Adaptive loop and sends what they decide. Workers
// without bounds count towards the work but are never retired by this.

import type { SchedulerData } from "./core.js";
import type { WorkerRecord } from "./model.js";

/** One adaptive process: its bounds and its running threads (workers). */
export interface ProcessGroup {
  minimum: number;
  maximum: number;
  members: WorkerRecord[];
}

function running(s: SchedulerData): WorkerRecord[] {
  return [...s.workers.values()].filter((ws) => ws.status === "running");
}

/** The adaptive processes, by group id, with their running members. */
export function processGroups(s: SchedulerData): Map<string, ProcessGroup> {
  const out = new Map<string, ProcessGroup>();
  for (const ws of running(s)) {
    const adapt = ws.group?.adapt;
    if (!adapt) continue;
    let g = out.get(ws.group!.id);
    if (!g) out.set(ws.group!.id, (g = { minimum: adapt.minimum, maximum: adapt.maximum, members: [] }));
    g.members.push(ws);
  }
  return out;
}

/** The cluster's bounds: the workers without bounds (fixed), plus each process's minimum and maximum. */
export function processBounds(s: SchedulerData): { minimum: number; maximum: number } {
  const fixed = running(s).filter((ws) => !ws.group?.adapt).length;
  let minimum = fixed;
  let maximum = fixed;
  for (const g of processGroups(s).values()) {
    minimum += g.minimum;
    maximum += g.maximum;
  }
  return { minimum, maximum };
}

/** Whether `ws` may be retired: it belongs to an adaptive process above its minimum. */
export function processClosable(s: SchedulerData, ws: WorkerRecord): boolean {
  const g = ws.group?.adapt ? processGroups(s).get(ws.group.id) : undefined;
  return g !== undefined && g.members.length > g.minimum;
}

/** Up to `n` more threads, asked of the processes with room (first come first): the worker to ask in each, and how many. */
export function scaleUpAsks(s: SchedulerData, n: number): { worker: string; n: number }[] {
  const out: { worker: string; n: number }[] = [];
  let asked = 0;
  for (const g of processGroups(s).values()) {
    const k = Math.min(n - asked, g.maximum - g.members.length);
    if (k <= 0) continue;
    out.push({ worker: g.members[0]!.id, n: k });
    asked += k;
  }
  return out;
}

/** Of the workers picked to retire, those that may go: never below a process's minimum, even when several of its threads were picked. */
export function mayRetire(s: SchedulerData, ids: string[]): string[] {
  const now = processGroups(s);
  const left = new Map([...now].map(([id, g]) => [id, g.members.length]));
  return ids.filter((id) => {
    const gid = s.workers.get(id)?.group?.id;
    const g = gid === undefined ? undefined : now.get(gid);
    if (!g || left.get(gid!)! <= g.minimum) return false;
    left.set(gid!, left.get(gid!)! - 1);
    return true;
  });
}
