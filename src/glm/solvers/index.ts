// The solvers by name, with what each supports.

import { admm } from "./admm.js";
import { gradientDescent } from "./gradient-descent.js";
import { lbfgs } from "./lbfgs.js";
import { newton } from "./newton.js";
import { proximalGrad } from "./proximal-grad.js";
import type { SolverRun, SolverSettings } from "./types.js";

export type SolverName = "lbfgs" | "newton" | "gradient_descent" | "proximal_grad" | "admm";

export const SOLVERS: Readonly<
  Record<SolverName, { run: (theta0: Float64Array, s: SolverSettings) => SolverRun; l1: boolean }>
> = {
  lbfgs: { run: lbfgs, l1: false },
  newton: { run: newton, l1: false },
  gradient_descent: { run: gradientDescent, l1: false },
  proximal_grad: { run: proximalGrad, l1: true },
  admm: { run: admm, l1: true },
};

export type { SolverRun, SolverSettings, SolveResult, GlmWarning, Point, LocalAnswer, Request } from "./types.js";
