// The pieces under the estimators, checked against plain definitions: the per-row families (no
// overflow, derivatives that match finite differences), the generated block loops (unrolled and
// looped, with and without intercept) against a row-by-row sum, standardisation's coordinates,
// the penalties' proximal operators against brute-force minimisation, and the solvers driven
// synchronously on a small problem.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { NDArray } from "../../node/array.js";
import { FAMILIES, type FamilyName } from "../../src/glm/families.js";
import { blockLoss, scaledBlockLoss } from "../../src/glm/kernels/loss.js";
import { checkBlock, combineChecks } from "../../src/glm/kernels/check.js";
import { admmLocal } from "../../src/glm/kernels/admm-local.js";
import { optimality, proxElasticNet, proxL1, type Penalty } from "../../src/glm/penalty.js";
import { fromRaw, toRaw, type Scaling } from "../../src/glm/scaling.js";
import { SOLVERS, type Point, type Request, type SolverName } from "../../src/glm/solvers/index.js";
import { addSmoothPenalty } from "../../src/glm/penalty.js";
import { rng } from "../array/reference.js";

const FAMILY_NAMES: FamilyName[] = ["normal", "logistic", "poisson"];

function problem(
  n: number,
  p: number,
  family: FamilyName,
  seed: number,
): { X: NDArray; y: NDArray; x: number[][]; t: number[] } {
  const r = rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const x = Array.from({ length: n }, () => Array.from({ length: p }, gauss));
  const t = x.map((row) => {
    const eta = 0.3 * row[0]! - 0.2 * (row[1] ?? 0);
    return family === "normal"
      ? eta + gauss()
      : family === "logistic"
        ? r() < 1 / (1 + Math.exp(-eta))
          ? 1
          : 0
        : Math.floor(-Math.log(1 - r()) * Math.exp(eta));
  });
  return { X: NDArray.from(x), y: NDArray.from(t), x, t };
}

/** Σ ℓ, its gradient and Hessian, row by row from the family's definitions. */
function reference(
  family: FamilyName,
  x: number[][],
  t: number[],
  theta: Float64Array,
  intercept: boolean,
): { loss: number; grad: number[]; hess: number[][] } {
  const p = x[0]!.length;
  const q = theta.length;
  const grad = new Array<number>(q).fill(0);
  const hess = Array.from({ length: q }, () => new Array<number>(q).fill(0));
  let loss = 0;
  x.forEach((row, i) => {
    const z = intercept ? [...row, 1] : row;
    const eta = z.reduce((s, v, j) => s + v * theta[j]!, 0);
    const [l, r, w] = FAMILIES[family].row(t[i]!, eta);
    loss += l;
    for (let j = 0; j < q; j++) {
      grad[j]! += r * z[j]!;
      for (let k = 0; k < q; k++) hess[j]![k]! += w * z[j]! * z[k]!;
    }
  });
  void p;
  return { loss, grad, hess };
}

