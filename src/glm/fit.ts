// Fitting a GLM on row blocks: the data is persisted where the scheduler runs (on a cluster it
// stays on the workers), checked in one pass, and a solver (solvers/) is driven here. Each of the
// solver's evaluations is one pass over the blocks: a task per row block computing the loss,
// gradient (and Hessian) at once, their small results combined in a tree whose last level runs
// here, where they arrive with the tasks' completion. A fit's iteration is a round trip or two,
// not a graph rebuilt from array operations.

import { ArgumentError, DataError, NonFiniteError } from "../errors.js";
import { realmLogger } from "../log.js";
import { offsets } from "../array/chunks.js";
import { mapBlockValues, reduceBlocks } from "../array/block-values.js";
import { ChunkedArray } from "../array/core.js";
import { tokenName } from "../array/names.js";
import { LayeredGraph, Task, TaskRef, type GraphNode } from "../graph/task.js";
import { openSession, persistWith, release } from "../graph/collection.js";
import { FAMILIES, type FamilyName } from "./families.js";
import { matrix, targets, type MatrixInput, type VectorInput } from "./inputs.js";
import type { BlockCheck, CheckSpec } from "./kernels/check.js";
import type { LocalSpec } from "./kernels/admm-local.js";
import type { LossSpec, Need } from "./kernels/loss.js";
import { GK } from "./kernels/register.js";
import { addSmoothPenalty, type Penalty } from "./penalty.js";
import { IDENTITY, toRaw, type Scaling } from "./scaling.js";
import { checkOptions, type FitOptions } from "./options.js";
import {
  SOLVERS,
  type GlmWarning,
  type LocalAnswer,
  type Point,
  type Request,
  type SolveResult,
  type SolverName,
  type SolverSettings,
} from "./solvers/index.js";

/** What a fit found. */
export interface FitResult {
  coef: Float64Array;
  intercept: number;
  iterations: number;
  converged: boolean;
  /** The objective at the solution: Σ loss + penalty. */
  loss: number;
  /** The optimality measure at the solution, per row (compare with `tol`). */
  optimality: number;
  stoppedBy: SolveResult["stoppedBy"];
  warnings: GlmWarning[];
  solver: SolverName;
  /** Passes over the data (evaluations, or ADMM's local rounds). */
  passes: number;
  /** Seconds for the whole fit, and for the solver's iterations alone divided by their number. */
  seconds: number;
  secondsPerIteration: number;
}

/** Up to this many block partials, the last combining level (here) takes them all: they arrive inline with their tasks' completion. */
const COMBINE_HERE_MAX = 64;

