// Checks the whole scheduler state for consistency (Dask's validate_state): the links between
// tasks, workers and clients mirror each other, each task's fields fit its state, and meshwork's
// own records (replicas, retirements, steals, verification) agree with the tasks. Run after every
// event when SchedulerStateOptions.validate is on (tests, fuzzing); a broken invariant then shows
// up at the event that broke it, not as a wrong message somewhere later. Pure: reads, never writes.

import type { TaskState, TaskStateName, WorkerRecord } from "./model.js";
import { canRun, trustAllows } from "./placement.js";
import type { SchedulerData } from "./core.js";
import { InvariantError, MAX_PROBLEMS } from "../util/invariant.js";

export { InvariantError, MAX_PROBLEMS, VALIDATE_RECORDS_PER_EVENT } from "../util/invariant.js";

/** States in which a task is computed or being computed, and so holds on to its inputs. */
const ACTIVE: ReadonlySet<TaskStateName> = new Set(["waiting", "no-worker", "processing", "verifying"]);
/** States whose inputs must all be in memory. */
const READY: ReadonlySet<TaskStateName> = new Set(["no-worker", "processing", "verifying"]);
/** States a dependency of a waiting task may be in (Dask's rule: it is on its way). */
const ON_ITS_WAY: ReadonlySet<TaskStateName> = new Set(["waiting", "no-worker", "processing", "verifying", "memory"]);

/** Occupancy is a float sum of task costs: a difference below this is rounding, not a bug. */
const OCCUPANCY_EPSILON = 1e-6;

/** Every broken invariant of `s`, in words naming the keys and workers involved (empty: consistent). */
export function findProblems(s: SchedulerData): string[] {
  const out: string[] = [];
  const bad = (text: string) => {
    if (out.length < MAX_PROBLEMS) out.push(text);
  };
  const current = (ws: WorkerRecord) => s.workers.get(ws.id) === ws;
  const known = (ts: TaskState) => s.tasks.get(ts.key) === ts;

  for (const [key, ts] of s.tasks) checkTask(s, key, ts, bad, current, known);
  for (const [id, ws] of s.workers) checkWorker(s, id, ws, bad, known);
  checkClients(s, bad, known);
  checkRetirements(s, bad, current);
  checkSteals(s, bad);
  for (const ts of s.unrunnable) {
    if (ts.state !== "no-worker" || !known(ts)) bad(`${ts.key} is in unrunnable but is ${ts.state}`);
    // A worker that may run it joined, resumed or was kept without it being offered there.
    for (const ws of s.workers.values()) if (canRun(ts, ws)) bad(`${ts.key} is in no-worker but ${ws.name} may run it`);
  }
  for (const ts of s.awaitingWitness) {
    if (ts.state !== "verifying" || ts.processingOn !== null)
      bad(`${ts.key} awaits a witness but is ${ts.state} on ${ts.processingOn?.name ?? "no worker"}`);
    const answered = new Set(ts.opinions?.map((o) => o.worker));
    for (const ws of s.workers.values())
      if (!answered.has(ws) && canRun(ts, ws, false)) bad(`${ts.key} awaits a witness but ${ws.name} may be one`);
  }
  return out;
}

/** Throws InvariantError listing every broken invariant of `s` after `event`. */
export function validateState(s: SchedulerData, event: string): void {
  const problems = findProblems(s);
  if (problems.length > 0) throw new InvariantError(event, problems);
}

