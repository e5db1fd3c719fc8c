// When WebRTC cannot serve a pair of workers, the relay does, and it shows. In a cluster whose
// WebRTC may go only through TURN servers and has none (iceTransportPolicy "relay"), a tab cannot
// link to a Node worker: each side gives up after its timeout and uses the relay; the page and the
// worker's log say so. And a tab whose data channels come through MessagePort pipes (what a browser without
// RTCDataChannel transfer gets) still moves data over WebRTC.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { WorkerInfo } from "../../node/index.js";
import { RTC_LINK_TIMEOUT_MS } from "../../src/worker/server.js";
import { chromiumMissing, pageOf, tabCluster, tabsJoined, waitForPage, type TabStatus } from "../helpers/chromium.js";
import { within } from "../helpers/within.js";

const sum = (x: Float64Array) => x.reduce((s, v) => s + v, 0);

test("a tab that cannot make WebRTC links uses the relay after the timeout, visibly", {
  skip: chromiumMissing(),
  timeout: 90_000,
}, async () => {
  await using c = await tabCluster(1, { webrtc: { iceTransportPolicy: "relay", iceServers: [] } });
  const { net, client, chrome } = c;
  const page = await chrome.browser.newPage();
  const warnings: string[] = [];
  page.on("console", (m) => m.type() === "warn" && warnings.push(m.text()));
  await page.goto(net.pageUrl);
  const [tab] = (await tabsJoined(client)) as [WorkerInfo];
  const node = (await client.workers()).find((w) => w.kind === "node")!;
  const on = (w: WorkerInfo) => client.with({ workers: [w.id], pure: false });

  const t0 = performance.now();
  const fromNode = on(node).submit((n: number) => new Float64Array(n).fill(3), 100_000);
  assert.equal(await within(on(tab).submit(sum, fromNode).result(), 30_000, "Node → tab"), 300_000);
  const waited = performance.now() - t0;
  assert.ok(waited >= RTC_LINK_TIMEOUT_MS - 500, `the tab waited ${waited} ms for WebRTC first`);
  const fromTab = on(tab).submit((n: number) => new Float64Array(n).fill(2), 100_000);
  assert.equal(await within(on(node).submit(sum, fromTab).result(), 30_000, "tab → Node"), 200_000);

  const { peers } = await waitForPage<TabStatus>(
    page,
    "window.meshwork",
    (s) => s.peers.some((p) => p.name === node.name && p.bytesIn > 700_000 && p.bytesOut > 700_000),
    { message: `a status report with the bytes both ways to ${node.name}` },
  );
  // The Node worker is one peer, both ways over the relay: it fetched from the tab, the tab from it.
  const nodePeer = peers.find((p) => p.name === node.name);
  assert.ok(
    nodePeer &&
      nodePeer.address === node.address &&
      nodePeer.kinds.join() === "relay" &&
      nodePeer.bytesIn > 700_000 &&
      nodePeer.bytesOut > 700_000,
    JSON.stringify(peers),
  );
  assert.ok(!peers.some((p) => p.kinds.includes("webrtc")), JSON.stringify(peers));
  assert.match(await page.$eval("#peers", (e) => e.textContent ?? ""), new RegExp(`${node.name}: relay`));
  assert.ok(
    warnings.some((w) => /no WebRTC link to .*using its own transport/.test(w)),
    JSON.stringify(warnings),
  );
});

test("tabs whose data channels come through MessagePort pipes still link over WebRTC", {
  skip: chromiumMissing(),
  timeout: 60_000,
}, async () => {
  await using c = await tabCluster(0);
  const { net, client, chrome } = c;
  const pages = [];
  for (let i = 0; i < 2; i++) {
    const page = await chrome.browser.newPage();
    await page.goto(`${net.pageUrl}&webrtc=pipe`);
    pages.push(page);
  }
  const [a, b] = (await tabsJoined(client, 2)) as [WorkerInfo, WorkerInfo];
  const pageB = await pageOf(pages, b);
  const made = client
    .with({ workers: [a.id], pure: false })
    .submit((n: number) => new Float64Array(n).fill(0.5), 1 << 20);
  const total = client.with({ workers: [b.id], pure: false }).submit(sum, made);
  assert.equal(await within(total.result(), 30_000, "tab → tab"), 0.5 * (1 << 20));
  const { peers } = await waitForPage<TabStatus>(
    pageB,
    "window.meshwork",
    (s) => s.peers.some((p) => p.name === a.name && p.bytesIn > 8_000_000),
    { message: `a status report with the 8 MB from ${a.name}` },
  );
  assert.ok(
    peers.some(
      (p) => p.name === a.name && p.address === a.address && p.kinds.join() === "webrtc" && p.bytesIn > 8_000_000,
    ),
    JSON.stringify(peers),
  );
});
