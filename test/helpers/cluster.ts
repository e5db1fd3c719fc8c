// A whole cluster in one line, torn down strictly:
//   await using c = await startCluster({ workers: 2 });
// Disposal closes the client and the cluster, then fails the test if anything it opened is still
// running (threads, message ports, timers), so leaks show up in the test that caused them.

import { Client, LocalCluster, type ClientOptions, type LocalClusterOptions } from "../../node/index.js";

export interface TestCluster extends AsyncDisposable {
  cluster: LocalCluster;
  client: Client;
  /** Another client on the same cluster (closed with it). */
  connect(options?: ClientOptions): Promise<Client>;
}

/** How long teardown waits for threads and ports to finish closing before calling it a leak. */
const TEARDOWN_GRACE_MS = 3_000;

export async function startCluster(options: LocalClusterOptions & { client?: ClientOptions } = {}): Promise<TestCluster> {
  const baseline = resourceCounts();
  const { client: clientOptions, ...clusterOptions } = options;
  const cluster = await LocalCluster.start({ workers: 2, logLevel: "error", ...clusterOptions });
  const clients: Client[] = [];
  const connect = async (o?: ClientOptions) => {
    const c = await Client.connect(cluster.address, { ...clientOptions, ...o });
    clients.push(c);
    return c;
  };
  const client = await connect();
  return {
    cluster,
    client,
    connect,
    async [Symbol.asyncDispose]() {
      await Promise.all(clients.map((c) => c.close()));
      await cluster.close();
      await expectNoLeaks(baseline);
    },
  };
}

/** Active handles by kind, e.g. { MessagePort: 2, Timeout: 1 }. */
export function resourceCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

/** Waits for the process to be back to `baseline`; throws naming what is still open. */
export async function expectNoLeaks(baseline: Map<string, number>, graceMs = TEARDOWN_GRACE_MS): Promise<void> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const extra = [...resourceCounts()].filter(([kind, n]) => n > (baseline.get(kind) ?? 0)).map(([kind, n]) => `${kind} ×${n - (baseline.get(kind) ?? 0)}`);
    if (extra.length === 0) return;
    if (Date.now() > deadline) throw new Error(`teardown leaked: ${extra.join(", ")}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