export async function fitGlm(
  family: FamilyName,
  Xin: MatrixInput,
  yin: VectorInput,
  options: FitOptions = {},
): Promise<FitResult> {
  const started = performance.now();
  const o = checkOptions(options);
  const X0 = matrix(Xin, o.rowsPerBlock);
  const y0 = targets(yin, X0);
  const n = X0.shape[0]!;
  const p = X0.shape[1]!;
  if (n === 0) throw new ArgumentError("X has no rows");
  const session = await openSession(o.scheduler);
  const scheduler = session.scheduler;
  let held: ChunkedArray[] = [];
  try {
    held = (await persistWith({ scheduler }, [X0, beside(y0, X0)])) as ChunkedArray[];
    const [X, y] = held as [ChunkedArray, ChunkedArray];
    const K = X.numblocks[0]!;
    const splitEvery = o.splitEvery ?? (K <= COMBINE_HERE_MAX ? Math.max(2, K) : 16);

    // One pass: bad values, and the statistics standardisation and the start need. X is read
    // only when its statistics are needed (standardize, ADMM's ρ); otherwise its NaN and
    // infinities show in the first evaluation (at coefficients 0, x·0 is NaN for both), and only
    // then is X checked to say where. On big data that saves a pass over X (of ~12 for lbfgs).
    const rowStarts = offsets(X.chunks[0]!);
    const runCheck = (x: boolean) =>
      reduceBlocks<BlockCheck>(GK.check, [X, y], {
        args: [{ family, x } satisfies CheckSpec],
        blockArgs: (_i, pos) => [pos, rowStarts[pos]!],
        combine: GK.checkCombine,
        splitEvery,
        name: "glm-check",
      }).compute({ scheduler });
    // (ADMM's first request is its local solves, not an evaluation: it reads X here.)
    let xChecked = o.standardize || o.solver === "admm";
    const check = await runCheck(xChecked);
    rejectBadData(family, check);

    const fam = FAMILIES[family];
    const ymean = check.ySum / n;
    if (family === "logistic" && o.fitIntercept && (ymean === 0 || ymean === 1))
      throw new DataError(`every target is ${ymean}: logistic regression needs both classes, 0 and 1`);
    if (family === "poisson" && o.fitIntercept && ymean === 0)
      throw new DataError("every count is 0: the intercept has no finite optimum (it goes to −∞)");
    const scaling = makeScaling(o.standardize, o.fitIntercept, check);
    const q = p + (o.fitIntercept ? 1 : 0);
    const theta0 = new Float64Array(q);
    if (o.fitIntercept) theta0[p] = fam.link(ymean);
    const penalty: Penalty = { l2: o.lambda * (1 - o.l1Ratio), l1: o.lambda * o.l1Ratio, p };
    const settings: SolverSettings = {
      q,
      penalty,
      maxIter: o.maxIter,
      gtol: o.tol * n,
      onSingular: o.onSingular,
      blocks: K,
      rho: o.rho ?? defaultRho(family, ymean, n, K, scaling, check),
    };

    // The driver: each request is one pass over the blocks.
    let passes = 0;
    const evaluate = async (theta: Float64Array, need: Need): Promise<Point> => {
      passes++;
      const spec: LossSpec = { family, need, intercept: o.fitIntercept };
      const out = await reduceBlocks<Float64Array>(GK.loss, [X, y], {
        args: [spec, scaling, theta],
        splitEvery,
        name: "glm-loss",
      }).compute({ scheduler });
      if (!xChecked) {
        // The first evaluation is at θ₀ (coefficients 0): a NaN here means X has a NaN or
        // infinity, named by the full check (a loss that merely overflowed: it finds nothing, the fit goes on).
        xChecked = true;
        if (!out.every(Number.isFinite)) rejectBadData(family, await runCheck(true));
      }
      const point: Point = {
        loss: out[0]!,
        grad: need >= 1 ? out.slice(1, 1 + q) : null,
        hess: need === 2 ? out.slice(1 + q, 1 + q + q * q) : null,
      };
      addSmoothPenalty(penalty, theta, point, q);
      return point;
    };
    const localSpec: LocalSpec = { family, intercept: o.fitIntercept, scaling, gtol: 0, maxIter: 200 };
    const local = async (r: Extract<Request, { kind: "local" }>): Promise<LocalAnswer> => {
      passes++;
      const spec: LocalSpec = { ...localSpec, gtol: r.gtol };
      const outs = await mapBlockValues<Float64Array>(GK.admmLocal, [X, y], {
        args: [spec, r.z],
        blockArgs: (_i, pos) => [r.u[pos]!, r.warm[pos]!, r.rho],
        name: "glm-admm",
      }).compute({ scheduler });
      const gradAtZ = new Float64Array(q);
      let lossAtZ = 0;
      for (const out of outs) {
        for (let j = 0; j < q; j++) gradAtZ[j] = gradAtZ[j]! + out[q + j]!;
        lossAtZ += out[2 * q]!;
      }
      return { thetas: outs.map((out) => out.slice(0, q)), lossAtZ, gradAtZ };
    };

    const solveStart = performance.now();
    const run = SOLVERS[o.solver].run(scaledStart(scaling, theta0), settings);
    let req = run.next();
    while (!req.done) {
      const r = req.value;
      req = run.next(r.kind === "evaluate" ? await evaluate(r.theta, r.need) : await local(r));
    }
    const result = req.value;
    const solveSeconds = (performance.now() - solveStart) / 1000;

    const theta = toRaw(scaling, result.theta);
    const warnings = [...result.warnings];
    if (result.stoppedBy === "max-iter") {
      warnings.push({
        code: "NOT_CONVERGED",
        message: `${o.solver} did not converge in ${o.maxIter} iterations (optimality ${(result.optimality / n).toExponential(2)} per row, tol ${o.tol}); raise maxIter, loosen tol, or standardize the columns`,
      });
    }
    for (const w of warnings) (scheduler.logger ?? realmLogger).warn(`meshwork/glm: ${w.message}`);
    return {
      coef: theta.slice(0, p),
      intercept: o.fitIntercept ? theta[p]! : 0,
      iterations: result.iterations,
      converged: result.converged,
      loss: result.objective,
      optimality: result.optimality / n,
      stoppedBy: result.stoppedBy,
      warnings,
      solver: o.solver,
      passes,
      seconds: (performance.now() - started) / 1000,
      secondsPerIteration: solveSeconds / Math.max(1, result.iterations),
    };
  } finally {
    // Our hold on the data: a user's own persisted arrays keep theirs.
    for (const h of held) release(h);
    await session.close();
  }
}

