// A Runtime: what a cluster member (Scheduler, Worker, Client, LocalCluster) takes from the platform
// it runs on, handed to it rather than reached for through the realm. Each entry point (node/,
// browser/, the tab's Web Worker) builds one; a member started without one gets defaultRuntime(),
// which follows the realm's registrations (registerTransport, setLogger, setClientPlatform,
// setValidateByDefault …: the default runtime's setters, kept for compatibility), so code written
// before runtimes behaves as it did. Two clusters in one page or process, each with a
// runtime of its own, do not step on each other: transports, logger, receive-buffer policy, the
// client's bundler and the worker kind are theirs; per-member state (a worker's buffers for
// incoming frames and their budget) lives on the member, made from its runtime.

import type { ClientPlatform } from "./client/platform.js";
import { clientPlatform } from "./client/platform.js";
import { realmTransports, Transports } from "./comm/registry.js";
import { createStores, realmStores, type Stores } from "./io/store.js";
import type { Transport } from "./comm/types.js";
import { type Logger, realmLogger } from "./log.js";
import type { WorkerKind } from "./protocol/messages.js";
import { validateByDefault } from "./util/invariant.js";
import { realmReceiveBuffers } from "./util/receive-buffers.js";
import { type BackgroundTimers, platformTimers } from "./util/timers.js";
import { platformWorkerKind } from "./worker/kind.js";

export interface Runtime {
  /** The transports by scheme that this member's links use (connect, listen). */
  readonly transports: Transports;
  /** Where this member's own diagnostics go. */
  readonly logger: Logger;
  /** The client's platform: bundling for upload, where progress() draws. None: upload of files is unavailable. */
  readonly client: ClientPlatform | null;
  /** Timers that do not keep the process alive (Node's unref; plain timers elsewhere). */
  readonly timers: BackgroundTimers;
  /** Whether members prepare buffers ahead for incoming frames of recurring sizes (util/receive-buffers.ts). */
  readonly receiveAhead: boolean;
  /** The kind a worker reports when its options name none ("thread" in Node, "browser" in a page). */
  readonly workerKind: WorkerKind;
  /**
   * Whether a scheduler or a worker checks its state after events when its options do not say
   * (scheduler/validate.ts, worker/validate.ts): off, "sampled" in test runs (the Node entry reads
   * MESHWORK_VALIDATE=1).
   */
  readonly validate: boolean | "sampled";
  /**
   * What this member reads and writes data through (io/store.ts): openers by scheme, the path
   * resolver, bearer tokens per origin. A worker hands them to the builtins it runs (task-context.ts);
   * a client's planners take them from the client (`stores: client`).
   */
  readonly stores: Stores;
}

/** What createRuntime takes: any part, the rest from `base`; `transports` may be a list. */
export type RuntimeParts = Partial<Omit<Runtime, "transports">> & {
  transports?: Transports | Iterable<Transport> | undefined;
};

/**
 * The realm's runtime: its registry of transports, its logger, client platform, worker kind and
 * receive-ahead setting as the entry point registered them, read at each use (so setLogger and
 * registerTransport keep working for members started without a runtime).
 */
const realmRuntime: Runtime = {
  transports: realmTransports,
  logger: realmLogger,
  get client() {
    return clientPlatform();
  },
  timers: platformTimers,
  get receiveAhead() {
    return realmReceiveBuffers.aheadEnabled;
  },
  get workerKind() {
    return platformWorkerKind();
  },
  get validate() {
    return validateByDefault();
  },
  stores: realmStores,
};

/** What members started without a `runtime` use: the realm's registrations, read at each use. */
export function defaultRuntime(): Runtime {
  return realmRuntime;
}

/**
 * A runtime of its own: the given parts, the rest taken from `base` (default: the realm's, as it is
 * now). Its transports are a copy, so registering one later on either side does not reach the other;
 * its stores are its own (credentials set on them reach no one else) over `base`'s (openers, path
 * resolver and credentials registered there are still found).
 */
export function createRuntime(parts: RuntimeParts = {}, base: Runtime = realmRuntime): Runtime {
  const t = parts.transports;
  return {
    transports: t instanceof Transports ? t : new Transports(t ?? base.transports.all()),
    logger: parts.logger ?? base.logger,
    client: parts.client !== undefined ? parts.client : base.client,
    timers: parts.timers ?? base.timers,
    receiveAhead: parts.receiveAhead ?? base.receiveAhead,
    workerKind: parts.workerKind ?? base.workerKind,
    validate: parts.validate ?? base.validate,
    stores: parts.stores ?? createStores(base.stores),
  };
}
