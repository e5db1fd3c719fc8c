// The ban list outlives the scheduler when given a file (issue 20): a tab banned for forging
// results is refused by the next scheduler started with the same file, by name, by address and by
// host, while trusted workers from that host and strangers from other hosts still join; a file
// that is not a ban list fails the start with a message naming the file.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join as joinPath } from "node:path";
import { after, describe, test } from "node:test";
import { banFile, Scheduler } from "../../node/index.js";
import { digestOf, serialize, type Message } from "../../src/internal.js";
import { guardedCluster, TAB, WORKER } from "./cluster.js";
import { Hostile } from "./hostile.js";

const dir = mkdtempSync(joinPath(tmpdir(), "meshwork-bans-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function claim(name: string, port: number) {
  return { address: `ws://127.0.0.1:${port}`, kind: "browser", nthreads: 8, memoryLimit: 0, resources: {}, name };
}

async function join(address: string, token: string, name: string, port: number, from: string) {
  const h = await Hostile.open(address, from);
  h.hello("worker", token, { worker: claim(name, port) });
  return { h, answer: (await h.next()) as { op: string; reason?: string } | null };
}

describe("a ban file", () => {
  test("a liar banned by one scheduler is refused by the next one started with the same file (name, address, host); others still join", async () => {
    const path = joinPath(dir, "bans.json");
    const c = await guardedCluster({ honest: 1, scheduler: { bans: banFile(path) } });
    const liar = await join(c.scheduler.address, TAB, "liar", 45_001, "127.0.6.1");
    assert.equal(liar.answer?.op, "welcome", JSON.stringify(liar.answer));
    // It answers every task with a forged value (and that value's digest): the trusted witness outvotes it.
    const forged = serialize("EVIL-RESULT").payload;
    const lies = (async () => {
      for (;;) {
        const m = (await liar.h.next(10_000)) as { op: string; key?: string; digest?: boolean } | null;
        if (!m) return;
        if (m.op === "compute-task")
          liar.h.send([
            {
              op: "task-finished",
              key: m.key,
              nbytes: 8,
              duration: 1,
              value: forged,
              digest: m.digest ? digestOf(forged) : undefined,
            } as unknown as Message,
          ]);
      }
    })();
    const xs = Array.from({ length: 30 }, (_, i) => i);
    assert.deepEqual(
      await Promise.all(c.client.map((x: number) => x * 5, xs, { pure: false })),
      xs.map((x) => x * 5),
    );
    await lies;
    assert.match((await liar.h.closed).reason, /banned/);
    await c.close();

    const saved = JSON.parse(readFileSync(path, "utf8"));
    assert.deepEqual(saved, { names: ["liar"], addresses: ["ws://127.0.0.1:45001"], hosts: ["127.0.6.1"] });
    assert.equal(statSync(path).mode & 0o777, 0o600, "readable by its owner only");

    // A new scheduler with the same file: the liar's name, its address (from another host) and its host are refused.
    const next = await guardedCluster({ scheduler: { bans: banFile(path) } });
    try {
      for (const [name, port, from, why] of [
        ["liar", 45_002, "127.0.6.9", /worker liar is banned/],
        ["renamed", 45_001, "127.0.6.9", /is banned/],
        ["innocent-looking", 45_003, "127.0.6.1", /workers from 127\.0\.6\.1 are banned/],
      ] as const) {
        const again = await join(next.scheduler.address, TAB, name, port, from);
        assert.equal(again.answer?.op, "refused", `${name} from ${from}`);
        assert.match(again.answer!.reason!, why);
        again.h.close();
      }
      // A trusted worker from the banned host, and a tab from another host, still join.
      for (const [token, name, port, from] of [
        [WORKER, "trusted-there", 45_004, "127.0.6.1"],
        [TAB, "someone-else", 45_005, "127.0.6.2"],
      ] as const) {
        const ok = await join(next.scheduler.address, token, name, port, from);
        assert.equal(ok.answer?.op, "welcome", `${name}: ${JSON.stringify(ok.answer)}`);
        ok.h.close();
        await ok.h.closed;
      }
    } finally {
      await next.close();
    }
  });

  test("a file that is not a ban list fails the start, naming the file and what is wrong; a missing file is an empty list", async () => {
    const bad = joinPath(dir, "bad.json");
    for (const [text, why] of [
      ["not json", /is not JSON/],
      ['{"names": [1]}', /"names" must be a list of non-empty strings/],
      ["[]", /a ban list is an object/],
    ] as const) {
      writeFileSync(bad, text);
      await assert.rejects(
        Scheduler.start({ address: "ws://127.0.0.1:0", workerToken: WORKER, bans: banFile(bad) }),
        (err: Error) => err.name === "ArgumentError" && err.message.includes(bad) && why.test(err.message),
      );
    }
    const s = await Scheduler.start({
      address: "ws://127.0.0.1:0",
      workerToken: WORKER,
      bans: banFile(joinPath(dir, "missing.json")),
    });
    await s.close();
  });

  test("meshwork scheduler --ban-file refuses a malformed file with a message and exit code, naming the file", () => {
    const bad = joinPath(dir, "cli-bad.json");
    writeFileSync(bad, '{"hosts": "everyone"}');
    const cli = new URL("../../dist/node/cli.js", import.meta.url).pathname;
    const r = spawnSync(process.execPath, [cli, "scheduler", "--port", "0", "--ban-file", bad], {
      encoding: "utf8",
      timeout: 20_000,
    });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /cli-bad\.json/);
    assert.match(r.stderr, /"hosts" must be a list/);
  });
});
