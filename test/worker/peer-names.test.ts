// A worker knows who is at the other end of each data link: the name a data server gives in its
// welcome (links this worker opened) and the name a peer or client gives in its hello (links to
// this worker's data server). The worker page shows peers by these names; a name is a claim,
// shown as text, with control characters removed and at most 64 characters.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Client, Scheduler, Worker } from "../../src/internal.js";
import { displayName } from "../../src/comm/peers.js";

test("links carry the other end's name and role, both directions", async () => {
  const scheduler = await Scheduler.start({ address: `inproc://names-${Math.random()}` });
  const [w1, w2] = await Promise.all(
    ["alpha", "beta"].map((name) => Worker.start({ scheduler: scheduler.address, name })),
  );
  const client = await Client.connect(scheduler.address, { name: "me" });
  try {
    const made = client
      .with({ workers: [w1!.workerId], pure: false })
      .submit((n: number) => new Float64Array(n).fill(1), 10_000);
    const summed = client.with({ workers: [w2!.workerId], pure: false }).submit((x: Float64Array) => x.length, made);
    assert.equal(await summed, 10_000);
    assert.equal((await made).length, 10_000); // the client fetches from alpha's data server
    const out = w2!.links().find((l) => l.direction === "out");
    assert.deepEqual(out && { name: out.name, role: out.role, peer: out.peer }, {
      name: "alpha",
      role: "peer",
      peer: w1!.address,
    });
    const into = w1!.links().filter((l) => l.direction === "in");
    assert.deepEqual(
      into.map((l) => [l.name, l.role]).sort(),
      [
        ["beta", "peer"],
        [`client-${client.id}`, "client"],
      ].sort(),
    );
    assert.ok(
      into.every((l) => l.bytesOut > 80_000),
      JSON.stringify(into),
    );
    const toScheduler = w1!.links().find((l) => l.direction === "scheduler");
    assert.deepEqual(toScheduler && [toScheduler.name, toScheduler.role], ["scheduler", "scheduler"]);
  } finally {
    await client.close();
    await Promise.all([w1!.close(), w2!.close()]);
    await scheduler.close();
  }
});

test("a peer's name is shown as it claims it, without control characters and cut at 64 characters", () => {
  assert.equal(displayName("tab-a1b"), "tab-a1b");
  assert.equal(displayName("evil\u001b[2J\r\nname\u0000\u009b"), "evil[2Jname");
  assert.equal(displayName("x".repeat(10_000)).length, 64);
});
