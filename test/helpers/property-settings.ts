// fast-check's run count and seed for the property tests: a fixed seed and CI_RUNS by default (the
// same runs in every CI), or MESHWORK_PROPERTY_RUNS / MESHWORK_PROPERTY_SEED (a number or "random")
// for a longer hunt.

import assert from "node:assert/strict";

/** Runs in CI: every kind of event many times over, in a few seconds. */
export const CI_RUNS = 300;

/** fast-check's numRuns and seed: the environment's, else CI_RUNS and `ciSeed`. */
export function propertySettings(ciSeed: number): { numRuns: number; seed: number } {
  const runs = Number(process.env["MESHWORK_PROPERTY_RUNS"] ?? CI_RUNS);
  const given = process.env["MESHWORK_PROPERTY_SEED"];
  const seed = given === "random" ? Math.floor(Math.random() * 2 ** 31) : Number(given ?? ciSeed);
  assert.ok(Number.isInteger(runs) && runs > 0, `MESHWORK_PROPERTY_RUNS must be a whole number > 0, got ${runs}`);
  assert.ok(Number.isInteger(seed), `MESHWORK_PROPERTY_SEED must be an integer or "random", got ${given}`);
  return { numRuns: runs, seed };
}
