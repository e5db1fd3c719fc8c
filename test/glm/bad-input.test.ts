// What a fit does with input it cannot use, or cannot use as given: named errors that say where
// (rows that do not match, NaN or infinity in X with its block and row, targets a family does
// not take), things it fixes quietly (y or X cut differently), and flags rather than errors
// (a singular Hessian, no convergence within maxIter).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AlignmentError, ArgumentError, setLogger, type Logger } from "../../node/index.js";
import * as mw from "../../node/array.js";
import {
  DataError,
  LinearRegression,
  LogisticRegression,
  NonFiniteError,
  PoissonRegression,
  SingularMatrixError,
  fitGlm,
} from "../../node/glm.js";
import { useCluster } from "../helpers/cluster.js";

const n = 90;
const Xv = Array.from({ length: n }, (_, i) => [Math.sin(i), Math.cos(3 * i), ((i * 7) % 11) / 11 - 0.5]);
const yv: number[] = Xv.map((r, i) => (r[0]! - r[1]! + 0.3 * Math.sin(i * 13) > 0 ? 1 : 0));
const sync = { scheduler: "sync" } as const;

/** Records what meshwork logs while `fn` runs. */
async function logged<T>(fn: () => Promise<T>): Promise<{ value: T; warnings: string[] }> {
  const warnings: string[] = [];
  const sink: Logger = {
    debug() {},
    info() {},
    warn: (m) => void warnings.push(m),
    error: (m) => void warnings.push(m),
  };
  const prev = setLogger(sink);
  try {
    return { value: await fn(), warnings };
  } finally {
    setLogger(prev);
  }
}

