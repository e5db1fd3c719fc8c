// meshwork/glm against scikit-learn: every family × regularizer × solver that supports it finds
// the coefficients scikit-learn 1.2.1 found on the same data (test/fixtures/glm/sklearn.json, made
// by make_fixtures.py), to 1e-4 relative, on this thread, on local threads and on a cluster, with
// row blocks that do not divide the rows. Solvers agree with each other where scikit-learn has no
// estimator (Poisson with L1). And, when Debian's Python with scikit-learn is here, the same on
// fresh data scikit-learn fits now.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import * as mw from "../../node/array.js";
import {
  LinearRegression,
  LogisticRegression,
  PoissonRegression,
  fitGlm,
  type FamilyName,
  type FitOptions,
  type FitResult,
  type SolverName,
} from "../../node/glm.js";
import { openSession, type SchedulerSession } from "../../src/graph/collection.js";
import { useCluster } from "../helpers/cluster.js";

interface Case {
  family: FamilyName;
  regularizer: "none" | "l2" | "l1" | "elastic_net";
  lambda: number;
  l1Ratio: number;
  standardize: boolean;
  sklearn: string;
  coef: number[];
  intercept: number;
  score: number;
}
interface Fixture {
  sklearn: string;
  n: number;
  data: Record<FamilyName, { X: number[][]; y: number[] }>;
  cases: Case[];
}

const fixture = JSON.parse(readFileSync(new URL("../fixtures/glm/sklearn.json", import.meta.url), "utf8")) as Fixture;
const ALL: SolverName[] = ["lbfgs", "newton", "gradient_descent", "proximal_grad", "admm"];
const L1: SolverName[] = ["proximal_grad", "admm"];
/** Tight enough that every solver is at the optimum to far better than the 1e-4 compared. */
const TOL = 1e-10;

/** ‖a − b‖∞ ≤ rtol · ‖b‖∞ over coefficients and intercept; exact zeros of an L1 solution stay zero. */
function assertClose(
  got: { coef: Float64Array; intercept: number },
  want: { coef: readonly number[]; intercept: number },
  rtol: number,
  what: string,
): void {
  const a = [...got.coef, got.intercept];
  const b = [...want.coef, want.intercept];
  const scale = Math.max(...b.map(Math.abs));
  const worst = Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
  assert.ok(
    worst <= rtol * scale,
    `${what}: coefficients differ by ${worst.toExponential(2)} (> ${rtol} × ${scale.toFixed(3)})\n  got  ${a.map((v) => v.toFixed(7)).join(" ")}\n  want ${b.map((v) => v.toFixed(7)).join(" ")}`,
  );
}

function optionsFor(c: Case, solver: SolverName): FitOptions {
  return {
    solver,
    regularizer: c.regularizer,
    lambda: c.regularizer === "none" ? undefined : c.lambda,
    l1Ratio: c.regularizer === "elastic_net" ? c.l1Ratio : undefined,
    standardize: c.standardize,
    tol: TOL,
    maxIter: 5000,
  };
}

const solversFor = (c: Case): SolverName[] => (c.regularizer === "l1" || c.regularizer === "elastic_net" ? L1 : ALL);

function data(family: FamilyName, rows: number): { X: mw.ChunkedArray; y: Float64Array } {
  const d = fixture.data[family];
  return { X: mw.fromArray(d.X, { chunks: [rows, -1] }), y: Float64Array.from(d.y) };
}

