// Roles, identity and limits (issue 20, Builds 1 and 6), attacked over real loopback sockets by a
// peer holding only the tab link's token (what any stranger who opens the page has): its claims are
// capped and it is shown as untrusted, it cannot take an honest worker's name or address, its lists
// are capped, its joins per address are limited; a graph with a cycle is refused. Honest work
// still finishes right.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Client, GraphCycleError } from "../../node/index.js";
import { WorkerGroup } from "../../node/hosts/worker-group.js";
import { serialize, type Message } from "../../src/internal.js";
import { CLIENT, guardedCluster, TAB, useGuardedCluster, WORKER } from "./cluster.js";
import { Hostile } from "./hostile.js";
import { waitFor } from "../helpers/wait-for.js";

function claim(name: string, extra: object = {}) {
  return {
    address: `ws://127.0.0.1:${10_000 + Math.floor(Math.random() * 50_000)}`,
    kind: "browser",
    nthreads: 1,
    memoryLimit: 0,
    resources: {},
    name,
    ...extra,
  };
}

/** A hostile worker: joins with `token`, claiming `worker`; resolves with the first answer. */
async function join(
  address: string,
  token: string,
  worker: object,
  from = "127.0.0.2",
): Promise<{ h: Hostile; answer: Message | null }> {
  const h = await Hostile.open(address, from);
  h.hello("worker", token, { worker });
  return { h, answer: await h.next() };
}

