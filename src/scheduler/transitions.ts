// Every task transition the scheduler makes, in one table keyed "start>finish". A transition
// changes one task and may recommend transitions for others; SchedulerState runs the
// recommendations until none are left. A pair missing from the table goes through "released".

import { enteredNoWorker } from "./no-worker.js";
import { decideWorker, unknownTaskMs } from "./placement.js";
import { assignWitness, dropOpinions, keepers, opinionOf, wantsDigest } from "./verify.js";
import type { TaskState, TaskStateName, WorkerRecord } from "./model.js";
import type { Serialized } from "../protocol/refs.js";
import type { Core, TransitionExtra } from "./core.js";
import { unassign } from "./processing.js";

export type { TransitionExtra } from "./core.js";

export type Transition = (s: Core, ts: TaskState, extra: TransitionExtra) => void;

/** After a task reaches "released": recompute it if still needed, forget it if nothing refers to it. */
function afterRelease(s: Core, ts: TaskState): void {
  if (ts.whoWants.size > 0 || ts.waiters.size > 0) {
    if (ts.spec) s.recommend(ts, "waiting");
    else s.recommend(ts, "erred", { error: s.lostError(ts), blame: ts.key });
  } else if (ts.dependents.size === 0) {
    s.recommend(ts, "forgotten");
  }
}

/** States of a dependency that is computed or being computed, and so can be released when unneeded. */
const LIVE: ReadonlySet<TaskStateName> = new Set(["waiting", "no-worker", "processing", "verifying", "memory"]);

/** Drops `ts` from the waiters of its dependencies; releases those nobody needs any more (in any live state). */
function stopWaitingOnDeps(s: Core, ts: TaskState): void {
  for (const dep of ts.deps) {
    dep.waiters.delete(ts);
    if (LIVE.has(dep.state) && !s.isNeeded(dep)) s.recommend(dep, "released");
  }
}

/**
 * A task leaving waiting/no-worker/processing for "released": it gives up its inputs only if it
 * will not be computed again (Dask's rule). One that is still wanted goes back to waiting and
 * needs them; freeing them here would recompute them, or lose them for good if scattered.
 */
function releaseInputsUnlessRecomputed(s: Core, ts: TaskState): void {
  if (!(s.isNeeded(ts) && ts.spec)) stopWaitingOnDeps(s, ts);
}

/** Moves `ts` from the worker processing it (which has dropped it) to `thief`. */
export function moveTask(s: Core, ts: TaskState, thief: WorkerRecord): void {
  const cost = ts.cost;
  unassign(s, ts, true);
  ts.processingOn = thief;
  ts.cost = cost;
  ts.sentAt = s.now;
  thief.processing.add(ts);
  thief.occupancy += cost;
  s.outbox.compute(thief, ts, wantsDigest(s, ts, thief));
}

function toProcessing(s: Core, ts: TaskState): void {
  const ws = decideWorker(ts, s.workers.values());
  if (!ws) {
    const was = ts.state;
    ts.state = "no-worker";
    s.unrunnable.add(ts);
    if (was !== "no-worker") enteredNoWorker(s, ts);
    return;
  }
  s.unrunnable.delete(ts);
  ts.state = "processing";
  ts.processingOn = ws;
  ts.cost = s.durations.get(ts.group) ?? unknownTaskMs(ts);
  ts.sentAt = s.now;
  ws.processing.add(ts);
  ws.occupancy += ts.cost;
  s.outbox.compute(ws, ts, wantsDigest(s, ts, ws));
}

/** `ts`'s result is in memory: dependents waiting only for it may run, clients wanting it hear so. */
function landed(s: Core, ts: TaskState, value: Serialized | undefined): void {
  ts.state = "memory";
  ts.wasInMemory = true;
  ts.error = null;
  for (const dts of ts.dependents) {
    if (dts.state === "waiting" && dts.waitingOn.delete(ts) && dts.waitingOn.size === 0) s.recommend(dts, "processing");
  }
  stopWaitingOnDeps(s, ts);
  s.outbox.inMemory(ts, value);
  if (!s.isNeeded(ts)) s.recommend(ts, "released");
}

