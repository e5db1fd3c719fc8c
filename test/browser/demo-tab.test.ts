// A LocalCluster with `page: true` (what `npm start` runs): a tab that opens its link joins the
// in-process cluster, and data crosses between the tab and the worker threads (through the
// scheduler's relay, bridged onto in-process links).

import assert from "node:assert/strict";
import { test } from "node:test";
import { Client, LocalCluster, type WorkerInfo } from "../../node/index.js";
import { chromiumMissing, launchChromium, tabsJoined, waitForPage, type TabStatus } from "../helpers/chromium.js";
import { within } from "../helpers/within.js";

test("a tab joins a LocalCluster through its page and trades data with its worker threads", {
  skip: chromiumMissing(),
  timeout: 90_000,
}, async () => {
  const cluster = await LocalCluster.start({ workers: 1, logLevel: "error", page: true });
  try {
    assert.match(cluster.pageUrl!, /^http:\/\/127\.0\.0\.1:\d+\/#token=[0-9a-f]+$/);
    const client = await Client.connect(cluster.address); // in-process clients need no token
    await using chrome = await launchChromium();
    const page = await chrome.browser.newPage();
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(String(e)));
    await page.goto(cluster.pageUrl!);
    const [tab] = (await tabsJoined(client)) as [WorkerInfo];
    const thread = (await client.workers()).find((x) => x.kind === "thread")!;
    const inThread = client
      .with({ workers: [thread.id], pure: false })
      .submit((n: number) => new Int32Array(n).fill(3), 10_000);
    const inTab = client
      .with({ workers: [tab.id], pure: false })
      .submit((x: Int32Array) => x.reduce((s, v) => s + v, 0) + 1, inThread);
    assert.equal(await within(inTab.result(), 20_000, "tab ← thread"), 30_001);
    const back = client.with({ workers: [thread.id], pure: false }).submit((x: number) => x * 2, inTab);
    assert.equal(await within(back.result(), 20_000, "thread ← tab"), 60_002);
    // The page names its peer, the worker thread, on one line for both directions, not by its
    // in-process address (inproc://auto-…) once per direction.
    const { peers } = await waitForPage<TabStatus>(
      page,
      "window.meshwork",
      (s) => s.peers.some((p) => p.name === thread.name && p.bytesIn > 40_000 && p.bytesOut > 0),
      { message: `a status report with the bytes both ways to ${thread.name}` },
    );
    const peer = peers.find((p) => p.name === thread.name);
    assert.ok(
      peer && peer.address === thread.address && peer.bytesIn > 40_000 && peer.bytesOut > 0,
      JSON.stringify(peers),
    );
    assert.ok(
      peer.kinds.length > 0 && peer.kinds.every((k) => ["port", "ws", "webrtc", "relay"].includes(k)),
      JSON.stringify(peers),
    );
    const lines = await page.$$eval("#peers li", (lis) => lis.map((li) => li.textContent ?? ""));
    assert.equal(lines.filter((l) => l.startsWith(`${thread.name}: `)).length, 1, JSON.stringify(lines));
    assert.ok(!lines.some((l) => l.includes("inproc://")), JSON.stringify(lines));
    assert.deepEqual(problems, []);
    await client.close();
  } finally {
    await cluster.close();
  }
});
