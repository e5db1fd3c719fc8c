// The estimators as a scikit-learn user uses them: inputs of every kind (chunked arrays on any
// scheduler, NDArrays, rows as arrays, typed arrays), predictions as lazy arrays cut like X,
// fitIntercept, standardisation (which changes nothing without a penalty), and the fit's record.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as mw from "../../node/array.js";
import { LinearRegression, LogisticRegression, PoissonRegression } from "../../node/glm.js";
import { useCluster } from "../helpers/cluster.js";

const n = 150;
const X = Array.from({ length: n }, (_, i) => [
  Math.sin(0.7 * i),
  Math.cos(1.3 * i) * 2,
  ((i * 7) % 13) / 13 - 0.5,
  1 + 0.1 * Math.sin(i),
]);
const lin = X.map((r, i) => 1.5 * r[0]! - 0.5 * r[1]! + 2 * r[2]! + 0.2 * Math.sin(5 * i) + 3);
const labels = X.map((r, i) => (r[0]! - r[1]! * 0.5 + Math.sin(11 * i) > 0 ? 1 : 0));
const counts = X.map((r, i) => Math.round(Math.exp(0.4 * r[0]! + 0.3 * r[2]!) * (1 + 0.5 * Math.sin(7 * i))));
const sync = { scheduler: "sync", tol: 1e-10 } as const;

