// Stores: files and HTTP read whole values, ranges, and into a buffer the caller gives (a thread's
// scratch buffer for compressed chunks); a Zarr store over HTTP reads as it does from files.

import assert from "node:assert/strict";
import { createReadStream, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { closeIdleHttpConnections } from "../../node/platform/http-store.js";
import "../../node/platform/io.js";
import * as mw from "../../node/array.js";
import { openStore, storeUrl } from "../../src/io/store.js";
import { useCluster } from "../helpers/cluster.js";
import { FIXTURES, pattern } from "./fixtures.js";

/** Serves test/fixtures/io; with `ranges` false it answers every request with the whole file, as some servers do. */
function serve(ranges: boolean): Promise<Server> {
  const root = FIXTURES.pathname;
  const server = createServer((req, res) => {
    const path = root + decodeURIComponent(new URL(req.url!, "http://x").pathname).replace(/^\/+/, "");
    let size: number;
    try {
      const s = statSync(path);
      if (!s.isFile()) throw new Error("not a file");
      size = s.size;
    } catch {
      res.writeHead(404).end();
      return;
    }
    const m = ranges ? /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "") : null;
    const start = m ? Number(m[1]) : 0;
    const end = m ? Math.min(Number(m[2]), size - 1) : size - 1;
    res.writeHead(m ? 206 : 200, {
      "content-length": String(end - start + 1),
      ...(m ? { "content-range": `bytes ${start}-${end}/${size}` } : {}),
    });
    if (size === 0) res.end();
    else createReadStream(path, { start, end }).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

const url = (s: Server, path: string) => `http://127.0.0.1:${(s.address() as AddressInfo).port}/${path}`;
const FILE = "zarr2/codecs.zarr/blosc_big/0.0";

// One describe around them all, its hooks in the order they run (after hooks too): Node 20 starts
// a file's top-level before hooks together.
describe("stores", () => {
  let withRanges: Server;
  let noRanges: Server;
  before(async () => {
    [withRanges, noRanges] = await Promise.all([serve(true), serve(false)]);
  });
  after(() => {
    closeIdleHttpConnections(); // this thread's keep-alive connections (the workers' close with them), before the leak check
  });
  const c = useCluster({ workers: 2 });
  after(async () => {
    await Promise.all([withRanges, noRanges].map((s) => new Promise((r) => s.close(r))));
  });

  describe("reading into the caller's buffer", () => {
    test("files and HTTP (with Range requests and without) give the same bytes, whole and a range, with and without a buffer", async () => {
      const file = openStore(storeUrl(FIXTURES.pathname));
      const whole = (await file.get(FILE))!;
      assert.ok(whole.length > 100);
      const range = { offset: 10, length: 50 };
      for (const [what, store] of [
        ["file", file],
        ["HTTP", openStore(url(withRanges, ""))],
        ["HTTP ignoring Range", openStore(url(noRanges, ""))],
      ] as const) {
        assert.deepEqual(await store.get(FILE), whole, `${what}: whole`);
        assert.deepEqual(await store.get(FILE, range), whole.subarray(10, 60), `${what}: range`);
        const given: Uint8Array[] = [];
        const into = (size: number) => {
          const b = new Uint8Array(size + 8).subarray(4, 4 + size);
          given.push(b);
          return b;
        };
        const got = (await store.get(FILE, undefined, into))!;
        assert.deepEqual(got, whole, `${what}: whole, into a buffer`);
        assert.equal(given.length, 1, `${what}: asked once`);
        assert.equal(got.buffer, given[0]!.buffer, `${what}: the bytes are in the buffer given`);
        const part = (await store.get(FILE, range, into))!;
        assert.deepEqual(part, whole.subarray(10, 60), `${what}: a range, into a buffer or not`);
        assert.equal(await store.get("zarr2/nothing-here", undefined, into), undefined, `${what}: missing`);
      }
    });
  });

  describe("a Zarr store over HTTP", () => {
    test("Blosc chunks read by the cluster's workers over HTTP equal the file's values, with or without Range support", async () => {
      for (const server of [withRanges, noRanges]) {
        for (const [path, shape, dt] of [
          ["blosc_big", [128, 130], "float32"],
          ["blosc_lz4", [40, 30], "float32"],
          ["raw", [40, 30], "float32"],
        ] as const) {
          const x = await mw.fromZarr(url(server, "zarr2/codecs.zarr"), { path });
          const got = (await x.compute({ scheduler: c.client })) as mw.NDArray;
          assert.deepEqual(got.toArray(), pattern([...shape], dt).toArray(), path);
        }
      }
    });
  });
});
