// Browser benchmark: moving a 64 MiB float64 chunk between tabs, and between a tab and a Node
// worker, through meshwork, beside a raw RTCDataChannel between the same two tabs, in one run.
//
//   npm run bench:browser                 (builds first)
//   node bench/browser.mjs --runs 3
//
// Today meshwork's links to and from tabs go through the scheduler's relay (WebSocket pipes on the
// scheduler's port); the raw RTCDataChannel figure is the baseline the WebRTC links will be held
// to (issue 4: ≥ 80 % of it tab → tab). e2e MB/s = payload / wall time of a task on the receiving
// worker that sums the chunk it fetched (as bench/transfer.mjs), minus nothing.
// Needs Debian's Chromium at /usr/bin/chromium (or CHROMIUM_PATH). Prints one JSON object.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, wait } from "../dist/node/index.js";
import { startNetworkScheduler } from "../dist/node/page-server.js";
import { WorkerGroup } from "../dist/node/worker-group.js";

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const RUNS = opt("runs", 3);
const MIB = opt("mib", 64);
const BYTES = MIB * 1024 * 1024;
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
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
const group = new WorkerGroup({ scheduler: net.address, listen: "ws://127.0.0.1:0", kind: "node", namePrefix: "node", token: "w", logLevel: "error" });
await group.grow(1);
progress("node worker joined");
const client = await Client.connect(net.address, { token: "c" });
const { default: puppeteer } = await import("puppeteer-core");
const profile = mkdtempSync(join(tmpdir(), "meshwork-bench-chromium-"));
const browser = await puppeteer.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-features=WebRtcHideLocalIpsWithMdns", `--user-data-dir=${profile}`],
});
const out = { payload_MiB: MIB, runs: RUNS, chromium: await browser.version() };
progress("chromium started");
try {
  const pages = [await browser.newPage(), await browser.newPage()];
  for (const p of pages) await p.goto(net.pageUrl);
  let tabs = [];
  while (tabs.length < 2) {
    tabs = (await client.workers()).filter((w) => w.kind === "browser");
    await sleep(50);
  }
  const node = (await client.workers()).find((w) => w.kind === "node");
  const make = (n) => {
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = Math.random();
    return a;
  };
  const consume = (a) => {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
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
    return { local_s: +median(local).toFixed(3), remote_s: +median(remote).toFixed(3), e2e_MBps: mbps(median(remote)), runs_remote_s: remote.map((x) => +x.toFixed(3)) };
  }
  progress("tabs joined; tab → tab");
  const tabToTab = await transfer(tabs[0], tabs[1]);
  progress("tab → node");
  const tabToNode = await transfer(tabs[0], node);
  progress("node → tab");
  const nodeToTab = await transfer(node, tabs[0]);
  out.meshwork_relay = { tab_to_tab: tabToTab, tab_to_node: tabToNode, node_to_tab: nodeToTab };
  progress("raw RTCDataChannel");
  out.raw_rtcdatachannel_tab_to_tab = await rawDataChannel(pages[0], pages[1]);
  out.ratio_relay_vs_raw_webrtc = +(out.meshwork_relay.tab_to_tab.e2e_MBps / out.raw_rtcdatachannel_tab_to_tab.MBps).toFixed(2);
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
 * 64 KiB messages with bufferedAmount backpressure below 8 MiB, timed until the receiver has all.
 */
async function rawDataChannel(a, b) {
  const runs = [];
  for (let r = -1; r < RUNS; r++) {
    const offer = await a.evaluate(async () => {
      const pc = new RTCPeerConnection();
      const dc = pc.createDataChannel("bench", { ordered: true });
      dc.binaryType = "arraybuffer";
      Object.assign(globalThis, { benchPc: pc, benchDc: dc });
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise((res) => (pc.iceGatheringState === "complete" ? res() : pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && res())));
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
      await new Promise((res) => (pc.iceGatheringState === "complete" ? res() : pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && res())));
      return pc.localDescription.toJSON();
    }, offer);
    await b.evaluate((n) => (globalThis.benchExpect = n), BYTES);
    const sent = a.evaluate(async (answer, total) => {
      const pc = globalThis.benchPc;
      const dc = globalThis.benchDc;
      await pc.setRemoteDescription(answer);
      if (dc.readyState !== "open") await new Promise((res) => (dc.onopen = res));
      const chunk = new Uint8Array(64 * 1024);
      crypto.getRandomValues(chunk);
      dc.bufferedAmountLowThreshold = 1024 * 1024;
      let sentBytes = 0;
      while (sentBytes < total) {
        if (dc.bufferedAmount > 8 * 1024 * 1024) await new Promise((res) => (dc.onbufferedamountlow = res));
        dc.send(chunk);
        sentBytes += chunk.byteLength;
      }
      return sentBytes;
    }, answer, BYTES);
    const ms = await b.evaluate(() => globalThis.benchDone);
    await sent;
    for (const p of [a, b]) await p.evaluate(() => globalThis.benchPc.close());
    if (r >= 0) runs.push(ms / 1000);
  }
  return { MBps: mbps(median(runs)), runs_s: runs.map((x) => +x.toFixed(3)) };
}
