// Verification as a pure state machine (issue 20): tasks computed by untrusted workers wait in
// "verifying" for a second opinion, liars are banned and what rested on their word is computed
// again, `verify: 2` and `verify: 1`, and private data kept off untrusted workers.

import assert from "node:assert/strict";
import { test } from "node:test";
import { serialize, type SchedulerState } from "../../src/internal.js";
import { addWorker, cluster, feed, lines, submit, take, task } from "../helpers/scheduler.js";

const HONEST = "a".repeat(64);
const FALSE = "f".repeat(64);
const OTHER = "0".repeat(64);

/** A scheduler with client "c", trusted workers `trusted` and untrusted ones `untrusted` (host "h-<id>"). */
function mixed(trusted: string[], untrusted: string[]): SchedulerState {
  const s = cluster(trusted);
  for (const id of untrusted) addWorker(s, id, {}, false, `h-${id}`);
  take(s);
  return s;
}

/** `worker` reports `key` done with `digest`; returns the instructions as lines. */
function answer(s: SchedulerState, worker: string, key: string, digest: string | undefined, value?: number): string[] {
  feed(s, {
    op: "task-finished",
    worker,
    key,
    nbytes: 8,
    duration: 1,
    value: value === undefined ? undefined : serialize(value).payload,
    held: false,
    digest,
  });
  return lines(take(s));
}

/** The worker `key` is processing on now. */
function sentTo(s: SchedulerState, key: string): string | undefined {
  return s.tasks.get(key)!.processingOn?.id;
}

test("a task an untrusted worker computed (pinned there) waits in verifying for a trusted witness; agreeing, only the trusted copy is kept", () => {
  const s = mixed(["t1"], ["u1"]);
  const out = submit(s, [task("A", [], { workers: ["u1"] })]);
  assert.deepEqual(
    out.map((i) => i.msg.op === "compute-task" && [i.id, i.msg.digest]),
    [["u1", true]],
  );
  // Pinned to u1 by the user; the second opinion is not bound by the pin.
  assert.deepEqual(answer(s, "u1", "A", HONEST, 1), ["t1 compute-task A"]);
  assert.equal(s.tasks.get("A")!.state, "verifying");
  assert.deepEqual(answer(s, "t1", "A", HONEST, 1), ["c key-in-memory A", "u1 free-keys A"]);
  assert.deepEqual(s.whoHas(["A"]), { A: ["addr-t1"] });
  assert.deepEqual(
    s.storyOf("A").map((e) => `${e.start}>${e.finish}`),
    ["released>waiting", "waiting>processing", "processing>verifying", "verifying>memory"],
  );
});

test("a trusted worker's task is taken on its word, and is sent without asking for a digest", () => {
  const s = mixed(["t1"], []);
  const out = submit(s, [task("A")]);
  assert.equal(out[0]!.msg.op === "compute-task" && out[0]!.msg.digest, undefined);
  assert.deepEqual(answer(s, "t1", "A", undefined), ["c key-in-memory A"]);
});

test("dependents of a result under verification wait until it is verified", () => {
  const s = mixed(["t1"], ["u1"]);
  submit(s, [task("A", [], { workers: ["u1"] }), task("B", ["A"])], ["B"]);
  answer(s, "u1", "A", HONEST);
  assert.equal(s.tasks.get("B")!.state, "waiting");
  assert.deepEqual(answer(s, "t1", "A", HONEST), ["t1 compute-task B", "u1 free-keys A"]);
});

test("a liar is outvoted by the trusted witness: banned (name, address, host), removed, and the trusted result taken", () => {
  const s = mixed(["t1"], ["u1"]);
  submit(s, [task("A", [], { workers: ["u1"] })]);
  answer(s, "u1", "A", FALSE, 1001);
  const value = serialize(1).payload;
  feed(s, { op: "task-finished", worker: "t1", key: "A", nbytes: 8, duration: 1, value, held: false, digest: HONEST });
  const out = take(s);
  assert.deepEqual(lines(out), ["c key-in-memory A", "u1 free-keys A", "scheduler banned u1"]);
  assert.deepEqual(
    out[0]!.msg.op === "key-in-memory" && out[0]!.msg.value,
    value,
    "clients get the trusted worker's value",
  );
  assert.equal(s.workers.has("u1"), false);
  assert.match(s.bannedWhy("u1", "elsewhere", "") ?? "", /banned/);
  assert.match(s.bannedWhy("new-name", "addr-u1", "") ?? "", /banned/);
  assert.match(s.bannedWhy("new-name", "new-addr", "h-u1") ?? "", /h-u1 are banned/);
  assert.equal(s.bannedWhy("new-name", "new-addr", "h-other"), null);
});

