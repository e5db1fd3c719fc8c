// Read-only views of the scheduler's state, for requests from clients (and the dashboard to come).

import type { WorkerInfo } from "../protocol/messages.js";
import type { SchedulerState } from "./state.js";

/** What client.workers() reports: each worker with its kind, tasks and memory. */
export function workerInfo(s: SchedulerState): WorkerInfo[] {
  return [...s.workers.values()].map((ws) => ({
    id: ws.id,
    name: ws.name,
    kind: ws.kind,
    address: ws.address,
    nthreads: ws.nthreads,
    memoryLimit: ws.memoryLimit,
    resources: ws.resources,
    memory: ws.nbytes,
    spilled: ws.spilled,
    paused: ws.paused,
    tasks: { processing: ws.processing.size, inMemory: ws.hasWhat.size, done: ws.tasksDone },
  }));
}
