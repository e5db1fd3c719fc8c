// Example 6: logistic regression on a local cluster. X is n × 10 standard normal numbers in row
// blocks, kept on the workers (persist); y is drawn from the logistic model with known
// coefficients. LogisticRegression fits it with L-BFGS: every iteration is a pass over the blocks
// where they are (a task per block computing the loss and its gradient at once), and only 11
// numbers per block travel. With a million rows the coefficients come back close to the truth.
//
//   npx tsx examples/06-glm/main.ts          (MESHWORK_EXAMPLE_N=100000 for a quick run)

import { Client, LocalCluster } from "meshwork";
import * as mw from "meshwork/array";
import { LogisticRegression } from "meshwork/glm";

const n = Number(process.env["MESHWORK_EXAMPLE_N"] ?? 1_000_000);
const truth = [1.5, -2, 0.5, 0, 0.25, -1, 0.75, 0, -0.5, 1];
const trueIntercept = -0.5;

const cluster = await LocalCluster.start({ workers: 2 });
const client = await Client.connect(cluster.address); // the newest client is where arrays compute

const chunk = Math.ceil(n / 8);
const X = await mw.normal([n, truth.length], { chunks: [chunk, -1], seed: 1 }).persist();
// y = 1 where x·β + b + logistic noise > 0: the logistic model. log(u) − log1p(−u) is logistic noise.
const u = mw.uniform([n], { chunks: [chunk], seed: 2 });
const y = await X.matmul(mw.fromArray(truth))
  .add(trueIntercept)
  .add(u.log().sub(u.neg().log1p()))
  .gt(0)
  .astype("float64")
  .persist();
console.log(`X = ${X}`);

const model = await new LogisticRegression({ solver: "lbfgs", regularizer: "l2", lambda: 1, tol: 1e-6 }).fit(X, y);
const r = model.result!;
console.log(
  `fitted ${n} rows with lbfgs: ${r.iterations} iterations, ${r.passes} passes over the data, converged: ${r.converged}`,
);
console.log(
  `time per iteration: ${(r.secondsPerIteration * 1000).toFixed(1)} ms (whole fit ${r.seconds.toFixed(2)} s)`,
);
console.log("coefficient   truth   fitted");
truth.forEach((t, j) =>
  console.log(`  x${j}          ${t.toFixed(2).padStart(5)}   ${model.coef[j]!.toFixed(3).padStart(6)}`),
);
console.log(`  intercept    ${trueIntercept.toFixed(2).padStart(5)}   ${model.intercept.toFixed(3).padStart(6)}`);
const worst = Math.max(...truth.map((t, j) => Math.abs(model.coef[j]! - t)));
console.log(`largest difference from the truth: ${worst.toFixed(3)}`);

const Xtest = mw.normal([10_000, truth.length], { chunks: [5_000, -1], seed: 3 });
const p = (await model.predictProba(Xtest).slice("0:3").compute()) as mw.NDArray;
console.log(`P(y = 1) for the first test rows: ${[...p.toTypedArray()].map((v) => v.toFixed(3)).join(", ")}`);
console.log(`accuracy on the training rows: ${(await model.score(X, y)).toFixed(3)}`);

await client.close();
await cluster.close();