describe(`meshwork/glm finds scikit-learn ${fixture.sklearn}'s coefficients`, () => {
  let threads: SchedulerSession;
  before(async () => {
    // Keep the "threads" pool up for the whole file (each fit holds it too, and would start it anew).
    threads = await openSession("threads");
  });
  after(async () => {
    await threads.close();
  });
  // After the hooks above: the "threads" pool closes before the cluster's leak check.
  const c = useCluster({ workers: 2 });

  // Row blocks of 50 (6 blocks: 5 × 50 + 7), 64 (4 × 64 + 1) and 37 (6 × 37 + 35): none divides 257.
  const runs: [string, () => mw.SchedulerChoice, number][] = [
    ["this thread", () => "sync", 50],
    ["local threads", () => "threads", 64],
    ["a cluster", () => c.client, 37],
  ];
  for (const [where, scheduler, rows] of runs) {
    test(`every family × regularizer × solver, on ${where}, in row blocks of ${rows}`, async () => {
      for (const k of fixture.cases) {
        const { X, y } = data(k.family, rows);
        for (const solver of solversFor(k)) {
          const what = `${k.family} ${k.regularizer}${k.standardize ? " standardized" : ""} ${solver} (${k.sklearn})`;
          const r: FitResult = await fitGlm(k.family, X, y, { ...optionsFor(k, solver), scheduler: scheduler() });
          assert.ok(r.converged, `${what}: converged (stopped by ${r.stoppedBy}, optimality ${r.optimality})`);
          assertClose(r, k, 1e-4, what);
        }
      }
    });
  }

  test("the solvers agree with each other to 1e-6 where scikit-learn has no estimator: Poisson with L1 and elastic net", async () => {
    const { X, y } = data("poisson", 50);
    for (const [regularizer, l1Ratio] of [
      ["l1", undefined],
      ["elastic_net", 0.3],
    ] as const) {
      const [prox, admm] = await Promise.all(
        L1.map((solver) =>
          fitGlm("poisson", X, y, {
            solver,
            regularizer,
            lambda: 30,
            l1Ratio,
            tol: 1e-11,
            maxIter: 5000,
            scheduler: "sync",
          }),
        ),
      );
      assert.ok(prox!.converged && admm!.converged, regularizer);
      assertClose(
        admm!,
        { coef: [...prox!.coef], intercept: prox!.intercept },
        1e-6,
        `poisson ${regularizer}: admm vs proximal_grad`,
      );
      assert.ok(
        prox!.coef.some((v) => v === 0),
        `${regularizer} sets some coefficients to exactly 0: ${[...prox!.coef]}`,
      );
      assert.deepEqual(
        [...admm!.coef].map((v) => v === 0),
        [...prox!.coef].map((v) => v === 0),
        "the same zeros",
      );
    }
  });

  test("the estimators score as scikit-learn's do: accuracy, R², D²", async () => {
    const pick = (family: FamilyName, regularizer: string, standardize = false) =>
      fixture.cases.find((k) => k.family === family && k.regularizer === regularizer && k.standardize === standardize)!;
    const made = { normal: LinearRegression, logistic: LogisticRegression, poisson: PoissonRegression } as const;
    for (const k of [
      pick("normal", "none"),
      pick("normal", "l1"),
      pick("logistic", "l2"),
      pick("logistic", "elastic_net"),
      pick("logistic", "l2", true),
      pick("poisson", "l2"),
    ]) {
      const { X, y } = data(k.family, 50);
      const Est = made[k.family];
      const m = await new Est({
        ...optionsFor(k, k.regularizer === "l1" || k.regularizer === "elastic_net" ? "proximal_grad" : "lbfgs"),
        scheduler: "sync",
      }).fit(X, y);
      assertClose(m, k, 1e-4, k.sklearn);
      const score = await m.score(X, y);
      if (k.family === "logistic") assert.equal(score, k.score, `${k.sklearn}: accuracy`);
      else assert.ok(Math.abs(score - k.score) < 1e-7, `${k.sklearn}: score ${score} vs ${k.score}`);
    }
  });
});

describe("against scikit-learn now, on fresh data (Debian's /usr/bin/python3 with python3-sklearn)", () => {
  const python = "/usr/bin/python3";
  const probe = spawnSync(python, ["-c", "import sklearn, numpy; print(sklearn.__version__)"], { encoding: "utf8" });
  const available = probe.status === 0;
  const skip = available
    ? false
    : `skipped: no ${python} with scikit-learn here (apt-get install python3-sklearn); the committed fixtures are tested above`;
  test(`fits match scikit-learn ${available ? probe.stdout.trim() : ""} run now (seed 7), every family and regularizer`, {
    skip,
  }, async () => {
    const r = spawnSync(
      python,
      [new URL("../fixtures/glm/make_fixtures.py", import.meta.url).pathname, "--live", "7"],
      { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
    );
    assert.equal(r.status, 0, r.stderr);
    const live = JSON.parse(r.stdout) as Fixture;
    for (const k of live.cases) {
      const d = live.data[k.family];
      const X = mw.fromArray(d.X, { chunks: [40, -1] });
      const solver = k.regularizer === "l1" || k.regularizer === "elastic_net" ? "proximal_grad" : "lbfgs";
      const got = await fitGlm(k.family, X, Float64Array.from(d.y), { ...optionsFor(k, solver), scheduler: "sync" });
      assertClose(got, k, 1e-4, `live ${k.sklearn}`);
    }
  });
});
