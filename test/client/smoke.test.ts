import assert from "node:assert/strict";
import { test } from "node:test";
import { startCluster } from "../helpers/cluster.js";

test("submit → await gives the result; map → gather gives results in order", async () => {
  await using c = await startCluster({ workers: 2 });
  const f = c.client.submit((x: number) => x + 1, 10);
  assert.equal(await f, 11);
  const fs = c.client.map((x: number) => x * x, [1, 2, 3]);
  assert.deepEqual(await c.client.gather(fs), [1, 4, 9]);
});
