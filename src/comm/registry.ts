// Transports by address scheme. connect("ws://…") and listen("inproc://…") pick the transport from
// the scheme; an unknown scheme fails, listing the known ones. Each Runtime (src/runtime.ts) has a
// Transports of its own; the functions below use the one in TransportOptions.transports, else the
// realm's registry (what registerTransport fills, for code that names no runtime).

import { UnknownSchemeError } from "../errors.js";
import { Comm } from "./comm.js";
import type { Transport, TransportListener, TransportOptions } from "./types.js";

/** A set of transports, one per scheme. */
export class Transports {
  private readonly byScheme = new Map<string, Transport>();

  constructor(transports: Iterable<Transport> = []) {
    for (const t of transports) this.register(t);
  }

  /** Makes `transport` handle addresses of its scheme (replacing any earlier one for that scheme). */
  register(transport: Transport): void {
    this.byScheme.set(transport.scheme, transport);
  }

  /** Every transport, one per scheme. */
  all(): Transport[] {
    return [...this.byScheme.values()];
  }

  /** The schemes that can be connected to, e.g. ["inproc", "ws"]. */
  schemes(): string[] {
    return [...this.byScheme.keys()];
  }

  /** The transport for `address`'s scheme; UnknownSchemeError if there is none. */
  for(address: string): Transport {
    const t = this.byScheme.get(schemeOf(address));
    if (!t) throw new UnknownSchemeError(address, this.schemes());
    return t;
  }
}

/** The realm's registry: what entry points register, and what links use when their options name no transports. */
export const realmTransports = new Transports();

/**
 * Makes `transport` handle addresses of its scheme in the realm's registry (the default runtime's:
 * members given a `runtime` use its transports). Kept for compatibility; see createRuntime.
 */
export function registerTransport(transport: Transport): void {
  realmTransports.register(transport);
}

/** The schemes the realm's registry can connect to, e.g. ["inproc", "ws"]. */
export function knownSchemes(): string[] {
  return realmTransports.schemes();
}

export function schemeOf(address: string): string {
  const i = address.indexOf("://");
  return i > 0 ? address.slice(0, i) : "";
}

/** Opens a connection to `address` (with options.transports, else the realm's). */
export async function connect(address: string, options: TransportOptions = {}): Promise<Comm> {
  const channel = await (options.transports ?? realmTransports).for(address).connect(address, options);
  return new Comm(channel, undefined, options.logger);
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
  const listener: TransportListener = await (options.transports ?? realmTransports)
    .for(address)
    .listen(address, (channel) => onComm(new Comm(channel, undefined, options.logger)), options);
  return listener;
}
