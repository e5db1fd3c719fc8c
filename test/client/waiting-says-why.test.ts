// A task that no current worker may run is reported at once (a warning in the client's log, an
// event, a note in its story) and stays pending, or fails with NoWorkerError after its
// noWorkerTimeout; work lost with a worker is announced as it is computed again; and the
// scheduler logs workers joining, leaving and lost, with the work that is done again.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  setLogger,
  consoleLogger,
  NoWorkerError,
  type Logger,
  LocalCluster,
  Client,
  delayed,
} from "../../node/index.js";
import { startCluster } from "../helpers/cluster.js";
import { waitFor } from "../helpers/wait-for.js";

/** Collects log lines (level + text) while `run` runs. */
async function withLog<T>(run: (lines: string[]) => Promise<T>): Promise<T> {
  const lines: string[] = [];
  const put = (level: string) => (m: string) => void lines.push(`${level} ${m}`);
  const capture: Logger = { debug: put("debug"), info: put("info"), warn: put("warn"), error: put("error") };
  const prev = setLogger(capture);
  try {
    return await run(lines);
  } finally {
    setLogger(prev);
  }
}

describe("waiting says why", () => {
  test("a task restricted to a worker that is not there: a warning, an event and a story note at once; the future stays pending", async () => {
    await withLog(async (lines) => {
      await using c = await startCluster();
      const events: { key: string; reason: string }[] = [];
      c.client.on("no-worker", (e) => events.push(e));
      const f = c.client.with({ workers: ["no-such-worker"] }).submit((x: number) => x + 1, 1);
      await waitFor(() => events.length > 0, { message: "the no-worker event" });
      assert.equal(events[0]!.key, f.key);
      assert.match(
        events[0]!.reason,
        /may only run on "no-such-worker", and no such worker is connected \(workers: thread-\d, thread-\d\)/,
      );
      await waitFor(() => lines.some((l) => l.startsWith("warn") && l.includes(f.key)), { message: "the warning" });
      const warning = lines.find((l) => l.includes(f.key))!;
      assert.match(warning, /cannot run yet .*no-such-worker.*stay pending.*noWorkerTimeout/);
      assert.equal(f.status, "pending");
      const story = await c.client.story(f.key);
      const entry = story.find((e) => e.finish === "no-worker");
      assert.ok(entry, JSON.stringify(story));
      assert.match(entry.note ?? "", /no worker may run it: it may only run on "no-such-worker"/);
      await c.client.cancel(f);
    });
  });

  test("unsatisfiable resources say which resources and what the workers offer; one warning for a whole map", async () => {
    await withLog(async (lines) => {
      await using c = await startCluster({ resources: { cpu: 1 } });
      const fs = c.client.with({ resources: { gpu: 1 } }).map((x: number) => x, [1, 2, 3, 4, 5]);
      await waitFor(() => lines.some((l) => l.includes("5 tasks")), { message: "one warning for the five tasks" });
      const warnings = lines.filter((l) => l.startsWith("warn") && l.includes("cannot run yet"));
      assert.equal(warnings.length, 1, warnings.join("\n"));
      assert.match(
        warnings[0]!,
        /needs resources \{"gpu":1\}, which no connected worker offers \(thread-\d \{"cpu":1\}/,
      );
      assert.match(warnings[0]!, /and 2 more/);
      await c.client.cancel(fs);
    });
  });

  test("no workers at all: reported, and the task runs once a worker joins", async () => {
    await withLog(async (lines) => {
      await using c = await startCluster({ workers: 0 });
      const f = c.client.submit((x: number) => x * 2, 21);
      await waitFor(() => lines.some((l) => l.includes("no workers are connected")), { message: "the warning" });
      assert.equal(f.status, "pending");
      await c.cluster.addWorker();
      assert.equal(await f, 42);
    });
  });

  test("noWorkerTimeout: the task and its dependents fail with NoWorkerError saying why, once it has passed", async () => {
    await withLog(async () => {
      await using c = await startCluster();
      const started = performance.now();
      const f = c.client.with({ workers: ["no-such-worker"], noWorkerTimeout: 300 }).submit((x: number) => x, 1);
      const g = c.client.submit((x: number) => x + 1, f);
      await assert.rejects(
        f,
        (e: unknown) =>
          e instanceof NoWorkerError && /waited \d+ ms \(noWorkerTimeout 300 ms\).*no-such-worker/.test(e.message),
      );
      assert.ok(performance.now() - started >= 290, "not before the timeout");
      await assert.rejects(g, NoWorkerError);
      // The cluster still computes.
      assert.equal(await c.client.submit((x: number) => x + 1, 1), 2);
    });
  });

  test("Client.connect's noWorkerTimeout covers collections computed on a cluster without workers", async () => {
    await withLog(async () => {
      const cluster = await LocalCluster.start({ workers: 0, logLevel: "error" });
      const client = await Client.connect(cluster.address, { noWorkerTimeout: 100, setAsDefault: false });
      try {
        const d = delayed((x: number) => x + 1)(1);
        await assert.rejects(
          d.compute({ scheduler: client }),
          (e: unknown) => e instanceof NoWorkerError && /no workers are connected/.test(e.message),
        );
      } finally {
        await client.close();
        await cluster.close();
      }
    });
  });
});

describe("faults are visible", () => {
  test("a worker killed mid-task: the scheduler logs the loss and the rerun, the client an event and a warning; the answer is right", async () => {
    await withLog(async (lines) => {
      await using c = await startCluster({ logLevel: "error" });
      assert.ok(
        lines.some((l) =>
          /^info worker thread-\d joined \(worker-\d+, thread, trusted, 1 thread, data at inproc:/.test(l),
        ),
        lines.join("\n"),
      );
      const events: { key: string; reason: string }[] = [];
      c.client.on("recomputing", (e) => events.push(e));
      const slow = (x: number) => {
        const end = Date.now() + 400;
        while (Date.now() < end);
        return x * 2;
      };
      const fs = c.client.with({ pure: false }).map(slow, [1, 2]);
      await waitFor(() => c.cluster.workers.length === 2, { message: "workers" });
      await waitFor(async () => (await c.client.workers()).filter((w) => w.tasks.processing === 1).length === 2, {
        message: "both running one task each",
      });
      const victim = c.cluster.workers[0]!;
      await c.cluster.killWorker(victim.workerId);
      assert.deepEqual(await c.client.gather(fs), [2, 4]);
      await waitFor(() => events.length > 0, { message: "the recomputing event" });
      assert.match(events[0]!.reason, new RegExp(`worker ${victim.name} was lost`));
      assert.ok(fs.some((f) => f.key === events[0]!.key));
      const loss = lines.find((l) => l.startsWith("warn") && l.includes(`worker ${victim.name} was lost`));
      assert.ok(loss, lines.join("\n"));
      assert.match(loss, /computing 1 task again \(1 it was running, 0 results only it held\); 1 worker left/);
      assert.ok(
        lines.some((l) => /^warn client client-\d+: a task it waits for was lost and is being computed again/.test(l)),
        lines.join("\n"),
      );
    });
  });

  test("workers leaving gracefully are logged at info", async () => {
    await withLog(async (lines) => {
      await using c = await startCluster({ workers: 2 });
      const [w] = c.cluster.workers;
      await c.cluster.retireWorkers([w!.workerId]);
      await waitFor(() => lines.some((l) => l.startsWith("info") && l.includes(`worker ${w!.name} left (`)), {
        message: "the leave",
      });
    });
  });

  test("consoleLogger writes info lines at level info, not at warn", () => {
    const seen: unknown[][] = [];
    const orig = console.info;
    console.info = (...a: unknown[]) => void seen.push(a);
    try {
      consoleLogger("warn").info("hidden");
      consoleLogger("info").info("shown");
    } finally {
      console.info = orig;
    }
    assert.deepEqual(seen, [["[meshwork]", "shown"]]);
  });
});
