// meshwork/glm's task functions as builtins: every worker and the local scheduler know them by
// name, so a fit's graph sends names and small arguments, never code.

import { registerBuiltin, type BuiltinFn } from "../../graph/builtins.js";
import type { NDArray } from "../../array/ndarray.js";
import type { Scaling } from "../scaling.js";
import { admmLocal, type LocalSpec } from "./admm-local.js";
import { checkBlock, combineChecks, type CheckSpec } from "./check.js";
import { scaledBlockLoss, type LossSpec } from "./loss.js";

/** Builtin names. The blocks come first (as mapBlockValues and reduceBlocks pass them), then the arguments. */
export const GK = {
  /** (X block, y block, LossSpec, Scaling, θ') → Float64Array [loss, gradient, Hessian]. */
  loss: "glm.loss",
  /** (X block, y block, CheckSpec, block position, first row) → BlockCheck. */
  check: "glm.check",
  checkCombine: "glm.check-combine",
  /** (X block, y block, LocalSpec, z, u_k, θ_k, ρ) → Float64Array. */
  admmLocal: "glm.admm-local",
  /** (y block, X block) → the y block: a task that reads X's block, so it runs (and y's block stays) where X's block is. */
  beside: "glm.beside",
} as const;

registerBuiltin(GK.loss, ((x: NDArray, y: NDArray, spec: LossSpec, scaling: Scaling, theta: Float64Array) =>
  scaledBlockLoss(spec, scaling, x, y, theta)) as BuiltinFn);
registerBuiltin(GK.check, ((x: NDArray, y: NDArray, spec: CheckSpec, block: number, rowOffset: number) =>
  checkBlock(spec, x, y, block, rowOffset)) as BuiltinFn);
registerBuiltin(GK.checkCombine, combineChecks as BuiltinFn);
registerBuiltin(GK.beside, ((y: NDArray, _x: NDArray) => y) as BuiltinFn);
registerBuiltin(GK.admmLocal, ((
  x: NDArray,
  y: NDArray,
  spec: LocalSpec,
  z: Float64Array,
  u: Float64Array,
  warm: Float64Array,
  rho: number,
) => admmLocal(spec, x, y, z, u, warm, rho)) as BuiltinFn);