function toErred(s: Core, ts: TaskState, extra: TransitionExtra): void {
  ts.state = "erred";
  ts.error = extra.error ?? null;
  ts.blame = extra.blame ?? ts.key;
  ts.waitingOn.clear();
  s.unrunnable.delete(ts);
  stopWaitingOnDeps(s, ts);
  for (const dts of ts.dependents) {
    if (dts.state !== "erred" && dts.state !== "memory")
      s.recommend(dts, "erred", { error: ts.error ?? undefined, blame: ts.blame });
  }
  s.outbox.erred(ts);
  if (!s.isNeeded(ts) && ts.dependents.size === 0) s.recommend(ts, "forgotten");
}

function forget(s: Core, ts: TaskState): void {
  ts.state = "forgotten";
  s.unrunnable.delete(ts);
  for (const dep of ts.deps) {
    dep.dependents.delete(ts);
    dep.waiters.delete(ts);
    if (s.isNeeded(dep)) continue;
    if (LIVE.has(dep.state)) s.recommend(dep, "released");
    else if ((dep.state === "released" || dep.state === "erred") && dep.dependents.size === 0)
      s.recommend(dep, "forgotten");
  }
  s.tasks.delete(ts.key);
}

export const TRANSITIONS: Partial<Record<`${TaskStateName}>${TaskStateName}`, Transition>> = {
  "released>waiting"(s, ts) {
    if (!ts.spec) {
      // Scattered data that is gone cannot be computed; waiting for it would never end.
      s.recommend(ts, "erred", { error: s.lostError(ts), blame: ts.key });
      return;
    }
    ts.state = "waiting";
    ts.waitingOn.clear();
    for (const dep of ts.deps) {
      dep.add("waiters", ts);
      if (dep.state === "erred") {
        s.recommend(ts, "erred", { error: dep.error ?? undefined, blame: dep.blame ?? dep.key });
        return;
      }
      if (dep.state !== "memory") {
        ts.add("waitingOn", dep);
        if (dep.state === "released") s.recommend(dep, "waiting");
      }
    }
    if (ts.waitingOn.size === 0) s.recommend(ts, "processing");
  },

  "waiting>processing"(s, ts) {
    // A recommendation made when its inputs were all in memory, one of which has been released
    // since, in the same event: it waits for that input again (its landing recommends this anew).
    // Sent now, it would be told to fetch an input nobody holds (found by the property tests).
    if (ts.waitingOn.size > 0) return;
    toProcessing(s, ts);
  },

  "no-worker>processing"(s, ts) {
    toProcessing(s, ts);
  },

  "processing>memory"(s, ts, { worker, nbytes = 0, duration, value }) {
    unassign(s, ts, true);
    if (duration !== undefined) s.learnDuration(ts.group, duration);
    s.addReplica(ts, worker!, nbytes);
    landed(s, ts, value);
  },

  // A first answer for a task that needs a second opinion: it waits for one (verify.ts).
  "processing>verifying"(s, ts, { worker, nbytes = 0, duration, value, digest }) {
    unassign(s, ts, true);
    if (duration !== undefined) s.learnDuration(ts.group, duration);
    ts.state = "verifying";
    ts.opinions = [opinionOf(worker!, digest, nbytes, value)];
    worker!.opinions.add(ts);
    assignWitness(s, ts);
  },

  // The opinions agreed on `digest` (verify.ts judge): the agreeing workers' copies are kept.
  "verifying>memory"(s, ts, { digest }) {
    unassign(s, ts, false);
    const kept = keepers(ts.opinions!, digest!);
    ts.digest = digest!;
    dropOpinions(s, ts, kept === ts.opinions ? "all" : new Set(kept.map((o) => o.worker)));
    for (const o of kept) {
      s.addReplica(ts, o.worker, o.nbytes);
      if (!o.worker.trusted) {
        o.worker.vouched.add(ts);
        (ts.vouchers ??= []).push(o.worker);
      }
    }
    landed(s, ts, kept.find((o) => o.value !== undefined)?.value);
  },

  "verifying>released"(s, ts, { workerGone }) {
    unassign(s, ts, workerGone);
    dropOpinions(s, ts);
    ts.state = "released";
    releaseInputsUnlessRecomputed(s, ts);
    afterRelease(s, ts);
  },

  "verifying>erred"(s, ts, extra) {
    unassign(s, ts, extra.workerGone);
    dropOpinions(s, ts);
    toErred(s, ts, extra);
  },

  // Scattered data arrives in memory without being computed.
  "released>memory"(s, ts, { worker, nbytes = 0 }) {
    ts.state = "memory";
    ts.wasInMemory = true;
    s.addReplica(ts, worker!, nbytes);
    for (const dts of ts.dependents) {
      if (dts.state === "waiting" && dts.waitingOn.delete(ts) && dts.waitingOn.size === 0)
        s.recommend(dts, "processing");
    }
    s.outbox.inMemory(ts, undefined);
  },

  "processing>released"(s, ts, { workerGone }) {
    unassign(s, ts, workerGone);
    ts.state = "released";
    releaseInputsUnlessRecomputed(s, ts);
    afterRelease(s, ts);
  },

  "waiting>released"(s, ts) {
    ts.state = "released";
    ts.waitingOn.clear();
    releaseInputsUnlessRecomputed(s, ts);
    afterRelease(s, ts);
  },

  "no-worker>released"(s, ts) {
    ts.state = "released";
    s.unrunnable.delete(ts);
    releaseInputsUnlessRecomputed(s, ts);
    afterRelease(s, ts);
  },

  "memory>released"(s, ts, { workerGone, discard }) {
    // Every worker that vouched for it, also one no longer listed as a holder (missing-data, bad-data).
    for (const ws of ts.vouchers ?? []) ws.vouched.delete(ts);
    ts.vouchers = null;
    for (const ws of ts.whoHas) {
      ws.hasWhat.delete(ts);
      ws.nbytes -= ts.nbytes;
      if (!workerGone && ws.status !== "gone") s.outbox.free(ws, ts.key);
    }
    ts.whoHas.clear();
    ts.digest = null;
    ts.state = "released";
    // Lost while clients still want it: it will be computed again (afterRelease), so tell them to
    // wait for it rather than fetch from holders that no longer have it (Dask's lost-data).
    if ((workerGone || discard) && ts.spec && ts.whoWants.size > 0) {
      const reason = discard
        ? "it rested on the word of a worker banned for lying; computing it again"
        : "its holders are gone; computing it again";
      for (const cs of ts.whoWants) s.outbox.toClient(cs, { op: "key-lost", key: ts.key, reason });
    }
    // The result is gone while dependents still need it: those waiting wait for the recomputed
    // value; those already sent to a worker are pulled back, since their input will not arrive.
    for (const dts of ts.dependents) {
      if (dts.state === "waiting") dts.add("waitingOn", ts);
      else if (dts.state === "processing" || dts.state === "verifying" || dts.state === "no-worker")
        s.recommend(dts, "released");
    }
    afterRelease(s, ts);
  },

  "erred>released"(s, ts) {
    ts.state = "released";
    ts.error = null;
    ts.blame = null;
    afterRelease(s, ts);
  },

  "processing>erred"(s, ts, extra) {
    unassign(s, ts, true);
    toErred(s, ts, extra);
  },
  "waiting>erred"(s, ts, extra) {
    toErred(s, ts, extra);
  },
  "no-worker>erred"(s, ts, extra) {
    toErred(s, ts, extra);
  },
  "released>erred"(s, ts, extra) {
    toErred(s, ts, extra);
  },

  "released>forgotten"(s, ts) {
    forget(s, ts);
  },
  "erred>forgotten"(s, ts) {
    forget(s, ts);
  },
};
