// What workers report to the scheduler, as events on its state: tasks finished, failed or
// started elsewhere, data a worker could not find, replicas it gained or could not get, its
// heartbeat. SchedulerState.handle calls these with the events (events.ts); a worker gone is
// worker-removal.ts.

import type {
  AcquireFailed,
  AddKeys,
  Heartbeat,
  MissingData,
  RenewTickets,
  TaskErred,
  TaskFinished,
  TaskStarted,
} from "../protocol/messages.js";
import type { FromWorker } from "./events.js";
import { NO_EXTRA, type Core } from "./core.js";
import { renewTickets as ticketsFor } from "./grants.js";
import { trustAllows } from "./placement.js";
import { unassign } from "./processing.js";
import { addOpinion, agreementNeeded, assignWitness } from "./verify.js";

/** A worker says it is running `key` (see TaskStarted). */
export function taskStarted(s: Core, e: FromWorker<TaskStarted>): void {
  const ws = s.workers.get(e.worker);
  const ts = s.tasks.get(e.key);
  if (ws && ts && ts.processingOn === ws) ws.started.add(ts);
}

/** `held`: the worker already held the result and ran nothing; `digest`: the result's SHA-256, when the task is being verified (verify.ts). */
export function taskFinished(s: Core, e: FromWorker<TaskFinished>): void {
  const { worker: workerId, key, nbytes, duration, value, held = false, digest } = e;
  const ws = s.workers.get(workerId);
  const ts = s.tasks.get(key);
  if (!ws) return;
  s.begin("task-finished");
  // Counted as the worker counts it (WorkerState.tasksDone, a tab's page): every task it was given
  // and ran to the end, also one whose result came too late to be used; not a replica it already held.
  if (!held && ws.told.has(key)) ws.tasksDone++;
  if (ts && ts.state === "processing" && ts.processingOn === ws) {
    if (agreementNeeded(s, ts, ws) > 1) s.transition(ts, "verifying", { worker: ws, nbytes, duration, value, digest });
    else s.transition(ts, "memory", { worker: ws, nbytes, duration, value });
  } else if (ts && ts.state === "verifying" && ts.processingOn === ws) {
    addOpinion(s, ts, ws, nbytes, duration, value, digest);
    return;
  } else if (ts && ts.state === "verifying" && ws.opinions.has(ts)) {
    // Said twice: its first answer stands.
  } else if (ts && ts.state === "memory" && ws.told.has(key)) {
    s.addReplica(ts, ws, nbytes);
  } else {
    if (ts && ts.state === "memory") s.ignoredClaim(ws, key, "task-finished");
    s.outbox.free(ws, key); // cancelled or reassigned meanwhile: the worker may drop it
  }
  s.run();
}

export function taskErred(s: Core, e: FromWorker<TaskErred>): void {
  const { worker: workerId, key, error } = e;
  const ws = s.workers.get(workerId);
  const ts = s.tasks.get(key);
  // A witness of a verifying task may fail too: the task fails (or is retried) as it would had
  // the first worker failed, rather than wait for an answer that will not come. (Found by
  // test/scheduler/state-properties.test.ts: the failure was ignored and the task never settled.)
  if (!ws || !ts || (ts.state !== "processing" && ts.state !== "verifying") || ts.processingOn !== ws) return;
  s.begin("task-erred");
  if (ts.retriesLeft > 0) {
    ts.retriesLeft--;
    s.transition(ts, "released", NO_EXTRA);
  } else {
    s.transition(ts, "erred", { error, blame: key });
  }
  s.run();
}

/** A worker could not get `dep` from `from`: the scheduler's record was wrong; fix it and retry. */
export function missingData(s: Core, e: FromWorker<MissingData>): void {
  const { worker: workerId, key, dep, from } = e;
  const ws = s.workers.get(workerId);
  if (!ws) return;
  s.begin("missing-data");
  const dts = s.tasks.get(dep);
  const holder = s.workersByAddress.get(from);
  // Only a worker told to fetch `dep` may say a holder lacks it (else anyone could strip honest holders).
  if (dts && holder && !ws.told.has(dep)) s.ignoredClaim(ws, dep, "missing-data");
  else if (dts && holder && dts.whoHas.delete(holder)) {
    holder.hasWhat.delete(dts);
    holder.nbytes -= dts.nbytes;
    if (dts.whoHas.size === 0 && dts.state === "memory") s.transition(dts, "released", { workerGone: true });
  }
  const ts = s.tasks.get(key);
  if (ts && ts.state === "processing" && ts.processingOn === ws) s.recommend(ts, "released");
  else if (ts && ts.state === "verifying" && ts.processingOn === ws && !s.isRecommended(ts)) {
    // A witness that could not fetch an input dropped the task: ask another one (or the same, now
    // told the right holders), keeping the opinions so far. Before, the task waited for the
    // dropped witness forever (found by test/scheduler/state-properties.test.ts).
    unassign(s, ts, true);
    assignWitness(s, ts);
    if (ts.processingOn) s.recordStory(ts, "verifying", "verifying");
  }
  s.run();
}

