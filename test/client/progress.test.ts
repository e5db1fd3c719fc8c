// progress(): a bar in a terminal, lines in a pipe, nothing under CI. It counts a map's tasks,
// and for a collection every task of its graph (all layers, as optimized and submitted), on a
// cluster, on the "threads" pool and on the "sync" scheduler; failed tasks show and do not make
// it reject for futures, while the promise of a failed compute rejects as the compute does.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as mw from "../../node/array.js";
import * as dfm from "../../node/dataframe.js";
import {
  ArgumentError,
  COLLECTION,
  delayed,
  prepare,
  progress,
  RemoteError,
  Literal,
  FutureNode,
  type ProgressStream,
} from "../../src/internal.js";
import { barText, duration, lineText } from "../../src/client/progress-render.js";
import { useCluster } from "../helpers/cluster.js";
import { waitFor } from "../helpers/wait-for.js";

/** A stream that keeps what is written, as a terminal (isTTY) or a pipe. */
function capture(isTTY: boolean): ProgressStream & { text: string } {
  const s = { text: "", isTTY, columns: 100, write: (t: string) => void (s.text += t) };
  return s;
}

/** The counts a line or bar shows: "12 / 40". */
function shown(text: string): { finished: number; total: number }[] {
  return [...text.matchAll(/([\d,]+) \/ ([\d,]+)/g)].map((m) => ({
    finished: Number(m[1]!.replace(/,/g, "")),
    total: Number(m[2]!.replace(/,/g, "")),
  }));
}

