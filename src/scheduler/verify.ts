// Verifying results (issue 20): a task whose result must not rest on one untrusted worker's word
// runs on a second worker (a trusted one when there is one), each reports the SHA-256 of its
// serialized result, and the task reaches memory only when they agree. On a disagreement a
// trusted worker's word decides (else a third opinion: two of three); the liar is banned for the
// scheduler's lifetime and every result that rested on its word is computed again. The task waits
// in "verifying" meanwhile, and its dependents with it.

import { errorToData, VerificationError } from "../errors.js";
import type { Serialized } from "../protocol/refs.js";
import type { Opinion, TaskState, WorkerRecord } from "./model.js";
import { canRun, DEFAULT_BANDWIDTH_BYTES_PER_MS, missingBytes, unknownTaskMs } from "./placement.js";
import type { Core } from "./core.js";
import { unassign } from "./processing.js";
import { removeWorker } from "./worker-removal.js";

/** Opinions asked for at most: two, and a third to break a tie between untrusted workers. */
export const MAX_OPINIONS = 3;

/** Agreeing results `ts` needs when `ws` is the first to compute it. */
export function agreementNeeded(s: Core, ts: TaskState, ws: WorkerRecord): number {
  const asked = ts.spec?.verify ?? 1;
  return ws.trusted || !s.verifyUntrusted ? asked : Math.max(2, asked);
}

/** Whether the worker given `ts` must report its result's digest. */
export function wantsDigest(s: Core, ts: TaskState, ws: WorkerRecord): boolean {
  return ts.opinions !== null || agreementNeeded(s, ts, ws) > 1;
}

/**
 * Sends `ts` (verifying) to one more worker: one that has not answered yet and may run it, a
 * trusted one when no trusted worker has answered and one is connected. With none, the task waits
 * in `awaitingWitness` until a worker joins or resumes.
 */
export function assignWitness(s: Core, ts: TaskState): void {
  const answered = new Set(ts.opinions!.map((o) => o.worker));
  const anyTrustedAnswer = ts.opinions!.some((o) => o.worker.trusted);
  const able: WorkerRecord[] = [];
  for (const ws of s.workers.values()) if (!answered.has(ws) && canRun(ts, ws, false)) able.push(ws);
  const trusted = anyTrustedAnswer ? [] : able.filter((ws) => ws.trusted);
  const ws = soonest(ts, trusted.length > 0 ? trusted : able);
  if (!ws) {
    if (s.awaitingWitness.has(ts)) return;
    s.awaitingWitness.add(ts);
    const reason = `its result from ${[...answered].map((w) => w.name).join(", ")} is waiting for a second worker to verify it (no other connected worker may run it)`;
    for (const cs of ts.whoWants) s.outbox.toClient(cs, { op: "key-waiting", key: ts.key, why: "no-worker", reason });
    return;
  }
  s.awaitingWitness.delete(ts);
  ts.processingOn = ws;
  ts.cost = s.durations.get(ts.group) ?? unknownTaskMs(ts);
  ts.sentAt = s.now;
  ws.processing.add(ts);
  ws.occupancy += ts.cost;
  s.outbox.compute(ws, ts, true);
}

/** Of `workers`, the one that can start `ts` soonest (queued work per thread, plus fetching its inputs). */
function soonest(ts: TaskState, workers: WorkerRecord[]): WorkerRecord | null {
  let best: WorkerRecord | null = null;
  let bestStart = Infinity;
  for (const ws of workers) {
    const start = ws.occupancy / ws.nthreads + missingBytes(ts, ws) / DEFAULT_BANDWIDTH_BYTES_PER_MS;
    if (start < bestStart) {
      best = ws;
      bestStart = start;
    }
  }
  return best;
}

const NO_LIARS: WorkerRecord[] = [];

/** What the opinions so far decide. */
export type Verdict =
  | { kind: "accept"; digest: string; liars: WorkerRecord[] }
  | { kind: "more" }
  | { kind: "fail"; message: string };

/**
 * Trusted workers' word decides when they agree among themselves (untrusted ones that differ are
 * liars); trusted workers that disagree mean a non-deterministic task or broken hardware, and fail
 * it. Among untrusted workers only, a strict majority of at least two decides; a tie asks for a
 * third opinion, and three different answers fail the task.
 */
export function judge(opinions: readonly Opinion[]): Verdict {
  // The common case, two that agree: no tallies (this runs once per task of a verified map).
  if (opinions.length === 2 && opinions[0]!.digest === opinions[1]!.digest)
    return { kind: "accept", digest: opinions[0]!.digest, liars: NO_LIARS };
  const trusted = new Set(opinions.filter((o) => o.worker.trusted).map((o) => o.digest));
  const liarsAgainst = (digest: string) =>
    opinions.filter((o) => o.digest !== digest && !o.worker.trusted).map((o) => o.worker);
  if (trusted.size > 1)
    return {
      kind: "fail",
      message: `trusted workers ${names(opinions.filter((o) => o.worker.trusted))} computed different results`,
    };
  if (trusted.size === 1) {
    const [digest] = trusted as Set<string>;
    return { kind: "accept", digest: digest!, liars: liarsAgainst(digest!) };
  }
  const votes = new Map<string, number>();
  for (const o of opinions) votes.set(o.digest, (votes.get(o.digest) ?? 0) + 1);
  for (const [digest, n] of votes)
    if (n >= 2 && 2 * n > opinions.length) return { kind: "accept", digest, liars: liarsAgainst(digest) };
  if (opinions.length < MAX_OPINIONS) return { kind: "more" };
  return {
    kind: "fail",
    message: `workers ${names(opinions)} computed ${votes.size} different results and no two agreed`,
  };
}

