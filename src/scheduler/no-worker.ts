// Tasks no current worker may run (their `workers` or `resources` match none, they need Node and
// the workers are tabs, or there are no workers): why, told to the clients waiting for them at
// once, and failing those given a `noWorkerTimeout` once it has passed (Dask's no-workers-timeout).
// Pure: the shell passes the time.

import { errorToData, NoWorkerError } from "../errors.js";
import type { ClientState, TaskState, WorkerRecord } from "./model.js";
import { inBrowser } from "./platforms.js";
import type { Core } from "./core.js";

/**
 * Dependents walked to find the clients waiting for a task they need (a graph's output waits on
 * its blocks): enough for any graph a client waits on, bounded so one event stays cheap.
 */
export const WANTERS_WALK_LIMIT = 10_000;

/** Why no worker may run `ts` now, in words naming what it asks for and what there is. */
export function whyNoWorker(ts: TaskState, workers: Iterable<WorkerRecord>): string {
  const all = [...workers];
  const running = all.filter((ws) => ws.status === "running");
  if (running.length === 0)
    return all.length === 0 ? "no workers are connected" : "no worker is running (all are closing)";
  const spec = ts.spec;
  const names = (list: WorkerRecord[]) => list.map((ws) => ws.name).join(", ");
  let able = running;
  if (spec?.workers?.length) {
    able = able.filter((ws) => spec.workers!.some((w) => w === ws.id || w === ws.name || w === ws.address));
    if (able.length === 0)
      return `it may only run on ${spec.workers.map((w) => JSON.stringify(w)).join(", ")}, and no such worker is connected (workers: ${names(running)})`;
  }
  if (spec?.nodeOnly !== undefined) {
    const onNode = able.filter((ws) => !inBrowser(ws));
    if (onNode.length === 0)
      return `it runs on Node workers only (${spec.nodeOnly}), and the workers that may take it are browser tabs (${names(able)})`;
    able = onNode;
  }
  if (spec?.resources) {
    const need = spec.resources;
    const offering = able.filter((ws) => Object.entries(need).every(([r, n]) => (ws.resources[r] ?? 0) >= n));
    if (offering.length === 0) {
      const offered = able.map((ws) => `${ws.name} ${JSON.stringify(ws.resources)}`).join(", ");
      return `it needs resources ${JSON.stringify(need)}, which no connected worker offers (${offered})`;
    }
    able = offering;
  }
  if (able.every((ws) => ws.paused)) return `every worker that may run it is paused, its memory full (${names(able)})`;
  if (!able.some((ws) => ws.trusted) && (ts.private || spec?.verify === 1)) {
    return `it ${ts.private ? "is private data, or computed from it," : "is marked verify: 1"} and runs only on trusted workers, and none is connected (workers: ${names(able)})`;
  }
  if (ts.timedOutOn && able.every((ws) => ts.timedOutOn!.has(ws)))
    return `it ran past its timeout on every worker that may run it (${names(able)}), and is not given back to them`;
  return "no worker may run it";
}

/** The clients waiting for `ts`: wanting it, or a task that depends on it (walked up to a bound). */
export function wantersOf(ts: TaskState): Set<ClientState> {
  const out = new Set<ClientState>();
  const seen = new Set<TaskState>([ts]);
  const queue = [ts];
  for (let i = 0; i < queue.length && seen.size < WANTERS_WALK_LIMIT; i++) {
    const t = queue[i]!;
    for (const cs of t.whoWants) out.add(cs);
    for (const d of t.dependents) {
      if (seen.has(d)) continue;
      seen.add(d);
      queue.push(d);
    }
  }
  return out;
}

/** `ts` has just gone to no-worker: note why in its story and tell the clients waiting for it. */
export function enteredNoWorker(s: Core, ts: TaskState): void {
  ts.noWorkerSince = s.now;
  const reason = whyNoWorker(ts, s.workers.values());
  s.noteStory(ts, `no worker may run it: ${reason}`);
  for (const cs of wantersOf(ts)) s.outbox.toClient(cs, { op: "key-waiting", key: ts.key, why: "no-worker", reason });
}

/** The earliest time (shell clock, ms) a task in no-worker runs out of its noWorkerTimeout, if any has one. */
export function nextNoWorkerDeadline(s: Core): number | undefined {
  let next: number | undefined;
  for (const ts of s.unrunnable) {
    const t = ts.spec?.noWorkerTimeout;
    if (t === undefined) continue;
    const at = ts.noWorkerSince + t;
    if (next === undefined || at < next) next = at;
  }
  return next;
}

/** Fails, with NoWorkerError, every task that has waited in no-worker longer than its noWorkerTimeout. */
export function expireNoWorker(s: Core): void {
  s.begin("no-worker-timeout");
  for (const ts of s.unrunnable) {
    const t = ts.spec?.noWorkerTimeout;
    if (t === undefined || s.now - ts.noWorkerSince < t) continue;
    const error = errorToData(
      new NoWorkerError(
        `task ${ts.key} waited ${Math.round(s.now - ts.noWorkerSince)} ms (noWorkerTimeout ${t} ms) for a worker that may run it: ${whyNoWorker(ts, s.workers.values())}`,
      ),
      { stack: false },
    );
    s.recommend(ts, "erred", { error, blame: ts.key });
  }
  s.run();
}

/** Keys named per client in the notices of one lost worker (the log shows a few anyway). */
export const RECOMPUTING_NOTICES_PER_CLIENT = 10;

/**
 * Work lost with a worker (`lost`: tasks it was running, results only it held) is being computed
 * again: tells each client waiting for some of it, naming up to a few of the lost keys. One walk
 * over the dependents of all of them, so a big graph costs one pass, not one per task.
 * `skipDirect`: keys whose wanting clients heard already (key-lost).
 */
export function tellRecomputing(
  s: Core,
  lost: readonly TaskState[],
  reason: string,
  skipDirect: ReadonlySet<TaskState>,
): void {
  const told = new Map<ClientState, Set<TaskState>>();
  const seen = new Set<TaskState>();
  const queue: { ts: TaskState; source: TaskState }[] = [];
  for (const ts of lost) {
    // Erred: its clients were told so. In no-worker: they were told why it cannot run again.
    if (ts.state === "forgotten" || ts.state === "erred" || ts.state === "no-worker" || seen.has(ts)) continue;
    seen.add(ts);
    queue.push({ ts, source: ts });
  }
  for (let i = 0; i < queue.length && seen.size < WANTERS_WALK_LIMIT; i++) {
    const { ts, source } = queue[i]!;
    if (!(ts === source && skipDirect.has(ts))) {
      for (const cs of ts.whoWants) {
        let sources = told.get(cs);
        if (!sources) told.set(cs, (sources = new Set()));
        if (sources.size >= RECOMPUTING_NOTICES_PER_CLIENT || sources.has(source)) continue;
        sources.add(source);
        s.outbox.toClient(cs, { op: "key-waiting", key: source.key, why: "recomputing", reason });
      }
    }
    for (const d of ts.dependents) {
      if (seen.has(d)) continue;
      seen.add(d);
      queue.push({ ts: d, source });
    }
  }
}
