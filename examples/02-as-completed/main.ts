// Example 2: a search that keeps a fixed number of evaluations in flight. Each time one finishes,
// asCompleted hands it back and we add a new candidate near the best point found so far: the
// cluster never idles waiting for the slowest task of a batch.
//
//   npx tsx examples/02-as-completed/main.ts

import { asCompleted, Client, LocalCluster, type Future } from "meshwork";

/** The objective: a tilted bowl with its minimum 0 at (3, -2). Spins ~2 ms to stand in for real work. */
function evaluate(x: number, y: number): { x: number; y: number; value: number } {
  const until = performance.now() + 2;
  while (performance.now() < until);
  return { x, y, value: (x - 3) ** 2 + 2 * (y + 2) ** 2 + (x - 3) * (y + 2) };
}

/** A small seeded generator, so every run proposes the same candidates. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

const IN_FLIGHT = 8;
const EVALUATIONS = 400;

const cluster = await LocalCluster.start({ workers: 2 });
const client = await Client.connect(cluster.address);
const rand = random(42);

let best = { x: 0, y: 0, value: Infinity };
let step = 4;
const propose = () => [best.x + (rand() - 0.5) * step, best.y + (rand() - 0.5) * step] as const;

const started = performance.now();
const first: Future<ReturnType<typeof evaluate>>[] = [];
for (let i = 0; i < IN_FLIGHT; i++) first.push(client.submit(evaluate, ...propose()));
const search = asCompleted(first);
let submitted = IN_FLIGHT;
for await (const future of search) {
  const result = await future;
  // Widen the search after an improvement, narrow it after a miss.
  if (result.value < best.value) {
    best = result;
    step *= 1.2;
  } else {
    step = Math.max(step * 0.95, 1e-4);
  }
  if (submitted < EVALUATIONS) {
    search.add(client.submit(evaluate, ...propose()));
    submitted++;
  }
}
const ms = performance.now() - started;

console.log(`${EVALUATIONS} evaluations, ${IN_FLIGHT} in flight, in ${ms.toFixed(0)} ms`);
console.log(
  `best point: (${best.x.toFixed(3)}, ${best.y.toFixed(3)}), value ${best.value.toExponential(2)} (the minimum is 0 at (3, -2))`,
);

await client.close();
await cluster.close();
