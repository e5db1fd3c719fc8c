// `meshwork scheduler --serve-data DIR`: a directory read-only under /data/ on the scheduler's
// port, for whoever holds the client or the worker token; single byte ranges, no way out of the
// directory, no listings, large files streamed; and Node workers (joined over ws://, or a
// LocalCluster's threads) read their chunks there with their own token.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as mw from "../../node/array.js";
import { Client, LocalCluster } from "../../node/index.js";
import type { DataRequestInfo } from "../../node/servers/data-server.js";
import { startNetworkScheduler, type NetworkScheduler } from "../../node/servers/page-server.js";
import { WorkerGroup } from "../../node/hosts/worker-group.js";
import { startNode } from "../helpers/process.js";
import { fixture } from "../io/fixtures.js";
import { waitFor } from "../helpers/wait-for.js";

const CLIENT = "client-t";
const WORKER = "worker-t";
const ALLOWED = "http://notebook.example";
const GiB = 1024 ** 3;
const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) % 256);

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request with the path exactly as written (fetch and URL would normalise ".." away). */
function get(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; token?: string | null } = {},
): Promise<Answer> {
  const headers = { ...options.headers };
  const token = options.token === undefined ? WORKER : options.token;
  if (token !== null) headers["authorization"] = `Bearer ${token}`;
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: options.method ?? "GET", headers }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

let tmp: string;
let net: NetworkScheduler;
let port: number;
const seen: DataRequestInfo[] = [];

