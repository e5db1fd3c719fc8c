// Read-only views of the scheduler's state, for requests from clients (and the dashboard to come).

import type { LinkInfo, WorkerInfo } from "../protocol/messages.js";
import type { SchedulerState } from "./state.js";

/** What client.workers() reports: each worker with its kind, tasks and memory. */
export function workerInfo(s: SchedulerState): WorkerInfo[] {
  return [...s.workers.values()].map((ws) => ({
    id: ws.id,
    name: ws.name,
    kind: ws.kind,
    trusted: ws.trusted,
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

/**
 * The data links between workers, as the workers opening them last reported (heartbeats): each
 * pair with its link kind, bytes moved and recent rate. Peers that are not current workers show by
 * their address.
 */
export function linkInfo(s: SchedulerState): LinkInfo[] {
  const out: LinkInfo[] = [];
  for (const ws of s.workers.values()) {
    for (const l of ws.links) {
      out.push({
        from: ws.id,
        to: s.workerAt(l.peer)?.id ?? l.peer,
        kind: l.kind,
        bytes: l.bytesIn + l.bytesOut,
        MBps: Math.round(l.bytesPerSecond / 1e4) / 100,
      });
    }
  }
  return out;
}
