// Lying workers (issue 20, Build 3), over real loopback sockets: a hostile peer with the tab link's
// token answers tasks with forged values, and a group of real worker threads that forge every
// result joins as untrusted. Each lie is caught by a trusted witness, the liar banned (a rejoin from
// its address under a new name is refused), and the honest answer reaches the client.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { WorkerGroup } from "../../node/hosts/worker-group.js";
import { digestOf, serialize, type Message } from "../../src/internal.js";
import { TAB, useGuardedCluster } from "./cluster.js";
import { Hostile } from "./hostile.js";

function claim(name: string) {
  return {
    address: `ws://127.0.0.1:${10_000 + Math.floor(Math.random() * 50_000)}`,
    kind: "browser",
    nthreads: 8,
    memoryLimit: 0,
    resources: {},
    name,
  };
}

/** A hostile worker joined with the tab token from `from`; resolves with its first answer. */
async function join(address: string, name: string, from: string): Promise<{ h: Hostile; answer: Message | null }> {
  const h = await Hostile.open(address, from);
  h.hello("worker", TAB, { worker: claim(name) });
  return { h, answer: await h.next() };
}

/** Answers every compute-task with `forge(key)` (value and the digest it reports) until closed; resolves with the keys answered. */
async function lieUntilClosed(
  h: Hostile,
  forge: (key: string) => { value: unknown; digest: string },
): Promise<string[]> {
  const answered: string[] = [];
  for (;;) {
    const m = (await h.next(10_000)) as { op: string; key?: string; digest?: boolean } | null;
    if (!m) return answered;
    if (m.op !== "compute-task") continue;
    const { value, digest } = forge(m.key!);
    h.send([
      {
        op: "task-finished",
        key: m.key,
        nbytes: 8,
        duration: 1,
        value: serialize(value).payload,
        digest: m.digest ? digest : undefined,
      } as unknown as Message,
    ]);
    answered.push(m.key!);
  }
}

const digestOfValue = (v: unknown) => digestOf(serialize(v).payload);

describe("lying workers", () => {
  const c = useGuardedCluster({ honest: 1 });

  test("a tab that forges results (and their digests) is outvoted by the trusted witness, banned, and its address refused; every answer is right", async () => {
    const { h, answer } = await join(c.scheduler.address, "liar", "127.0.5.1");
    assert.equal(answer?.op, "welcome");
    const lies = lieUntilClosed(h, () => ({ value: "EVIL-RESULT", digest: digestOfValue("EVIL-RESULT") }));
    const xs = Array.from({ length: 40 }, (_, i) => i);
    const results = await Promise.all(c.client.map((x: number) => x * 3, xs, { pure: false }));
    assert.deepEqual(
      results,
      xs.map((x) => x * 3),
    );
    const answered = await lies;
    assert.ok(answered.length > 0, "the liar was given work (it claimed 8 threads), so the lie was tried");
    assert.match((await h.closed).reason, /banned/);
    assert.equal(
      (await c.client.workers()).some((w) => w.name === "liar"),
      false,
    );
    // Back under a new name and address, from the same host: refused.
    const again = await join(c.scheduler.address, "innocent-looking", "127.0.5.1");
    assert.deepEqual(
      [again.answer?.op, String((again.answer as { reason?: string }).reason)].join(" ").match(/refused.*banned/) !==
        null,
      true,
    );
    again.h.close();
    // Another host is not affected.
    const other = await join(c.scheduler.address, "someone-else", "127.0.5.2");
    assert.equal(other.answer?.op, "welcome");
    other.h.close();
    await other.h.closed;
  });

  test("a tab that reports the honest digest with a forged value cannot get its value to the client: only the trusted witness's copy is kept", async () => {
    const { h, answer } = await join(c.scheduler.address, "sly", "127.0.6.1");
    assert.equal(answer?.op, "welcome");
    // It reports the digest of the true answer (x + 100), and sends "EVIL" as the value.
    const lies = lieUntilClosed(h, (key) => ({
      value: "EVIL",
      digest: digestOfValue(Number(/-(\d+)$/.exec(key)?.[1] ?? 0) + 100),
    }));
    const futures = Array.from({ length: 20 }, (_, i) =>
      c.client.with({ key: `plus-${i}` }).submit((x: number) => x + 100, i),
    );
    assert.deepEqual(
      await Promise.all(futures),
      Array.from({ length: 20 }, (_, i) => i + 100),
    );
    assert.equal(h.isOpen, true, "its digests agreed, so it was not caught");
    h.close();
    assert.ok((await lies).length > 0, "the sly worker was given work");
    // Dependents read the trusted copy, too.
    const total = await c.client.submit((v: number[]) => v.reduce((a, b) => a + b, 0), futures);
    assert.equal(
      total,
      Array.from({ length: 20 }, (_, i) => i + 100).reduce((a, b) => a + b, 0),
    );
  });

  test("real worker threads that forge every result join as untrusted; they are banned and the job finishes right", async () => {
    const liars = new WorkerGroup({
      scheduler: c.scheduler.address,
      listen: "ws://127.0.0.1:0",
      kind: "node",
      namePrefix: "forger",
      token: TAB,
      logLevel: "silent",
      lieForTests: true,
    });
    try {
      await liars.grow(2);
      const xs = Array.from({ length: 60 }, (_, i) => i);
      const squares = c.client.map((x: number) => x * x, xs, { pure: false });
      const total = await c.client.submit((v: number[]) => v.reduce((a, b) => a + b, 0), squares);
      assert.equal(
        total,
        xs.reduce((a, x) => a + x * x, 0),
      );
      assert.deepEqual(
        await Promise.all(squares),
        xs.map((x) => x * x),
      );
      const names = (await c.client.workers()).map((w) => w.name);
      assert.deepEqual(
        names.filter((n) => n.startsWith("forger")),
        [],
        "both forgers were banned",
      );
    } finally {
      await liars.close();
    }
  });
});