before(async () => {
  // tmp/secret.txt is outside the served directory tmp/data.
  tmp = mkdtempSync(join(tmpdir(), "meshwork-serve-data-"));
  const dir = join(tmp, "data");
  mkdirSync(join(dir, "sub"), { recursive: true });
  mkdirSync(join(dir, "store.zarr"));
  writeFileSync(join(tmp, "secret.txt"), "SECRET-OUTSIDE");
  writeFileSync(join(dir, "hello.bin"), bytes);
  writeFileSync(join(dir, "empty.bin"), "");
  writeFileSync(join(dir, "sub", "inner.bin"), "inner");
  writeFileSync(join(dir, "meta.json"), "{}");
  for (const f of [".zarray", ".zattrs", ".zgroup", ".zmetadata"]) writeFileSync(join(dir, "store.zarr", f), "{}");
  writeFileSync(join(dir, "store.zarr", "0.0"), "chunk");
  symlinkSync("hello.bin", join(dir, "link-in"));
  symlinkSync("../secret.txt", join(dir, "link-out"));
  symlinkSync(join(tmp, "secret.txt"), join(dir, "link-abs"));
  symlinkSync("..", join(dir, "sub", "up")); // a directory link out: data/sub/up/secret.txt
  const big = join(dir, "big.bin");
  writeFileSync(big, "");
  truncateSync(big, GiB); // sparse: no disk used, reads give zeros
  net = await startNetworkScheduler({
    host: "127.0.0.1",
    port: 0,
    token: CLIENT,
    workerToken: WORKER,
    serveData: { directory: dir, origins: [ALLOWED], onRequest: (i) => seen.push(i) },
  });
  port = Number(new URL(net.address).port);
});
after(async () => {
  await net.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe("reading", () => {
  test("GET gives the file with its length; HEAD the same headers and no body", async () => {
    const r = await get(port, "/data/hello.bin");
    assert.equal(r.status, 200);
    assert.deepEqual(new Uint8Array(r.body), bytes);
    assert.equal(r.headers["content-length"], "1000");
    assert.equal(r.headers["content-type"], "application/octet-stream");
    assert.equal(r.headers["accept-ranges"], "bytes");
    assert.equal(r.headers["x-content-type-options"], "nosniff");
    const h = await get(port, "/data/hello.bin", { method: "HEAD" });
    assert.equal(h.status, 200);
    assert.equal(h.body.length, 0);
    assert.equal(h.headers["content-length"], "1000");
    assert.equal((await get(port, "/data/empty.bin")).headers["content-length"], "0");
    assert.equal((await get(port, "/data/sub/inner.bin")).body.toString(), "inner");
    assert.equal((await get(port, "/data/link-in")).body.length, 1000, "a symlink to a file inside is followed");
  });

  test("JSON metadata (.json, .zarray, .zattrs, .zgroup, .zmetadata) is application/json; chunks are bytes", async () => {
    for (const f of [
      "meta.json",
      "store.zarr/.zarray",
      "store.zarr/.zattrs",
      "store.zarr/.zgroup",
      "store.zarr/.zmetadata",
    ]) {
      assert.equal((await get(port, `/data/${f}`)).headers["content-type"], "application/json", f);
    }
    assert.equal((await get(port, "/data/store.zarr/0.0")).headers["content-type"], "application/octet-stream");
  });

  test("a single byte range is 206 with Content-Range: from–to, open-ended, the last n bytes, cut at the end", async () => {
    for (const [range, first, last] of [
      ["bytes=10-19", 10, 19],
      ["bytes=990-", 990, 999],
      ["bytes=-5", 995, 999],
      ["bytes=900-5000", 900, 999],
      ["bytes=0-0", 0, 0],
    ] as const) {
      const r = await get(port, "/data/hello.bin", { headers: { range } });
      assert.equal(r.status, 206, range);
      assert.equal(r.headers["content-range"], `bytes ${first}-${last}/1000`, range);
      assert.equal(r.headers["content-length"], String(last - first + 1), range);
      assert.deepEqual(new Uint8Array(r.body), bytes.subarray(first, last + 1), range);
    }
    const h = await get(port, "/data/hello.bin", { method: "HEAD", headers: { range: "bytes=10-19" } });
    assert.equal(h.status, 206);
    assert.equal(h.headers["content-length"], "10");
  });

  test("a range past the end is 416 with the size; several ranges or a malformed one get the whole file (RFC 9110 lets a server ignore them)", async () => {
    for (const range of ["bytes=1000-", "bytes=5000-6000", "bytes=-0"]) {
      const r = await get(port, "/data/hello.bin", { headers: { range } });
      assert.equal(r.status, 416, range);
      assert.equal(r.headers["content-range"], "bytes */1000", range);
    }
    assert.equal((await get(port, "/data/empty.bin", { headers: { range: "bytes=0-" } })).status, 416);
    for (const range of ["bytes=0-1,5-6", "bytes=abc", "items=0-1", "bytes=9-3"]) {
      const r = await get(port, "/data/hello.bin", { headers: { range } });
      assert.equal(r.status, 200, range);
      assert.equal(r.body.length, 1000, range);
    }
  });

  test("a missing file is 404; a directory is 404 too (no listings)", async () => {
    assert.equal((await get(port, "/data/nothing.bin")).status, 404);
    for (const path of ["/data/", "/data/sub", "/data/sub/", "/data/store.zarr", "/data"]) {
      const r = await get(port, path);
      assert.ok(r.status === 404 || r.status === 400, `${path}: ${r.status}`);
      assert.ok(!r.body.toString().includes("inner") && !r.body.toString().includes("hello"), `${path} lists nothing`);
    }
  });
});

describe("who may read", () => {
  test("no token is 401, a wrong one 403, and neither says more: not which tokens exist, not whether the file does", async () => {
    const none = await get(port, "/data/hello.bin", { token: null });
    assert.equal(none.status, 401);
    assert.equal(none.body.toString(), "unauthorized\n");
    assert.match(String(none.headers["www-authenticate"]), /^Bearer/);
    const wrong = await get(port, "/data/hello.bin", { token: "guess" });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.toString(), "forbidden\n");
    // A missing file and an escape attempt look the same without the token.
    for (const path of ["/data/nothing.bin", "/data/../secret.txt", "/data/sub/"]) {
      const r = await get(port, path, { token: "guess" });
      assert.equal(r.status, 403, path);
      assert.equal(r.body.toString(), "forbidden\n", path);
      assert.equal((await get(port, path, { token: null })).status, 401, path);
    }
    for (const r of [none, wrong])
      for (const t of [CLIENT, WORKER])
        assert.ok(!r.body.toString().includes(t) && !JSON.stringify(r.headers).includes(t));
    // Not a Bearer credential, a token in the query (which would end up in logs): refused.
    assert.equal(
      (await get(port, "/data/hello.bin", { token: null, headers: { authorization: `Basic ${WORKER}` } })).status,
      401,
    );
    assert.equal((await get(port, `/data/hello.bin?token=${WORKER}`, { token: null })).status, 401);
    assert.equal((await get(port, "/data/hello.bin", { token: `${WORKER}x` })).status, 403);
  });

  test("the client token and the worker token both read, and the server tells which was used", async () => {
    seen.length = 0;
    assert.equal((await get(port, "/data/hello.bin", { token: CLIENT })).status, 200);
    assert.equal((await get(port, "/data/hello.bin", { token: WORKER })).status, 200);
    await waitFor(() => seen.length >= 2, { message: "the server's report of both reads" });
    assert.deepEqual(
      seen.map((s) => [s.status, s.role, s.bytes]),
      [
        [200, "client", 1000],
        [200, "worker", 1000],
      ],
    );
  });

  test("only GET and HEAD: PUT, POST, DELETE, PATCH and OPTIONS are 405 with Allow, and nothing changes", async () => {
    for (const method of ["PUT", "POST", "DELETE", "PATCH", "OPTIONS"]) {
      const r = await get(port, "/data/hello.bin", { method });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers["allow"], "GET, HEAD", method);
    }
    assert.deepEqual(new Uint8Array((await get(port, "/data/hello.bin")).body), bytes);
  });

  test("CORS: other origins' pages are refused by default; a listed origin gets its preflight and the headers to read ranges", async () => {
    const own = await get(port, "/data/hello.bin", { headers: { origin: `http://127.0.0.1:${port}` } });
    assert.equal(own.status, 200);
    assert.equal(own.headers["access-control-allow-origin"], undefined);
    for (const origin of ["http://evil.example", "null"]) {
      const r = await get(port, "/data/hello.bin", { headers: { origin } });
      assert.equal(r.status, 403, origin);
      assert.equal(r.headers["access-control-allow-origin"], undefined, origin);
    }
    const pre = await get(port, "/data/hello.bin", {
      method: "OPTIONS",
      token: null,
      headers: {
        origin: ALLOWED,
        "access-control-request-method": "GET",
        "access-control-request-headers": "authorization, range",
      },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers["access-control-allow-origin"], ALLOWED);
    assert.match(String(pre.headers["access-control-allow-headers"]), /Authorization/);
    assert.match(String(pre.headers["access-control-allow-headers"]), /Range/);
    const r = await get(port, "/data/hello.bin", { headers: { origin: ALLOWED, range: "bytes=0-9" } });
    assert.equal(r.status, 206);
    assert.equal(r.headers["access-control-allow-origin"], ALLOWED);
    assert.match(String(r.headers["access-control-expose-headers"]), /Content-Range/);
    assert.equal(
      (await get(port, "/data/hello.bin", { token: null, headers: { origin: ALLOWED } })).status,
      401,
      "a listed origin still needs the token",
    );
  });
});

describe("no way out of the directory", () => {
  const attempts: [string, string][] = [
    ["..", "/data/../secret.txt"],
    ["nested ..", "/data/sub/../../secret.txt"],
    ["encoded dots", "/data/%2e%2e/secret.txt"],
    ["encoded dots, upper case", "/data/%2E%2E/secret.txt"],
    ["half-encoded dots", "/data/.%2e/secret.txt"],
    ["an encoded slash", "/data/sub/..%2f..%2fsecret.txt"],
    ["an absolute path", "/data//etc/passwd"],
    ["an encoded absolute path", "/data/%2fetc%2fpasswd"],
    ["a backslash", "/data/..%5csecret.txt"],
    ["a NUL", "/data/hello.bin%00.json"],
    ["malformed encoding", "/data/%zz"],
    ["a dot", "/data/./hello.bin"],
  ];
  for (const [what, path] of attempts) {
    test(`${what}: ${path} is 400 and shows nothing`, async () => {
      const r = await get(port, path);
      assert.equal(r.status, 400);
      assert.ok(!r.body.toString().includes("SECRET"));
    });
  }
  for (const [what, path] of [
    ["a file symlink out (relative)", "/data/link-out"],
    ["a file symlink out (absolute)", "/data/link-abs"],
    ["a directory symlink out", "/data/sub/up/secret.txt"],
  ] as const) {
    test(`${what}: ${path} is 404`, async () => {
      const r = await get(port, path);
      assert.equal(r.status, 404);
      assert.ok(!r.body.toString().includes("SECRET"));
    });
  }
  test("the page's own routes are not reachable through /data/ (../api/status)", async () => {
    const r = await get(port, "/data/../api/status", { token: CLIENT });
    assert.equal(r.status, 400);
  });
});

test("a 1 GiB file is streamed: the process's memory does not grow by its size (server and reader in this process)", {
  timeout: 60_000,
}, async () => {
  globalThis.gc?.();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakBuffers = base.arrayBuffers;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
  }, 20);
  let received = 0;
  let length = "";
  try {
    await new Promise<void>((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port, path: "/data/big.bin", headers: { authorization: `Bearer ${WORKER}` } },
        (res) => {
          length = String(res.headers["content-length"]);
          res.on("data", (c: Buffer) => (received += c.length)); // counted and dropped
          res.on("end", resolve);
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end();
    });
  } finally {
    clearInterval(sampler);
  }
  assert.equal(length, String(GiB));
  assert.equal(received, GiB);
  const MiB = 1024 ** 2;
  assert.ok(
    peakRss - base.rss < 256 * MiB,
    `resident memory grew by ${((peakRss - base.rss) / MiB).toFixed(0)} MiB while serving 1024 MiB`,
  );
  assert.ok(
    peakBuffers - base.arrayBuffers < 256 * MiB,
    `ArrayBuffers grew by ${((peakBuffers - base.arrayBuffers) / MiB).toFixed(0)} MiB while serving 1024 MiB`,
  );
  // A range at the far end of the big file.
  const tail = await get(port, "/data/big.bin", { headers: { range: `bytes=${GiB - 4}-` } });
  assert.equal(tail.status, 206);
  assert.equal(tail.headers["content-range"], `bytes ${GiB - 4}-${GiB - 1}/${GiB}`);
});

