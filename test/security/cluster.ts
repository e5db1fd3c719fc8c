// What the adversarial suites share: the three roles' tokens, and a scheduler that requires them
// with honest trusted workers, groups of other worker threads and a client, as an attacker would
// find one on the network; `useGuardedCluster` shares one among a describe's tests.

import { after, afterEach, before, beforeEach } from "node:test";
import { Client, Scheduler } from "../../node/index.js";
import type { SchedulerOptions } from "../../src/index.js";
import { timingSafeSecretEquals } from "../../node/platform/secrets.js";
import { WorkerGroup, type WorkerGroupOptions } from "../../node/hosts/worker-group.js";
import { startNetworkScheduler, type NetworkScheduler } from "../../node/servers/page-server.js";
import { consoleLogger, setLogger, type Logger } from "../../src/internal.js";

export const CLIENT = "client-secret-0123456789";
export const WORKER = "worker-secret-0123456789";
export const TAB = "tab-secret-0123456789";

/** A group of worker threads on ws://127.0.0.1: the token it joins with, how many, and WorkerGroup's options. */
export type GroupSpec = { token: string; count?: number } & Partial<WorkerGroupOptions>;

export interface GuardedClusterOptions {
  /** Trusted workers (the worker token), named honest-n, serving data over ws://. Default 0. */
  honest?: number;
  /** More WorkerGroup options for the honest workers (a transport, resources). */
  honestOptions?: Partial<WorkerGroupOptions>;
  /** Other groups by name prefix, started after the honest workers in the order given: `{ tab: { token: TAB, count: 2 } }`. */
  groups?: Record<string, GroupSpec>;
  /** Scheduler options on top of the three tokens and the constant-time comparison. */
  scheduler?: Partial<SchedulerOptions>;
  /** A network scheduler (the worker page and the relay on its ws:// port) instead of Scheduler.start. */
  network?: boolean;
  /** Whether to connect a client (with the client token). Default true. */
  client?: boolean;
  /** Collects the warnings logged; the log is silent otherwise (every attack is logged, thousands in some suites). */
  warnings?: string[];
}

export interface GuardedCluster extends AsyncDisposable {
  scheduler: Scheduler;
  /** Where clients and workers connect (the network scheduler's ws:// port when `network`). */
  address: string;
  /** The network scheduler, when `network`. */
  net: NetworkScheduler | undefined;
  /** Trusted workers (the worker token), named honest-n, serving data over ws://. */
  workers: WorkerGroup;
  /** The `groups` asked for, by name prefix. */
  groups: Record<string, WorkerGroup>;
  client: Client;
  close(): Promise<void>;
}

/** A scheduler on ws://127.0.0.1 requiring all three tokens, with the workers and client asked for; logs silenced (or collected) until close. */
export async function guardedCluster(options: GuardedClusterOptions = {}): Promise<GuardedCluster> {
  const { warnings } = options;
  const quiet = () => {};
  const logger: Logger = warnings
    ? { debug: quiet, info: quiet, error: quiet, warn: (m: string) => void warnings.push(m) }
    : consoleLogger("silent");
  const restoreLogger = setLogger(logger);
  const tokens = { token: CLIENT, workerToken: WORKER, tabToken: TAB, compareSecret: timingSafeSecretEquals };
  const net = options.network
    ? await startNetworkScheduler({ host: "127.0.0.1", port: 0, ...tokens, ...options.scheduler })
    : undefined;
  const scheduler = net
    ? net.scheduler
    : await Scheduler.start({ address: "ws://127.0.0.1:0", ...tokens, ...options.scheduler });
  const address = net ? net.address : scheduler.address;
  const group = (namePrefix: string, spec: GroupSpec) =>
    new WorkerGroup({
      scheduler: address,
      listen: "ws://127.0.0.1:0",
      kind: "node",
      namePrefix,
      logLevel: "silent",
      ...spec,
    });
  const workers = group("honest", { token: WORKER, ...options.honestOptions });
  await workers.grow(options.honest ?? 0);
  const groups: Record<string, WorkerGroup> = {};
  for (const [name, { count = 0, ...spec }] of Object.entries(options.groups ?? {})) {
    groups[name] = group(name, spec);
    await groups[name].grow(count);
  }
  const client = options.client === false ? undefined : await Client.connect(address, { token: CLIENT });
  const close = async () => {
    await client?.close();
    for (const g of Object.values(groups)) await g.close();
    await workers.close();
    await (net ?? scheduler).close();
    setLogger(restoreLogger);
  };
  return {
    scheduler,
    address,
    net,
    workers,
    groups,
    get client(): Client {
      if (!client) throw new Error("this guarded cluster was started with client: false");
      return client;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * One guarded cluster for the tests of the enclosing describe, started in a `before` hook and
 * closed in an `after` hook (with `each`, a fresh one per test: beforeEach / afterEach). Read its
 * fields inside tests and hooks; before the hook they throw. Hooks written after it run after it.
 */
export function useGuardedCluster(options: GuardedClusterOptions = {}, { each = false } = {}): GuardedCluster {
  let started: GuardedCluster | undefined;
  (each ? beforeEach : before)(async () => {
    started = await guardedCluster(options);
  });
  (each ? afterEach : after)(async () => {
    const c = started;
    started = undefined;
    await c?.close();
  });
  const get = (): GuardedCluster => {
    if (!started)
      throw new Error("useGuardedCluster's cluster runs from its before hook to its after hook: use it in tests");
    return started;
  };
  return {
    get scheduler() {
      return get().scheduler;
    },
    get address() {
      return get().address;
    },
    get net() {
      return get().net;
    },
    get workers() {
      return get().workers;
    },
    get groups() {
      return get().groups;
    },
    get client() {
      return get().client;
    },
    close: () => get().close(),
    [Symbol.asyncDispose]: () => get().close(),
  };
}
