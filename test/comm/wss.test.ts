// wss://: the WebSocket transport over TLS, with a self-signed certificate made for the test
// (openssl) and trusted by the client through `tls.ca`.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Client, Scheduler, Worker } from "../../node/index.js";
import { ConnectError } from "../../src/internal.js";

function selfSigned(): { cert: string; key: string } | null {
  const dir = mkdtempSync(join(tmpdir(), "meshwork-tls-"));
  try {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ],
      { stdio: "ignore" },
    );
    return { cert: readFileSync(join(dir, "cert.pem"), "utf8"), key: readFileSync(join(dir, "key.pem"), "utf8") };
  } catch {
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const tls = selfSigned();

test("a scheduler on wss:// serves a worker and a client that trust its certificate", {
  skip: tls === null && "openssl is not available to make a certificate",
}, async () => {
  const scheduler = await Scheduler.start({
    address: "wss://127.0.0.1:0",
    token: "c",
    workerToken: "w",
    transport: { tls },
  });
  const worker = await Worker.start({
    scheduler: scheduler.address,
    listen: "wss://127.0.0.1:0",
    token: "w",
    kind: "node",
    transport: { tls: { ...tls, ca: tls!.cert } },
  });
  const client = await Client.connect(scheduler.address, { token: "c", transport: { tls: { ca: tls!.cert } } });
  try {
    assert.match(scheduler.address, /^wss:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(await client.submit((x: number) => x * 3, 14), 42);
    const big = client.submit((n: number) => new Float64Array(n).fill(0.5), 100_000);
    assert.equal((await big).length, 100_000, "a large result comes from the worker's own wss:// data server");
    await assert.rejects(
      Client.connect(scheduler.address, { token: "c" }),
      ConnectError,
      "without trusting the certificate, connecting fails",
    );
  } finally {
    await client.close();
    await worker.close();
    await scheduler.close();
  }
});
