// Browser benchmark: moving a 64 MiB float64 chunk between tabs, and between a tab and a Node
// worker, through meshwork, beside a raw RTCDataChannel between the same two tabs, in one run.
//
//   npm run bench:browser                 (builds first)
//   node bench/browser.mjs --runs 3
//
// Four tabs join one cluster with a Node worker: two link over WebRTC (data channels made by the
// page, moved to the Web Worker; node-datachannel on the Node side), two have WebRTC off and link
// through the scheduler's relay (WebSocket pipes on the scheduler's port). The baseline is a raw
// RTCDataChannel between the two WebRTC tabs' pages, with a large (8 MiB) and a small (64 KiB)
// send buffer: Chromium's data channels run about twice as fast with the small one, so the better
// of the two is the bar (issue 4: meshwork tab → tab ≥ 80 % of it).
// e2e MB/s = payload / wall time of a task on the receiving worker that sums the chunk it fetched
// (as bench/transfer.mjs): scheduling, the fetch, decoding and the sum, minus nothing.
// Needs Debian's Chromium at /usr/bin/chromium (or CHROMIUM_PATH). Prints one JSON object.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, wait } from "../dist/node/index.js";
import { startNetworkScheduler } from "../dist/node/servers/page-server.js";
import { WorkerGroup } from "../dist/node/hosts/worker-group.js";
import { CHROMIUM, CHROMIUM_FLAGS } from "../scripts/chromium.mjs";
import { benchOptions } from "./options.mjs";

const o = benchOptions({ runs: 3, mib: 64 });
const RUNS = o.runs;
const MIB = o.mib;
const BYTES = MIB * 1024 * 1024;
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mbps = (s) => +(BYTES / s / 1e6).toFixed(1);

if (!existsSync(CHROMIUM)) {
  console.log(JSON.stringify({ skipped: `no Chromium at ${CHROMIUM}` }));
  process.exit(0);
}

