// What the adversarial suites share: the three roles' tokens, and a scheduler that requires them
// with honest trusted workers and a client, as an attacker would find one on the network.

import { Client, Scheduler } from "../../node/index.js";
import type { SchedulerOptions } from "../../src/index.js";
import { timingSafeSecretEquals } from "../../node/platform/secrets.js";
import { WorkerGroup } from "../../node/hosts/worker-group.js";
import { consoleLogger, setLogger } from "../../src/internal.js";

export const CLIENT = "client-secret-0123456789";
export const WORKER = "worker-secret-0123456789";
export const TAB = "tab-secret-0123456789";

export interface GuardedCluster {
  scheduler: Scheduler;
  /** Trusted workers (the worker token), named honest-n, serving data over ws://. */
  workers: WorkerGroup;
  client: Client;
  close(): Promise<void>;
}

/** A scheduler on ws://127.0.0.1 requiring all three tokens, `honest` trusted workers, a client; logs silenced until close. */
export async function guardedCluster(honest: number, options: Partial<SchedulerOptions> = {}): Promise<GuardedCluster> {
  const restoreLogger = setLogger(consoleLogger("silent"));
  const scheduler = await Scheduler.start({
    address: "ws://127.0.0.1:0",
    token: CLIENT,
    workerToken: WORKER,
    tabToken: TAB,
    compareSecret: timingSafeSecretEquals,
    ...options,
  });
  const workers = new WorkerGroup({
    scheduler: scheduler.address,
    listen: "ws://127.0.0.1:0",
    kind: "node",
    namePrefix: "honest",
    token: WORKER,
    logLevel: "silent",
  });
  await workers.grow(honest);
  const client = await Client.connect(scheduler.address, { token: CLIENT });
  return {
    scheduler,
    workers,
    client,
    async close() {
      await client.close();
      await workers.close();
      await scheduler.close();
      setLogger(restoreLogger);
    },
  };
}
