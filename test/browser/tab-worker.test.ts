// A browser tab as a worker, end to end: a network scheduler serves the worker page, headless
// Chromium opens its link, and the tab joins as a "browser" worker computing in a Web Worker.
// Data moves tab → client, tab → Node worker and Node worker → tab through the scheduler's relay
// (WebRTC comes next); closing the tab mid-job loses nothing.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Client, type WorkerInfo } from "../../node/index.js";
import { startNetworkScheduler } from "../../node/page-server.js";
import { WorkerGroup } from "../../node/worker-group.js";
import { chromiumMissing, launchChromium, tabsJoined } from "../helpers/chromium.js";
import { within } from "../helpers/within.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface TabStatus {
  state: string;
  tasksDone: number;
  links: { peer: string; kind: string; bytesIn: number; bytesOut: number }[];
}

/** A network scheduler serving the worker page, `nodeWorkers` Node workers on ws://, a client, and Chromium. */
async function tabCluster(nodeWorkers: number) {
  const net = await startNetworkScheduler({ host: "127.0.0.1", port: 0, token: "client-t", workerToken: "worker-t" });
  const group = new WorkerGroup({ scheduler: net.address, listen: "ws://127.0.0.1:0", kind: "node", namePrefix: "node", token: "worker-t", logLevel: "error" });
  await group.grow(nodeWorkers);
  const client = await Client.connect(net.address, { token: "client-t" });
  const chrome = await launchChromium();
  return {
    net,
    client,
    chrome,
    async [Symbol.asyncDispose]() {
      await chrome[Symbol.asyncDispose]();
      await client.close();
      await group.close();
      await net.close();
    },
  };
}

test("a tab that opens the worker page computes, and its data crosses tab ↔ client and tab ↔ Node", { skip: chromiumMissing(), timeout: 90_000 }, async () => {
  await using c = await tabCluster(1);
  const { net, client, chrome } = c;
  const page = await chrome.browser.newPage();
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(String(e)));
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  await page.goto(net.pageUrl);
  const [tab] = (await tabsJoined(client)) as [WorkerInfo];
  const node = (await client.workers()).find((x) => x.kind === "node")!;
  assert.match(tab.address, /^relay:\/\/127\.0\.0\.1:\d+\/[\w-]+$/);
  const onTab = client.with({ workers: [tab.id], pure: false });
  const onNode = client.with({ workers: [node.id], pure: false });

  // Computed in the tab, fetched by the client through the relay.
  const a = onTab.submit((n: number) => new Float64Array(n).map((_, i) => i), 100_000);
  const av = await within(a.result(), 20_000, "a result from the tab");
  assert.equal(av.length, 100_000);
  assert.equal(av[99_999], 99_999);
  // The tab's result as the input of a task on the Node worker (Node ← tab).
  const total = onNode.submit((x: Float64Array) => x.reduce((s, v) => s + v, 0), a);
  assert.equal(await within(total.result(), 20_000, "Node ← tab"), (99_999 * 100_000) / 2);
  // A Node worker's result as the input of a task in the tab (tab ← Node, through relay-to).
  const b = onNode.submit((n: number) => new Float64Array(n).fill(2), 50_000);
  const inTab = onTab.submit((x: Float64Array) => x.reduce((s, v) => s + v, 0), b);
  assert.equal(await within(inTab.result(), 20_000, "tab ← Node"), 100_000);

  await sleep(600); // a status report or two
  const status = (await page.evaluate("window.meshwork")) as TabStatus;
  assert.equal(status.state, "connected");
  assert.equal(status.tasksDone, 2);
  assert.ok(status.links.some((l) => l.kind === "relay" && l.bytesOut > 800_000), JSON.stringify(status.links));
  assert.ok(status.links.some((l) => l.kind === "relay" && l.bytesIn > 400_000), JSON.stringify(status.links));
  assert.match(await page.$eval("#status", (e) => e.textContent ?? ""), /connected/);
  assert.deepEqual(problems, []);

  // GET /api/status: the workers, and the links between them with their kind and bytes.
  await sleep(1_100); // a heartbeat with the links
  const api = `${net.address.replace(/^ws/, "http")}/api/status`;
  assert.equal((await fetch(api)).status, 401);
  assert.equal((await fetch(api, { headers: { authorization: "Bearer worker-t" } })).status, 401);
  const res = await fetch(api, { headers: { authorization: "Bearer client-t" } });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { workers: { id: string; kind: string }[]; links: { from: string; to: string; kind: string; bytes: number }[] };
  assert.deepEqual(body.workers.map((w) => w.kind).sort(), ["browser", "node"]);
  assert.ok(body.links.some((l) => l.from === tab.id && l.to === node.id && l.kind === "relay" && l.bytes > 400_000), JSON.stringify(body.links));
  assert.ok(body.links.some((l) => l.from === node.id && l.to === tab.id && l.kind === "relay" && l.bytes > 800_000), JSON.stringify(body.links));

  // The tab goes away mid-job: its work is done again on the Node worker.
  const slow = client.with({ pure: false }).map(
    async (i: number) => {
      await new Promise((r) => setTimeout(r, 100));
      return i * 3;
    },
    Array.from({ length: 20 }, (_, i) => i),
  );
  await sleep(300);
  await page.close();
  assert.deepEqual(await within(client.gather(slow), 30_000, "the job after the tab closed"), Array.from({ length: 20 }, (_, i) => i * 3));
  await within(
    (async () => {
      while ((await client.workers()).some((w) => w.kind === "browser")) await sleep(50);
    })(),
    10_000,
    "the tab leaving the cluster",
  );
});

