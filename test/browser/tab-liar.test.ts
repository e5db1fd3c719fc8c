// A lying tab, end to end (issue 20): real Chromium opens the worker page with a test-only flag
// (#test-lie=1) that makes its Web Worker forge every result and the digest of the forgery. The
// trusted Node worker's second opinion disagrees, the tab is banned and disconnected (its page says
// so), and the job finishes with the right answer. An honest tab beside it is verified and stays.

import assert from "node:assert/strict";
import { test } from "node:test";
import { chromiumMissing, tabCluster, tabsJoined, type TabStatus } from "../helpers/chromium.js";
import { within } from "../helpers/within.js";

test("a tab that lies about its results is banned while the job finishes right", {
  skip: chromiumMissing(),
  timeout: 120_000,
}, async () => {
  await using c = await tabCluster(1, { verifyUntrusted: true });
  const { net, client, chrome } = c;
  const honest = await chrome.browser.newPage();
  await honest.goto(net.pageUrl);
  await tabsJoined(client, 1);
  const page = await chrome.browser.newPage();
  await page.goto(`${net.pageUrl}&test-lie=1`);
  const tabs = await tabsJoined(client, 2);
  assert.deepEqual(
    tabs.map((t) => t.trusted),
    [false, false],
  );
  // Tasks of some ms each, so that both tabs (which claim several threads) take some of them, also
  // on a loaded host where the Node worker is quick to ask for more.
  const xs = Array.from({ length: 80 }, (_, i) => i);
  const squares = client.map(
    async (x: number) => {
      await new Promise((r) => setTimeout(r, 10));
      return x * x;
    },
    xs,
    { pure: false },
  );
  const total = client.submit((v: number[]) => v.reduce((a, b) => a + b, 0), squares);
  assert.equal(
    await within(total.result(), 60_000, "the job"),
    xs.reduce((a, x) => a + x * x, 0),
  );
  assert.deepEqual(
    await Promise.all(squares),
    xs.map((x) => x * x),
  );
  // The tab was caught: gone from the cluster, its page showing why.
  const workers = await client.workers();
  assert.equal(workers.filter((w) => w.kind === "browser").length, 1, JSON.stringify(workers.map((w) => w.name)));
  await page.waitForFunction("window.meshwork && window.meshwork.state === 'closed'", { timeout: 10_000 });
  const status = (await page.evaluate("window.meshwork")) as TabStatus & { error?: string };
  assert.match(status.error ?? "", /banned/);
  assert.ok(status.tasksDone > 0, "the tab computed (and forged) some results");
  const fair = (await honest.evaluate("window.meshwork")) as TabStatus;
  assert.equal(fair.state, "connected", "the honest tab agreed with its witness and stays");
  assert.ok(fair.tasksDone > 0, "the honest tab computed some of the job");
});
