// Per-member data credentials (issue 20, Build 2). No cluster-wide data secret: each admitted
// client and worker gets its own random credential (the relay asks callers for it), and each
// worker its own data secret, which only it and the scheduler know. Whenever the scheduler tells a
// reader where key k lives (a task's dependencies, a replica to copy, a client's result, a
// scatter's targets), it gives the reader one ticket per holder: an HMAC by that holder's secret
// over (use, reader's name, k) (util/tickets.ts). A data server serves k, or stores a scattered k,
// only with the ticket for the name its connection's hello gave: a worker that holds the tab link
// reads only the keys it was told to fetch, and stores nothing anywhere. Tickets expire
// (`ticketTtlMs`): a reader whose ticket has expired asks again (a worker with renew-tickets, for
// keys it was told to fetch; a client with locate), so a ticket copied or kept does not open a key
// for good, nor a later value under the same key.

import { CHALLENGER, opener, TicketKey, type TicketUse } from "../util/tickets.js";
import type { Comm } from "../comm/comm.js";
import { greet } from "../comm/handshake.js";
import { connect } from "../comm/registry.js";
import type { TransportOptions } from "../comm/types.js";
import { randomId } from "../util/ids.js";
import { ArgumentError } from "../errors.js";
import type { Logger } from "../log.js";
import { defaultRuntime } from "../runtime.js";
import { holders, type TaskState, type WorkerRecord } from "./model.js";
import type { DepLocation, ScatterPlacement } from "../protocol/messages.js";

/** What granting reads of the scheduler's state (SchedulerState has it). */
interface Holdings {
  readonly tasks: ReadonlyMap<string, TaskState>;
  readonly workers: ReadonlyMap<string, WorkerRecord>;
}

/** The name a client's data connections give in their hello (client/client.ts names its PeerPool so). */
export function clientReader(clientId: string): string {
  return `client-${clientId}`;
}

/**
 * How long a ticket stays valid: 5 minutes. Readers normally use a ticket within milliseconds; a
 * task waiting in a long queue, or a client gathering a result much later, asks for a fresh one.
 * Long enough that renewals are rare, short enough that a ticket kept or leaked is soon worthless.
 */
export const DEFAULT_TICKET_TTL_MS = 300_000;

export class DataGrants {
  /** Where challenges log: the scheduler's runtime's logger (set by the Scheduler). */
  log: Logger = defaultRuntime().logger;
  /** Each worker's ticket key, by data-server address. */
  private readonly keys = new Map<string, TicketKey>();
  /** Each admitted member's credential (for the relay), and whose it is. */
  private readonly credentials = new Map<string, string>();
  private readonly byMember = new Map<string, string>();

  /**
   * Off on a scheduler that requires no tokens (an in-process cluster): no secrets, no tickets.
   * Tickets expire `ttlMs` after they are made, on this scheduler's clock (`clock()`, milliseconds;
   * each worker learns it in its welcome, so its data server can tell).
   */
  constructor(
    readonly enabled: boolean,
    readonly ttlMs = DEFAULT_TICKET_TTL_MS,
    readonly clock: () => number = () => performance.now(),
  ) {}

  /** A new member's own credential (undefined when grants are off). */
  credential(member: string): string | undefined {
    if (!this.enabled) return undefined;
    const c = randomId(16);
    this.credentials.set(c, member);
    this.byMember.set(member, c);
    return c;
  }

  /** A new worker's data secret, for its data server at `address` (undefined when grants are off). */
  secret(address: string): string | undefined {
    if (!this.enabled) return undefined;
    const s = randomId(16);
    this.keys.set(address, new TicketKey(s));
    return s;
  }

  /** Whether `given` is the credential of a member still connected (the relay's check on callers). */
  isCredential(given: string | undefined): boolean {
    return given !== undefined && this.credentials.has(given);
  }

  /** A member left (or its welcome failed): its credential, and a worker's secret, are void. */
  forget(member: string, address?: string): void {
    const c = this.byMember.get(member);
    if (c !== undefined) this.credentials.delete(c);
    this.byMember.delete(member);
    if (address !== undefined) this.keys.delete(address);
  }

  /** Tickets for `reader` to `use` `key` at each of `holders` (in order), or undefined when grants are off. */
  tickets(use: TicketUse, holders: string[], reader: string, key: string): string[] | undefined {
    if (!this.enabled) return undefined;
    const expires = this.clock() + this.ttlMs;
    const out: string[] = [];
    for (const address of holders) out.push(this.keys.get(address)?.ticket(use, reader, key, expires) ?? "");
    return out;
  }
}

