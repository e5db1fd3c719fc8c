// Two clusters in one realm, each member with the Runtime it was given (src/runtime.ts): their own
// transports, logger, receive-buffer policy and budgets. Both compute right, and closing one leaves
// the other untouched.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Client,
  createRuntime,
  defaultRuntime,
  LocalCluster,
  Scheduler,
  UnknownSchemeError,
  Worker,
  type Logger,
  type Runtime,
} from "../../node/index.js";
import {
  connect,
  inprocTransport,
  PROTOCOL_VERSION,
  receiveBufferStats,
  SPARE_MIN_BYTES,
  type Serialized,
} from "../../src/internal.js";
import type { SpillStore } from "../../src/worker/spill.js";

const SIZE = SPARE_MIN_BYTES * 2;

/** A logger keeping every line, at every level. */
function recording(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const keep =
    (level: string) =>
    (m: string): void =>
      void lines.push(`${level} ${m}`);
  return { logger: { debug: keep("debug"), info: keep("info"), warn: keep("warn"), error: keep("error") }, lines };
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

interface Member {
  runtime: Runtime;
  lines: string[];
  scheduler: Scheduler;
  worker: Worker;
  client: Client;
}

async function startMember(name: string, parts: Parameters<typeof createRuntime>[0], memoryLimit: number) {
  const { logger, lines } = recording();
  const runtime = createRuntime({ ...parts, logger });
  const scheduler = await Scheduler.start({ runtime });
  const worker = await Worker.start({ scheduler: scheduler.address, name, runtime, memoryLimit });
  const client = await Client.connect(scheduler.address, { runtime });
  return { runtime, lines, scheduler, worker, client } satisfies Member;
}

async function closeMember(m: Member): Promise<void> {
  await m.client.close();
  await m.worker.close();
  await m.scheduler.close();
}

test("two clusters in one realm with different runtimes: each member uses its own, and closing one leaves the other", async () => {
  const a = await startMember("worker-a", { receiveAhead: true, validate: true }, 4 * SIZE);
  const b = await startMember("worker-b", { receiveAhead: false, validate: false }, 0);
  let bClosed = false;
  try {
    // Both compute right.
    const [ra, rb] = await Promise.all([
      a.client.submit((x: number) => x * 2, 21),
      b.client.submit((s: string) => s.toUpperCase(), "mesh"),
    ]);
    assert.equal(ra, 42);
    assert.equal(rb, "MESH");

    // Each logger heard only its own cluster. (By the workers' names as words: an inproc address
    // is "worker-" and random hex, which can begin with an "a" or a "b".)
    await until(() => a.lines.some((l) => l.includes("worker-a joined")), "cluster A's scheduler logging to A");
    assert.ok(
      b.lines.some((l) => l.includes("worker-b joined")),
      "cluster B's scheduler logs to B's logger",
    );
    assert.deepEqual(
      a.lines.filter((l) => /worker-b\b/.test(l)),
      [],
      "nothing of B in A's log",
    );
    assert.deepEqual(
      b.lines.filter((l) => /worker-a\b/.test(l)),
      [],
      "nothing of A in B's log",
    );
    assert.ok(
      a.lines.some((l) => l.includes("worker-a: joined the scheduler")),
      "the worker logs to its runtime's logger",
    );

    // Whether a scheduler checks its state after events is its runtime's (when its options do not say).
    assert.equal(a.scheduler.state.validate, true);
    assert.equal(b.scheduler.state.validate, false);

    // Transports are the runtime's: a scheme registered on A is unknown to B and to the realm.
    a.runtime.transports.register({ ...inprocTransport, scheme: "only-a" });
    await assert.rejects(connect("only-a://x", { transports: b.runtime.transports }), UnknownSchemeError);
    await assert.rejects(connect("only-a://x"), UnknownSchemeError);
    assert.ok(!defaultRuntime().transports.schemes().includes("only-a"));

    // Receive buffers are per member, with the runtime's policy and the worker's own budget.
    const bufA = a.worker.receiveBuffers;
    const bufB = b.worker.receiveBuffers;
    assert.notEqual(bufA, bufB);
    assert.equal(bufA.aheadEnabled, true);
    assert.equal(bufB.aheadEnabled, false, "B's runtime prepares nothing ahead");
    bufA.take(SIZE);
    bufA.take(SIZE);
    await until(() => bufA.stats().spareBytes === SIZE, "a spare for worker A");
    bufB.take(SIZE);
    bufB.take(SIZE);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(bufB.stats().prepared, 0, "worker B prepares nothing");
    const realmBefore = receiveBufferStats().prepared;

    // Closing B disturbs neither A's buffers nor A's work.
    await closeMember(b);
    bClosed = true;
    assert.equal(bufA.stats().spareBytes, SIZE, "A's spare survives B's close");
    assert.equal(receiveBufferStats().prepared, realmBefore, "the realm's buffers were not touched");
    const big = await a.client.submit((n: number) => new Float64Array(n).fill(3), 1000);
    assert.equal(big.length, 1000);
    assert.equal(big[999], 3);
    assert.equal(await a.client.submit((x: number) => x + 1, 1), 2);
  } finally {
    if (!bClosed) await closeMember(b);
    await closeMember(a);
  }
  assert.equal(a.worker.receiveBuffers.stats().spareBytes, 0, "a worker's close drops its own spares");
});

test("two LocalClusters in one process with runtimes of their own: both compute, closing one leaves the other", async () => {
  const la = recording();
  const lb = recording();
  const one = await LocalCluster.start({
    workers: 1,
    logLevel: "error",
    dashboard: false,
    runtime: createRuntime({ logger: la.logger }),
  });
  const two = await LocalCluster.start({
    workers: 1,
    logLevel: "error",
    dashboard: false,
    runtime: createRuntime({ logger: lb.logger }),
  });
  const c1 = await Client.connect(one.address);
  const c2 = await Client.connect(two.address);
  try {
    assert.equal(await c1.submit((x: number) => x * 3, 5), 15);
    assert.equal(await c2.submit((x: number) => x * 4, 5), 20);
    assert.ok(la.lines.some((l) => l.includes("joined")) && lb.lines.some((l) => l.includes("joined")));
    const aJoined = la.lines.find((l) => l.includes("joined"))!;
    assert.ok(!lb.lines.includes(aJoined), "each scheduler logs to its own logger");
    await c1.close();
    await one.close();
    assert.equal(await c2.submit((x: number) => x - 1, 5), 4, "the other cluster still computes");
  } finally {
    await c1.close();
    await c2.close();
    await one.close();
    await two.close();
  }
});

/** A spill store whose disk is always full: every write fails (the worker logs it and keeps the result in memory). */
function fullDisk(): SpillStore {
  return {
    write: (key: string, _value: Serialized) => {
      throw new Error(`no space left for ${key}`);
    },
    read: (key: string) => assert.fail(`nothing was spilled, yet ${key} was read back`),
    remove: () => {},
    close: () => {},
  };
}

test("code below the members logs to the member's runtime: a refused connection, a failed login, a failed spill", async () => {
  const members = await Promise.all(
    (["a", "b"] as const).map(async (name) => {
      const { logger, lines } = recording();
      const runtime = createRuntime({ logger });
      const token = `token-${name}`;
      const scheduler = await Scheduler.start({ runtime, token });
      const worker = await Worker.start({
        scheduler: scheduler.address,
        name: `spiller-${name}`,
        token,
        runtime,
        memoryLimit: 1000,
        spill: fullDisk(),
      });
      const client = await Client.connect(scheduler.address, { runtime, token });
      return { name, runtime, lines, scheduler, worker, client };
    }),
  );
  try {
    for (const m of members) {
      // A peer that does not begin with hello: the scheduler's end of that connection (comm/) closes it.
      const rude = await connect(m.scheduler.address, { transports: m.runtime.transports });
      rude.send({ op: "refused", version: PROTOCOL_VERSION, reason: `rude-${m.name}` });
      await rude.closed;
      // A client with the wrong token: the scheduler's admission refuses it and logs the failed login.
      await assert.rejects(
        Client.connect(m.scheduler.address, { runtime: m.runtime, token: "wrong", name: `guesser-${m.name}` }),
        /wrong token/,
      );
      // Two results of 800 bytes under a limit of 1000: the older one is spilled, and the disk refuses.
      // (Each cluster's tasks have keys of their own, so that each spill line names its cluster's.)
      const fill = (n: number, v: string) => new Float64Array(n).fill(v.length);
      assert.equal((await m.client.submit(fill, 100, `first-${m.name}`)).length, 100);
      assert.equal((await m.client.submit(fill, 101, `second-${m.name}`)).length, 101);
      await until(() => m.lines.some((l) => l.includes("could not spill")), `worker ${m.name}'s spill warning`);
    }
    const [ma, mb] = members as [(typeof members)[0], (typeof members)[0]];
    for (const [own, other] of [
      [ma, mb],
      [mb, ma],
    ] as const) {
      const has = (re: RegExp) => own.lines.some((l) => re.test(l));
      assert.ok(
        has(/^warn .*closing connection, protocol error: expected "hello" first/),
        `${own.name}: the comm's line`,
      );
      assert.ok(has(/^warn failed login from .* as client: wrong token/), `${own.name}: the admission's line`);
      assert.ok(has(/^warn could not spill .*no space left/), `${own.name}: the worker's spill warning`);
      assert.ok(has(new RegExp(`spiller-${own.name}`)), `${own.name} heard its own worker`);
      assert.ok(!has(new RegExp(`spiller-${other.name}`)), `${own.name} heard nothing of ${other.name}'s worker`);
    }
    // Nothing went to both: the two loggers share no line about a connection or a spill.
    const [a, b] = [ma, mb].map((m) => m.lines.filter((l) => /closing connection|could not spill/.test(l)));
    assert.ok(!a!.some((l) => b!.includes(l)), "no line in both loggers");
  } finally {
    for (const m of members) {
      await m.client.close();
      await m.worker.close();
      await m.scheduler.close();
    }
  }
});