function names(opinions: readonly Opinion[]): string {
  return opinions.map((o) => o.worker.name).join(", ");
}

/** An opinion from `ws`; a missing digest is one of its own, equal to no other. */
export function opinionOf(
  ws: WorkerRecord,
  digest: string | undefined,
  nbytes: number,
  value: Serialized | undefined,
): Opinion {
  return { worker: ws, digest: digest ?? `none from ${ws.id}`, nbytes, value };
}

/** Forgets the opinions of a task leaving "verifying" (their holders drop the result unless kept). */
export function dropOpinions(s: Core, ts: TaskState, keep: ReadonlySet<WorkerRecord> | "all" = NOBODY): void {
  for (const o of ts.opinions ?? []) {
    o.worker.opinions.delete(ts);
    if (keep !== "all" && !keep.has(o.worker) && o.worker.status !== "gone") s.outbox.free(o.worker, ts.key);
  }
  ts.opinions = null;
  s.awaitingWitness.delete(ts);
}

const NOBODY: ReadonlySet<WorkerRecord> = new Set();

/**
 * The workers whose copies of an accepted result are kept: the trusted ones that agreed when there
 * are any (an untrusted worker that reported the right digest could still serve other bytes), else
 * every one that agreed.
 */
export function keepers(opinions: readonly Opinion[], digest: string): Opinion[] {
  if (
    opinions.length === 2 &&
    opinions[0]!.worker.trusted === opinions[1]!.worker.trusted &&
    opinions[0]!.digest === opinions[1]!.digest
  )
    return opinions as Opinion[];
  const agree = opinions.filter((o) => o.digest === digest);
  const trusted = agree.filter((o) => o.worker.trusted);
  return trusted.length > 0 ? trusted : agree;
}

/**
 * The results to compute again once `liar` is banned: those accepted on its word with no trusted
 * worker agreeing, and every result in memory computed from them (they may carry the lie on).
 */
export function taintedBy(liar: WorkerRecord): TaskState[] {
  const out: TaskState[] = [];
  const seen = new Set<TaskState>();
  const stack = [...liar.vouched];
  while (stack.length > 0) {
    const ts = stack.pop()!;
    if (seen.has(ts) || ts.state !== "memory") continue;
    seen.add(ts);
    out.push(ts);
    for (const d of ts.dependents) stack.push(d);
  }
  return out;
}

/** A witness's answer for `ts` (verifying): judged with the others; liars banned, the task settled or sent on. */
export function addOpinion(
  s: Core,
  ts: TaskState,
  ws: WorkerRecord,
  nbytes: number,
  duration: number,
  value: Serialized | undefined,
  digest: string | undefined,
): void {
  unassign(s, ts, true);
  s.learnDuration(ts.group, duration);
  ts.opinions!.push(opinionOf(ws, digest, nbytes, value));
  ws.opinions.add(ts);
  const verdict = judge(ts.opinions!);
  if (verdict.kind === "more") {
    assignWitness(s, ts);
    s.recordStory(ts, "verifying", "verifying");
    s.run();
    return;
  }
  if (verdict.kind === "fail") {
    s.transition(ts, "erred", {
      error: errorToData(
        new VerificationError(
          `${ts.key}: ${verdict.message} (a task whose result legitimately varies must be marked verify: 1, which keeps it off untrusted workers)`,
        ),
        { stack: false },
      ),
      blame: ts.key,
    });
    s.run();
    return;
  }
  s.transition(ts, "memory", { digest: verdict.digest });
  s.run();
  for (const liar of verdict.liars) ban(s, liar, `its result for ${ts.key} differs from the accepted one`);
}

/**
 * Bans `liar` for the scheduler's lifetime (its name, data address and, being untrusted, its remote
 * host: a stranger picks a new name at will), removes it (what it ran or alone held is computed
 * again), and computes again every result that rested on its word and what was computed from them.
 */
export function ban(s: Core, liar: WorkerRecord, why: string): void {
  if (liar.status === "gone") return;
  const reason = `banned: ${why}`;
  s.banned.names.add(liar.name);
  s.banned.addresses.add(liar.address);
  if (!liar.trusted && liar.host) s.banned.hosts.add(liar.host);
  s.outbox.banned(liar, reason);
  const tainted = taintedBy(liar);
  removeWorker(s, liar.id, reason, true);
  s.begin("worker-banned");
  for (const ts of tainted) if (ts.state === "memory") s.transition(ts, "released", { discard: true });
  s.run();
}
