// What a scheduler can be told when it starts (Scheduler.start): where to listen, the tokens, the
// limits on joining, the worker TTL, work stealing, adapting worker processes, WebRTC.

import type { TransportOptions } from "../comm/types.js";
import type { RtcConfig } from "../protocol/messages.js";
import type { SecretCompare } from "../util/secret.js";
import type { AdaptOptions } from "./adaptive.js";
import type { BanStore } from "./bans.js";
import type { SchedulerStateOptions } from "./state.js";
import type { Runtime } from "../runtime.js";

export interface SchedulerOptions extends SchedulerStateOptions {
  /** Where to listen. Default: a fresh in-process address, "inproc://scheduler-<random>". */
  address?: string;
  /**
   * The client token: when set, clients must present it; it allows submitting work. Workers then
   * need `workerToken` (which defaults to this same token when not given).
   */
  token?: string | undefined;
  /** The worker token: it allows joining as a trusted worker and serving data, never submitting work. */
  workerToken?: string | undefined;
  /**
   * The tab token (the worker page's link carries it): it allows joining as an untrusted worker,
   * whose claims (threads, memory, resources) are capped. Never the worker or client token.
   */
  tabToken?: string | undefined;
  /** Treat every worker as untrusted, whatever token it joined with. Default false. */
  untrustedWorkers?: boolean | undefined;
  /** How tokens are compared. Default: constant time in plain JavaScript; Node passes timingSafeEqual over digests. */
  compareSecret?: SecretCompare | undefined;
  /** Passed to the transport's listen (size limits, inproc latency …). */
  transport?: TransportOptions;
  /** Milliseconds a new connection has to say hello. Default 10,000. */
  handshakeTimeoutMs?: number;
  /**
   * Connections allowed to be waiting for their handshake at once; past it the oldest waiting one
   * is closed. Default DEFAULT_MAX_PENDING_HANDSHAKES (1,024).
   */
  maxPendingHandshakes?: number;
  /** Of those, from one remote address. Default DEFAULT_MAX_PENDING_PER_ADDRESS (64). */
  maxPendingPerAddress?: number;
  /**
   * Failed logins from one address in a minute after which its new connections are closed before
   * their hello, until the minute has passed. Default DEFAULT_FAILED_LOGINS_PER_MINUTE (20).
   */
  maxFailedLoginsPerMinute?: number;
  /**
   * Milliseconds a data ticket stays valid after the scheduler makes it (readers then ask for a
   * fresh one). Default DEFAULT_TICKET_TTL_MS (5 minutes).
   */
  ticketTtlMs?: number;
  /**
   * Where the ban list (workers banned for lying: names, data addresses, hosts) outlives this
   * scheduler: loaded at start, saved after each ban. Node: `banFile(path)`. Default: in memory only.
   */
  bans?: BanStore | undefined;
  /** Workers connected at once; more are refused. Default DEFAULT_MAX_WORKERS (10,000). */
  maxWorkers?: number;
  /** Workers that may join from one address per minute. Default DEFAULT_JOINS_PER_ADDRESS_PER_MINUTE (256). */
  maxJoinsPerAddressPerMinute?: number;
  /**
   * A worker not heard from (heartbeat or any message) for this many milliseconds is removed as
   * lost, and its connection closed. Default 300,000 (Dask's `worker-ttl` of 5 minutes): a worker
   * thread busy in one long synchronous task cannot send heartbeats meanwhile.
   */
  workerTtlMs?: number;
  /** Move queued tasks from loaded workers to idle ones (see stealing.ts). Default true. */
  workStealing?: boolean;
  /**
   * How the scheduler adapts worker processes that join with adaptive bounds (`meshwork worker
   * --adapt MIN:MAX`): check interval, target duration, wait. Their minimum and maximum come from
   * the processes.
   */
  adapt?: Omit<AdaptOptions, "minimum" | "maximum">;
  /** How workers make WebRTC links (ICE servers, transport policy), told to each in its welcome. */
  webrtc?: RtcConfig | undefined;
  /**
   * Whether its connections keep the process alive. Default true (a scheduler process serves until
   * told to stop); a LocalCluster passes false, so that a script that forgets close() exits once its
   * clients wait for nothing.
   */
  keepAlive?: boolean;
  /** The platform's pieces (transports, logger, buffer policy …). Default: the realm's (defaultRuntime()). */
  runtime?: Runtime | undefined;
}
