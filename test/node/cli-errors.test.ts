// The CLI speaks one line: a user's mistake (a wrong token, nothing listening, a port in use, an
// unknown flag) is one line on stderr and a non-zero exit, with no stack unless --debug; a worker
// started before its scheduler keeps trying until --timeout; -h is help; --log-level is obeyed.

import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { startNode } from "../helpers/process.js";
import { runNode } from "../helpers/run.js";

const CLI = "dist/node/cli.js";
/** A line of a JavaScript stack trace. */
const STACK_FRAME = /^\s+at .+/m;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

async function startScheduler(extra: string[] = []) {
  const proc = startNode([CLI, "scheduler", "--port", "0", ...extra]);
  try {
    const [, address] = await proc.waitFor(/scheduler at (ws:\/\/127\.0\.0\.1:\d+)/);
    const [, workerToken] = await proc.waitFor(/MESHWORK_WORKER_TOKEN=([0-9a-f]+) npx meshwork worker/);
    return { proc, address: address!, workerToken: workerToken! };
  } catch (err) {
    await proc[Symbol.asyncDispose](); // a scheduler whose output was not as expected is not left running
    throw err;
  }
}

function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line expected, got:\n${stderr}`);
  assert.doesNotMatch(stderr, STACK_FRAME);
  return lines[0]!;
}

test("-h and --help print each command's help and exit 0", async () => {
  for (const args of [["-h"], ["worker", "-h"], ["scheduler", "-h"], ["demo", "--help"]]) {
    const r = await runNode([CLI, ...args]);
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stdout, /--log-level/, args.join(" "));
  }
  const worker = await runNode([CLI, "worker", "-h"]);
  assert.match(worker.stdout, /--timeout DURATION/);
});

test("a worker that cannot reach its scheduler says so in one line and exits 1; --debug shows the stack", async () => {
  const port = await freePort();
  const r = await runNode([CLI, "worker", `ws://127.0.0.1:${port}`, "--threads", "1", "--timeout", "0"]);
  assert.equal(r.code, 1);
  assert.match(
    oneLine(r.stderr),
    /^meshwork worker: ConnectError: cannot reach the scheduler at ws:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/,
  );
  const debug = await runNode([CLI, "worker", `ws://127.0.0.1:${port}`, "--threads", "1", "--timeout", "0", "--debug"]);
  assert.equal(debug.code, 1);
  assert.match(debug.stderr, STACK_FRAME);
});

test("a wrong token is one line (not saying which role another token has), and a non-zero exit", async () => {
  const s = await startScheduler();
  await using _s = s.proc;
  const r = await runNode([CLI, "worker", s.address, "--token", "guess", "--threads", "1"]);
  assert.equal(r.code, 1);
  assert.match(oneLine(r.stderr), /^meshwork worker: HandshakeError: .*wrong token/);
});

test("a port in use is one line with a hint, and exit 1", async () => {
  const s = await startScheduler();
  await using _s = s.proc;
  const port = new URL(s.address.replace("ws:", "http:")).port;
  const r = await runNode([CLI, "scheduler", "--port", port]);
  assert.equal(r.code, 1);
  assert.match(oneLine(r.stderr), /^meshwork scheduler: .*EADDRINUSE.*--port/);
});

test("an unknown flag lists the valid ones, with the nearest, and exits 2", async () => {
  const r = await runNode([CLI, "worker", "ws://127.0.0.1:1", "--thraeds", "2"]);
  assert.equal(r.code, 2);
  const line = oneLine(r.stderr);
  assert.match(
    line,
    /unknown option --thraeds \(did you mean --threads\?\); the options are --token, --token-file, --threads, /,
  );
  assert.match(line, /--timeout/);
  const level = await runNode([CLI, "worker", "ws://127.0.0.1:1", "--log-level", "loud"]);
  assert.equal(level.code, 2);
  assert.match(oneLine(level.stderr), /--log-level must be one of debug, info, warn, error, silent, got "loud"/);
});

test("a worker started before its scheduler keeps trying, then joins", async () => {
  const port = await freePort();
  await using w = startNode([
    CLI,
    "worker",
    `ws://127.0.0.1:${port}`,
    "--token",
    "wtok",
    "--threads",
    "1",
    "--timeout",
    "30s",
  ]);
  await w.waitFor(/cannot be reached yet .*trying again in/);
  await using s = startNode([CLI, "scheduler", "--port", String(port), "--token", "ctok", "--worker-token", "wtok"]);
  await w.waitFor(/1 thread\(s\) joined/, 20_000);
  // The scheduler logs the join at info, its default level.
  await s.waitFor(/\[meshwork\] worker node-\d+-\d+ joined/);
  w.child.kill("SIGTERM");
  assert.equal(await w.exited, 0);
});

test("--log-level warn quiets the scheduler's info lines", async () => {
  const s = await startScheduler(["--log-level", "warn"]);
  await using _s = s.proc;
  await using w = startNode([CLI, "worker", s.address, "--token", s.workerToken, "--threads", "1"]);
  await w.waitFor(/serves data at/);
  w.child.kill("SIGTERM");
  await w.exited;
  await new Promise((r) => setTimeout(r, 300)); // a fixed wait: what is asserted is that no line comes
  assert.doesNotMatch(s.proc.output(), /joined/);
});

test("a worker process killed with SIGKILL is logged by the scheduler as lost", async () => {
  const s = await startScheduler();
  await using _s = s.proc;
  // Not relaunched for huge pages: the process killed is the worker itself (kill -9 of it).
  await using w = startNode([CLI, "worker", s.address, "--token", s.workerToken, "--threads", "1"], {
    MESHWORK_HUGE_PAGES: "0",
  });
  await w.waitFor(/serves data at/);
  await s.proc.waitFor(/joined/);
  w.child.kill("SIGKILL");
  await s.proc.waitFor(/\[meshwork\] worker node-\d+-1 was lost \(.+\); 0 workers left/, 20_000);
});
