// WebRTC data-channel libraries, compared: throughput of moving 64 MiB between two tabs of one
// headless Chromium over one ordered data channel, in one run, with
//   raw                 the standard RTCPeerConnection / RTCDataChannel (64 KiB messages, pause while
//                       bufferedAmount > 8 MiB − 128 KiB, resume on bufferedamountlow at 1 MiB), as
//                       bench/browser.mjs does
//   raw-64KiB           the same, pausing above 64 KiB (the limit simple-peer's stream keeps to)
//   simple-peer-send    simple-peer's send(), with that same backpressure on its peer._channel
//   simple-peer-stream  simple-peer as a Duplex stream: write() and wait for "drain" (its own backpressure)
//   peerjs-raw          peerjs, serialization "raw", reliable (ordered), same backpressure as raw (and
//                       never more than its own send queue holds)
//   peerjs-binary       peerjs, serialization "binary" (its default: BinaryPack, 16 300-byte chunks)
// MB/s = payload / (time the receiving tab got the last byte − time the sending tab handed over
// the first message), after the connection is open. Each variant runs --runs times (round-robin);
// medians are reported, with the ratio to raw. Notes per library: esbuild browser bundle size, the
// Node shims it needs, version and release date (npm view), and whether its RTCDataChannel can be
// moved to a Web Worker (Chromium allows that only in the task that created the channel).
//
//   npm install --no-save simple-peer peerjs peer events     (not dependencies of meshwork)
//   node bench/webrtc-libraries.mjs [--runs 3] [--mib 64]
//
// Raw and simple-peer signal through a WebSocket relay served here; peerjs through a PeerServer
// (the `peer` package) on 127.0.0.1. Browser code: bench/webrtc-libraries-page.ts. Needs Chromium
// at /usr/bin/chromium (or CHROMIUM_PATH). Progress on stderr, one JSON object on stdout.

import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { CHROMIUM, CHROMIUM_FLAGS } from "../scripts/chromium.mjs";
import { benchOptions } from "./options.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const o = benchOptions({ runs: 3, mib: 64 });
const RUNS = o.runs;
const MIB = o.mib;
const BYTES = MIB * 1024 * 1024;
const VARIANTS = ["raw", "raw-64KiB", "simple-peer-send", "simple-peer-stream", "peerjs-raw", "peerjs-binary"];
const INSTALL = "npm install --no-save simple-peer peerjs peer events";
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const progress = (what) => process.stderr.write(`${what}\n`);
const pkgJson = (name) => join(root, "node_modules", name, "package.json");

// simple-peer, peerjs (browser), peer (PeerServer, Node) and events (the browser polyfill of Node's
// `events`, which simple-peer's readable-stream needs and nobody declares) are not dependencies.
const missing = ["simple-peer", "peerjs", "peer", "events"].filter((name) => !existsSync(pkgJson(name)));
if (missing.length) {
  console.error(
    `missing: ${missing.join(", ")}. Install without touching package.json / package-lock.json:\n  cd ${root} && ${INSTALL}`,
  );
  process.exit(2);
}
if (!existsSync(CHROMIUM)) {
  console.error(`no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`);
  process.exit(2);
}
const { build } = await import("esbuild");
const { WebSocketServer } = await import("ws");
const { PeerServer } = await import("peer");
const { default: puppeteer } = await import("puppeteer-core");

// What simple-peer's dependencies expect of a Node-like environment (readable-stream calls
// process.nextTick; randombytes reads global.crypto at load).
const SHIM =
  "globalThis.global ??= globalThis; globalThis.process ??= { env: {}, browser: true, version: '', versions: {}, nextTick: (f, ...a) => queueMicrotask(() => f(...a)) };";

/** One library bundled alone (minified, for the browser): sizes, packages pulled in, Node shims needed. */
async function bundleNotes(source) {
  const r = await build({
    stdin: { contents: source, resolveDir: root },
    bundle: true,
    minify: true,
    write: false,
    format: "esm",
    platform: "browser",
    metafile: true,
    logLevel: "silent",
    define: { process: "__node_process", global: "__node_global" }, // mark free uses of Node's globals
  });
  const code = r.outputFiles[0].contents;
  const text = r.outputFiles[0].text;
  const pkgs = new Set(
    Object.keys(r.metafile.inputs)
      .map((f) => f.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/)?.[1])
      .filter(Boolean),
  );
  return {
    min_bytes: code.length,
    min_gzip_bytes: gzipSync(code).length,
    packages_bundled: pkgs.size,
    node_globals_used: ["process", "global"].filter((g) => text.includes(`__node_${g}`)),
    node_builtin_polyfills: [...pkgs].filter((p) => builtinModules.includes(p) || p === "readable-stream"),
  };
}

/** Version and release date from the registry (npm view); null fields if it cannot be reached. */
async function registry(name) {
  const installed = JSON.parse(readFileSync(pkgJson(name), "utf8")).version;
  try {
    const { stdout } = await promisify(execFile)("npm", ["view", name, "time", "version", "--json"], {
      timeout: 30_000,
    });
    const { time = {}, version } = JSON.parse(stdout);
    // first_listed: a registry mirror's dates can be its own copy times (check against the real history)
    return {
      installed,
      latest: version,
      modified: time.modified ?? null,
      latest_released: time[version] ?? null,
      first_listed: Object.values(time).sort()[0] ?? null,
    };
  } catch (err) {
    return { installed, latest: null, registry_error: String(err.message).split("\n")[0] };
  }
}

