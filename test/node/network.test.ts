// A cluster across processes, started the way users start one: `meshwork scheduler` in one
// process, `meshwork worker` in others, a client in this one, all over WebSocket on 127.0.0.1.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Client, HandshakeError } from "../../node/index.js";
import { startNode } from "../helpers/process.js";

const CLI = "dist/node/cli.js";

async function startScheduler() {
  const proc = startNode([CLI, "scheduler", "--port", "0"]);
  const [, address] = await proc.waitFor(/scheduler at (ws:\/\/127\.0\.0\.1:\d+)/);
  const [, clientToken] = await proc.waitFor(/token: "([0-9a-f]+)"/);
  const [, workerToken] = await proc.waitFor(/MESHWORK_WORKER_TOKEN=([0-9a-f]+) npx meshwork worker/);
  return { proc, address: address!, clientToken: clientToken!, workerToken: workerToken! };
}

test("scheduler and worker processes: a dependency moves worker to worker across processes", async () => {
  const s = await startScheduler();
  await using _s = s.proc;
  await using w1 = startNode([CLI, "worker", s.address, "--token", s.workerToken, "--threads", "1"]);
  await using w2 = startNode([CLI, "worker", s.address, "--token", s.workerToken, "--threads", "1"]);
  await w1.waitFor(/serves data at ws:/);
  await w2.waitFor(/serves data at ws:/);
  const client = await Client.connect(s.address, { token: s.clientToken });
  try {
    const workers = await client.workers();
    assert.equal(workers.length, 2);
    assert.deepEqual(
      workers.map((w) => w.kind),
      ["node", "node"],
    );
    for (const w of workers)
      assert.match(w.address, /^ws:\/\/127\.0\.0\.1:\d+$/, "each worker serves data on a port of its own");
    const [a, b] = workers;
    const big = client
      .with({ workers: a!.id })
      .submit((n: number) => Float64Array.from({ length: n }, (_, i) => i % 16), 1_000_000);
    const total = client.with({ workers: b!.id }).submit((x: Float64Array) => x.reduce((s, v) => s + v, 0), big);
    assert.equal(await total, 7.5 * 1_000_000);
    const after = await client.workers();
    assert.ok(after.find((w) => w.id === b!.id)!.memory >= 8_000_000, "the input was copied to the second worker");
    assert.deepEqual(
      (await big).slice(0, 3),
      Float64Array.from([0, 1, 2]),
      "the client gathers a large result straight from the worker",
    );
  } finally {
    await client.close();
  }
  w1.child.kill("SIGTERM");
  w2.child.kill("SIGTERM");
  assert.equal(await w1.exited, 0);
  assert.equal(await w2.exited, 0);
  s.proc.child.kill("SIGINT");
  assert.equal(await s.proc.exited, 0);
  assert.match(s.proc.output(), /SIGINT: closing the scheduler/);
});

test("tokens: the client token submits, the worker token only joins, wrong ones are refused without naming another role", async () => {
  const s = await startScheduler();
  await using _s = s.proc;
  const good = await Client.connect(s.address, { token: s.clientToken });
  try {
    // The worker token gets the same answer as a guess: a stranger learns nothing about which tokens exist.
    await assert.rejects(
      Client.connect(s.address, { token: s.workerToken }),
      (e: unknown) => e instanceof HandshakeError && /wrong token/.test(e.message) && !/worker/.test(e.message),
    );
    await assert.rejects(Client.connect(s.address, { token: "guess" }), /wrong token/);
    await assert.rejects(Client.connect(s.address), /needs a token/);
    // A worker that tries to join with the client token is refused, and its process says why.
    await using bad = startNode([CLI, "worker", s.address, "--token", s.clientToken, "--threads", "1"]);
    assert.notEqual(await bad.exited, 0);
    assert.match(bad.output(), /wrong token/);
    assert.doesNotMatch(bad.output(), /client token/);
    // Nothing else was disturbed: the good client still submits (the task waits for a worker).
    await using w = startNode([CLI, "worker", s.address, "--token", s.workerToken, "--threads", "1"]);
    await w.waitFor(/serves data at/);
    assert.equal(await good.submit((x: number) => x * 2, 21), 42);
  } finally {
    await good.close();
  }
});

