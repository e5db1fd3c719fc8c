// Node's http:// store (node/platform/http-store.ts): bodies read into the caller's buffer over keep-alive
// connections, and every response it does not read itself handed to fetch, against a server that
// answers exactly as scripted.

import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { after, test } from "node:test";
import { closeIdleHttpConnections, NodeHttpStore } from "../../node/platform/http-store.js";
import { StoreError } from "../../src/errors.js";
import { setStoreCredentials } from "../../src/io/store.js";

/** A server that hands each request (its head) to `answer`, which writes whatever it likes. */
function scripted(
  answer: (head: string, socket: Socket, n: number) => void,
): Promise<{ server: Server; url: string; connections: () => number; requests: string[] }> {
  const requests: string[] = [];
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    let pending = "";
    socket.on("data", (d) => {
      pending += d.toString("latin1");
      for (let end = pending.indexOf("\r\n\r\n"); end >= 0; end = pending.indexOf("\r\n\r\n")) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        requests.push(head);
        answer(head, socket, requests.length);
      }
    });
    socket.on("error", () => undefined); // a client closing mid-answer is part of the script
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      resolve({ server, url: `http://127.0.0.1:${port}/`, connections: () => connections, requests });
    }),
  );
}

const servers: Server[] = [];
after(async () => {
  closeIdleHttpConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

const ok = (body: Buffer, extra = "") =>
  Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n`), body]);
const payload = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff));

test("bodies land in the caller's buffer, on one keep-alive connection; a token goes along; a 404's body is read past", async () => {
  const s = await scripted((head, socket) => {
    if (head.startsWith("GET /missing")) socket.write("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot there");
    else socket.write(ok(payload));
  });
  servers.push(s.server);
  setStoreCredentials(new URL(s.url).origin, "sesame");
  try {
    const store = new NodeHttpStore(s.url);
    for (let i = 0; i < 3; i++) {
      let given: Uint8Array | undefined;
      const got = await store.get("a/b", undefined, (size) => (given = new Uint8Array(size)));
      assert.ok(got && given && got.buffer === given.buffer, "read into the buffer given");
      assert.deepEqual(Buffer.from(got), payload);
      assert.equal(await store.get("missing"), undefined);
    }
    assert.equal(s.connections(), 1, "one connection for six requests");
    assert.ok(s.requests.every((h) => /\r\nauthorization: Bearer sesame/i.test(h)));
  } finally {
    setStoreCredentials(new URL(s.url).origin, null);
  }
});

test("a head that arrives a few bytes at a time, and a body in pieces, read the same", async () => {
  const s = await scripted((_head, socket) => {
    const bytes = ok(payload.subarray(0, 5000));
    let at = 0;
    const step = () => {
      if (at >= bytes.length) return;
      const n = at < 80 ? 3 : 997;
      socket.write(bytes.subarray(at, at + n));
      at += n;
      setImmediate(step);
    };
    step();
  });
  servers.push(s.server);
  assert.deepEqual(Buffer.from((await new NodeHttpStore(s.url).get("x"))!), payload.subarray(0, 5000));
});

test("ranges: 206 is the range, 200 (Range ignored) is cut to it, 416 says the file is shorter", async () => {
  const s = await scripted((head, socket) => {
    const m = /range: bytes=(\d+)-(\d+)/i.exec(head)!;
    const [a, b] = [Number(m[1]), Number(m[2])];
    if (head.startsWith("GET /ignores")) socket.write(ok(payload));
    else if (a >= payload.length) socket.write("HTTP/1.1 416 Range Not Satisfiable\r\nContent-Length: 0\r\n\r\n");
    else
      socket.write(
        Buffer.concat([
          Buffer.from(`HTTP/1.1 206 Partial Content\r\nContent-Length: ${b - a + 1}\r\n\r\n`),
          payload.subarray(a, b + 1),
        ]),
      );
  });
  servers.push(s.server);
  const store = new NodeHttpStore(s.url);
  const range = { offset: 1000, length: 64 };
  assert.deepEqual(Buffer.from((await store.get("f", range))!), payload.subarray(1000, 1064));
  assert.deepEqual(
    Buffer.from((await store.get("ignores", range, (n) => new Uint8Array(n)))!),
    payload.subarray(1000, 1064),
  );
  await assert.rejects(
    store.get("f", { offset: 10 ** 7, length: 4 }),
    (e: Error) => e instanceof StoreError && /416/.test(e.message),
  );
});

test("chunked and compressed bodies and redirects go to fetch, which reads them", async () => {
  const s = await scripted((head, socket) => {
    if (head.startsWith("GET /chunked"))
      socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    else if (head.startsWith("GET /moved"))
      socket.write("HTTP/1.1 302 Found\r\nLocation: /chunked\r\nContent-Length: 0\r\n\r\n");
    else socket.write(ok(Buffer.from("plain")));
  });
  servers.push(s.server);
  const store = new NodeHttpStore(s.url);
  assert.equal(Buffer.from((await store.get("chunked"))!).toString(), "hello world");
  assert.equal(Buffer.from((await store.get("moved"))!).toString(), "hello world");
  assert.equal(Buffer.from((await store.get("plain"))!).toString(), "plain");
});

test("a kept connection the server closed is retried on a new one; a server that hangs up mid-body is a StoreError", async () => {
  const s = await scripted((head, socket, n) => {
    if (head.startsWith("GET /cut")) {
      socket.end(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part"));
      return;
    }
    socket.write(ok(Buffer.from(`answer ${n}`)));
    if (n === 1) setImmediate(() => socket.destroy()); // closes the kept connection while it is idle
  });
  servers.push(s.server);
  const store = new NodeHttpStore(s.url);
  assert.equal(Buffer.from((await store.get("one"))!).toString(), "answer 1");
  // Lets the server's close reach the kept connection (nothing in the store shows it; whether the
  // store sees it before its next request or only when it fails, "two" must come on a new one).
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(Buffer.from((await store.get("two"))!).toString(), "answer 2");
  assert.equal(s.connections(), 2);
  await assert.rejects(store.get("cut"), (e: Error) => e instanceof StoreError && /cannot fetch/.test(e.message));
  await assert.rejects(
    new NodeHttpStore("http://127.0.0.1:1/").get("x"),
    (e: Error) => e instanceof StoreError && /ECONNREFUSED/.test(e.message),
  );
});