/** Record<key, { who, tickets }>: who holds each key, with `clientId`'s tickets to fetch it there. */
export function locate(
  s: Holdings,
  grants: DataGrants,
  clientId: string,
  keys: string[],
): Record<string, { who: string[]; tickets?: string[] | undefined; digest?: string | undefined }> {
  const out: Record<string, { who: string[]; tickets?: string[] | undefined; digest?: string | undefined }> = {};
  const reader = clientReader(clientId);
  for (const key of keys) {
    const ts = s.tasks.get(key);
    const who = ts ? holders(ts) : [];
    out[key] = { who, tickets: grants.tickets("get", who, reader, key) };
    if (ts?.digest) out[key]!.digest = ts.digest;
  }
  return out;
}

/**
 * Fresh tickets for a worker whose tickets to fetch `keys` expired (renew-tickets): only for keys
 * the scheduler told it to compute or fetch and that are in memory; any other key gets no holder
 * (the worker gives up on it as on a key nobody has; worker-events.ts records the claim as ignored).
 */
export function renewTickets(
  s: Holdings,
  grants: DataGrants | undefined,
  ws: WorkerRecord,
  keys: string[],
): DepLocation[] {
  const out: DepLocation[] = [];
  for (const key of keys) {
    const ts = s.tasks.get(key);
    if (ts?.state !== "memory" || !ws.told.has(key)) {
      out.push({ key, who: [], nbytes: 0 });
      continue;
    }
    const who = holders(ts);
    const loc: DepLocation = { key, who, nbytes: ts.nbytes, tickets: grants?.tickets("get", who, ws.name, key) };
    if (ts.digest !== null) loc.digest = ts.digest;
    out.push(loc);
  }
  return out;
}

/**
 * Places scattered keys: each on one worker in turn (among `workers`, ids, names or addresses,
 * when given) or, with `broadcast`, on all of them; private data on trusted workers only. Each placement is remembered in `granted`
 * ("key\naddress") until the client's update-data reports it.
 */
export function placeScatter(
  s: Holdings,
  grants: DataGrants,
  clientId: string,
  keys: string[],
  workers: string[] | undefined,
  broadcast: boolean,
  granted: Set<string>,
  turn: number,
  isPrivate = false,
): ScatterPlacement {
  let targets = [...s.workers.values()].filter((ws) => ws.status === "running");
  if (isPrivate) targets = targets.filter((ws) => ws.trusted);
  if (workers) targets = targets.filter((ws) => workers.some((x) => x === ws.id || x === ws.name || x === ws.address));
  if (targets.length === 0)
    throw new ArgumentError(
      "no workers to scatter to" +
        (isPrivate ? " (private data goes to trusted workers only)" : "") +
        (workers ? ` among ${workers.join(", ")}` : ""),
    );
  const reader = clientReader(clientId);
  const out: ScatterPlacement = {};
  keys.forEach((key, i) => {
    const chosen = broadcast ? targets : [targets[(turn + i) % targets.length]!];
    out[key] = chosen.map((ws) => {
      granted.add(`${key}\n${ws.address}`);
      return {
        address: ws.address,
        ticket: grants.tickets("put", [ws.address], reader, key)?.[0],
        read: grants.tickets("get", [ws.address], reader, key)?.[0],
      };
    });
  });
  return out;
}

/** The update-data entries the scheduler placed (placeScatter); the others are logged (to `log`) and ignored. */
export function grantedScatter<E extends { key: string; worker: string }>(
  clientId: string,
  entries: E[],
  granted: Set<string> | undefined,
  log: Logger,
): E[] {
  const ok: E[] = [];
  let ignored = 0;
  for (const e of entries) {
    if (granted?.delete(`${e.key}\n${e.worker}`)) ok.push(e);
    else ignored++;
  }
  if (ignored > 0)
    log.warn(
      `${clientId} reported ${ignored} scattered value(s) at workers the scheduler did not place them on: ignored`,
    );
  return ok;
}

/** How long a worker's data server has to answer the scheduler's challenge. */
export const CHALLENGE_TIMEOUT_MS = 5_000;

/**
 * Whether the data server at `address` holds the data secret the scheduler gave the worker that
 * claimed it: the scheduler opens a connection there with a ticket made with that secret, and
 * only a server that knows the secret welcomes it (any other refuses "wrong ticket", or nothing
 * answers). The relay reaches a worker's address only once it has answered (Build 5 of issue 20).
 */
export async function challenge(
  grants: DataGrants,
  address: string,
  transport: TransportOptions | undefined,
): Promise<boolean> {
  const key = `challenge-${randomId(8)}`;
  const ticket = grants.tickets("get", [address], CHALLENGER, key)?.[0];
  if (!ticket) return false;
  let comm: Comm | undefined;
  try {
    comm = await connect(address, { ...transport, timeoutMs: CHALLENGE_TIMEOUT_MS });
    await greet(comm, { role: "peer", token: opener("get", ticket, key), name: CHALLENGER }, CHALLENGE_TIMEOUT_MS);
    return true;
  } catch (err) {
    grants.log.warn(
      `the data server at ${address} did not answer the scheduler's challenge (${(err as Error).message}): the relay will not reach it`,
    );
    return false;
  } finally {
    comm?.close("challenge answered");
  }
}
