// A whole cluster in one line, torn down strictly:
//   await using c = await startCluster({ workers: 2 });
// Disposal closes the client and the cluster, then fails the test if anything it opened is still
// running (threads, message ports, timers), so leaks show up in the test that caused them.

import { Client, LocalCluster, type ClientOptions, type LocalClusterOptions } from "../../node/index.js";
import { expectNoLeaks, resourceCounts } from "./leaks.js";

export { expectNoLeaks, resourceCounts } from "./leaks.js";

export interface TestCluster extends AsyncDisposable {
  cluster: LocalCluster;
  client: Client;
  /** Another client on the same cluster (closed with it). */
  connect(options?: ClientOptions): Promise<Client>;
}

export async function startCluster(
  options: LocalClusterOptions & { client?: ClientOptions } = {},
): Promise<TestCluster> {
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
