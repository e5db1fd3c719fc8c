// Tokens (issue 20, Build 7): compared in constant time, refused without naming another role,
// failed logins logged with the remote address and limited per address, and the CLI's tokens kept
// out of every process's arguments (environment variables and token files instead).

import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Client, HandshakeError } from "../../node/index.js";
import { timingSafeSecretEquals } from "../../node/platform/secrets.js";
import { portableSecretEquals } from "../../src/util/secret.js";
import { startNode } from "../helpers/process.js";
import { Hostile } from "./hostile.js";
import { CLIENT, TAB, useGuardedCluster, WORKER } from "./cluster.js";

test("both comparisons say equal only for the same string, whatever its length or a shared prefix", () => {
  for (const eq of [timingSafeSecretEquals, portableSecretEquals]) {
    assert.equal(eq(CLIENT, CLIENT), true);
    for (const other of [
      "",
      CLIENT.slice(0, -1),
      CLIENT + "0",
      CLIENT.replace(/9$/, "8"),
      "x".repeat(5000),
      "clïent-secret-0123456789",
      "\0",
    ]) {
      assert.equal(eq(other, CLIENT), false, JSON.stringify(other));
    }
    assert.equal(eq("", ""), true);
  }
});

describe("logins", () => {
  const warnings: string[] = [];
  const c = useGuardedCluster({ client: false, warnings });

  async function refusal(role: string, token: string | undefined, from: string, worker?: object): Promise<string> {
    const h = await Hostile.open(c.scheduler.address, from);
    h.hello(role, token, worker ? { worker } : {});
    const m = await h.next();
    h.close();
    if (m?.op === "welcome") return "welcome";
    return m?.op === "refused" ? (m as { reason: string }).reason : `closed: ${(await h.closed).reason}`;
  }

  test("a token of another role is refused exactly as a guess is: the refusal tells a stranger nothing", async () => {
    const worker = {
      address: "ws://127.0.0.1:1",
      kind: "node",
      nthreads: 1,
      memoryLimit: 0,
      resources: {},
      name: "probe",
    };
    const answers = [
      await refusal("client", "guess", "127.0.1.1"),
      await refusal("client", WORKER, "127.0.1.1"),
      await refusal("client", TAB, "127.0.1.1"),
      await refusal("worker", "guess", "127.0.1.1", worker),
      await refusal("worker", CLIENT, "127.0.1.1", worker),
    ];
    assert.deepEqual(answers, Array(5).fill("wrong token"));
    // Honest clients, and the worker token as a worker, are let in.
    assert.equal(await refusal("client", CLIENT, "127.0.0.1"), "welcome");
    await assert.rejects(
      Client.connect(c.scheduler.address, { token: WORKER }),
      (e: unknown) => e instanceof HandshakeError && /: wrong token$/.test(e.message),
    );
  });

  test("failed logins are logged with the remote address, thinned out; past 20 a minute that address is closed before its hello, and no other is", async () => {
    warnings.length = 0;
    const answers: string[] = [];
    for (let i = 0; i < 30; i++) answers.push(await refusal("client", `guess-${i}`, "127.0.2.1"));
    assert.deepEqual(answers.slice(0, 20), Array(20).fill("wrong token"));
    for (const a of answers.slice(20)) assert.match(a, /closed: too many failed logins from this address/);
    const logged = warnings.filter((w) => /failed login from ws:\/\/127\.0\.2\.1:\d+ as client: wrong token/.test(w));
    assert.ok(
      logged.length >= 1 && logged.length <= 10,
      `${logged.length} lines for 20 failures (at most 10 per 10 s)`,
    );
    assert.ok(
      warnings.every((w) => !w.includes("guess-")),
      "the presented tokens are never logged",
    );
    // Another address, and the honest client, are not affected.
    assert.equal(await refusal("client", "guess", "127.0.2.2"), "wrong token");
    const client = await Client.connect(c.scheduler.address, { token: CLIENT });
    await client.close();
  });
});

describe("the command line", () => {
  const CLI = "dist/node/cli.js";
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "meshwork-tokens-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Every process's command line on this machine that contains `secret`. */
  function inArguments(secret: string): string[] {
    const found: string[] = [];
    for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
        if (cmd.includes(secret)) found.push(`${pid}: ${cmd.replace(/\0/g, " ")}`);
      } catch {
        // the process ended meanwhile
      }
    }
    return found;
  }

  test("tokens from the environment and a token file, and generated ones, never appear in any process's arguments; the cluster works", async () => {
    const workerFile = join(dir, "worker-token");
    writeFileSync(workerFile, "worker-token-from-a-file-77\n", { mode: 0o600 });
    await using sched = startNode([CLI, "scheduler", "--port", "0", "--worker-token-file", workerFile], {
      MESHWORK_TOKEN: "client-token-from-env-55",
    });
    const [, address] = await sched.waitFor(/scheduler at (ws:\/\/127\.0\.0\.1:\d+)/);
    const [, workerToken] = await sched.waitFor(/MESHWORK_WORKER_TOKEN=(\S+) npx meshwork worker/);
    const [, tabToken] = await sched.waitFor(/#token=([0-9a-f]+)/);
    assert.equal(workerToken, "worker-token-from-a-file-77");
    assert.doesNotMatch(sched.output(), /--token/, "the printed worker line puts no token in the arguments");
    await using w = startNode([CLI, "worker", address!, "--threads", "1"], { MESHWORK_WORKER_TOKEN: workerToken! });
    await w.waitFor(/serves data at/);
    const client = await Client.connect(address!, { token: "client-token-from-env-55" });
    try {
      assert.equal(await client.submit((x: number) => x * 2, 21), 42);
      // A task cannot read the worker token from its process's environment.
      assert.equal(
        await client.submit(
          () =>
            (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env[
              "MESHWORK_WORKER_TOKEN"
            ] ?? "gone",
        ),
        "gone",
      );
    } finally {
      await client.close();
    }
    for (const secret of ["client-token-from-env-55", workerToken!, tabToken!])
      assert.deepEqual(inArguments(secret), [], `no command line holds ${secret}`);
    w.child.kill("SIGTERM");
    sched.child.kill("SIGTERM");
    await Promise.all([w.exited, sched.exited]);
  });

  test("a token file that is missing or holds more than one line is a usage error naming the flag", async () => {
    const two = join(dir, "two-lines");
    writeFileSync(two, "a\nb\n");
    for (const [file, pattern] of [
      [join(dir, "nope"), /--token-file: cannot read .*ENOENT/],
      [two, /--token-file: .* must hold one token on one line/],
    ] as const) {
      await using p = startNode([CLI, "worker", "ws://127.0.0.1:9", "--token-file", file]);
      assert.equal(await p.exited, 2);
      assert.match(p.output(), pattern);
    }
  });
});
