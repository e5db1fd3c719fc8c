// Transports registered by address scheme. connect("ws://…") and listen("inproc://…") pick the
// transport from the scheme; an unknown scheme fails, listing the known ones.

import { UnknownSchemeError } from "../errors.js";
import { Comm } from "./comm.js";
import type { Transport, TransportListener, TransportOptions } from "./types.js";

const transports = new Map<string, Transport>();

/** Makes `transport` handle addresses of its scheme (replacing any earlier one for that scheme). */
export function registerTransport(transport: Transport): void {
  transports.set(transport.scheme, transport);
}

/** The schemes that can be connected to, e.g. ["inproc", "ws"]. */
export function knownSchemes(): string[] {
  return [...transports.keys()];
}

export function schemeOf(address: string): string {
  const i = address.indexOf("://");
  return i > 0 ? address.slice(0, i) : "";
}

function transportFor(address: string): Transport {
  const t = transports.get(schemeOf(address));
  if (!t) throw new UnknownSchemeError(address, knownSchemes());
  return t;
}

/** Opens a connection to `address`. */
export async function connect(address: string, options: TransportOptions = {}): Promise<Comm> {
  const channel = await transportFor(address).connect(address, options);
  return new Comm(channel);
}

export interface Listener {
  readonly address: string;
  close(): Promise<void>;
}

/** Listens at `address` (a transport may choose a free name or port); `onComm` gets each new connection. */
export async function listen(
  address: string,
  onComm: (comm: Comm) => void,
  options: TransportOptions = {},
): Promise<Listener> {
  const listener: TransportListener = await transportFor(address).listen(
    address,
    (channel) => onComm(new Comm(channel)),
    options,
  );
  return listener;
}
