// meshwork/glm: generalized linear models on chunked arrays (dask-glm for JavaScript): linear,
// logistic and Poisson regression with scikit-learn's estimator shape, fitted by gradient descent,
// Newton, L-BFGS, proximal gradient or ADMM over row blocks that stay where they are.
// `import { LogisticRegression } from "meshwork/glm"`.

import "../client/local.js";

export { LinearRegression, LogisticRegression, PoissonRegression } from "./estimators.js";
export type { EstimatorOptions } from "./estimators.js";
export { fitGlm } from "./fit.js";
export type { FitResult } from "./fit.js";
export type { FitOptions, RegularizerName } from "./options.js";
export type { FamilyName } from "./families.js";
export type { SolverName, GlmWarning } from "./solvers/index.js";
export type { MatrixInput, VectorInput } from "./inputs.js";
export { DataError, NonFiniteError, SingularMatrixError } from "../errors.js";