test("a worker whose scheduler goes away leaves, and its process exits", async () => {
  const s = await startScheduler();
  await using _s = s.proc;
  await using w = startNode([CLI, "worker", s.address, "--token", s.workerToken, "--threads", "2"]);
  await w.waitFor(/serves data at[\s\S]*serves data at/);
  s.proc.child.kill("SIGTERM");
  assert.equal(await s.proc.exited, 0);
  assert.equal(await w.exited, 0);
  assert.match(w.output(), /the scheduler closed the connection/);
});

test("worker and scheduler commands explain their options and refuse bad ones", async () => {
  const { runNode } = await import("../helpers/run.js");
  assert.match((await runNode([CLI, "scheduler", "--help"])).stdout, /--worker-token/);
  assert.match((await runNode([CLI, "worker", "--help"])).stdout, /--threads N/);
  const noUrl = await runNode([CLI, "worker"]);
  assert.equal(noUrl.code, 2);
  assert.match(noUrl.stderr, /needs the scheduler's address/);
  const badPort = await runNode([CLI, "scheduler", "--port", "99999"]);
  assert.equal(badPort.code, 2);
  const sameTokens = await runNode([CLI, "scheduler", "--token", "a", "--worker-token", "a"]);
  assert.equal(sameTokens.code, 2);
  assert.match(sameTokens.stderr, /must differ/);
  const unreachable = await runNode([CLI, "worker", "ws://127.0.0.1:9", "--threads", "1", "--timeout", "0"]);
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, /cannot connect to ws:\/\/127\.0\.0\.1:9/);
});

test("the scheduler serves the worker page on its port, with a Content-Security-Policy, and prints its link", async () => {
  const s = await startScheduler();
  await using _s = s.proc;
  const [, link] = await s.proc.waitFor(/browser tabs: open (http:\/\/127\.0\.0\.1:\d+\/#token=[0-9a-f]+)/);
  const tabToken = /#token=([0-9a-f]+)$/.exec(link!)![1]!;
  assert.ok(
    tabToken !== s.workerToken && tabToken !== s.clientToken,
    "the link carries a tab token of its own (never the worker or client token), in the fragment",
  );
  // The dashboard's link, on the same port, carries the client token.
  const [, dashboard] = await s.proc.waitFor(/dashboard: (http:\/\/127\.0\.0\.1:\d+\/dashboard#token=[0-9a-f]+)/);
  assert.equal(new URL(dashboard!).origin, new URL(link!).origin);
  assert.equal(/#token=([0-9a-f]+)$/.exec(dashboard!)![1], s.clientToken);
  const page = await fetch(link!);
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type")!, /text\/html/);
  assert.match(page.headers.get("content-security-policy")!, /default-src 'self'; script-src 'self';/);
  assert.match(await page.text(), /<script type="module" src="page.js">/);
  const worker = await fetch(new URL("/worker.js", link!));
  assert.equal(worker.status, 200);
  assert.match(worker.headers.get("content-security-policy")!, /script-src 'self' 'unsafe-eval'/);
  // The build splits the page's code: the chunks worker.js imports are served beside it, as scripts.
  const imported = [...(await worker.text()).matchAll(/(?:from ?|import ?)"\.\/(chunks\/[\w-]+\.js)"/g)].map(
    (m) => m[1]!,
  );
  assert.ok(imported.length > 0, "worker.js imports its shared code from chunks/");
  for (const chunk of imported) {
    const r = await fetch(new URL(`/${chunk}`, link!));
    assert.equal(r.status, 200, chunk);
    assert.match(r.headers.get("content-type")!, /text\/javascript/);
    await r.arrayBuffer();
  }
  assert.equal((await fetch(new URL("/chunks/not-built.js", link!))).status, 404);
  assert.equal((await fetch(new URL("/chunks/", link!))).status, 404);
  assert.equal((await fetch(new URL("/data/x", link!))).status, 404, "no data without --serve-data");
  assert.equal((await fetch(new URL("/etc/passwd", link!))).status, 404);
  assert.equal((await fetch(new URL("/", link!), { method: "POST" })).status, 405);
});