function checkTask(
  s: SchedulerData,
  key: string,
  ts: TaskState,
  bad: (text: string) => void,
  current: (ws: WorkerRecord) => boolean,
  known: (ts: TaskState) => boolean,
): void {
  const st = ts.state;
  if (ts.key !== key) bad(`tasks has ${ts.key} under the key ${key}`);
  if (st === "forgotten") bad(`${key} is forgotten but still in tasks`);
  // Relations mirror each other and point at known tasks.
  for (const dep of ts.deps) {
    if (!dep.dependents.has(ts)) bad(`${key} depends on ${dep.key}, which does not list it as a dependent`);
    if (!known(dep)) bad(`${key} depends on ${dep.key}, which is ${dep.state} and not in tasks`);
  }
  for (const d of ts.dependents) {
    if (!d.deps.has(ts)) bad(`${d.key} is a dependent of ${key} without depending on it`);
    if (!known(d)) bad(`${d.key}, a dependent of ${key}, is ${d.state} and not in tasks`);
  }
  for (const w of ts.waiters) {
    if (!w.deps.has(ts)) bad(`${w.key} waits for ${key} without depending on it`);
    if (!ACTIVE.has(w.state)) bad(`${w.key} is ${w.state} but still a waiter of ${key}`);
  }
  if (ACTIVE.has(st))
    for (const dep of ts.deps) if (!dep.waiters.has(ts)) bad(`${key} is ${st} but not among the waiters of ${dep.key}`);
  for (const dep of ts.waitingOn) if (!ts.deps.has(dep)) bad(`${key} waits on ${dep.key}, not one of its dependencies`);
  if (st === "waiting") {
    if (ts.waitingOn.size === 0) bad(`${key} is waiting on nothing`);
    for (const dep of ts.deps) {
      if ((dep.state !== "memory") !== ts.waitingOn.has(dep))
        bad(
          `${key} is waiting; its dependency ${dep.key} is ${dep.state} but ${ts.waitingOn.has(dep) ? "is" : "is not"} in waitingOn`,
        );
      if (!ON_ITS_WAY.has(dep.state)) bad(`${key} is waiting for ${dep.key}, which is ${dep.state}`);
    }
  } else if (ts.waitingOn.size > 0)
    bad(`${key} is ${st} but waits on ${[...ts.waitingOn].map((d) => d.key).join(", ")}`);
  if (READY.has(st))
    for (const dep of ts.deps)
      if (dep.state !== "memory") bad(`${key} is ${st} but its input ${dep.key} is ${dep.state}`);
  // A result nobody needs is released; released tasks are kept only for their dependents' lineage.
  // (A task being computed may be needed by nobody: an update-graph may submit keys it does not
  // want, which run once and are dropped; so only memory is checked.)
  const needed = ts.whoWants.size > 0 || ts.waiters.size > 0;
  if (st === "memory" && !needed) bad(`${key} is in memory but nothing needs it`);
  if (st === "released" && needed) bad(`${key} is released but still needed`);
  if (st === "released" && ts.dependents.size === 0) bad(`${key} is released with no dependents but not forgotten`);
  if (st === "erred" && !needed && ts.dependents.size === 0) bad(`${key} erred, nothing needs it, but not forgotten`);
  if (st === "erred" && ts.blame === null) bad(`${key} erred with no blame`);
  if (st !== "erred" && (ts.error !== null || ts.blame !== null)) bad(`${key} is ${st} but keeps an error`);
  // Holders.
  if ((st === "memory") !== ts.whoHas.size > 0) bad(`${key} is ${st} and held by ${ts.whoHas.size} worker(s)`);
  for (const ws of ts.whoHas) {
    if (!ws.hasWhat.has(ts)) bad(`${key} is held by ${ws.name}, whose hasWhat lacks it`);
    if (!current(ws)) bad(`${key} is held by ${ws.name}, which is ${ws.status} and not among the workers`);
    if (!trustAllows(ts, ws)) bad(`${key} (private or verify: 1) is held by untrusted ${ws.name}`);
  }
  if (ts.digest !== null && st !== "memory") bad(`${key} is ${st} but keeps an agreed digest`);
  // Where it runs.
  const on = ts.processingOn;
  if (on) {
    if (st !== "processing" && st !== "verifying") bad(`${key} is ${st} but processing on ${on.name}`);
    if (!on.processing.has(ts)) bad(`${key} is processing on ${on.name}, whose processing set lacks it`);
    if (!current(on)) bad(`${key} is processing on ${on.name}, which is ${on.status} and not among the workers`);
    if (!trustAllows(ts, on)) bad(`${key} (private or verify: 1) is processing on untrusted ${on.name}`);
    if (ts.timedOutOn?.has(on)) bad(`${key} is processing on ${on.name}, where it ran past its timeout before`);
  } else {
    if (st === "processing") bad(`${key} is processing on no worker`);
    if (st === "verifying" && !s.awaitingWitness.has(ts))
      bad(`${key} is verifying on no worker, yet not awaiting a witness`);
    if (ts.cost !== 0) bad(`${key} runs nowhere but keeps a cost of ${ts.cost}`);
  }
  if ((st === "no-worker") !== s.unrunnable.has(ts))
    bad(`${key} is ${st} and ${s.unrunnable.has(ts) ? "is" : "is not"} in unrunnable`);
  // Verification.
  if ((st === "verifying") !== (ts.opinions !== null && ts.opinions.length > 0))
    bad(`${key} is ${st} with ${ts.opinions?.length ?? "no"} opinions`);
  for (const o of ts.opinions ?? []) {
    if (!o.worker.opinions.has(ts)) bad(`${key} has an opinion of ${o.worker.name}, whose opinions lack it`);
    if (!current(o.worker)) bad(`${key} has an opinion of ${o.worker.name}, which is not among the workers`);
  }
  if (ts.stealTo && (st !== "processing" || !on))
    bad(`${key} is being stolen for ${ts.stealTo.name} but is ${st} on ${on?.name ?? "no worker"}`);
}