/** A worker holds replicas it fetched (as dependencies, or asked to by a retirement). */
export function addKeys(s: Core, e: FromWorker<AddKeys>): void {
  const { worker: workerId, keys } = e;
  const ws = s.workers.get(workerId);
  if (!ws) return;
  for (const { key, nbytes } of keys) {
    const ts = s.tasks.get(key);
    if (ts && ts.state === "memory" && !ws.told.has(key)) {
      s.ignoredClaim(ws, key, "add-keys");
      s.outbox.free(ws, key);
    } else if (ts && ts.state === "memory" && !trustAllows(ts, ws)) {
      // An untrusted worker fetched a `verify: 1` result as an input: it may use it, but is not
      // listed as a holder that others read it from (found by the property tests).
      ws.told.delete(key);
    } else if (ts && ts.state === "memory") {
      ws.told.delete(key);
      s.addReplica(ts, ws, nbytes);
      if (s.pendingReplicas.get(ts) === ws) {
        s.pendingReplicas.delete(ts);
        for (const holder of ts.whoHas) {
          if (!holder.retiring) continue;
          holder.retiring.moved.keys++;
          holder.retiring.moved.bytes += ts.nbytes;
          break;
        }
      }
    } else if (ts?.processingOn !== ws) s.outbox.free(ws, key);
    // (A copy reported late of a key the worker now computes, the result having been lost meanwhile:
    // freeing it would drop that computation, and the task would wait for it forever. Found by
    // test/scheduler/state-properties.test.ts.)
  }
  // Nothing to carry out unless retirements wait for these copies; run() then only sends the frees.
  if (s.retirements.size > 0) s.begin("add-keys");
  s.run();
}

/** A worker could not fetch replicas it was asked for: ask again (elsewhere), or give up on them. */
export function acquireFailed(s: Core, e: FromWorker<AcquireFailed>): void {
  const { worker: workerId, keys } = e;
  const ws = s.workers.get(workerId);
  if (!ws) return;
  s.begin("acquire-failed");
  for (const key of keys) {
    const ts = s.tasks.get(key);
    if (!ts || s.pendingReplicas.get(ts) !== ws) continue;
    s.pendingReplicas.delete(ts);
    s.replicaAttempts.get(ts)?.failed.add(ws);
  }
  s.run();
}

/** How the worker is doing: memory, tasks executing and ready, paused or not, its data links. */
export function heartbeat(s: Core, e: FromWorker<Heartbeat>): void {
  const { worker: workerId, memory, executing, ready, spilled = 0, paused = false, links } = e;
  const ws = s.workers.get(workerId);
  if (!ws) return;
  if (links) {
    const before = new Map(ws.links.map((l) => [l.peer, l]));
    ws.links = links.map((l) => {
      const prev = before.get(l.peer);
      const dt = prev ? (s.now - prev.at) / 1000 : 0;
      const moved = prev ? l.bytesIn + l.bytesOut - prev.bytesIn - prev.bytesOut : 0;
      return { ...l, bytesPerSecond: dt > 0 && moved > 0 ? moved / dt : 0, at: s.now };
    });
  }
  ws.lastSeen = s.now;
  ws.memory = memory;
  ws.executing = executing;
  ws.ready = ready;
  ws.spilled = spilled;
  if (paused === ws.paused) return;
  ws.paused = paused;
  s.begin(paused ? "worker-paused" : "worker-resumed");
  // Paused: its queued tasks are stolen by others (stealing.ts). Resumed: it may take the tasks nobody could.
  if (!paused) s.offerUnrunnable();
  s.run();
}

/** A worker's tickets expired: fresh ones for the keys it was told to fetch (grants.ts); a claim to any other is ignored. */
export function renewTickets(s: Core, e: FromWorker<RenewTickets>): void {
  const ws = s.workers.get(e.worker);
  if (!ws) return;
  for (const key of e.keys) if (!ws.told.has(key)) s.ignoredClaim(ws, key, "renew-tickets");
  s.outbox.toWorker(ws, { op: "tickets", keys: ticketsFor(s, s.outbox.grants, ws, e.keys) });
}