const progress = (what) => process.stderr.write(`${what}\n`);
progress("starting");
const net = await startNetworkScheduler({ host: "127.0.0.1", port: 0, token: "c", workerToken: "w" });
const group = new WorkerGroup({
  scheduler: net.address,
  listen: "ws://127.0.0.1:0",
  kind: "node",
  namePrefix: "node",
  token: "w",
  logLevel: "error",
});
await group.grow(1);
progress("node worker joined");
const client = await Client.connect(net.address, { token: "c" });
const { default: puppeteer } = await import("puppeteer-core");
const profile = mkdtempSync(join(tmpdir(), "meshwork-bench-chromium-"));
const browser = await puppeteer.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`],
});
const out = { payload_MiB: MIB, runs: RUNS, chromium: await browser.version() };
progress("chromium started");
try {
  // One tab at a time, so the order of the workers is the order of the pages.
  const pages = [];
  const tabs = [];
  for (const mode of ["on", "on", "off", "off"]) {
    const page = await browser.newPage();
    await page.goto(`${net.pageUrl}&webrtc=${mode}`);
    pages.push(page);
    for (;;) {
      const joined = (await client.workers()).filter((w) => w.kind === "browser" && !tabs.some((t) => t.id === w.id));
      if (joined.length > 0) {
        tabs.push(joined[0]);
        break;
      }
      await sleep(50);
    }
  }
  const node = (await client.workers()).find((w) => w.kind === "node");
  const make = (n) => {
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = Math.random();
    return a;
  };
  const consume = (a) => {
    let s0 = 0,
      s1 = 0,
      s2 = 0,
      s3 = 0;
    const n = a.length - (a.length % 4);
    for (let i = 0; i < n; i += 4) {
      s0 += a[i];
      s1 += a[i + 1];
      s2 += a[i + 2];
      s3 += a[i + 3];
    }
    return s0 + s1 + s2 + s3;
  };
  /** Median wall time of `consume` on `to` fetching a fresh chunk made on `from`, and on `from` itself. */
  async function transfer(from, to) {
    const local = [];
    const remote = [];
    for (let r = -1; r < RUNS; r++) {
      const src = client.with({ workers: [from.id], pure: false }).submit(make, BYTES / 8);
      await wait([src]);
      let t = performance.now();
      await client.with({ workers: [from.id], pure: false }).submit(consume, src);
      const tl = (performance.now() - t) / 1000;
      t = performance.now();
      await client.with({ workers: [to.id], pure: false }).submit(consume, src);
      const tr = (performance.now() - t) / 1000;
      src.release();
      if (r >= 0) {
        local.push(tl);
        remote.push(tr);
      }
    }
    return {
      local_s: +median(local).toFixed(3),
      remote_s: +median(remote).toFixed(3),
      e2e_MBps: mbps(median(remote)),
      runs_remote_s: remote.map((x) => +x.toFixed(3)),
    };
  }
  const linkKind = async (page, peer) =>
    (await page.evaluate("window.meshwork")).peers.find((p) => p.address === peer.address)?.kinds.join("+");
  for (const [name, a, b, pb] of [
    ["meshwork_webrtc", tabs[0], tabs[1], pages[1]],
    ["meshwork_relay", tabs[2], tabs[3], pages[3]],
  ]) {
    progress(`${name}: tab → tab`);
    const tabToTab = await transfer(a, b);
    progress(`${name}: tab → node`);
    const tabToNode = await transfer(a, node);
    progress(`${name}: node → tab`);
    const nodeToTab = await transfer(node, b);
    await sleep(600); // a status report from the tab
    out[name] = {
      tab_to_tab: tabToTab,
      tab_to_node: tabToNode,
      node_to_tab: nodeToTab,
      link_kind_tab_to_tab: await linkKind(pb, a),
      link_kind_node_to_tab: await linkKind(pb, node),
    };
  }
  out.raw_rtcdatachannel_tab_to_tab = {};
  for (const [name, maxBuffered] of [
    ["buffer_8MiB", 8 << 20],
    ["buffer_64KiB", 64 << 10],
  ]) {
    progress(`raw RTCDataChannel, ${name}`);
    out.raw_rtcdatachannel_tab_to_tab[name] = await rawDataChannel(pages[0], pages[1], maxBuffered);
  }
  const raw = Math.max(...Object.values(out.raw_rtcdatachannel_tab_to_tab).map((r) => r.MBps));
  out.ratio_vs_best_raw = {
    webrtc_tab_to_tab: +(out.meshwork_webrtc.tab_to_tab.e2e_MBps / raw).toFixed(2),
    relay_tab_to_tab: +(out.meshwork_relay.tab_to_tab.e2e_MBps / raw).toFixed(2),
  };
} finally {
  await client.close();
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
  await group.close();
  await net.close();
}
console.log(JSON.stringify(out, null, 2));
process.exit(0);

/**
 * A raw RTCDataChannel between two tabs (signalling through this script, full SDP after gathering):
 * 64 KiB messages, sending paused while more than `maxBuffered` bytes wait (resumed at a quarter
 * of it), timed until the receiver has all.
 */
async function rawDataChannel(a, b, maxBuffered) {
  const runs = [];
  for (let r = -1; r < RUNS; r++) {
    const offer = await a.evaluate(async () => {
      const pc = new RTCPeerConnection();
      const dc = pc.createDataChannel("bench", { ordered: true });
      dc.binaryType = "arraybuffer";
      Object.assign(globalThis, { benchPc: pc, benchDc: dc });
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise((res) =>
        pc.iceGatheringState === "complete"
          ? res()
          : pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && res()),
      );
      return pc.localDescription.toJSON();
    });
    const answer = await b.evaluate(async (offer) => {
      const pc = new RTCPeerConnection();
      globalThis.benchPc = pc;
      globalThis.benchDone = new Promise((done) => {
        pc.addEventListener("datachannel", (e) => {
          const dc = e.channel;
          dc.binaryType = "arraybuffer";
          let got = 0;
          let start = 0;
          dc.onmessage = (m) => {
            if (got === 0) start = performance.now();
            got += m.data.byteLength;
            if (got >= globalThis.benchExpect) done(performance.now() - start);
          };
        });
      });
      await pc.setRemoteDescription(offer);
      await pc.setLocalDescription(await pc.createAnswer());
      await new Promise((res) =>
        pc.iceGatheringState === "complete"
          ? res()
          : pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && res()),
      );
      return pc.localDescription.toJSON();
    }, offer);
    await b.evaluate((n) => (globalThis.benchExpect = n), BYTES);
    const sent = a.evaluate(
      async (answer, total, maxBuffered) => {
        const pc = globalThis.benchPc;
        const dc = globalThis.benchDc;
        await pc.setRemoteDescription(answer);
        if (dc.readyState !== "open") await new Promise((res) => (dc.onopen = res));
        const chunk = new Uint8Array(64 * 1024);
        crypto.getRandomValues(chunk);
        dc.bufferedAmountLowThreshold = maxBuffered / 4;
        let sentBytes = 0;
        while (sentBytes < total) {
          if (dc.bufferedAmount > maxBuffered) await new Promise((res) => (dc.onbufferedamountlow = res));
          dc.send(chunk);
          sentBytes += chunk.byteLength;
        }
        return sentBytes;
      },
      answer,
      BYTES,
      maxBuffered,
    );
    const ms = await b.evaluate(() => globalThis.benchDone);
    await sent;
    for (const p of [a, b]) await p.evaluate(() => globalThis.benchPc.close());
    if (r >= 0) runs.push(ms / 1000);
  }
  return { MBps: mbps(median(runs)), runs_s: runs.map((x) => +x.toFixed(3)) };
}