const near = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++)
    assert.ok(Math.abs(a[i]! - b[i]!) <= tol * Math.max(1, Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

/** Least squares by the normal equations, here (small p): the reference for LinearRegression. */
function leastSquares(rows: number[][], y: number[]): number[] {
  const p = rows[0]!.length;
  const A = Array.from({ length: p }, (_, j) =>
    Array.from({ length: p }, (_, k) => rows.reduce((s, r) => s + r[j]! * r[k]!, 0)),
  );
  const b = Array.from({ length: p }, (_, j) => rows.reduce((s, r, i) => s + r[j]! * y[i]!, 0));
  for (let c = 0; c < p; c++) {
    for (let r = c + 1; r < p; r++) {
      const f = A[r]![c]! / A[c]![c]!;
      for (let k = c; k < p; k++) A[r]![k]! -= f * A[c]![k]!;
      b[r]! -= f * b[c]!;
    }
  }
  const x = new Array<number>(p).fill(0);
  for (let r = p - 1; r >= 0; r--)
    x[r] = (b[r]! - A[r]!.slice(r + 1).reduce((s, v, k) => s + v * x[r + 1 + k]!, 0)) / A[r]![r]!;
  return x;
}

describe("estimators", () => {
  const c = useCluster({ workers: 2 });

  test("LinearRegression is least squares, with and without an intercept", async () => {
    const withB = leastSquares(
      X.map((r) => [...r, 1]),
      lin,
    );
    const m = await new LinearRegression(sync).fit(X, lin);
    near(m.coef, withB.slice(0, 4), 1e-8, "coef");
    near([m.intercept], [withB[4]!], 1e-8, "intercept");
    assert.equal(m.fitIntercept, true);
    const noB = await new LinearRegression({ ...sync, fitIntercept: false }).fit(X, lin);
    near(noB.coef, leastSquares(X, lin), 1e-8, "no intercept");
    assert.equal(noB.intercept, 0);
    assert.equal(noB.fitIntercept, false);
  });

  test("every kind of input gives the same model: rows, typed arrays, NDArrays, chunked arrays (lazy or persisted on a cluster)", async () => {
    const ref = await new LogisticRegression(sync).fit(X, labels);
    const inputs: [string, Parameters<LogisticRegression["fit"]>, mw.SchedulerChoice][] = [
      ["typed rows and a Float64Array", [X.map((r) => Float64Array.from(r)), Float64Array.from(labels)], "sync"],
      ["NDArrays", [mw.NDArray.from(X), mw.NDArray.from(labels, { dtype: "uint8" })], "sync"],
      [
        "chunked float32 and bool",
        [
          mw.fromArray(X, { chunks: [40, -1], dtype: "float32" }).astype("float64"),
          mw.fromArray(labels, { chunks: 40 }).astype("bool"),
        ],
        "threads",
      ],
      [
        "persisted on a cluster",
        [
          await mw.fromArray(X, { chunks: [33, -1] }).persist({ scheduler: c.client }),
          await mw.fromArray(labels, { chunks: 33 }).persist({ scheduler: c.client }),
        ],
        c.client,
      ],
    ];
    // float32 rounds X: its reference is the fit on the rounded values.
    const ref32 = await new LogisticRegression(sync).fit(
      X.map((r) => r.map(Math.fround)),
      labels,
    );
    for (const [what, args, scheduler] of inputs) {
      const m = await new LogisticRegression({ ...sync, scheduler }).fit(...args);
      const want = what.includes("float32") ? ref32 : ref;
      near(m.coef, want.coef, 1e-7, what);
      near([m.intercept], [want.intercept], 1e-7, what);
    }
  });

  test("predictions are lazy arrays cut like X's rows: decisionFunction, predictProba, predict, on the model's scheduler", async () => {
    const m = await new LogisticRegression({ ...sync, scheduler: c.client }).fit(X, labels);
    const Xc = mw.fromArray(X, { chunks: [40, -1] });
    const eta = X.map((r) => r.reduce((s, v, j) => s + v * m.coef[j]!, m.intercept));
    const proba = m.predictProba(Xc);
    assert.deepEqual(proba.chunks, [[40, 40, 40, 30]]);
    const [p, cls, d] = (await mw.computeWith({ scheduler: c.client }, [
      proba,
      m.predict(Xc),
      m.decisionFunction(Xc),
    ])) as mw.NDArray[];
    near(d!.toTypedArray(), eta, 1e-12, "η");
    near(
      p!.toTypedArray(),
      eta.map((e) => 1 / (1 + Math.exp(-e))),
      1e-12,
      "P(y = 1)",
    );
    assert.deepEqual(
      [...cls!.toTypedArray()],
      eta.map((e) => (e > 0 ? 1 : 0)),
    );
    const accuracy = eta.filter((e, i) => (e > 0 ? 1 : 0) === labels[i]).length / n;
    assert.equal(await m.score(Xc, labels), accuracy);
  });

  test("standardize changes nothing without a penalty, and with one penalizes the scaled coefficients", async () => {
    for (const [Est, y] of [
      [LinearRegression, lin],
      [LogisticRegression, labels],
      [PoissonRegression, counts],
    ] as const) {
      const plain = await new Est({ ...sync, regularizer: "none" }).fit(X, y);
      const scaled = await new Est({ ...sync, regularizer: "none", standardize: true }).fit(X, y);
      near(scaled.coef, plain.coef, 1e-6, `${Est.name} coef`);
      near([scaled.intercept], [plain.intercept], 1e-6, `${Est.name} intercept`);
    }
    // With a penalty: the last column's spread is 0.07, so scaling it makes its coefficient cheap.
    const raw = await new LinearRegression({ ...sync, regularizer: "l2", lambda: 50 }).fit(X, lin);
    const std = await new LinearRegression({ ...sync, regularizer: "l2", lambda: 50, standardize: true }).fit(X, lin);
    assert.ok(Math.abs(std.coef[3]!) > 2 * Math.abs(raw.coef[3]!), `${std.coef[3]} vs ${raw.coef[3]}`);
  });

  test("the fit records iterations, the objective, whether it converged, passes over the data and time per iteration", async () => {
    const m = await new PoissonRegression({ ...sync, solver: "newton" }).fit(X, counts);
    const r = m.result!;
    assert.ok(r.converged && r.iterations > 0 && r.iterations < 20);
    assert.equal(r.stoppedBy, "optimality");
    assert.ok(r.optimality <= 1e-10);
    assert.equal(r.solver, "newton");
    assert.ok(r.passes >= r.iterations + 1);
    assert.ok(r.seconds > 0 && r.secondsPerIteration > 0 && r.secondsPerIteration <= r.seconds);
    // loss = Σ(e^η − yη) + λ/2‖β‖² with λ = 1 (PoissonRegression's default l2).
    const eta = X.map((row) => row.reduce((s, v, j) => s + v * m.coef[j]!, m.intercept));
    const expected =
      eta.reduce((s, e, i) => s + Math.exp(e) - counts[i]! * e, 0) + 0.5 * m.coef.reduce((s, b) => s + b * b, 0);
    assert.ok(Math.abs(m.loss - expected) < 1e-9 * Math.abs(expected), `${m.loss} vs ${expected}`);
    assert.ok((await m.score(X, counts)) > 0.1);
  });
});
