// The property driver's actions that come from the scheduler's shell and its timers rather than
// from one client or worker message: heartbeats with their data links, time passing (task
// timeouts, no-worker timeouts, the worker TTL letting silent workers go), modules uploaded, and
// the adaptive loop deciding to grow or shrink the cluster (adaptive.ts, and processes.ts for
// worker processes started with `--adapt`), carried out as the shell would.

import { adaptDecision } from "../../src/scheduler/adaptive.js";
import {
  mayRetire,
  processBounds,
  processClosable,
  processGroups,
  scaleUpAsks,
} from "../../src/scheduler/processes.js";
import type { Driver } from "./event-driver.js";

export type ShellAction =
  | { op: "heartbeat"; pick: number; paused: boolean; links: number; bytes: number }
  | { op: "time"; ms: number }
  | { op: "upload"; nodeOnly: boolean }
  | { op: "adapt" };

/** The worker TTL of the runs: a worker silent for longer (no message in a "time" step of 70 s) is let go. */
export const TTL_MS = 60_000;

/** Bounds of the runs' adaptive worker processes (`meshwork worker --adapt 1:3`). */
export const GROUP_BOUNDS = { minimum: 1, maximum: 3 };

/**
 * The adaptive loop's options: the runs' tasks take 1 ms, so a target duration of 1 ms makes queued
 * work call for more workers (up to `maximum`) and an empty queue for fewer, after `wait` checks.
 */
const ADAPT = { minimum: 1, maximum: 6, targetDurationMs: 1, memoryFraction: 0.6, wait: 2 };

/** Workers one adapt step starts at most (a run stays small). */
const MAX_GROWTH = 3;

export function shellStep(d: Driver, a: ShellAction): void {
  const s = d.s;
  switch (a.op) {
    case "heartbeat": {
      // Memory, pausing and the data links it opened to other workers (some of them gone), bytes so far.
      const w = pick([...d.workers.keys()], a.pick);
      if (!w) return;
      const peers = [...d.workers.keys(), "gone"].filter((p) => p !== w).slice(0, a.links);
      const links = peers.map((p, i) => ({
        peer: `addr-${p}`,
        kind: "ws",
        bytesIn: a.bytes * (i + 1),
        bytesOut: a.bytes,
      }));
      d.feed({
        op: "heartbeat",
        worker: w,
        memory: a.bytes,
        executing: 0,
        spilled: 0,
        paused: a.paused,
        ready: 0,
        links,
      });
      return d.deliver();
    }
    case "time":
      s.now += a.ms;
      d.feed({ op: "check-timeouts" });
      d.deliver();
      d.feed({ op: "no-worker-timeout" });
      d.deliver();
      d.feed({ op: "check-ttl", ttlMs: TTL_MS });
      d.deliver();
      // The shell closes the connections of the workers let go; their removal is an event of its own.
      for (const id of d.expired.splice(0)) if (d.workers.has(id)) d.removeWorker(id, true);
      if (d.s.unrunnable.size > 0) d.note("no-worker-after-time");
      return;
    case "upload": {
      const hash = `mod-${d.modules.length}`;
      d.modules.push(hash);
      const source = "export const f = (x) => x;";
      d.feed({
        op: "upload-module",
        module: a.nodeOnly
          ? { hash, source, exports: ["f"], nodeOnly: "it imports node:fs" }
          : { hash, source, exports: ["f"], browser: { hash: `${hash}-browser`, source } },
      });
      return d.deliver();
    }
    case "adapt":
      return adapt(d);
  }
}

/** One check of the adaptive loop, as the shell runs it: for worker processes when any joined with bounds, else LocalCluster.adapt's. */
function adapt(d: Driver): void {
  const s = d.s;
  const grouped = processGroups(s).size > 0;
  const bounds = grouped ? processBounds(s) : { minimum: ADAPT.minimum, maximum: ADAPT.maximum };
  const decision = adaptDecision(
    s,
    { ...ADAPT, ...bounds },
    d.lowChecks,
    grouped ? (ws) => processClosable(s, ws) : undefined,
  );
  d.lowChecks = decision.lowChecks;
  if (decision.up > 0) {
    const up = Math.min(decision.up, MAX_GROWTH);
    d.note(grouped ? "adapt-up-processes" : "adapt-up");
    if (!grouped) for (let i = 0; i < up; i++) d.addWorker(true, false, false, 1, 0, false, null);
    else
      for (const ask of scaleUpAsks(s, up)) {
        // The asked thread's process starts threads in its own group.
        const group = Number(s.workers.get(ask.worker)!.group!.id.slice(1));
        for (let i = 0; i < ask.n; i++) d.addWorker(true, false, false, 1, 0, false, group);
      }
  } else if (decision.down.length > 0) {
    const workers = grouped ? mayRetire(s, decision.down) : decision.down;
    if (workers.length === 0) return;
    d.note(grouped ? "adapt-down-processes" : "adapt-down");
    d.feed({ op: "retire-workers", workers, ticket: d.taskCount++ });
    d.deliver();
  }
}

/** The `i`-th of `list`, modulo its length: how actions name what exists when they run. */
export function pick<T>(list: readonly T[], i: number): T | undefined {
  return list.length === 0 ? undefined : list[i % list.length];
}