describe("bad input to a fit", () => {
  const c = useCluster({ workers: 2 });

  test("X and y with different row counts: AlignmentError naming both", async () => {
    await assert.rejects(
      new LogisticRegression(sync).fit(Xv, yv.slice(1)),
      (e: unknown) => e instanceof AlignmentError && /X has 90 rows and y has 89/.test(e.message),
    );
    await assert.rejects(
      new LogisticRegression(sync).fit(mw.fromArray(Xv, { chunks: [30, -1] }), mw.fromArray(yv.slice(0, 60))),
      AlignmentError,
    );
  });

  test("X or y of the wrong shape: ArgumentError saying what to do", async () => {
    await assert.rejects(
      new LinearRegression(sync).fit(mw.fromArray(yv), yv),
      (e: unknown) => e instanceof ArgumentError && /X must be 2-d .*reshape\(\[-1, 1\]\)/.test(e.message),
    );
    await assert.rejects(
      new LinearRegression(sync).fit(Xv, mw.fromArray(Xv)),
      (e: unknown) => e instanceof ArgumentError && /y must be 1-d/.test(e.message),
    );
    await assert.rejects(new LinearRegression(sync).fit([[1, 2], [3]], [1, 2]), /row 1 of X has 1 values, row 0 has 2/);
  });

  test("y cut differently from X's rows, and X cut along its columns, are recut: the same fit, on a cluster, from persisted arrays", async () => {
    const X = await mw.fromArray(Xv, { chunks: [30, -1] }).persist({ scheduler: c.client });
    const y = await mw.fromArray(yv, { chunks: [17] }).persist({ scheduler: c.client });
    const Xcols = await mw.fromArray(Xv, { chunks: [25, 2] }).persist({ scheduler: c.client });
    const opts = { scheduler: c.client, tol: 1e-10 } as const;
    const a = await new LogisticRegression(opts).fit(X, y);
    const b = await new LogisticRegression(opts).fit(Xcols, y);
    const ref = await new LogisticRegression({ scheduler: "sync", tol: 1e-10 }).fit(Xv, yv);
    for (const m of [a, b]) {
      for (let j = 0; j < 3; j++) assert.ok(Math.abs(m.coef[j]! - ref.coef[j]!) < 1e-7, `coef ${j}`);
      assert.ok(Math.abs(m.intercept - ref.intercept) < 1e-7);
    }
    // The user's persisted arrays are still theirs after the fits.
    assert.equal(
      (await X.sum().compute({ scheduler: c.client })) as number,
      Xv.flat().reduce((s, v) => s + v, 0),
    );
  });

  test("NaN or infinity in X: NonFiniteError with the first one's row block, row and column, on every scheduler", async () => {
    const bad = Xv.map((r) => [...r]);
    bad[47]![2] = NaN;
    bad[80]![0] = -Infinity;
    // Found by the check pass (standardize and ADMM read X's statistics there) or, for the
    // others, by the first evaluation at coefficients 0 and then named by the check.
    const ways = [
      {},
      { solver: "newton" },
      { solver: "gradient_descent" },
      { standardize: true },
      { solver: "admm" },
      { solver: "admm", rho: 5 },
      { regularizer: "l1", solver: "proximal_grad" },
    ] as const;
    const runs = [
      ...(["sync", "threads", c.client] as const).map((scheduler) => ({ scheduler })),
      ...ways.map((w) => ({ scheduler: c.client, ...w })),
    ];
    for (const options of runs) {
      const X = mw.fromArray(bad, { chunks: [20, -1] });
      await assert.rejects(new LogisticRegression(options).fit(X, yv), (e: unknown) => {
        assert.ok(e instanceof NonFiniteError, String(e));
        assert.equal(e.code, "NON_FINITE");
        assert.deepEqual({ ...e.where, value: String(e.where?.value) }, { block: 2, row: 47, column: 2, value: "NaN" });
        assert.match(
          e.message,
          /X holds 2 values that are NaN or infinite; the first is NaN at row 47, column 2 \(row block 2\)/,
        );
        return true;
      });
    }
    // An infinity alone (x·0 is NaN for it too), for every family.
    const inf = Xv.map((r) => [...r]);
    inf[80]![0] = Infinity;
    for (const Est of [LinearRegression, LogisticRegression, PoissonRegression]) {
      await assert.rejects(
        new Est({ scheduler: c.client }).fit(mw.fromArray(inf, { chunks: [20, -1] }), yv),
        (e: unknown) =>
          e instanceof NonFiniteError &&
          /X holds 1 value that is NaN or infinite; the first is Infinity at row 80, column 0 \(row block 4\)/.test(
            e.message,
          ),
        Est.name,
      );
    }
  });

  test("targets a family does not take: labels other than 0/1, negative counts, NaN; one class only", async () => {
    const labels = [...yv];
    labels[33] = 2;
    await assert.rejects(
      new LogisticRegression(sync).fit(Xv, labels),
      (e: unknown) =>
        e instanceof DataError &&
        e.code === "DATA" &&
        /y must be 0 or 1 for logistic regression; 1 target is not, the first is 2 at row 33/.test(e.message),
    );
    const minus = [...yv];
    minus[5] = -1;
    await assert.rejects(new LogisticRegression(sync).fit(Xv, minus), /the first is -1 at row 5 \(row block 0\)/);
    const counts = yv.map((v, i) => v + (i % 3));
    counts[70] = -2;
    await assert.rejects(
      new PoissonRegression({ ...sync, rowsPerBlock: 25 }).fit(Xv, counts),
      (e: unknown) => e instanceof DataError && /finite numbers ≥ 0 .*-2 at row 70 \(row block 2\)/.test(e.message),
    );
    const nan = yv.map((v) => v * 1.5);
    nan[3] = NaN;
    await assert.rejects(
      new LinearRegression(sync).fit(Xv, nan),
      (e: unknown) =>
        e instanceof NonFiniteError &&
        /y holds 1 target that is not finite numbers; the first is NaN at row 3/.test(e.message),
    );
    await assert.rejects(
      new LogisticRegression(sync).fit(
        Xv,
        yv.map(() => 1),
      ),
      (e: unknown) => e instanceof DataError && /needs both classes/.test(e.message),
    );
    await assert.rejects(
      new PoissonRegression(sync).fit(
        Xv,
        yv.map(() => 0),
      ),
      /every count is 0/,
    );
  });

  test("a singular Hessian: newton damps it and says so (converged, coefficients not unique), or refuses with SingularMatrixError", async () => {
    // The third column twice: XᵀX is singular, and least squares has no penalty.
    const X = Xv.map((r) => [...r, r[2]!]);
    const y = Xv.map((r, i) => r[0]! - 2 * r[1]! + r[2]! + 0.1 * Math.cos(i));
    const { value: m, warnings } = await logged(() =>
      new LinearRegression({ ...sync, solver: "newton", tol: 1e-9 }).fit(X, y),
    );
    assert.ok(m.converged);
    assert.deepEqual(
      m.warnings.map((w) => w.code),
      ["SINGULAR_HESSIAN"],
    );
    assert.match(warnings.join("\n"), /Hessian is singular .*coefficients are not unique/);
    // The duplicated columns share the effect (their sum is what is determined).
    assert.ok(Math.abs(m.coef[2]! + m.coef[3]! - 1) < 0.05, `${[...m.coef]}`);
    const lbfgs = await new LinearRegression({ ...sync, tol: 1e-9 }).fit(X, y);
    assert.ok(Math.abs((await m.score(X, y)) - (await lbfgs.score(X, y))) < 1e-9, "the same fit as lbfgs finds");
    await assert.rejects(
      new LinearRegression({ ...sync, solver: "newton", onSingular: "raise" }).fit(X, y),
      (e: unknown) => e instanceof SingularMatrixError && e.code === "SINGULAR" && /add an L2 penalty/.test(e.message),
    );
    // An L2 penalty makes it regular: no warning.
    const ridge = await new LinearRegression({ ...sync, solver: "newton", regularizer: "l2", lambda: 1 }).fit(X, y);
    assert.deepEqual(ridge.warnings, []);
  });

  test("no convergence within maxIter: converged false, a NOT_CONVERGED warning (logged too), and coefficients; not an exception", async () => {
    for (const solver of ["lbfgs", "newton", "gradient_descent", "proximal_grad", "admm"] as const) {
      const { value: m, warnings } = await logged(() =>
        new LogisticRegression({ ...sync, solver, maxIter: 1, tol: 1e-12 }).fit(Xv, yv),
      );
      assert.equal(m.converged, false, solver);
      assert.equal(m.iterations, 1, solver);
      assert.deepEqual(
        m.warnings.map((w) => w.code),
        ["NOT_CONVERGED"],
        solver,
      );
      assert.match(warnings.join("\n"), new RegExp(`${solver} did not converge in 1 iterations`));
      assert.equal(m.coef.length, 3);
    }
  });

  test("options that make no sense are ArgumentErrors before any work", async () => {
    const cases: [object, RegExp][] = [
      [{ regularizer: "l1", solver: "lbfgs" }, /the l1 regularizer needs "proximal_grad" or "admm"/],
      [{ regularizer: "elastic_net", solver: "newton" }, /needs "proximal_grad" or "admm"/],
      [{ solver: "sgd" }, /solver must be one of/],
      [{ lambda: -1 }, /lambda must be a finite number ≥ 0/],
      [{ regularizer: "l2", l1Ratio: 0.5 }, /l1Ratio belongs to the elastic_net regularizer/],
      [{ regularizer: "elastic_net", l1Ratio: 2 }, /l1Ratio must be between 0 and 1/],
      [{ maxIter: 1.5 }, /maxIter must be a whole number/],
      [{ tolerance: 1e-3 }, /unknown GLM option "tolerance"/],
    ];
    for (const [options, message] of cases)
      await assert.rejects(
        fitGlm("logistic", Xv, yv, { scheduler: "sync", ...options } as never),
        (e: unknown) => e instanceof ArgumentError && message.test(e.message),
        JSON.stringify(options),
      );
    assert.throws(() => new LogisticRegression().coef, /not fitted yet: call fit\(X, y\) first/);
    const m = await new LogisticRegression(sync).fit(Xv, yv);
    assert.throws(() => m.predict([[1, 2]]), /X has 2 columns; the model was fitted on 3/);
  });
});