/**
 * y's blocks made by tasks that also read X's blocks, so the scheduler runs each where X's block
 * is (moving the small y block, not the big X block) and every pass finds both in one place.
 * Without it, y persisted on its own lands wherever it was computed, and the first pass copies
 * blocks between workers (and keeps the copies).
 */
function beside(y: ChunkedArray, X: ChunkedArray): ChunkedArray {
  const name = tokenName("glm-beside", y.name, X.name);
  const layer = new Map<string, GraphNode>();
  const out = new ChunkedArray(LayeredGraph.merge([y.graph, X.graph], name, layer), name, y.chunks, y.dtype);
  for (let i = 0; i < y.numblocks[0]!; i++)
    layer.set(out.key([i]), new Task(GK.beside, [new TaskRef(y.key([i])), new TaskRef(X.key([i, 0]))]));
  return out;
}

/** θ₀ for the solver's coordinates: zeros and the intercept's start are the same in both. */
function scaledStart(_s: Scaling, theta0: Float64Array): Float64Array {
  return theta0;
}

function rejectBadData(family: FamilyName, c: BlockCheck): void {
  if (c.firstBadX) {
    const [block, row, column, value] = c.firstBadX;
    throw new NonFiniteError(
      `X holds ${c.badX} value${c.badX === 1 ? "" : "s"} that ${c.badX === 1 ? "is" : "are"} NaN or infinite; the first is ${value} at row ${row}, column ${column} (row block ${block})`,
      { block, row, column, value },
    );
  }
  if (c.firstBadY) {
    const [block, row, value] = c.firstBadY;
    const rule = FAMILIES[family].targetRule;
    throw Number.isFinite(value)
      ? new DataError(
          `y must be ${rule} for ${family} regression; ${c.badY} target${c.badY === 1 ? " is" : "s are"} not, the first is ${value} at row ${row} (row block ${block})`,
          { block, row, value },
        )
      : new NonFiniteError(
          `y holds ${c.badY} target${c.badY === 1 ? "" : "s"} that ${c.badY === 1 ? "is" : "are"} not ${rule}; the first is ${value} at row ${row} (row block ${block})`,
          { block, row, value },
        );
  }
}

function makeScaling(standardize: boolean, intercept: boolean, c: BlockCheck): Scaling {
  if (!standardize) return IDENTITY(intercept);
  const scale = new Float64Array(c.m2.length);
  for (let j = 0; j < scale.length; j++) {
    const sd = Math.sqrt(c.m2[j]! / c.rows);
    // A constant column stays as it is (dividing by 0 would not scale it; it carries no information).
    scale[j] = sd > 0 ? sd : 1;
  }
  return { mean: intercept ? Float64Array.from(c.mean) : null, scale, intercept };
}

/**
 * ADMM's starting ρ: about the curvature of a block's loss, rows per block × the loss's second
 * derivative at the constant model × the columns' mean second moment (1 once standardised).
 * Residual balancing adjusts it from there.
 */
function defaultRho(family: FamilyName, ymean: number, n: number, K: number, s: Scaling, c: BlockCheck): number {
  const w =
    family === "logistic" ? Math.max(ymean * (1 - ymean), 1e-3) : family === "poisson" ? Math.max(ymean, 1e-3) : 1;
  let second = 1;
  if (!s.scale) {
    let sum = 0;
    for (let j = 0; j < c.m2.length; j++) sum += c.m2[j]! / c.rows + c.mean[j]! ** 2;
    second = sum / c.m2.length || 1;
  }
  return (n / K) * w * second;
}
