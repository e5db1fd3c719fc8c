// The "threads" single-machine scheduler: `x.compute({ scheduler: "threads" })` runs on a pool of
// worker threads of this process, with no cluster to start or close. The pool is a LocalCluster
// started on first use and shared by the computations running at the same time; it closes as soon
// as none is left (back-to-back computations reuse it), so a script ends when its work does.
// Persisted results come back to this thread (as on Dask's threaded scheduler, they live in the
// process), so nothing needs the pool afterwards.

import type { Client } from "../../src/client/client.js";
import { Literal, type GraphNode } from "../../src/graph/task.js";
import {
  registerScheduler,
  type GraphScheduler,
  type PreparedGraph,
  type SchedulerSession,
} from "../../src/graph/collection.js";
import type { LocalCluster } from "./local-cluster.js";

interface Pool {
  cluster: LocalCluster;
  client: Client;
}

let pool: Promise<Pool> | null = null;
let running = 0;
let closeTimer: ReturnType<typeof setTimeout> | undefined;

async function start(): Promise<Pool> {
  const [{ LocalCluster }, { Client }] = await Promise.all([
    import("./local-cluster.js"),
    import("../../src/client/client.js"),
  ]);
  const cluster = await LocalCluster.start({ logLevel: "error", dashboard: false });
  try {
    // Not the default client: computations without a scheduler option keep going where they went.
    const client = await Client.connect(cluster.address, { name: "threads-scheduler", setAsDefault: false });
    return { cluster, client };
  } catch (err) {
    await cluster.close();
    throw err;
  }
}

/** Takes the pool (starting it if needed); `release` gives it back, closing it once nobody holds it. */
async function acquire(): Promise<Pool> {
  running++;
  clearTimeout(closeTimer);
  try {
    pool ??= start();
    return await pool.catch((err: unknown) => {
      pool = null;
      throw err;
    });
  } catch (err) {
    release();
    throw err;
  }
}

function release(): void {
  if (--running === 0) {
    // After this turn, so that a computation awaited right after this one reuses the pool.
    closeTimer = setTimeout(() => {
      const done = pool;
      if (running > 0 || !done) return;
      pool = null;
      void done.then(async ({ cluster, client }) => {
        await client.close();
        await cluster.close();
      });
    }, 0);
  }
}

async function withPool<T>(fn: (p: Pool) => Promise<T>): Promise<T> {
  const p = await acquire();
  try {
    return await fn(p);
  } finally {
    release();
  }
}

export const threadsScheduler: GraphScheduler = {
  computeGraph: (g: PreparedGraph) => withPool((p) => p.client.computeGraph(g)),
  async persistGraph(g: PreparedGraph): Promise<GraphNode[]> {
    const values = await withPool((p) => p.client.computeGraph(g));
    return values.map((v) => new Literal(v));
  },
  // An iterative algorithm holds the pool: what it persists stays on the pool's workers (as
  // futures) instead of coming back to this thread and being sent out again on every pass.
  async session(): Promise<SchedulerSession> {
    const p = await acquire();
    let open = true;
    return {
      scheduler: p.client,
      close: async () => {
        if (!open) return;
        open = false;
        release();
      },
    };
  },
};

registerScheduler("threads", () => threadsScheduler);