test("a Node worker joined over ws:// reads its chunks from /data/ with its worker token; the client plans with the client token", {
  timeout: 60_000,
}, async () => {
  const log: DataRequestInfo[] = [];
  const zarr = await startNetworkScheduler({
    host: "127.0.0.1",
    port: 0,
    token: CLIENT,
    workerToken: WORKER,
    serveData: { directory: fixture("zarr2"), onRequest: (i) => log.push(i) },
  });
  const group = new WorkerGroup({
    scheduler: zarr.address,
    listen: "ws://127.0.0.1:0",
    kind: "node",
    namePrefix: "node",
    token: WORKER,
    logLevel: "error",
  });
  try {
    await group.grow(1);
    const client = await Client.connect(zarr.address, { token: CLIENT });
    try {
      const url = `${zarr.address.replace(/^ws/, "http")}/data/codecs.zarr`;
      const x = await mw.fromZarr(url, { path: "blosc_lz4" });
      const fromFile = (await (
        await mw.fromZarr(fixture("zarr2/codecs.zarr"), { path: "blosc_lz4" })
      ).compute({ scheduler: "sync" })) as mw.NDArray;
      const got = (await x.compute({ scheduler: client })) as mw.NDArray;
      assert.deepEqual(got.toTypedArray(), fromFile.toTypedArray());
      const chunks = log.filter((l) => /^codecs\.zarr\/blosc_lz4\/\d+\.\d+$/.test(l.path));
      assert.equal(chunks.length, 4, JSON.stringify(log));
      assert.ok(
        chunks.every((l) => l.status === 200 && l.role === "worker"),
        JSON.stringify(chunks),
      );
      assert.ok(
        log.some((l) => l.path === "codecs.zarr/blosc_lz4/.zarray" && l.role === "client"),
        "the client read the metadata",
      );
    } finally {
      await client.close();
    }
  } finally {
    await group.close();
    await zarr.close();
  }
});