test("among untrusted workers only, two agreeing results are accepted and both copies kept", () => {
  const s = mixed([], ["u1", "u2"]);
  submit(s, [task("A")]);
  const first = sentTo(s, "A")!;
  const second = first === "u1" ? "u2" : "u1";
  assert.deepEqual(answer(s, first, "A", HONEST), [`${second} compute-task A`]);
  assert.deepEqual(answer(s, second, "A", HONEST), ["c key-in-memory A"]);
  assert.deepEqual(s.whoHas(["A"])["A"]!.sort(), ["addr-u1", "addr-u2"]);
});

test("two untrusted workers that disagree: a third opinion decides by majority; the liar is banned and what it vouched for (and results computed from it) is computed again", () => {
  const s = mixed([], ["u1", "u2", "u3"]);
  // Earlier, u1 and u2 agreed on X; Y was computed from X.
  submit(s, [task("X", [], { workers: ["u1"] })]);
  answer(s, "u1", "X", OTHER);
  const witness = sentTo(s, "X")!;
  answer(s, witness, "X", OTHER);
  submit(s, [task("Y", ["X"], { workers: ["u3"] })]);
  answer(s, "u3", "Y", OTHER);
  answer(s, sentTo(s, "Y")!, "Y", OTHER);
  assert.equal(s.tasks.get("Y")!.state, "memory");
  // Now u1 lies about Z: u1 and one other disagree, the third sides with the other.
  submit(s, [task("Z", [], { workers: ["u1"] })]);
  answer(s, "u1", "Z", FALSE);
  const second = sentTo(s, "Z")!;
  answer(s, second, "Z", HONEST);
  const third = sentTo(s, "Z")!;
  assert.notEqual(third, second);
  assert.notEqual(third, "u1");
  assert.equal(s.tasks.get("Z")!.state, "verifying");
  const out = answer(s, third, "Z", HONEST);
  assert.ok(out.includes("scheduler banned u1"), out.join("\n"));
  assert.equal(s.tasks.get("Z")!.state, "memory");
  // X rested on u1's word: it and Y (computed from it) are computed again, and their client told.
  assert.ok(out.includes("c key-lost X") && out.includes("c key-lost Y"), out.join("\n"));
  assert.notEqual(s.tasks.get("X")!.state, "memory");
  assert.notEqual(s.tasks.get("Y")!.state, "memory");
  assert.equal(s.bannedWhy("u1-again", "addr-new", "h-u1")?.includes("banned"), true);
});

test("three different results fail the task with VerificationError, and nobody is banned", () => {
  const s = mixed([], ["u1", "u2", "u3"]);
  submit(s, [task("A")]);
  answer(s, sentTo(s, "A")!, "A", HONEST);
  answer(s, sentTo(s, "A")!, "A", FALSE);
  const out = answer(s, sentTo(s, "A")!, "A", OTHER);
  assert.deepEqual(
    out.filter((l) => !l.includes("free-keys")),
    ["c key-erred A"],
  );
  assert.equal(s.tasks.get("A")!.error?.name, "VerificationError");
  assert.equal(s.workers.size, 3);
});

test("a witness that leaves sends the task round again; a worker whose answer was pending leaves and the task starts over", () => {
  const s = mixed(["t1", "t2"], ["u1"]);
  submit(s, [task("A", [], { workers: ["u1"] })]);
  answer(s, "u1", "A", HONEST);
  const witness = sentTo(s, "A")!;
  feed(s, { op: "worker-removed", worker: witness, reason: "test" });
  assert.notEqual(s.tasks.get("A")!.state, "memory");
  assert.equal(s.tasks.get("A")!.opinions, null);
  assert.equal(s.workers.get("u1")!.opinions.size, 0);
});

test("verify: 2 runs a task on two trusted workers; a worker that sends no digest matches nothing", () => {
  const s = mixed(["t1", "t2"], []);
  const out = submit(s, [task("A", [], { verify: 2 })]);
  assert.equal(out[0]!.msg.op === "compute-task" && out[0]!.msg.digest, true);
  const first = sentTo(s, "A")!;
  answer(s, first, "A", HONEST);
  const second = sentTo(s, "A")!;
  assert.notEqual(second, first);
  // Two trusted workers that disagree cannot be judged: the task fails.
  answer(s, second, "A", undefined);
  assert.equal(s.tasks.get("A")!.error?.name, "VerificationError");
});

test("verify: 1 and private tasks (and what depends on private data) never go to untrusted workers", () => {
  const s = mixed([], ["u1"]);
  submit(s, [task("A", [], { verify: 1 }), task("P", [], { private: true })]);
  assert.equal(s.tasks.get("A")!.state, "no-worker");
  assert.equal(s.tasks.get("P")!.state, "no-worker");
  assert.match(s.storyOf("P").at(-1)?.note ?? "", /private data.*runs only on trusted workers, and none is connected/);
  assert.match(s.storyOf("A").at(-1)?.note ?? "", /verify: 1 and runs only on trusted workers/);
  addWorker(s, "t1");
  take(s);
  assert.equal(sentTo(s, "P"), "t1");
  answer(s, "t1", "P", undefined);
  submit(s, [task("Q", ["P"])]);
  assert.equal(s.tasks.get("Q")!.private, true);
  assert.equal(sentTo(s, "Q"), "t1");
});