progress("bundling");
const page = await build({
  stdin: {
    contents: `import SimplePeer from "simple-peer"; import { Peer } from "peerjs"; import { install } from "./webrtc-libraries-page.ts"; install({ SimplePeer, Peer });`,
    resolveDir: join(root, "bench"),
    loader: "ts",
  },
  bundle: true,
  write: false,
  format: "iife",
  platform: "browser",
  target: "chrome120",
  banner: { js: SHIM },
  logLevel: "warning",
});
const notes = {
  raw: { min_bytes: 0, node_globals_used: [], node_builtin_polyfills: [], channel_access: "you create it" },
  "simple-peer": {
    ...(await bundleNotes(`import P from "simple-peer"; globalThis.P = P;`)),
    prebuilt_simplepeer_min_js_bytes: readFileSync(join(root, "node_modules/simple-peer/simplepeer.min.js")).length,
    ...(await registry("simple-peer")),
    channel_access:
      "private peer._channel, set in the constructor on the initiator; the answerer's only via a 'datachannel' listener on the private peer._pc (no public event before 'connect')",
  },
  peerjs: {
    ...(await bundleNotes(`import { Peer } from "peerjs"; globalThis.P = Peer;`)),
    ...(await registry("peerjs")),
    channel_access:
      "public conn.dataChannel, set inside peer.connect() on the caller; on the callee it is not there at the 'connection' event: only via a 'datachannel' listener on the public conn.peerConnection",
  },
  peer: {
    ...(await registry("peer")),
    role: "PeerServer (Node: express + ws) for peerjs signalling; started here on 127.0.0.1",
  },
};

// The page, its bundle, and the signalling relay for raw / simple-peer (rooms of two sockets).
const html = `<!doctype html><meta charset="utf-8"><title>webrtc-libraries</title><script src="/page.js"></script>`;
const http = createServer((req, res) => {
  if (req.url === "/page.js")
    res.writeHead(200, { "content-type": "text/javascript" }).end(page.outputFiles[0].contents);
  else res.writeHead(200, { "content-type": "text/html" }).end(html);
});
const rooms = new Map();
new WebSocketServer({ server: http, path: "/signal" }).on("connection", (ws, req) => {
  const room = new URL(req.url, "http://x").searchParams.get("room");
  const peers = rooms.get(room) ?? rooms.set(room, new Set()).get(room);
  peers.add(ws);
  ws.on("message", (m) => peers.forEach((p) => p !== ws && p.send(m.toString())));
  ws.on("close", () => peers.delete(ws) && peers.size === 0 && rooms.delete(room));
});
await new Promise((res) => http.listen(0, "127.0.0.1", res));
const origin = `http://127.0.0.1:${http.address().port}/`;
const peerServer = await new Promise((res, rej) => {
  const app = PeerServer({ host: "127.0.0.1", port: 0, path: "/", key: "peerjs" }, (server) =>
    res({ host: "127.0.0.1", port: server.address().port }),
  );
  app.on("error", rej);
});
progress(`page at ${origin}, PeerServer on ${peerServer.port}`);

const profile = mkdtempSync(join(tmpdir(), "meshwork-bench-chromium-"));
const browser = await puppeteer.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`],
});
const out = {
  payload_MiB: MIB,
  runs: RUNS,
  chromium: await browser.version(),
  MBps: {},
  ratio_to_raw: {},
  runs_MBps: {},
  errors: {},
  notes,
};
try {
  const [tx, rx] = [await browser.newPage(), await browser.newPage()];
  for (const p of [tx, rx]) {
    p.on("pageerror", (e) => progress(`page error: ${e.message}`));
    await p.goto(origin);
  }
  progress("tabs loaded; probing channel transfer");
  const probe = await tx.evaluate((ps) => globalThis.bench.transferProbe(ps), peerServer);
  for (const [lib, r] of Object.entries(probe)) out.notes[lib].transfer_to_worker_at_creation = r;

  /** One transfer: the receiver listens, the sender connects and sends; MB/s from the two tabs' clocks. */
  const once = async (variant, room) => {
    const o = { variant, room, bytes: BYTES, peerServer };
    await rx.evaluate((o) => globalThis.bench.listen(o), o);
    const start = await tx.evaluate((o) => globalThis.bench.send(o), o);
    const { end, got } = await rx.evaluate(() => globalThis.bench.received());
    await Promise.all([tx, rx].map((p) => p.evaluate(() => globalThis.bench.close())));
    if (got !== BYTES) throw new Error(`received ${got} of ${BYTES} bytes`);
    return BYTES / ((end - start) / 1000) / 1e6;
  };
  const timeout = (ms, what) =>
    new Promise((_, rej) => setTimeout(() => rej(new Error(`${what}: no result in ${ms / 1000} s`)), ms));
  for (let r = 0; r < RUNS; r++) {
    for (const v of VARIANTS) {
      if (out.errors[v]) continue;
      try {
        const mbps = await Promise.race([once(v, `${v}-${r}-${Date.now()}`), timeout(90_000, v)]);
        (out.runs_MBps[v] ??= []).push(+mbps.toFixed(1));
        progress(`run ${r + 1}/${RUNS} ${v}: ${mbps.toFixed(1)} MB/s`);
      } catch (err) {
        out.errors[v] = String(err.message ?? err);
        progress(`${v} failed: ${out.errors[v]}`);
        for (const p of [tx, rx]) await p.reload(); // a wedged variant leaves nothing behind
      }
    }
  }
  for (const [v, xs] of Object.entries(out.runs_MBps)) out.MBps[v] = median(xs);
  for (const [v, x] of Object.entries(out.MBps))
    out.ratio_to_raw[v] = out.MBps.raw ? +(x / out.MBps.raw).toFixed(2) : null;
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
  http.close();
}
if (!Object.keys(out.errors).length) delete out.errors;
console.log(JSON.stringify(out, null, 2));
process.exit(0); // the PeerServer keeps timers and sockets; nothing else to wait for
