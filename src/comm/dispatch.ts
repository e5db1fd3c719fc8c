// Message dispatch through a table keyed by `op`: typed so that a missing handler does not compile,
// and checked at run time so that an op the table lacks fails that connection, not the process.

import { ProtocolError } from "../errors.js";
import type { Handlers, Message } from "../protocol/messages.js";

/** Calls the handler for `msg.op`; throws ProtocolError (closing the connection) for any other op. */
export function dispatch<M extends { op: string }>(handlers: Handlers<M>, msg: Message): void {
  const table = handlers as unknown as Record<string, (m: Message) => void>;
  // hasOwn: an op named "constructor" or "toString" must not find Object.prototype's members.
  if (!Object.hasOwn(table, msg.op)) throw new ProtocolError(`"${msg.op}" is not a message this connection may send`);
  table[msg.op]!(msg);
}