describe("roles, identity and limits", () => {
  const c = useGuardedCluster({ honest: 2, scheduler: { maxJoinsPerAddressPerMinute: 20 } });

  async function honestWorkFinishes(): Promise<void> {
    const xs = Array.from({ length: 20 }, (_, i) => i);
    const squares = c.client.map((x: number) => x * x, xs, { pure: false });
    assert.equal(
      await c.client.submit((v: number[]) => v.reduce((a, b) => a + b, 0), squares),
      xs.reduce((a, x) => a + x * x, 0),
    );
  }

  test("a tab-token worker claiming 1e9 threads, a petabyte and GPUs is counted as 8 threads, 4 GiB and no resources, and shown untrusted", async () => {
    const { h, answer } = await join(
      c.scheduler.address,
      TAB,
      claim("greedy", { nthreads: 1e9, memoryLimit: 1e15, resources: { GPU: 4 } }),
    );
    assert.equal(answer?.op, "welcome");
    const info = await c.client.workers();
    const greedy = info.find((w) => w.name === "greedy")!;
    assert.deepEqual(
      {
        trusted: greedy.trusted,
        nthreads: greedy.nthreads,
        memoryLimit: greedy.memoryLimit,
        resources: greedy.resources,
      },
      { trusted: false, nthreads: 8, memoryLimit: 4 * 1024 ** 3, resources: {} },
    );
    for (const w of info.filter((w) => w.name !== "greedy"))
      assert.equal(w.trusted, true, `${w.name} joined with the worker token`);
    // A task that needs a GPU finds no worker for it: the claim was not believed.
    const gpu = c.client.with({ resources: { GPU: 1 } }).submit(() => "ran on a GPU");
    await waitFor(async () => (await c.client.story(gpu.key)).some((e) => e.finish === "no-worker"), {
      message: "the GPU task to wait for a worker",
    });
    assert.equal(gpu.status, "pending");
    await c.client.cancel(gpu);
    h.close();
    await h.closed;
    await honestWorkFinishes();
  });

  test("the tab token never logs in as a client", async () => {
    const h = await Hostile.open(c.scheduler.address, "127.0.0.3");
    h.hello("client", TAB);
    const m = await h.next();
    assert.deepEqual([m?.op, (m as { reason?: string }).reason], ["refused", "wrong token"]);
  });

  test("a second worker with an honest worker's name or data-server address is refused, even with the worker token; tasks pinned to the name stay with the honest one", async () => {
    const [honest] = await c.client.workers();
    const byName = await join(c.scheduler.address, WORKER, claim(honest!.name));
    assert.deepEqual(
      [byName.answer?.op, (byName.answer as { reason?: string }).reason],
      ["refused", `a worker named "${honest!.name}" is already connected`],
    );
    const byAddress = await join(c.scheduler.address, TAB, claim("impostor", { address: honest!.address }));
    assert.deepEqual(
      [byAddress.answer?.op, (byAddress.answer as { reason?: string }).reason],
      ["refused", `a worker already serves data at ${honest!.address}`],
    );
    const pinned = c.client.with({ workers: honest!.name, pure: false }).map(
      (x: number) => x + 1,
      Array.from({ length: 10 }, (_, i) => i),
    );
    assert.deepEqual(
      await c.client.gather(pinned),
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
    const after = (await c.client.workers()).find((w) => w.id === honest!.id)!;
    assert.ok(after.tasks.done >= 10, `the honest worker ran them (${after.tasks.done} done)`);
    assert.equal((await c.client.workers()).length, 2);
  });

  test("a heartbeat with 200,000 links closes that worker's connection, naming the limit; the scheduler is not stalled", async () => {
    const { h, answer } = await join(c.scheduler.address, TAB, claim("chatty"));
    assert.equal(answer?.op, "welcome");
    const links = Array.from({ length: 200_000 }, (_, i) => ({
      peer: `ws://10.0.${i >> 8}.${i & 255}:1`,
      kind: "ws",
      bytesIn: i,
      bytesOut: i,
    }));
    const t = performance.now();
    h.send([
      { op: "heartbeat", memory: 0, spilled: 0, paused: false, executing: 0, ready: 0, links } as unknown as Message,
    ]);
    const info = await h.closed;
    assert.match(info.reason, /links has 200000 entries \(limit 10000\)/);
    const ms = performance.now() - t;
    const rt = performance.now();
    await c.client.workers();
    assert.ok(performance.now() - rt < 500, "the scheduler answers at once afterwards");
    console.log(`  a 200,000-link heartbeat was refused ${ms.toFixed(0)} ms after it was sent`);
    await honestWorkFinishes();
  });

  test("joins from one address are limited per minute (20 here); other addresses still join", async () => {
    const answers: string[] = [];
    const open: Hostile[] = [];
    for (let i = 0; i < 25; i++) {
      const { h, answer } = await join(c.scheduler.address, TAB, claim(`flood-${i}`), "127.0.4.1");
      open.push(h);
      answers.push(answer?.op === "refused" ? (answer as { reason: string }).reason : String(answer?.op));
    }
    assert.deepEqual(answers.slice(0, 20), Array(20).fill("welcome"));
    for (const a of answers.slice(20))
      assert.match(a, /too many workers joined from 127\.0\.4\.1 in the last minute \(limit 20\)/);
    for (const h of open) h.close();
    await Promise.all(open.map((h) => h.closed));
    const other = await join(c.scheduler.address, TAB, claim("elsewhere"), "127.0.4.2");
    assert.equal(other.answer?.op, "welcome");
    other.h.close();
    await other.h.closed;
    await honestWorkFinishes();
  });

  test("a worker's claims to hold keys it was never told to compute or fetch are ignored: it cannot become a holder, nor strip an honest one", async () => {
    const x = c.client.submit((n: number) => `honest-${n}`, 7); // pure: another client's identical task shares the key
    assert.equal(await x, "honest-7");
    const { h, answer } = await join(c.scheduler.address, TAB, claim("claimer"));
    assert.equal(answer?.op, "welcome");
    const liar = (await c.client.workers()).find((w) => w.name === "claimer")!;
    const [honest] = (await c.client.workers()).filter((w) => w.trusted);
    h.send([
      { op: "add-keys", keys: [{ key: x.key, nbytes: 8 }] },
      { op: "task-finished", key: x.key, nbytes: 8, duration: 1 },
      { op: "missing-data", key: "some-task", dep: x.key, from: (await whoHas(x.key))[0]! },
    ] as unknown as Message[]);
    // A fixed wait: what is asserted is that the claims change nothing (no answer comes to wait for).
    await new Promise((r) => setTimeout(r, 200));
    const holders = await whoHas(x.key);
    assert.ok(holders.length >= 1 && !holders.includes(liar.address), `holders: ${holders.join(", ")}`);
    assert.ok(honest, "an honest holder is still recorded");
    // Another client's identical pure task gets the honest bytes.
    const other = await Client.connect(c.scheduler.address, { token: CLIENT });
    try {
      assert.equal(await other.submit((n: number) => `honest-${n}`, 7), "honest-7");
    } finally {
      await other.close();
    }
    h.close();
    await h.closed;
  });

  /** The data-server addresses the scheduler records for `key` (asked as a client would). */
  async function whoHas(key: string): Promise<string[]> {
    const h = await Hostile.open(c.scheduler.address, "127.0.0.1");
    h.hello("client", CLIENT);
    await h.next();
    h.send([{ op: "request", id: 1, what: { kind: "who-has", keys: [key] } } as Message]);
    const reply = (await h.next()) as { value: Record<string, string[]> };
    h.close();
    return reply.value[key] ?? [];
  }

  test("a graph with a cycle is refused at submit with GraphCycleError; the client's other work runs", async () => {
    const h = await Hostile.open(c.scheduler.address, "127.0.0.1");
    h.hello("client", CLIENT);
    assert.equal((await h.next())?.op, "welcome");
    const args = serialize([1]).payload;
    const task = (key: string, deps: string[]) => ({
      key,
      fn: { kind: "builtin", name: "identity" },
      args,
      deps,
      priority: [0],
      retries: 0,
    });
    // "self" depends on itself; "a" on "b", which comes later and depends on "a".
    h.send([
      {
        op: "update-graph",
        tasks: [task("self", ["self"]), task("a", ["b"]), task("b", ["a"])],
        fns: [],
        wants: ["self", "a", "b"],
      } as unknown as Message,
    ]);
    const erred = new Map<string, string>();
    for (let i = 0; i < 10 && erred.size < 3; i++) {
      const m = (await h.next()) as { op: string; key: string; error: { name: string } } | null;
      if (m?.op === "key-erred") erred.set(m.key, m.error.name);
    }
    assert.equal(erred.get("self"), "GraphCycleError");
    assert.equal(erred.get("a"), "GraphCycleError");
    assert.ok(erred.has("b"), "b depends on a refused task, so it errs too");
    h.close();
    assert.ok(new GraphCycleError("x") instanceof Error);
    await honestWorkFinishes();
  });
});

test("a scheduler told to trust no worker marks even worker-token workers untrusted, and caps them", async () => {
  // Two workers with the worker token: each result of an untrusted worker is verified on another.
  await using c = await guardedCluster({
    honest: 2,
    honestOptions: { resources: { GPU: 1 } },
    scheduler: { untrustedWorkers: true },
  });
  const { client } = c;
  const [w] = await client.workers();
  assert.deepEqual([w!.trusted, w!.resources], [false, {}]);
  assert.equal(await client.submit((x: number) => x * 3, 14), 42);
  const story = await client.story(client.submit((x: number) => x * 3, 14).key);
  assert.ok(
    story.some((e) => e.start === "verifying" && e.finish === "memory"),
    "verified on the second worker",
  );
});

test("untrusted workers that crash on a task count once per address: one stranger joining three times cannot fail an honest task with KilledWorkerError; three addresses still can", async () => {
  await using c = await guardedCluster();
  const { scheduler, client } = c;
  /** Joins from `from`, waits for the task, says it started, and dies without a goodbye. */
  const crashOn = async (key: string, from: string, name: string) => {
    const { h, answer } = await join(scheduler.address, TAB, claim(name), from);
    assert.equal(answer?.op, "welcome");
    for (;;) {
      const m = (await h.next()) as { op: string; key?: string } | null;
      assert.ok(m, `${name} was sent the task`);
      if (m.op === "compute-task" && m.key === key) break;
    }
    h.send([{ op: "task-started", key } as Message]);
    await new Promise((r) => setTimeout(r, 50)); // the task-started read before the connection drops
    h.close();
    await h.closed;
    await waitFor(async () => !(await client.workers()).some((w) => w.name === name), {
      message: `the scheduler to notice ${name} gone`,
    });
  };
  let workers: WorkerGroup | null = null;
  try {
    const honest = client.with({ pure: false }).submit((x: number) => x * 2, 21);
    for (let i = 0; i < 3; i++) await crashOn(honest.key, "127.0.8.1", `crasher-${i}`);
    workers = new WorkerGroup({
      scheduler: scheduler.address,
      listen: "ws://127.0.0.1:0",
      kind: "node",
      namePrefix: "honest",
      token: WORKER,
      logLevel: "silent",
    });
    await workers.grow(1);
    assert.equal(await honest, 42, "the task ran on the honest worker that joined later");
    await workers.close();
    workers = null;
    // Control: three deaths from three addresses are three deaths.
    const doomed = client.with({ pure: false }).submit((x: number) => x * 2, 22);
    for (let i = 0; i < 3; i++) await crashOn(doomed.key, `127.0.9.${i + 1}`, `crasher-b${i}`);
    await assert.rejects(doomed.result(), (e: unknown) => (e as Error).name === "KilledWorkerError");
  } finally {
    await workers?.close();
  }
});
