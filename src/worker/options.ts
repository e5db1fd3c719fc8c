// What a worker is started with (Worker.start in server.ts).

import type { BridgeEnd } from "../comm/rtc-link.js";
import type { TransportOptions } from "../comm/types.js";
import type { Resources, WorkerHello, WorkerKind } from "../protocol/messages.js";
import type { DigestMaker } from "../util/sha256.js";
import type { SecretCompare } from "../util/secret.js";
import type { CodePlatform } from "./code.js";
import type { SpillStore } from "./spill.js";
import type { Runtime } from "../runtime.js";

export interface WorkerOptions {
  /** Address of the scheduler. */
  scheduler: string;
  /** Where this worker's data server listens. Default: a fresh in-process address. */
  listen?: string;
  name?: string;
  /** What it runs on, for the scheduler (which build of a task module it gets). Default: "thread" in Node, "browser" from meshwork's browser entry. */
  kind?: WorkerKind;
  /**
   * Bytes of results this worker holds in memory at most. Above 60 % results are spilled to
   * `spill` (least recently used first); above 80 % the worker starts no tasks until memory is
   * freed. Default 0: no limit.
   */
  memoryLimit?: number;
  /** Where results are spilled (Node: a temporary directory). None: the worker only pauses. */
  spill?: SpillStore | undefined;
  resources?: Resources;
  token?: string | undefined;
  /**
   * Unused since data servers check tickets (util/tickets.ts, compared in constant time there), not
   * a shared token; kept so that callers passing it still compile.
   */
  compareSecret?: SecretCompare | undefined;
  /** How source becomes code on this platform. */
  code?: CodePlatform;
  /** Milliseconds between heartbeats. Default 1000. */
  heartbeatMs?: number;
  /** The worker process this is a thread of, with its adaptive bounds (see WorkerHello.group). */
  group?: WorkerHello["group"];
  /** The scheduler asks this worker's process for `n` more threads (adaptive scaling). */
  onScaleUp?: (n: number) => void;
  /** Lets pending I/O run between batches of tasks. Default: a zero timeout. */
  yieldToEventLoop?: () => Promise<void>;
  transport?: TransportOptions;
  /** WebRTC data links: the bridge to this worker's RtcHost, and the peers to try them with. */
  webrtc?: WebRtcOptions | undefined;
  /**
   * Where the scheduler serves /data/ when that is not its own address (a LocalCluster's threads
   * join in-process): tasks read from this http:// origin with `token`. Default: the scheduler's
   * address, when it is ws:// or wss://.
   */
  dataOrigin?: string | undefined;
  /** The SHA-256 that digests results being verified. Default: plain JavaScript; Node injects its native one. */
  digest?: DigestMaker | undefined;
  /**
   * For the adversarial tests only: answer every task with a forged result (and its digest), as a
   * lying worker would; "serve": compute and report honestly, but serve forged bytes to every
   * reader (a worker that agrees on the digest and then lies to its fetchers). Never set it otherwise.
   */
  lieForTests?: boolean | "serve" | undefined;
  /**
   * Check the worker's state after every event (worker/validate.ts; "sampled": less often once it
   * is big) and log a broken invariant, which close() then rejects with. Not for production.
   * Default: off, "sampled" in a test run (MESHWORK_VALIDATE=1, as for schedulers).
   */
  validate?: boolean | "sampled" | undefined;
  /** The platform's pieces (transports, logger, buffer policy …). Default: the realm's (defaultRuntime()). */
  runtime?: Runtime | undefined;
}

export interface WebRtcOptions {
  bridge: BridgeEnd;
  /** Whether to link to the data server at `address` over WebRTC (else its own transport). */
  useFor(address: string): boolean;
  /** A WebRTC link not open within this long is given up for the peer's own transport. Default RTC_LINK_TIMEOUT_MS. */
  timeoutMs?: number | undefined;
}
