// The hand-written ws:// client (node/platform/ws-client.ts) against a raw TCP server that writes exactly
// the bytes each case needs: the upgrade, fragmented messages, ping/pong, close codes, and the
// server misbehaving. (The transport conformance suite covers it against the `ws` server.)

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { test } from "node:test";
import { FastWebSocket } from "../../node/platform/ws-client.js";
import { waitFor } from "../helpers/wait-for.js";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** A server frame: FIN bit, opcode, no mask, payload. */
function frame(op: number, payload: Uint8Array | string, fin = true, masked = false): Buffer {
  const data = typeof payload === "string" ? Buffer.from(payload) : Buffer.from(payload);
  const n = data.byteLength;
  const b0 = (fin ? 0x80 : 0) | op;
  const m = masked ? 0x80 : 0;
  let head: Buffer;
  if (n < 126) head = Buffer.from([b0, m | n]);
  else if (n < 65536) head = Buffer.from([b0, m | 126, n >> 8, n & 0xff]);
  else {
    head = Buffer.alloc(10);
    head[0] = b0;
    head[1] = m | 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, masked ? Buffer.alloc(4) : Buffer.alloc(0), data]);
}

/** A server that answers the upgrade (or not, per `accept`) and then runs `script` on the socket. */
async function server(
  script: (s: Socket, received: () => Buffer) => void,
  accept: "ok" | "wrong-key" | "404" = "ok",
): Promise<{ url: string; srv: Server }> {
  const srv = createServer((s) => {
    let buf = Buffer.alloc(0);
    let upgraded = false;
    s.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      if (upgraded) return;
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      upgraded = true;
      const key = /sec-websocket-key: (.*)\r\n/i.exec(buf.subarray(0, end).toString())![1]!;
      buf = buf.subarray(end + 4);
      if (accept === "404") return void s.end("HTTP/1.1 404 Not Found\r\n\r\n");
      const acceptKey =
        accept === "ok"
          ? createHash("sha1")
              .update(key + GUID)
              .digest("base64")
          : "wrong";
      s.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey}\r\n\r\n`,
      );
      script(s, () => buf);
    });
    s.on("error", () => {});
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return { url: `ws://127.0.0.1:${(srv.address() as { port: number }).port}`, srv };
}

function events(ws: FastWebSocket) {
  const log: { type: string; e: unknown }[] = [];
  for (const type of ["open", "message", "close", "error"])
    ws.addEventListener(type, (e: never) => log.push({ type, e }));
  return log;
}

test("opens after a correct upgrade; binary messages arrive whole, also when fragmented or split across reads", async () => {
  const { url, srv } = await server((s) => {
    s.write(frame(2, new Uint8Array([1, 2, 3])));
    s.write(frame(2, new Uint8Array([4, 5]), false)); // first fragment
    s.write(frame(0, new Uint8Array([6]), true)); // continuation, final
    const big = frame(2, new Uint8Array(70_000).fill(9));
    s.write(big.subarray(0, 3)); // header split from its payload
    setTimeout(() => s.write(big.subarray(3)), 20);
  });
  const ws = new FastWebSocket(url, 1 << 20);
  const log = events(ws);
  await waitFor(() => log.filter((x) => x.type === "message").length === 3);
  const messages = log.filter((x) => x.type === "message").map((x) => [...(x.e as { data: Uint8Array }).data]);
  assert.deepEqual(messages[0], [1, 2, 3]);
  assert.deepEqual(messages[1], [4, 5, 6]);
  assert.equal(messages[2]!.length, 70_000);
  assert.equal(log[0]!.type, "open");
  ws.close();
  srv.close();
});

test("answers a ping with a pong carrying the same payload; sends masked frames with a zero key", async () => {
  let received!: () => Buffer;
  const { url, srv } = await server((s, r) => {
    received = r;
    s.write(frame(9, "hi"));
  });
  const ws = new FastWebSocket(url, 1 << 20);
  const log = events(ws);
  await waitFor(() => log.some((x) => x.type === "open"));
  await waitFor(() => received().byteLength >= 8);
  const pong = received();
  assert.equal(pong[0], 0x8a, "FIN + pong");
  assert.equal(pong[1], 0x80 | 2, "masked, 2 bytes");
  assert.deepEqual([...pong.subarray(2, 6)], [0, 0, 0, 0], "zero mask key");
  assert.equal(pong.subarray(6, 8).toString(), "hi");
  ws.send(new Uint8Array([7, 7]));
  await waitFor(() => received().byteLength >= 16);
  assert.deepEqual([...received().subarray(8, 16)], [0x82, 0x82, 0, 0, 0, 0, 7, 7]);
  ws.close();
  srv.close();
});

test("a close frame from the server closes with its code and reason", async () => {
  const { url, srv } = await server((s) => {
    const reason = Buffer.from("bye now");
    const payload = Buffer.concat([Buffer.from([0x03, 0xe8]), reason]); // 1000
    s.write(frame(8, payload));
  });
  const ws = new FastWebSocket(url, 1 << 20);
  const log = events(ws);
  await waitFor(() => log.some((x) => x.type === "close"));
  const close = log.find((x) => x.type === "close")!.e as { code: number; reason: string };
  assert.equal(close.code, 1000);
  assert.equal(close.reason, "bye now");
  srv.close();
});

test("a refused upgrade, a wrong accept key, a masked server frame or an oversized message fail with a reason", async () => {
  for (const [accept, script, pattern] of [
    ["404", () => {}, /refused the WebSocket upgrade: HTTP\/1.1 404/],
    ["wrong-key", () => {}, /wrong Sec-WebSocket-Accept/],
    ["ok", (s: Socket) => s.write(frame(2, "x", true, true)), /a masked frame from the server/],
    ["ok", (s: Socket) => s.write(frame(2, new Uint8Array(2000))), /a message of 2000 bytes \(limit 1000\)/],
  ] as const) {
    const { url, srv } = await server(script as (s: Socket) => void, accept);
    const ws = new FastWebSocket(url, 1000);
    const log = events(ws);
    await waitFor(() => log.some((x) => x.type === "close"));
    const reason = (log.find((x) => x.type === "close")!.e as { reason: string }).reason;
    assert.match(reason, pattern);
    srv.close();
  }
});

test("connecting where nothing listens closes with an error", async () => {
  const ws = new FastWebSocket("ws://127.0.0.1:9", 1000);
  const log = events(ws);
  await waitFor(() => log.some((x) => x.type === "close"));
  assert.ok(log.some((x) => x.type === "error"));
});