test("LocalCluster({ page: { serveData } }): its worker threads, which join in-process, and this process's client read from cluster.dataUrl", {
  timeout: 60_000,
}, async () => {
  const log: DataRequestInfo[] = [];
  await using cluster = await LocalCluster.start({
    workers: 1,
    page: { serveData: { directory: fixture("zarr2"), onRequest: (i) => log.push(i) } },
  });
  assert.match(cluster.dataUrl!, /^http:\/\/127\.0\.0\.1:\d+\/data\/$/);
  const client = await Client.connect(cluster.address);
  try {
    const x = await mw.fromZarr(`${cluster.dataUrl}codecs.zarr`, { path: "zlib" });
    const got = (await x.compute({ scheduler: client })) as mw.NDArray;
    const fromFile = (await (
      await mw.fromZarr(fixture("zarr2/codecs.zarr"), { path: "zlib" })
    ).compute({ scheduler: "sync" })) as mw.NDArray;
    assert.deepEqual(got.toTypedArray(), fromFile.toTypedArray());
    const chunks = log.filter((l) => /^codecs\.zarr\/zlib\/\d\.\d$/.test(l.path));
    assert.equal(chunks.length, 4, JSON.stringify(log));
    assert.ok(
      chunks.every((l) => l.status === 200 && l.role === "worker"),
      JSON.stringify(chunks),
    );
  } finally {
    await client.close();
  }
});

