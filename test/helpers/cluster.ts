// A whole cluster in one line, torn down strictly:
//   await using c = await startCluster({ workers: 2 });
// Disposal closes the client and the cluster, then fails the test if anything it opened is still
// running (threads, message ports, timers), so leaks show up in the test that caused them.
// For the tests of a describe (or a file) that share one: const c = useCluster({ workers: 2 }).

import { after, before } from "node:test";
import { Client, LocalCluster, type ClientOptions, type LocalClusterOptions } from "../../node/index.js";
import { expectNoLeaks, resourceCounts } from "./leaks.js";

export { expectNoLeaks, resourceCounts } from "./leaks.js";

export interface TestCluster extends AsyncDisposable {
  cluster: LocalCluster;
  client: Client;
  /** Another client on the same cluster (closed with it). */
  connect(options?: ClientOptions): Promise<Client>;
}

/** startCluster's options: the cluster's, and `client` for the clients it connects. */
export type TestClusterOptions = LocalClusterOptions & { client?: ClientOptions };

export async function startCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
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

/** A cluster shared by the tests of a describe or file: see useCluster. */
export type SharedCluster = Pick<TestCluster, "cluster" | "client" | "connect">;

/**
 * One cluster for the tests of the enclosing describe (or file): started in a `before` hook and
 * torn down strictly (startCluster's disposal, leak check included) in an `after` hook. Read
 * `client` and `cluster` inside tests and hooks; before the `before` hook they throw.
 * Inside a describe, hooks run one after another in the order written, so place useCluster
 * between hooks that must run before and after it. At a file's top level Node 20 starts the
 * `before` hooks together: there, use it only beside hooks that neither use the cluster nor open
 * handles its leak check would count.
 */
export function useCluster(options: TestClusterOptions = {}): SharedCluster {
  let started: TestCluster | undefined;
  before(async () => {
    started = await startCluster(options);
  });
  after(async () => {
    const c = started;
    started = undefined;
    await c?.[Symbol.asyncDispose]();
  });
  const get = (): TestCluster => {
    if (!started) throw new Error("useCluster's cluster runs from its before hook to its after hook: use it in tests");
    return started;
  };
  return {
    get cluster() {
      return get().cluster;
    },
    get client() {
      return get().client;
    },
    connect: (o) => get().connect(o),
  };
}