function checkWorker(
  s: SchedulerData,
  id: string,
  ws: WorkerRecord,
  bad: (text: string) => void,
  known: (ts: TaskState) => boolean,
): void {
  const w = ws.name;
  if (ws.id !== id) bad(`workers has ${w} (${ws.id}) under the id ${id}`);
  if (ws.status === "gone") bad(`${w} is gone but still among the workers`);
  if (s.workersByAddress.get(ws.address) !== ws) bad(`${w} is not found by its address ${ws.address}`);
  let cost = 0;
  for (const ts of ws.processing) {
    cost += ts.cost;
    if (ts.processingOn !== ws)
      bad(`${w} lists ${ts.key} as processing, which runs on ${ts.processingOn?.name ?? "no worker"}`);
    if (!known(ts)) bad(`${w} is processing ${ts.key}, which is ${ts.state} and not in tasks`);
  }
  if (Math.abs(ws.occupancy - cost) > OCCUPANCY_EPSILON * Math.max(1, cost))
    bad(`${w} has occupancy ${ws.occupancy} but its tasks cost ${cost}`);
  for (const ts of ws.started) if (!ws.processing.has(ts)) bad(`${w} started ${ts.key}, which it is not processing`);
  let nbytes = 0;
  for (const ts of ws.hasWhat) {
    nbytes += ts.nbytes;
    if (!ts.whoHas.has(ws)) bad(`${w} has ${ts.key}, whose whoHas lacks it`);
    if (!known(ts)) bad(`${w} has ${ts.key}, which is ${ts.state} and not in tasks`);
  }
  if (ws.nbytes !== nbytes) bad(`${w} counts ${ws.nbytes} bytes held but its results add up to ${nbytes}`);
  for (const ts of ws.opinions)
    if (ts.state !== "verifying" || !ts.opinions?.some((o) => o.worker === ws))
      bad(`${w} lists an opinion on ${ts.key}, which is ${ts.state} without one from it`);
  for (const ts of ws.vouched) {
    if (ws.trusted) bad(`trusted ${w} vouches for ${ts.key}`);
    if (ts.state !== "memory" || !known(ts)) bad(`${w} vouches for ${ts.key}, which is ${ts.state}`);
  }
  if (ws.status === "closing") {
    if (ws.retiring === null) bad(`${w} is closing outside any retirement`);
    for (const ts of ws.processing)
      if (!ws.started.has(ts)) bad(`${w} is retiring but was given ${ts.key}, which it has not started`);
  }
  if (ws.closeSent && ws.status !== "closing") bad(`${w} was told to close but is ${ws.status}`);
}