test("pagehide retires the tab gracefully: its unique results move to another worker first, nothing is recomputed", { skip: chromiumMissing(), timeout: 90_000 }, async () => {
  await using c = await tabCluster(1);
  const { net, client, chrome } = c;
  const page = await chrome.browser.newPage();
  await page.goto(net.pageUrl);
  const [tab] = (await tabsJoined(client)) as [WorkerInfo];
  const held = client.with({ workers: [tab.id], pure: false }).map((i: number) => new Float64Array(20_000).fill(i), [1, 2, 3]);
  await within(client.gather(held), 20_000, "results made in the tab");
  // The same event the browser fires when the tab is closed or navigated away.
  await page.evaluate(() => dispatchEvent(new PageTransitionEvent("pagehide")));
  await within(
    (async () => {
      while ((await client.workers()).some((w) => w.kind === "browser")) await sleep(50);
    })(),
    15_000,
    "the tab retiring",
  );
  const node = (await client.workers())[0]!;
  assert.equal(node.kind, "node");
  assert.equal(node.tasks.inMemory, 3, "the tab's results now live on the Node worker");
  for (const [i, f] of held.entries()) {
    assert.equal((await f.result())[19_999], i + 1);
    const story = await client.story(f.key);
    assert.equal(story.filter((e) => e.finish === "processing").length, 1, `${f.key} was computed again`);
  }
  assert.equal(((await page.evaluate("window.meshwork")) as TabStatus).state, "closed");
});

test("two tabs of one browser trade data through the relay (no deadlock on the browser's one-pending-WebSocket rule)", { skip: chromiumMissing(), timeout: 60_000 }, async () => {
  await using c = await tabCluster(0);
  const { net, client, chrome } = c;
  for (let i = 0; i < 2; i++) await (await chrome.browser.newPage()).goto(net.pageUrl);
  const [a, b] = (await tabsJoined(client, 2)) as [WorkerInfo, WorkerInfo];
  for (const [from, to] of [[a, b], [b, a]] as const) {
    const made = client.with({ workers: [from.id], pure: false }).submit((n: number) => new Float64Array(n).fill(1.5), 1 << 20); // 8 MiB
    const sum = client.with({ workers: [to.id], pure: false }).submit((x: Float64Array) => x.reduce((s, v) => s + v, 0), made);
    assert.equal(await within(sum.result(), 20_000, `${from.name} → ${to.name}`), 1.5 * (1 << 20));
  }
});