test("meshwork scheduler --serve-data DIR serves it to the printed tokens; a missing directory is a usage error", {
  timeout: 30_000,
}, async () => {
  {
    await using proc = startNode(["dist/node/cli.js", "scheduler", "--port", "0", "--serve-data", fixture("zarr2")]);
    const [, address] = await proc.waitFor(/scheduler at ws:\/\/127\.0\.0\.1:(\d+)/);
    const [, token] = await proc.waitFor(/token: "([0-9a-f]+)"/);
    await proc.waitFor(/data: .*zarr2 read-only at http:\/\/127\.0\.0\.1:\d+\/data\//);
    const r = await get(Number(address), "/data/codecs.zarr/raw/.zarray", { token: token! });
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body.toString()).zarr_format, 2);
    assert.equal((await get(Number(address), "/data/codecs.zarr/raw/.zarray", { token: null })).status, 401);
  }
  await using bad = startNode([
    "dist/node/cli.js",
    "scheduler",
    "--port",
    "0",
    "--serve-data",
    join(tmpdir(), "meshwork-no-such-dir"),
  ]);
  assert.equal(await bad.exited, 2);
  assert.match(bad.output(), /--serve-data: .* is not a directory/);
  await using noData = startNode(["dist/node/cli.js", "scheduler", "--port", "0", "--data-origin", "http://a.example"]);
  assert.equal(await noData.exited, 2);
  assert.match(noData.output(), /--data-origin needs --serve-data/);
  await using path = startNode([
    "dist/node/cli.js",
    "scheduler",
    "--port",
    "0",
    "--serve-data",
    ".",
    "--data-origin",
    "http://a.example/app",
  ]);
  assert.equal(await path.exited, 2);
  assert.match(path.output(), /--data-origin is scheme:\/\/host\[:port\] \(no path\)/);
});
