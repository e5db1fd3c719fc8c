// Message dispatch through a table keyed by `op`: typed so that a missing handler does not compile,
// and checked at run time so that an op the table lacks fails that connection, not the process.

import { ProtocolError } from "../errors.js";
import type { Handlers, Message } from "../protocol/messages.js";
import { validate } from "../protocol/validate.js";

/**
 * Calls the handler for `msg.op` after checking the message against its schema; throws
 * ProtocolError (closing the connection) for any other op or a malformed message.
 */
export function dispatch<M extends { op: string }>(handlers: Handlers<M>, msg: Message): void {
  const table = handlers as unknown as Record<string, (m: Message) => void>;
  // hasOwn: an op named "constructor" or "toString" must not find Object.prototype's members.
  if (!Object.hasOwn(table, msg.op)) throw new ProtocolError(`"${msg.op}" is not a message this connection may send`);
  validate(msg);
  table[msg.op]!(msg);
}
