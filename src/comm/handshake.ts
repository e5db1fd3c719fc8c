// The first exchange on every connection, above any transport: the connecting side says hello
// (protocol version, role, token), the listening side welcomes or refuses with a reason.

import { HandshakeError, ProtocolError } from "../errors.js";
import { PROTOCOL_VERSION, type Hello, type RtcConfig, type Welcome } from "../protocol/messages.js";
import { validate } from "../protocol/validate.js";
import type { Comm } from "./comm.js";
import { LogThrottle } from "./gate.js";
import type { Logger } from "../log.js";

/**
 * Peers that never say hello can come by the thousand: their warnings are thinned out, per logger
 * (a connection's logger is its member's, so each member's are thinned on their own).
 */
const silent = new WeakMap<Logger, LogThrottle>();

function silentFor(logger: Logger): LogThrottle {
  let t = silent.get(logger);
  if (!t) silent.set(logger, (t = new LogThrottle(logger)));
  return t;
}

/** How long either side waits for the other's first message. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Frame codecs this implementation decodes (packet-reader.ts + compression.ts). */
export const CODECS = ["deflate"];

/** Connecting side: says hello and waits for the welcome. Throws HandshakeError if refused. */
export async function greet(
  comm: Comm,
  hello: Omit<Hello, "op" | "version">,
  timeoutMs = HANDSHAKE_TIMEOUT_MS,
): Promise<Welcome> {
  comm.send({ op: "hello", version: PROTOCOL_VERSION, codecs: CODECS, ...hello });
  let reply: Awaited<ReturnType<Comm["next"]>>;
  try {
    reply = await comm.next(timeoutMs);
  } catch (err) {
    comm.close("handshake failed");
    throw new HandshakeError(`no welcome from ${comm.peerAddress}: ${(err as Error).message}`, { cause: err });
  }
  try {
    validate(reply);
  } catch (err) {
    comm.protocolError(err);
    throw new HandshakeError(`${comm.peerAddress} answered the hello with a malformed message`, { cause: err });
  }
  if (reply.op === "welcome") {
    comm.peerCodecs(Array.isArray(reply.codecs) ? reply.codecs : []);
    return reply;
  }
  const reason = reply.op === "refused" ? reply.reason : `expected "welcome", got "${reply.op}"`;
  comm.close("handshake failed");
  throw new HandshakeError(`${comm.peerAddress} refused the connection: ${reason}`);
}

/** The outcome a listener decides for a hello: an id (and data token) to welcome with, or a reason to refuse. */
export type Admission =
  | {
      id: string;
      dataToken?: string | undefined;
      dataSecret?: string | undefined;
      clock?: number | undefined;
      rtc?: RtcConfig | undefined;
      name?: string | undefined;
      dashboard?: string | undefined;
    }
  | { refuse: string };

/**
 * Listening side: waits for hello, checks the version, asks `admit`, and welcomes or refuses.
 * Returns the hello, or null if the connection was refused and closed.
 */
export async function welcome(
  comm: Comm,
  admit: (hello: Hello) => Admission,
  timeoutMs = HANDSHAKE_TIMEOUT_MS,
): Promise<{ hello: Hello; id: string } | null> {
  let msg: Awaited<ReturnType<Comm["next"]>>;
  try {
    msg = await comm.next(timeoutMs);
  } catch {
    // A timeout or a closed connection: either way no hello came.
    silentFor(comm.log).warn(`closing a connection from ${comm.peerAddress}: no hello within ${timeoutMs} ms`);
    comm.close(`no hello within ${timeoutMs} ms`);
    return null;
  }
  const refuse = (reason: string) => {
    comm.send({ op: "refused", version: PROTOCOL_VERSION, reason });
    comm.close(reason);
    return null;
  };
  if (msg.op !== "hello") {
    comm.protocolError(new ProtocolError(`expected "hello" first, got "${msg.op}"`));
    return null;
  }
  // The version first: a newer peer's hello may not match this version's schema, and it should
  // hear "version mismatch", not "malformed".
  if (msg.version !== PROTOCOL_VERSION) {
    return refuse(
      `protocol version mismatch: this end speaks version ${PROTOCOL_VERSION}, the other end ${String(msg.version)}`,
    );
  }
  try {
    validate(msg);
  } catch (err) {
    comm.protocolError(err);
    return null;
  }
  const decision = admit(msg);
  if ("refuse" in decision) return refuse(decision.refuse);
  comm.authenticated(); // the link lifts its pre-hello limits (packet size, compression)
  comm.peerCodecs(Array.isArray(msg.codecs) ? msg.codecs : []);
  const reply: Welcome = { op: "welcome", version: PROTOCOL_VERSION, id: decision.id, codecs: CODECS };
  if (decision.dataToken !== undefined) reply.dataToken = decision.dataToken;
  if (decision.dataSecret !== undefined) reply.dataSecret = decision.dataSecret;
  if (decision.clock !== undefined) reply.clock = decision.clock;
  if (decision.rtc !== undefined) reply.rtc = decision.rtc;
  if (decision.name !== undefined) reply.name = decision.name;
  if (decision.dashboard !== undefined) reply.dashboard = decision.dashboard;
  comm.send(reply);
  return { hello: msg, id: decision.id };
}
