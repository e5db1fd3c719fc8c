// What clients ask of the scheduler, as events on its state: a graph of tasks to run (with the
// keys it wants), keys it releases or cancels, and data it scattered to workers. SchedulerState.handle
// calls these with the events (events.ts).

import { errorToData, GraphCycleError, LostDataError } from "../errors.js";
import type { CancelKeys, ReleaseKeys, UpdateData, UpdateGraph } from "../protocol/messages.js";
import type { FromClient } from "./events.js";
import { TaskState } from "./model.js";
import { coAssign } from "./placement.js";
import { needsNode } from "./platforms.js";
import type { Core } from "./core.js";

/** A client submits tasks (a key already known keeps its task) and says which keys it wants. */
export function updateGraph(s: Core, e: FromClient<UpdateGraph>): void {
  const { client: clientId, tasks, fns, wants } = e;
  const cs = s.clients.get(clientId);
  if (!cs) return;
  s.begin("update-graph");
  for (const def of fns) s.fns.set(def.id, def);
  const fresh: TaskState[] = [];
  /** Tasks that name a dependency the scheduler does not know (its future was released). */
  const unknownDep = new Map<TaskState, string>();
  for (const t of tasks) {
    let ts = s.tasks.get(t.key);
    if (!ts) {
      ts = new TaskState(t.key);
      s.tasks.set(t.key, ts);
    }
    if (ts.spec !== null || ts.state !== "released") continue; // known already: same key, same task
    ts.spec = {
      fn: t.fn,
      args: t.args,
      retries: t.retries,
      workers: t.workers,
      resources: t.resources,
      noWorkerTimeout: t.noWorkerTimeout,
      nodeOnly: needsNode(t, s.modules),
      verify: t.verify,
      timeout: t.timeout,
    };
    ts.private = t.private === true;
    ts.retriesLeft = t.retries;
    ts.priority = t.priority;
    for (const depKey of t.deps) {
      const dep = s.tasks.get(depKey);
      // A task's inputs come before it in an update (the client orders them): one that is the task
      // itself, or comes later, can only close a cycle, which would wait forever (refused below).
      if (!dep || dep === ts) {
        unknownDep.set(ts, depKey);
        continue;
      }
      ts.add("deps", dep);
      dep.add("dependents", ts);
      if (dep.private) ts.private = true; // computed from private data: as private as it
    }
    fresh.push(ts);
  }
  let threads = 0;
  for (const ws of s.workers.values()) if (ws.status === "running") threads += ws.nthreads;
  coAssign(fresh, threads);
  for (const key of wants) {
    const ts = s.tasks.get(key);
    if (!ts) continue;
    ts.addWanter(cs);
    cs.wants.add(ts);
    if (ts.state === "memory") s.outbox.alreadyInMemory(ts, cs);
    else if (ts.state === "erred") s.outbox.erred(ts, [cs]);
    // Known from before, released but kept for its lineage (a dependent still refers to it): compute it again.
    else if (ts.state === "released" && ts.spec && !s.isRecommended(ts)) s.recommend(ts, "waiting");
  }
  let keysHere: Set<string> | null = null;
  for (const ts of fresh) {
    const missing = unknownDep.get(ts);
    if (missing === undefined) {
      s.recommend(ts, "waiting");
      continue;
    }
    keysHere ??= new Set(tasks.map((t) => t.key));
    if (keysHere.has(missing)) {
      s.recommend(ts, "erred", {
        error: errorToData(
          new GraphCycleError(
            `${ts.key} depends on ${missing}, which is itself or comes after it in the same graph: a graph with a cycle is refused (its tasks would wait forever)`,
          ),
          { stack: false },
        ),
        blame: ts.key,
      });
      continue;
    }
    s.recommend(ts, "erred", {
      error: errorToData(
        new LostDataError(
          `dependency ${missing} of ${ts.key} is not known to the scheduler (its future was released, or it never existed)`,
        ),
        { stack: false },
      ),
      blame: ts.key,
    });
  }
  s.run();
}

export function releaseKeys(s: Core, e: FromClient<ReleaseKeys>): void {
  const { client: clientId, keys } = e;
  const cs = s.clients.get(clientId);
  if (!cs) return;
  s.begin("release-keys");
  for (const key of keys) {
    const ts = s.tasks.get(key);
    if (!ts || !cs.wants.delete(ts)) continue;
    ts.whoWants.delete(cs);
    if (!s.isNeeded(ts)) s.recommend(ts, "released");
  }
  s.run();
}

/** The client gives up these keys and the ones of its keys that depend on them. */
export function cancel(s: Core, e: FromClient<CancelKeys>): void {
  const { client: clientId, keys } = e;
  const cs = s.clients.get(clientId);
  if (!cs) return;
  s.begin("cancel");
  const seen = new Set<TaskState>();
  const stack = keys.map((k) => s.tasks.get(k)).filter((t): t is TaskState => t !== undefined);
  while (stack.length > 0) {
    const ts = stack.pop()!;
    if (seen.has(ts)) continue;
    seen.add(ts);
    for (const d of ts.dependents) stack.push(d);
    if (!cs.wants.delete(ts)) continue;
    ts.whoWants.delete(cs);
    s.outbox.toClient(cs, { op: "key-cancelled", key: ts.key });
    if (!s.isNeeded(ts)) s.recommend(ts, "released");
  }
  s.run();
}

/** Scattered values now held by workers. */
export function updateData(s: Core, ev: FromClient<UpdateData>): void {
  const { client: clientId, entries } = ev;
  const cs = s.clients.get(clientId);
  s.begin("update-data");
  for (const e of entries) {
    const ws = s.workersByAddress.get(e.worker) ?? s.workers.get(e.worker);
    if (!ws) continue;
    let ts = s.tasks.get(e.key);
    if (!ts) {
      ts = new TaskState(e.key);
      s.tasks.set(e.key, ts);
    }
    // Marked once, never unmarked: a client cannot make another's private data public.
    if (e.private) ts.private = true;
    if (cs && !ts.whoWants.has(cs)) {
      ts.addWanter(cs);
      cs.wants.add(ts);
    }
    if (ts.state === "memory") s.addReplica(ts, ws, e.nbytes);
    else if (ts.state === "released") s.transition(ts, "memory", { worker: ws, nbytes: e.nbytes });
    else s.outbox.free(ws, e.key); // being computed under the same key: keep that, drop the copy
  }
  s.run();
}
