// A static file server on 127.0.0.1 that answers byte ranges, as a web server or object store
// does, and records what it was asked (path, Range header, bytes sent), for tests of readers that
// read parts of files over HTTP.

import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface RangeServer extends AsyncDisposable {
  /** The server's root, ending in "/". */
  url: string;
  requests: { path: string; range: string | undefined; bytes: number }[];
}

/**
 * Serves `files(path)` (a path like "/climate4.nc" → the bytes, or undefined for 404), with
 * `Range: bytes=a-b` answered 206, and `extra` answering other paths (content type and body).
 */
export async function serveRanges(
  file: (path: string) => string | undefined,
  extra: Record<string, [string, string]> = {},
): Promise<RangeServer> {
  const requests: RangeServer["requests"] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const page = extra[path];
    if (page) {
      res.writeHead(200, { "content-type": page[0] }).end(page[1]);
      return;
    }
    const on = file(path);
    let body: Buffer;
    try {
      if (on === undefined) throw new Error("no such file");
      body = readFileSync(on);
    } catch (err) {
      res.writeHead(404).end(String(err));
      return;
    }
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    if (!m) {
      requests.push({ path, range: undefined, bytes: body.length });
      res.writeHead(200, { "content-length": body.length, "accept-ranges": "bytes" }).end(body);
      return;
    }
    const from = Number(m[1]);
    if (from >= body.length) {
      res.writeHead(416, { "content-range": `bytes */${body.length}` }).end();
      return;
    }
    const part = body.subarray(from, Math.min(body.length, Number(m[2]) + 1));
    requests.push({ path, range: req.headers.range, bytes: part.length });
    res
      .writeHead(206, {
        "content-length": part.length,
        "content-range": `bytes ${from}-${from + part.length - 1}/${body.length}`,
      })
      .end(part);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
