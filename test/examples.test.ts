// The numbered examples run as a user would run them and print what they promise.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runNode } from "./helpers/run.js";

test("examples/01-submit-map-gather runs and prints its results", async () => {
  const r = await runNode(["--import", "tsx", "examples/01-submit-map-gather/main.ts"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /submit\(x => x \+ 1, 10\) → 11/);
  assert.match(r.stdout, /\[ 1, 4, 9, 16, 25 \]/);
  assert.match(r.stdout, /sum of the squares, computed on the cluster → 55/);
  assert.match(r.stdout, /a failing task → RangeError: negative input: -4/);
  assert.match(r.stdout, /worker thread-1 \(thread\)/);
});

test("examples/02-as-completed finds the minimum while keeping 8 evaluations in flight", async () => {
  const r = await runNode(["--import", "tsx", "examples/02-as-completed/main.ts"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /400 evaluations, 8 in flight/);
  const m = /best point: \(([-\d.]+), ([-\d.]+)\)/.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.ok(Math.abs(Number(m[1]) - 3) < 0.05 && Math.abs(Number(m[2]) + 2) < 0.05, `converged near (3, -2): ${m[0]}`);
});

test("examples/03-arrays computes x.add(x.T).mean(axis 0).sum() near n, persists x, and agrees with this thread", async () => {
  const r = await runNode(["--import", "tsx", "examples/03-arrays/main.ts"], 60_000, { MESHWORK_EXAMPLE_N: "2000" });
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /x = mw\.Array<random, shape=\[2000, 2000\], dtype=float64, chunksize=\[200, 200\], blocks=100, tasks=100>/,
  );
  const m = /y\.compute\(\) → ([\d.]+) \(n = 2000\)/.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.ok(Math.abs(Number(m[1]) - 2000) < 2, `each column of x + x.T averages about 1: ${m[1]}`);
  assert.match(r.stdout, /x\.persist\(\) → 100 blocks held on the workers/);
  const s = /xp\.sum\(\) → ([\d.]+)/.exec(r.stdout);
  assert.ok(s && Math.abs(Number(s[1]) / 2e6 - 1) < 0.01, `sum of 4M uniforms is about 2M: ${s?.[1]}`);
  assert.match(r.stdout, /same result on the cluster and in this thread: true/);
});

test("examples/04-delayed computes the same report in this thread and on a cluster", async () => {
  const r = await runNode(["--import", "tsx", "examples/04-delayed/main.ts"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /report = Delayed\(combine-[0-9a-f]+: combine\(\[7 items\]\), 22 tasks\): nothing computed yet/,
  );
  assert.match(r.stdout, /days: 7/);
  assert.match(r.stdout, /n: 6923/);
  assert.match(r.stdout, /same answer both ways: true/);
});

test("examples/05-climate writes a Zarr dataset, opens it lazily, computes a monthly climatology and anomaly, and writes Zarr back", async () => {
  const dir = mkdtempSync(join(tmpdir(), "meshwork-ex5-"));
  try {
    const r = await runNode(["--import", "tsx", "examples/05-climate/main.ts", dir], 90_000, {
      MESHWORK_EXAMPLE_DAYS: "365",
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wrote .*air\.zarr \(365 days × 73 × 144\)/);
    assert.match(r.stdout, /\* time\s+\(time\) datetime 2020-01-01 2020-01-02 .* 2020-12-30/);
    assert.match(r.stdout, /air\s+\(time, lat, lon\) float32 meshwork\.Array<chunksize=\(90, 73, 144\)>/);
    assert.match(r.stdout, /monthly climatology month × lat × lon = 12 × 73 × 144/);
    const m = /at 60°N: January ([\d.]+) K, July ([\d.]+) K/.exec(r.stdout);
    assert.ok(m, r.stdout);
    // 250 + 30 cos 60° = 265 on average; the season swings it by 12 K cos(2π(t - 15)/365.25): colder in January.
    assert.ok(Math.abs(Number(m[1]) - 253) < 1 && Math.abs(Number(m[2]) - 277) < 1, m[0]);
    assert.match(r.stdout, /wrote .*anomaly-spread\.zarr: month: 12, lat: 73, lon: 144; variables air_anomaly_std/);
    assert.ok(existsSync(join(dir, "anomaly-spread.zarr", ".zmetadata")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("examples/06-glm fits a logistic regression on a cluster and finds coefficients near the truth, with time per iteration", async () => {
  const r = await runNode(["--import", "tsx", "examples/06-glm/main.ts"], 60_000, { MESHWORK_EXAMPLE_N: "200000" });
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /X = mw\.Array<normal, shape=\[200000, 10\], dtype=float64, chunksize=\[25000, 10\], blocks=8, tasks=8>/,
  );
  assert.match(r.stdout, /fitted 200000 rows with lbfgs: \d+ iterations, \d+ passes over the data, converged: true/);
  assert.match(r.stdout, /time per iteration: [\d.]+ ms/);
  const rows = [...r.stdout.matchAll(/^ {2}(x\d|intercept)\s+(-?[\d.]+)\s+(-?[\d.]+)$/gm)];
  assert.equal(rows.length, 11, r.stdout);
  // 200,000 rows: each coefficient's standard error is well under 0.02.
  for (const m of rows) assert.ok(Math.abs(Number(m[2]) - Number(m[3])) < 0.05, m[0]);
  const acc = /accuracy on the training rows: ([\d.]+)/.exec(r.stdout);
  assert.ok(acc && Number(acc[1]) > 0.8, r.stdout);
  assert.match(r.stdout, /P\(y = 1\) for the first test rows: (0\.\d{3}, ){2}0\.\d{3}/);
});

test("examples/07-dataframe writes Parquet, groups long trips by vendor, joins vendor names, and agrees with this thread", async () => {
  const dir = mkdtempSync(join(tmpdir(), "meshwork-ex7-"));
  try {
    const r = await runNode(["--import", "tsx", "examples/07-dataframe/main.ts", dir], 60_000, {
      MESHWORK_EXAMPLE_ROWS: "20000",
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wrote 4 Parquet files of 20000 trips to .*trips/);
    assert.match(
      r.stdout,
      /mw\.DataFrame<read-parquet, npartitions=4, columns=4, tasks=4>\n {2}vendor\s+int32\n {2}zone\s+utf8\n {2}distance\s+float64\n {2}fare\s+float64/,
    );
    const rows = [
      ...r.stdout.matchAll(/^ {2}(\w+ Cab)\s+trips\s+(\d+)\s+fare\s+(\d+)\s+\$\/mile mean ([\d.]+) max ([\d.]+)$/gm),
    ];
    assert.deepEqual(
      rows.map((m) => m[1]),
      ["Yellow Cab", "Green Cab", "Blue Cab"],
      r.stdout,
    );
    // Fares are 3 + distance × (2 + vendor/4) + noise: over 10 miles, $/mile sits a little above 2 + vendor/4.
    for (const m of rows) {
      const vendor = ["Yellow Cab", "Green Cab", "Blue Cab"].indexOf(m[1]!) + 1;
      const mean = Number(m[4]);
      assert.ok(mean > 2 + vendor / 4 && mean < 2 + vendor / 4 + 0.5, `${m[0]}`);
    }
    const counts = [...r.stdout.matchAll(/^ {2}(\w+ Cab): (\d+)$/gm)].map((m) => Number(m[2]));
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      20000,
    );
    assert.ok(counts[0]! > counts[1]! && counts[1]! > counts[2]!, "most frequent first");
    const fares = /sorted by fare into 4 partitions; the three highest fares: ([\d.]+), ([\d.]+), ([\d.]+)/.exec(
      r.stdout,
    );
    assert.ok(fares, r.stdout);
    assert.ok(
      Number(fares[1]) >= Number(fares[2]) && Number(fares[2]) >= Number(fares[3]) && Number(fares[3]) > 50,
      fares[0],
    );
    assert.match(r.stdout, /same result on the cluster and in this thread: true/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