function checkClients(s: SchedulerData, bad: (text: string) => void, known: (ts: TaskState) => boolean): void {
  for (const [id, cs] of s.clients) {
    if (cs.id !== id) bad(`clients has ${cs.id} under the id ${id}`);
    for (const ts of cs.wants) {
      if (!ts.whoWants.has(cs)) bad(`${id} wants ${ts.key}, whose whoWants lacks it`);
      if (!known(ts)) bad(`${id} wants ${ts.key}, which is ${ts.state} and not in tasks`);
    }
  }
  for (const ts of s.tasks.values())
    for (const cs of ts.whoWants) {
      if (!cs.wants.has(ts)) bad(`${ts.key} is wanted by ${cs.id}, whose wants lack it`);
      if (s.clients.get(cs.id) !== cs) bad(`${ts.key} is wanted by ${cs.id}, which is not among the clients`);
    }
}

function checkRetirements(s: SchedulerData, bad: (text: string) => void, current: (ws: WorkerRecord) => boolean): void {
  for (const r of s.retirements) {
    if (r.workers.size === 0) bad(`retirement ${r.ticket} has no workers left but is not finished`);
    for (const ws of r.workers) {
      if (ws.retiring !== r) bad(`retirement ${r.ticket} lists ${ws.name}, which is not part of it`);
      if (ws.status !== "closing" || !current(ws))
        bad(`retirement ${r.ticket} lists ${ws.name}, which is ${ws.status}`);
      // Retirements move on at the end of each event: an idle worker not yet told to close waits for a copy.
      if (!ws.closeSent && ws.processing.size === 0 && ![...ws.hasWhat].some((ts) => s.pendingReplicas.has(ts)))
        bad(`${ws.name} is retiring, idle and not told to close, but waits for no copy`);
    }
  }
  for (const ws of s.workers.values())
    if (ws.retiring && !s.retirements.has(ws.retiring))
      bad(`${ws.name} is part of retirement ${ws.retiring.ticket}, which is over`);
  if (s.retirements.size === 0 && (s.pendingReplicas.size > 0 || s.replicaAttempts.size > 0))
    bad(`no retirement is under way but ${s.pendingReplicas.size} copies are pending`);
  for (const [ts, ws] of s.pendingReplicas)
    if (!current(ws)) bad(`a copy of ${ts.key} is pending on ${ws.name}, which is not among the workers`);
}

/** Each worker's stealsPending counts the steals it is the victim or the thief of. */
function checkSteals(s: SchedulerData, bad: (text: string) => void): void {
  const counted = new Map<WorkerRecord, number>();
  for (const ws of s.workers.values())
    for (const ts of ws.processing) {
      if (!ts.stealTo) continue;
      counted.set(ws, (counted.get(ws) ?? 0) + 1);
      counted.set(ts.stealTo, (counted.get(ts.stealTo) ?? 0) + 1);
    }
  for (const ws of s.workers.values()) {
    const n = counted.get(ws) ?? 0;
    if (ws.stealsPending !== n) bad(`${ws.name} counts ${ws.stealsPending} steals pending but is part of ${n}`);
  }
}

// Whether schedulers and workers validate when their options do not say: the default runtime's
// setting (src/runtime.ts; MESHWORK_VALIDATE=1 in a test run), kept in util/invariant.ts and shared
// with workers. A runtime of its own says its own (createRuntime({ validate })), and a member's
// `validate` option wins over both.
export { setValidateByDefault, validateByDefault } from "../util/invariant.js";
