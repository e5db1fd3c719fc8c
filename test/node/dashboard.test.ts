// The dashboard as served: LocalCluster and the network scheduler print its link, clients hear it
// in their welcome, the files carry their CSP, and the data (feed, story) answers the client token only.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Client, LocalCluster } from "../../node/index.js";
import { startNetworkScheduler } from "../../node/servers/page-server.js";
import type { DashboardFrame } from "../../src/scheduler/telemetry.js";
import { expectNoLeaks, resourceCounts } from "../helpers/cluster.js";
import { waitFor } from "../helpers/wait-for.js";

/** The first `n` frames of the feed at `origin` with `token`. */
async function frames(origin: string, token: string, n: number): Promise<DashboardFrame[]> {
  const res = await fetch(`${origin}/dashboard/feed`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const out: DashboardFrame[] = [];
  let buffered = "";
  while (out.length < n) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0 && out.length < n) {
      out.push(JSON.parse(buffered.slice(0, nl)));
      buffered = buffered.slice(nl + 1);
    }
  }
  await reader.cancel();
  return out;
}

test("LocalCluster serves the dashboard by default: its link and the client's, files with a CSP, data for the token only", async () => {
  const baseline = resourceCounts();
  const cluster = await LocalCluster.start({ workers: 2 });
  const link = cluster.dashboardLink!;
  assert.match(link, /^http:\/\/127\.0\.0\.1:\d+\/dashboard#token=\w{16,}$/);
  const client = await Client.connect(cluster.address);
  assert.equal(client.dashboardLink, link);
  const { origin, hash } = new URL(link);
  const token = new URLSearchParams(hash.slice(1)).get("token")!;

  const page = await fetch(`${origin}/dashboard`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-security-policy")!, /script-src 'self'; style-src 'self'; connect-src 'self'/);
  assert.doesNotMatch(await page.text(), new RegExp(token), "the page itself holds no token");
  assert.equal((await fetch(`${origin}/dashboard/dashboard.js`)).status, 200);
  assert.equal((await fetch(`${origin}/dashboard/../api/status`)).status, 404);

  // No token, a wrong one, a token in the query (which a log would keep): 401 with a message.
  for (const headers of [{}, { authorization: "Bearer wrong" }] as Record<string, string>[]) {
    const r = await fetch(`${origin}/dashboard/feed`, { headers });
    assert.equal(r.status, 401);
    assert.match(((await r.json()) as { error: string }).error, /client token|wrong token/);
  }
  assert.equal((await fetch(`${origin}/dashboard/feed?token=${token}`)).status, 401);
  assert.equal((await fetch(`${origin}/dashboard/story?key=x`)).status, 401);
  assert.equal(
    (await fetch(`${origin}/dashboard/story`, { headers: { authorization: `Bearer ${token}` } })).status,
    400,
  );

  const slow = client.map(
    async (i: number) => {
      await new Promise((r) => setTimeout(r, 10));
      return i;
    },
    Array.from({ length: 300 }, (_, i) => i),
  );
  const [first, second] = await frames(origin, token, 2);
  assert.deepEqual(
    first!.workers.map((w: { kind: string }) => w.kind),
    ["thread", "thread"],
  );
  assert.ok(second!.bars.length > 0, "the second frame has task-stream bars");
  assert.equal(second!.bars[0]![3], "task");
  const prefix = second!.progress.find((p: { prefix: string }) => p.prefix === "lambda");
  assert.ok(prefix && prefix.memory + prefix.done > 0, JSON.stringify(second!.progress));
  const story = (await (
    await fetch(`${origin}/dashboard/story?key=${slow[0]!.key}`, { headers: { authorization: `Bearer ${token}` } })
  ).json()) as { entries: { finish: string }[] };
  assert.deepEqual(
    story.entries.slice(0, 2).map((e) => e.finish),
    ["waiting", "processing"],
  );
  await client.gather(slow);
  // Closing the feed stops the recording.
  await waitFor(() => !cluster.scheduler.telemetry.watched, { message: "the scheduler to stop recording" });
  assert.equal(cluster.scheduler.telemetry.watched, false);
  await client.close();
  await cluster.close();
  await expectNoLeaks(baseline);
});

test("dashboard: false serves none; the network scheduler's link asks for the client token, not the worker's or the tab's", async () => {
  await using cluster = await LocalCluster.start({ workers: 0, dashboard: false });
  assert.equal(cluster.dashboardLink, undefined);
  const client = await Client.connect(cluster.address);
  assert.equal(client.dashboardLink, undefined);
  await client.close();

  await using net = await startNetworkScheduler({
    host: "127.0.0.1",
    port: 0,
    token: "client-t",
    workerToken: "worker-t",
    tabToken: "tab-t",
  });
  assert.equal(net.dashboardLink, `${net.address.replace(/^ws/, "http")}/dashboard#token=client-t`);
  const origin = net.address.replace(/^ws/, "http");
  for (const t of ["worker-t", "tab-t"])
    assert.equal((await fetch(`${origin}/dashboard/feed`, { headers: { authorization: `Bearer ${t}` } })).status, 401);
  const [frame] = await frames(origin, "client-t", 1);
  assert.deepEqual(frame!.workers, []);
  const c = await Client.connect(net.address, { token: "client-t" });
  assert.equal(c.dashboardLink, net.dashboardLink);
  await c.close();

  // Guessing: past 20 failures a minute from one address, that address is answered 429, even with the right token.
  const feed = (t: string) => fetch(`${origin}/dashboard/story?key=x`, { headers: { authorization: `Bearer ${t}` } });
  let refused = 0;
  for (let i = 0; i < 20; i++) refused += (await feed(`guess-${i}`)).status === 401 ? 1 : 0;
  assert.ok(refused >= 16, `${refused} guesses answered 401`); // the two above counted too
  assert.equal((await feed("guess-x")).status, 429);
  assert.equal((await feed("client-t")).status, 429);
});