test("scattered private data marks its dependents private", () => {
  const s = mixed(["t1"], ["u1"]);
  feed(s, { op: "update-data", client: "c", entries: [{ key: "D", worker: "addr-t1", nbytes: 8, private: true }] });
  submit(s, [task("B", ["D"]), task("C", ["D"]), task("E", ["D"])]);
  for (const k of ["B", "C", "E"]) assert.equal(sentTo(s, k), "t1", `${k} is computed from private data`);
});

test("a witness that fails the task fails it (or retries it) instead of leaving it verifying forever", () => {
  const s = mixed(["t1"], ["u1"]);
  submit(s, [task("A", [], { workers: ["u1"] }), task("R", [], { workers: ["u1"], retries: 1 })]);
  answer(s, "u1", "A", HONEST);
  answer(s, "u1", "R", HONEST);
  assert.equal(sentTo(s, "A"), "t1");
  const error = { name: "Error", message: "boom on the witness" };
  feed(s, { op: "task-erred", worker: "t1", key: "A", error: error });
  assert.deepEqual(lines(take(s)), ["c key-erred A", "t1 free-keys A", "u1 free-keys A"]);
  assert.equal(s.tasks.get("A")!.state, "erred");
  // With a retry left it starts over: its opinions are dropped and it runs again.
  assert.equal(sentTo(s, "R"), "t1");
  feed(s, { op: "task-erred", worker: "t1", key: "R", error: error });
  assert.equal(s.tasks.get("R")!.state, "processing");
  assert.equal(s.tasks.get("R")!.opinions, null);
});

test("an untrusted worker that fetched a verify: 1 result as an input is not listed as its holder", () => {
  const s = mixed(["t1"], ["u1"]);
  submit(s, [task("A", [], { verify: 1 })]);
  answer(s, "t1", "A", undefined);
  submit(s, [task("B", ["A"], { workers: ["u1"] })]);
  feed(s, { op: "add-keys", worker: "u1", keys: [{ key: "A", nbytes: 8 }] });
  assert.deepEqual(s.whoHas(["A"]), { A: ["addr-t1"] });
  // It keeps its copy to compute B (no free-keys), and B's result is verified as usual.
  assert.deepEqual(lines(take(s)), []);
  assert.deepEqual(answer(s, "u1", "B", HONEST), ["t1 compute-task B"]);
});

test("a witness that could not fetch an input (missing-data) is replaced; the task does not wait for it forever", () => {
  const s = mixed(["t1", "t2"], ["u1"]);
  submit(s, [task("busy", [], { workers: ["t1"] }), task("A", [], { workers: ["t1"] })]);
  answer(s, "t1", "A", undefined);
  submit(s, [task("B", ["A"], { workers: ["u1"] })]);
  feed(s, { op: "add-keys", worker: "u1", keys: [{ key: "A", nbytes: 8 }] }); // u1 fetched A: A is held by t1 and u1
  assert.deepEqual(answer(s, "u1", "B", HONEST), ["t2 compute-task B"]);
  // t2 could not get A from u1, and dropped B: u1 is no longer a holder of A, and B goes to a witness again.
  feed(s, { op: "missing-data", worker: "t2", key: "B", dep: "A", from: "addr-u1" });
  assert.deepEqual(s.whoHas(["A"]), { A: ["addr-t1"] });
  assert.deepEqual(lines(take(s)), ["t2 compute-task B"]);
  assert.deepEqual(answer(s, "t2", "B", HONEST), ["c key-in-memory B", "u1 free-keys B"]);
});

test("a result leaves the vouched list of every worker it was accepted on, also one dropped as its holder meanwhile", () => {
  const s = mixed([], ["u1", "u2"]);
  submit(s, [task("A", [], { workers: ["u1"] })]);
  answer(s, "u1", "A", HONEST);
  answer(s, "u2", "A", HONEST);
  const [u1, u2] = [s.workers.get("u1")!, s.workers.get("u2")!];
  assert.deepEqual([u1.vouched.has(s.tasks.get("A")!), u2.vouched.has(s.tasks.get("A")!)], [true, true]);
  submit(s, [task("B", ["A"], { workers: ["u1"] })], ["B"]);
  feed(s, { op: "missing-data", worker: "u1", key: "B", dep: "A", from: "addr-u2" }); // u2 is no longer listed as a holder of A
  assert.deepEqual(s.whoHas(["A"]), { A: ["addr-u1"] });
  feed(s, { op: "release-keys", client: "c", keys: ["A", "B"] });
  assert.equal(s.tasks.get("A"), undefined);
  assert.deepEqual([u1.vouched.size, u2.vouched.size], [0, 0]);
});