const close = (a: number, b: number, rtol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= rtol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

describe("families", () => {
  test("losses and derivatives never overflow: logistic at η = ±800 and Poisson's gradient match their limits", () => {
    const lg = FAMILIES.logistic;
    assert.deepEqual(lg.row(1, 800), [0, 0, 0]);
    assert.deepEqual(lg.row(0, -800), [0, 0, 0]);
    assert.deepEqual(lg.row(0, 800).slice(0, 2), [800, 1]);
    assert.equal(lg.row(1, -800)[0], 800);
    assert.equal(lg.mean(-800), 0);
    assert.equal(lg.mean(800), 1);
    // log(1 + e^η) for small η keeps its digits (log1p).
    close(lg.row(0, -40)[0], Math.exp(-40), 1e-15, "softplus(-40)");
  });

  test("the derivatives are those of the loss (central differences)", () => {
    for (const name of FAMILY_NAMES) {
      const f = FAMILIES[name];
      for (const [y, eta] of [
        [1, 0.3],
        [0, -1.2],
        [3, 0.7],
        [0, 2.5],
      ] as const) {
        if (!f.validTarget(y)) continue;
        const h = 1e-5;
        const [, r, w] = f.row(y, eta);
        close(r, (f.row(y, eta + h)[0] - f.row(y, eta - h)[0]) / (2 * h), 1e-7, `${name} r at ${eta}`);
        close(w, (f.row(y, eta + h)[1] - f.row(y, eta - h)[1]) / (2 * h), 1e-7, `${name} w at ${eta}`);
      }
    }
  });
});

describe("block loss kernels", () => {
  test("loss, gradient and Hessian of a block match the row-by-row sums: every family, unrolled (5 columns) and looped (40), with and without intercept", () => {
    for (const family of FAMILY_NAMES) {
      for (const p of [5, 40]) {
        const { X, y, x, t } = problem(37, p, family, 7 + p);
        for (const intercept of [true, false]) {
          const q = p + (intercept ? 1 : 0);
          const theta = Float64Array.from({ length: q }, (_, j) => 0.05 * Math.sin(j + 1));
          const ref = reference(family, x, t, theta, intercept);
          for (const need of [0, 1, 2] as const) {
            const out = blockLoss({ family, need, intercept }, X, y, theta);
            const what = `${family} p=${p} intercept=${intercept} need=${need}`;
            assert.equal(out.length, 1 + (need >= 1 ? q : 0) + (need === 2 ? q * q : 0), what);
            close(out[0]!, ref.loss, 1e-12, `${what} loss`);
            if (need >= 1) for (let j = 0; j < q; j++) close(out[1 + j]!, ref.grad[j]!, 1e-11, `${what} grad ${j}`);
            if (need === 2)
              for (let j = 0; j < q; j++)
                for (let k = 0; k < q; k++)
                  close(out[1 + q + j * q + k]!, ref.hess[j]![k]!, 1e-11, `${what} hess ${j},${k}`);
          }
        }
      }
    }
  });

  test("a block that is a view (every other row) or float32 is read correctly", () => {
    const { X, y, x, t } = problem(40, 3, "logistic", 3);
    const theta = Float64Array.of(0.1, -0.2, 0.3, 0.05);
    const view = X.slice("::2");
    const ref = reference(
      "logistic",
      x.filter((_, i) => i % 2 === 0),
      t.filter((_, i) => i % 2 === 0),
      theta,
      true,
    );
    close(
      blockLoss({ family: "logistic", need: 1, intercept: true }, view, y.slice("::2"), theta)[0]!,
      ref.loss,
      1e-12,
      "view",
    );
    const x32 = NDArray.from(X, { dtype: "float32" });
    const ref32 = reference(
      "logistic",
      x.map((r) => r.map(Math.fround)),
      t,
      theta,
      true,
    );
    close(blockLoss({ family: "logistic", need: 0, intercept: true }, x32, y, theta)[0]!, ref32.loss, 1e-12, "float32");
  });

  test("standardised coordinates: θ = Aθ' round-trips, and the loss at θ' is the loss of the standardised columns", () => {
    const { X, y, x, t } = problem(30, 3, "poisson", 11);
    const mean = Float64Array.of(0.2, -0.1, 0.05);
    const scale = Float64Array.of(2, 0.5, 1.5);
    const s: Scaling = { mean, scale, intercept: true };
    const thetaS = Float64Array.of(0.3, -0.1, 0.2, 0.4);
    assert.deepEqual(
      [...fromRaw(s, toRaw(s, thetaS))].map((v) => +v.toFixed(12)),
      [...thetaS],
    );
    const z = x.map((row) => row.map((v, j) => (v - mean[j]!) / scale[j]!));
    const ref = reference("poisson", z, t, thetaS, true);
    const out = scaledBlockLoss({ family: "poisson", need: 2, intercept: true }, s, X, y, thetaS);
    close(out[0]!, ref.loss, 1e-12, "loss");
    for (let j = 0; j < 4; j++) close(out[1 + j]!, ref.grad[j]!, 1e-11, `grad ${j}`);
    for (let j = 0; j < 4; j++)
      for (let k = 0; k < 4; k++) close(out[5 + j * 4 + k]!, ref.hess[j]![k]!, 1e-11, `hess ${j},${k}`);
  });

  test("the check pass finds the first NaN or infinity and the first bad target, with their rows, and merges statistics", () => {
    const a = NDArray.from([
      [1, 2],
      [3, NaN],
      [Infinity, 0],
    ]);
    const b = NDArray.from([
      [5, 6],
      [7, 8],
    ]);
    const ya = NDArray.from([0, 1, 2]);
    const yb = NDArray.from([1, 0]);
    const ca = checkBlock({ family: "logistic" }, a, ya, 0, 0);
    const cb = checkBlock({ family: "logistic" }, b, yb, 1, 3);
    assert.equal(ca.badX, 2);
    assert.deepEqual(ca.firstBadX?.slice(0, 3), [0, 1, 1]);
    assert.deepEqual(ca.firstBadY, [0, 2, 2]);
    const m = combineChecks(combineChecks(cb), checkBlock({ family: "normal" }, b, yb, 2, 5));
    assert.equal(m.rows, 4);
    assert.deepEqual([...m.mean], [6, 7]);
    assert.deepEqual([...m.m2], [4, 4]);
  });
});

describe("penalties", () => {
  const pen: Penalty = { l1: 0.7, l2: 1.3, p: 3 };

  test("the elastic net's proximal operator is the minimiser of λα|z| + λ(1−α)/2 z² + c/2 (z − v)² (brute force), and leaves the intercept alone", () => {
    const c = 2.5;
    const v = Float64Array.of(1.4, -0.1, -3, 9);
    const z = proxElasticNet(pen, v, c);
    for (let j = 0; j < 3; j++) {
      const obj = (w: number) => pen.l1 * Math.abs(w) + (pen.l2 / 2) * w * w + (c / 2) * (w - v[j]!) ** 2;
      let best = 0;
      for (let w = -5; w <= 5; w += 1e-4) if (obj(w) < obj(best)) best = w;
      assert.ok(Math.abs(z[j]! - best) < 2e-4, `entry ${j}: ${z[j]} vs ${best}`);
    }
    assert.equal(z[1], 0, "a small entry is thresholded to exactly 0");
    assert.equal(z[3], 9, "the intercept is not penalized");
    // Not the identity (dask-glm's ElasticNet.proximal_operator returned its input).
    assert.notDeepEqual([...z], [...v]);
  });

  test("L1's proximal operator soft-thresholds by t·λα; optimality is 0 exactly at a minimiser", () => {
    assert.deepEqual([...proxL1(pen, Float64Array.of(1, -0.5, 0.2, 3), 1)], [1 - 0.7, 0, 0, 3]);
    // At β = (0, 0.5, 0), gradient (0.3, -0.7, -1): 0 is optimal for the first (|0.3| ≤ 0.7), the second
    // balances (−0.7 + 0.7 = 0), the third is 0.3 beyond the threshold.
    assert.ok(Math.abs(optimality(pen, Float64Array.of(0, 0.5, 0), Float64Array.of(0.3, -0.7, -1)) - 0.3) < 1e-15);
  });
});

describe("solvers, driven in this thread", () => {
  /** Drives a solver with the loss of a whole problem evaluated here. */
  function solve(
    solver: SolverName,
    family: FamilyName,
    pen: Penalty,
    X: NDArray,
    y: NDArray,
    blocks: [NDArray, NDArray][],
  ) {
    const q = X.shape[1]! + 1;
    const theta0 = new Float64Array(q);
    const run = SOLVERS[solver].run(theta0, {
      q,
      penalty: pen,
      maxIter: 500,
      gtol: 1e-9 * X.shape[0]!,
      onSingular: "damp",
      blocks: blocks.length,
      rho: 10,
    });
    let passes = 0;
    let step = run.next();
    while (!step.done) {
      const r: Request = step.value;
      passes++;
      if (r.kind === "evaluate") {
        const out = blockLoss({ family, need: r.need, intercept: true }, X, y, r.theta);
        const point: Point = {
          loss: out[0]!,
          grad: r.need >= 1 ? out.slice(1, 1 + q) : null,
          hess: r.need === 2 ? out.slice(1 + q) : null,
        };
        addSmoothPenalty(pen, r.theta, point, q);
        step = run.next(point);
      } else {
        const spec = {
          family,
          intercept: true,
          scaling: { mean: null, scale: null, intercept: true },
          gtol: r.gtol,
          maxIter: 200,
        };
        const outs = blocks.map(([bx, by], k) => admmLocal(spec, bx, by, r.z, r.u[k]!, r.warm[k]!, r.rho));
        const gradAtZ = new Float64Array(q);
        outs.forEach((o) => o.subarray(q, 2 * q).forEach((v, j) => (gradAtZ[j] = gradAtZ[j]! + v)));
        step = run.next({
          thetas: outs.map((o) => o.slice(0, q)),
          lossAtZ: outs.reduce((s, o) => s + o[2 * q]!, 0),
          gradAtZ,
        });
      }
    }
    return { ...step.value, passes };
  }

  test("all five agree on a logistic problem with an L2 penalty; the L1-capable two on an elastic net", () => {
    const { X, y } = problem(120, 4, "logistic", 21);
    const blocks: [NDArray, NDArray][] = [0, 40, 80].map((s) => [X.slice(`${s}:${s + 40}`), y.slice(`${s}:${s + 40}`)]);
    const smooth: Penalty = { l1: 0, l2: 2, p: 4 };
    const results = (["lbfgs", "newton", "gradient_descent", "proximal_grad", "admm"] as const).map(
      (s) => [s, solve(s, "logistic", smooth, X, y, blocks)] as const,
    );
    const [, ref] = results[1]!;
    for (const [name, r] of results) {
      assert.ok(r.converged, `${name} converged`);
      for (let j = 0; j < 5; j++)
        assert.ok(Math.abs(r.theta[j]! - ref.theta[j]!) < 1e-7, `${name} entry ${j}: ${r.theta[j]} vs ${ref.theta[j]}`);
    }
    const enet: Penalty = { l1: 3, l2: 1, p: 4 };
    const a = solve("proximal_grad", "logistic", enet, X, y, blocks);
    const b = solve("admm", "logistic", enet, X, y, blocks);
    assert.ok(a.converged && b.converged);
    for (let j = 0; j < 5; j++) assert.ok(Math.abs(a.theta[j]! - b.theta[j]!) < 1e-7, `entry ${j}`);
  });

  test("Newton solves least squares in one step (two passes: the start and the step)", () => {
    const { X, y } = problem(50, 3, "normal", 5);
    const r = solve("newton", "normal", { l1: 0, l2: 0, p: 3 }, X, y, []);
    assert.equal(r.iterations, 1);
    assert.equal(r.passes, 2);
  });

  test("running out of iterations is a result (converged false, stopped by max-iter), not an error", () => {
    const { X, y } = problem(50, 3, "logistic", 6);
    const q = 4;
    const run = SOLVERS.gradient_descent.run(new Float64Array(q), {
      q,
      penalty: { l1: 0, l2: 0, p: 3 },
      maxIter: 2,
      gtol: 1e-12,
      onSingular: "damp",
      blocks: 1,
      rho: 1,
    });
    let step = run.next();
    while (!step.done) {
      const r = step.value as Extract<Request, { kind: "evaluate" }>;
      const out = blockLoss({ family: "logistic", need: r.need, intercept: true }, X, y, r.theta);
      step = run.next({ loss: out[0]!, grad: out.slice(1, 1 + q), hess: null });
    }
    assert.equal(step.value.converged, false);
    assert.equal(step.value.stoppedBy, "max-iter");
    assert.equal(step.value.iterations, 2);
  });
});