/** Tasks in a collection's optimized graph (what a scheduler runs; held pieces excluded). */
function taskCount(x: { [COLLECTION](): never } | object): number {
  const g = prepare([(x as never as { [COLLECTION]: () => never })[COLLECTION]()]).graph;
  let n = 0;
  for (const node of g.values()) if (!(node instanceof FutureNode)) n++;
  return n;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const slowInc = async (x: number) => {
  await new Promise((r) => setTimeout(r, 25));
  return x + 1;
};

// This file runs in a process of its own: CI (set where the suite runs in CI) would silence every
// bar. The test about CI sets it itself.
delete process.env["CI"];

describe("progress on a cluster", () => {
  const c = useCluster({ workers: 2 });

  test("a map in a terminal: the bar is redrawn in place, done / total rises to 40 / 40", async () => {
    const out = capture(true);
    const futures = c.client.map(
      slowInc,
      Array.from({ length: 40 }, (_, i) => i),
      { pure: false },
    );
    const r = await progress(futures, { stream: out, interval: 20 });
    assert.equal(r, undefined);
    assert.ok(futures.every((f) => f.status === "finished"));
    const frames = out.text.split("\r").filter((f) => f !== "");
    assert.ok(frames.length >= 3, `several frames drawn: ${JSON.stringify(out.text)}`);
    assert.match(frames[0]!, /^\[[#-]+\] /);
    const counts = shown(out.text);
    assert.ok(
      counts.every((x) => x.total === 40),
      JSON.stringify(counts),
    );
    for (let i = 1; i < counts.length; i++)
      assert.ok(counts[i]!.finished >= counts[i - 1]!.finished, "never goes back");
    assert.ok(
      counts.some((x) => x.finished > 0 && x.finished < 40),
      `shows work part done: ${JSON.stringify(counts)}`,
    );
    assert.deepEqual(counts.at(-1), { finished: 40, total: 40 });
    assert.match(out.text, /\[#{10,}\] 40 \/ 40 {2}100% {2}in [\d.]+ ?m?s\x1b\[K\n$/);
  });

  test("a map in a pipe: a line per interval and a last line, nothing redrawn", async () => {
    const out = capture(false);
    const futures = c.client.map(
      slowInc,
      Array.from({ length: 30 }, (_, i) => i),
      { pure: false },
    );
    await progress(futures, { stream: out, interval: 60 });
    assert.doesNotMatch(out.text, /\r|\x1b/);
    const lines = out.text.trimEnd().split("\n");
    assert.ok(lines.length >= 2, out.text);
    assert.match(lines.at(-1)!, /^progress: 30 \/ 30 tasks \(100%\), in /);
    for (const l of lines) assert.match(l, /^progress: [\d,]+ \/ 30 tasks/);
  });

  test("CI set: nothing is drawn, and it still waits for the work", async () => {
    const out = capture(true);
    process.env["CI"] = "true";
    try {
      const futures = c.client.map(slowInc, [1, 2, 3, 4], { pure: false });
      await progress(futures, { stream: out, interval: 20 });
      assert.ok(futures.every((f) => f.status === "finished"));
    } finally {
      delete process.env["CI"];
    }
    assert.equal(out.text, "");
    // quiet: false draws even then; CI=false is not CI.
    process.env["CI"] = "false";
    try {
      await progress(c.client.map(slowInc, [5, 6], { pure: false }), { stream: out, interval: 20 });
    } finally {
      delete process.env["CI"];
    }
    assert.match(out.text, /2 \/ 2/);
  });

  test("a multi-layer array persisted on the cluster: every task of the graph is counted, not only the outputs", async () => {
    const x = mw.random([400, 400], { chunks: [50, 50], seed: 3 }); // 64 blocks
    const y = x.add(x.T).mean({ axis: 0 }).sum();
    const expected = taskCount(y);
    assert.ok(expected > 64, `the graph has ${expected} tasks`);
    const out = capture(false);
    const yp = await progress(y.persist(), { stream: out, interval: 50 });
    assert.ok(Math.abs(((await yp.compute()) as number) - 400) < 5);
    assert.deepEqual(shown(out.text).at(-1), { finished: expected, total: expected }, out.text);
    // Held pieces are not work: the sum of the persisted result is one task.
    const out2 = capture(false);
    await progress(yp.add(1).compute(), { stream: out2 });
    assert.deepEqual(
      shown(out2.text).at(-1),
      { finished: taskCount(yp.add(1)), total: taskCount(yp.add(1)) },
      out2.text,
    );
  });

  test("a dataframe's groupby persisted on the cluster: its whole graph is counted", async () => {
    const df = dfm.fromRecords(
      Array.from({ length: 400 }, (_, i) => ({ k: i % 7, v: i })),
      { npartitions: 8 },
    );
    const g = df
      .assign({ w: (d) => (d.v as number) * 2 })
      .groupby("k")
      .agg({ w: ["sum"] });
    const expected = taskCount(g);
    assert.ok(expected > 8, `the graph has ${expected} tasks`);
    const out = capture(false);
    const gp = await progress(g.persist(), { stream: out });
    assert.equal((await gp.compute()).numRows, 7);
    assert.deepEqual(shown(out.text).at(-1), { finished: expected, total: expected }, out.text);
  });

  test("client.compute's future counts the whole graph behind it", async () => {
    const x = mw
      .ones([200, 200], { chunks: [50, 50] })
      .mul(2)
      .sum();
    const out = capture(false);
    const f = c.client.compute(x);
    // biome-ignore lint/suspicious/noConfusingVoidType: the point is the declared type
    const nothing: void = await progress(f, { stream: out }); // typed as it is: a future's progress gives no value
    assert.equal(nothing, undefined);
    assert.equal(await f, 80_000);
    // The future's key is the task assembling the value on a worker; the graph's tasks are under it.
    assert.deepEqual(shown(out.text).at(-1), { finished: taskCount(x) + 1, total: taskCount(x) + 1 });
  });

  test("failed tasks show as erred; for futures progress resolves, as wait does", async () => {
    const out = capture(false);
    const futures = c.client.map(
      (x: number) => {
        if (x % 5 === 0) throw new Error(`bad ${x}`);
        return x;
      },
      Array.from({ length: 20 }, (_, i) => i),
      { pure: false },
    );
    await progress(futures, { stream: out });
    assert.match(out.text, /progress: 20 \/ 20 tasks \(100%\), in .*, 4 erred\n$/);
    assert.equal(futures.filter((f) => f.status === "error").length, 4);
  });

  test("the promise of a failing compute rejects with its error; the line shows the erred task", async () => {
    const boom = delayed((x: number) => {
      if (x === 3) throw new Error("three is bad");
      return x;
    });
    const total = delayed((...xs: number[]) => xs.reduce((a, b) => a + b, 0))(...[1, 2, 3, 4].map((i) => boom(i)));
    const out = capture(false);
    await assert.rejects(
      progress(total.compute(), { stream: out }),
      (err: Error) => err instanceof RemoteError && /three is bad/.test(err.message),
    );
    const last = out.text.trimEnd().split("\n").at(-1)!;
    assert.match(last, /^progress: \d \/ 5 tasks .*, 2 erred$/, out.text); // boom(3) and the total that needed it
  });

  test("a client closing under a bar: progress resolves (its futures are cancelled), nothing rejects unhandled", async () => {
    const other = await c.connect();
    const out = capture(false);
    const futures = other.map(
      async (x: number) => {
        await new Promise((r) => setTimeout(r, 200));
        return x;
      },
      Array.from({ length: 20 }, (_, i) => i),
      { pure: false },
    );
    const p = progress(futures, { stream: out, interval: 20 });
    await waitFor(() => /^progress: \d+ \/ 20 tasks/m.test(out.text), { message: "the bar drawn" });
    await other.close();
    await p;
    assert.ok(futures.every((f) => f.status === "cancelled"));
    assert.match(out.text, /^progress: \d+ \/ 20 tasks/m);
    assert.doesNotMatch(out.text, /20 \/ 20/, "the work did not finish, and the bar does not say it did");
  });

  test("bad input is refused with a named error", async () => {
    const x = mw.ones([4], { chunks: [2] });
    await assert.rejects(
      progress(x as never),
      (err: Error) => err instanceof ArgumentError && /progress\(x\.persist\(\)\)/.test(err.message),
    );
    await assert.rejects(progress(42 as never), ArgumentError);
    await assert.rejects(progress([c.client.submit(slowInc, 1), 7] as never), /item 1 is/);
    await assert.rejects(progress([], { interval: -1 }), /interval/);
    await assert.rejects(progress([], { every: 3 } as never), ArgumentError);
    await assert.rejects(progress([], { stream: {} as never }), /write/);
  });

  test("the scheduler bounds and names its watches", async () => {
    const ask = (c.client as unknown as { request: (w: unknown) => Promise<unknown> }).request.bind(c.client);
    await assert.rejects(ask({ kind: "progress", watch: 9_999_999 }), /no progress watch 9999999/);
    const ids: number[] = [];
    for (let i = 0; i < 64; i++)
      ids.push(
        ((await ask({ kind: "progress-watch", keys: ["nothing-here"] })) as { watch: number; total: number }).watch,
      );
    await assert.rejects(ask({ kind: "progress-watch", keys: [] }), /at most 64/);
    for (const id of ids)
      assert.deepEqual(await ask({ kind: "progress", watch: id, end: true }), {
        total: 0,
        done: 0,
        erred: 0,
        processing: 0,
      });
    await assert.rejects(ask({ kind: "progress", watch: ids[0] }), /no progress watch/);
    await ask({ kind: "progress-watch", keys: [] }); // room again
  });
});

describe("progress on a single machine", () => {
  test("the sync scheduler: a multi-layer array's graph, counted as it runs in this thread", async () => {
    const x = mw.random([300, 300], { chunks: [30, 30], seed: 1 });
    const y = x.add(x.T).mean({ axis: 0 }).sum();
    const out = capture(true);
    const v = await progress(y.compute({ scheduler: "sync" }), { stream: out, interval: 10 });
    assert.equal(typeof v, "number");
    const n = taskCount(y);
    assert.deepEqual(shown(out.text).at(-1), { finished: n, total: n });
  });

  test("the threads scheduler: the pool's cluster counts the graph", async () => {
    const x = mw
      .ones([100, 100], { chunks: [25, 25] })
      .add(1)
      .sum();
    const out = capture(false);
    assert.equal(await progress(x.compute({ scheduler: "threads" }), { stream: out }), 20_000);
    assert.deepEqual(shown(out.text).at(-1), { finished: taskCount(x), total: taskCount(x) });
  });

  test("a promise that runs no computation draws nothing and gives its value", async () => {
    const out = capture(true);
    assert.equal(
      await progress(
        sleep(30).then(() => 7),
        { stream: out, interval: 10 },
      ),
      7,
    );
    assert.equal(out.text, "");
  });

  test("computations started after the call, while the promise is pending, are followed too", async () => {
    const out = capture(false);
    const a = delayed((v: number) => v * 2)(delayed((v: number) => v + 1)(1));
    const two = (async () => {
      await sleep(10);
      const first = await a.compute({ scheduler: "sync" });
      return (await delayed((v: number, w: number) => v + w)(1, first).compute({ scheduler: "sync" })) as number;
    })();
    assert.equal(await progress(two, { stream: out }), 5);
    assert.deepEqual(shown(out.text).at(-1), { finished: 3, total: 3 });
  });
});

test("formatting: bar and line text, rates and durations", () => {
  const c = { total: 1000, done: 250, erred: 0, processing: 2 };
  assert.equal(barText(c, 50, 5_000, false, 70), "[#####---------------] 250 / 1,000  25%  50/s  ETA 15s");
  assert.equal(
    barText({ ...c, done: 990, erred: 10 }, 50, 65_000, true, 70),
    "[####################] 1,000 / 1,000  100%  in 1m05s  10 erred",
  );
  assert.equal(lineText(c, 0, 1_000, false), "progress: 250 / 1,000 tasks (25%)");
  assert.equal(lineText(c, 2.5, 1_000, false), "progress: 250 / 1,000 tasks (25%), 2.5/s, ETA 5m00s");
  assert.equal(duration(420), "420 ms");
  assert.equal(duration(3 * 3_600_000 + 4 * 60_000), "3h04m");
  void Literal;
});
