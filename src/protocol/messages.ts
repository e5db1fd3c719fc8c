// Every message meshwork sends, as one discriminated union per direction (types only), gathered
// here from messages/ (by who sends them: handshake, client ↔ scheduler, scheduler ↔ worker, the
// data plane). Handlers are tables keyed by `op` (see Handlers<>), so a message without a handler
// does not compile.

import type { ClientToScheduler, SchedulerToClient } from "./messages/client.js";
import type { FromDataServer, ToDataServer } from "./messages/data.js";
import type { HandshakeMsg } from "./messages/handshake.js";
import type { SchedulerToWorker, WorkerToScheduler } from "./messages/worker.js";

/**
 * Bumped on any incompatible change to the messages below, so that a member from another version (a
 * tab holding an old page, a worker started from an old install) is refused at the handshake with
 * both versions named, not later by a message's schema. 2 (2026-12-07): data tickets expire
 * (renew-tickets, tickets-renewed, the scheduler's clock in the welcome), worker stories
 * (story-request, story-entries), one key-location shape with its tickets.
 */
export const PROTOCOL_VERSION = 2;

export type * from "./messages/client.js";
export type * from "./messages/common.js";
export type * from "./messages/data.js";
export type * from "./messages/handshake.js";
export type * from "./messages/worker.js";

// ---- both ways, any connection ----

/** Sent before a connection closes on purpose, so the other end knows it was not a crash. */
export interface Goodbye {
  op: "goodbye";
  reason: string;
}

export type Message =
  | HandshakeMsg
  | ClientToScheduler
  | SchedulerToClient
  | SchedulerToWorker
  | WorkerToScheduler
  | ToDataServer
  | FromDataServer
  | Goodbye;

/** A handler for every `op` of a union, so that forgetting one is a compile error. */
export type Handlers<M extends { op: string }, R = void> = { [K in M["op"]]: (msg: Extract<M, { op: K }>) => R };
