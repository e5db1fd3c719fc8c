// A small static file server with HTTP Range requests, for bench/zarr.mjs's HTTP variant (until
// `meshwork scheduler --serve-data` serves stores): GET and HEAD of the files under a directory,
// one byte range per request (206 + Content-Range), 404 for what is not there, nothing outside
// the directory. It runs as a child process, so its memory and CPU are nobody's side's.
//
//   node bench/range-server.mjs DIR      prints {"port": N} once listening on 127.0.0.1

import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer } from "node:http";
import { resolve, sep } from "node:path";

const root = resolve(process.argv[2] ?? ".");
/** Bytes read from the file per step of a response: big enough that a 22 MB chunk is a few dozen reads. */
const READ_BYTES = 1 << 20;

const server = createServer(async (req, res) => {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD" }).end();
    return;
  }
  const path = resolve(root, "." + decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
  if (path !== root && !path.startsWith(root + sep)) {
    res.writeHead(403).end();
    return;
  }
  let size;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new Error("not a file");
    size = s.size;
  } catch {
    res.writeHead(404).end();
    return;
  }
  let start = 0;
  let end = size - 1;
  let status = 200;
  const range = req.headers.range && /^bytes=(\d*)-(\d*)$/.exec(req.headers.range);
  if (range) {
    if (range[1] === "") {
      start = Math.max(0, size - Number(range[2])); // the last N bytes
    } else {
      start = Number(range[1]);
      if (range[2] !== "") end = Math.min(end, Number(range[2]));
    }
    if (start > end || start >= size) {
      res.writeHead(416, { "content-range": `bytes */${size}` }).end();
      return;
    }
    status = 206;
  }
  const headers = {
    "content-length": String(end - start + 1),
    "accept-ranges": "bytes",
    "content-type": "application/octet-stream",
  };
  if (status === 206) headers["content-range"] = `bytes ${start}-${end}/${size}`;
  res.writeHead(status, headers);
  if (req.method === "HEAD" || size === 0) {
    res.end();
    return;
  }
  const stream = createReadStream(path, { start, end, highWaterMark: READ_BYTES });
  stream.on("error", () => res.destroy());
  stream.pipe(res);
});

server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: server.address().port }));
});
process.stdin.on("end", () => server.close(() => process.exit(0)));
process.stdin.resume();
