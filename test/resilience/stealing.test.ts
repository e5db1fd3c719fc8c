// Work stealing on a real cluster: a worker that joins while another holds a long queue takes part
// of that queue, moved by steals the busy worker confirmed.

import assert from "node:assert/strict";
import { test } from "node:test";
import { startCluster } from "../helpers/cluster.js";
import { within } from "../helpers/within.js";
import { waitFor } from "../helpers/wait-for.js";

test("a worker that joins an idle-less cluster steals queued tasks from the busy one", {
  timeout: 60_000,
}, async () => {
  await using c = await startCluster({ workers: 1 });
  const slow = async (i: number) => {
    await new Promise((r) => setTimeout(r, 20));
    return i + 1;
  };
  const fs = c.client.with({ pure: false }).map(
    slow,
    Array.from({ length: 60 }, (_, i) => i),
  );
  await waitFor(
    async () => {
      const [w] = await c.client.workers();
      return w!.tasks.processing + w!.tasks.done === 60;
    },
    { message: "all 60 queued on the first worker" },
  );
  const late = await c.cluster.addWorker();
  assert.deepEqual(
    await within(c.client.gather(fs), 20_000, "the job"),
    Array.from({ length: 60 }, (_, i) => i + 1),
  );
  const info = await c.client.workers();
  const stolen = info.find((w) => w.id === late.workerId)!.tasks.done;
  assert.ok(stolen >= 10, `the new worker ran ${stolen} of the queued tasks`);
  // They moved by stealing (processing → processing, confirmed by the victim), not by recomputation.
  let moved = 0;
  for (const f of fs)
    if ((await c.client.story(f.key)).some((e) => e.start === "processing" && e.finish === "processing")) moved++;
  assert.equal(moved, stolen);
});
