// Who may join a scheduler, and as what: the client, worker and tab tokens checked in constant
// time, refusals that name no other role, failed logins and joins counted per address, worker
// identities (name, data-server address) unique, and an untrusted worker's claims capped.

import { AddressWindow, DEFAULT_FAILED_LOGINS_PER_MINUTE, hostOf, LogThrottle } from "../comm/gate.js";
import type { Admission } from "../comm/handshake.js";
import type { Logger } from "../log.js";
import type { Hello, WorkerHello } from "../protocol/messages.js";
import { matches, portableSecretEquals } from "../util/secret.js";
import type { SchedulerOptions } from "./options.js";
import type { SchedulerState } from "./state.js";
import type { DataGrants } from "./grants.js";

/** Workers connected at once by default: far beyond any cluster run so far, far below what fills memory with records. */
export const DEFAULT_MAX_WORKERS = 10_000;
/**
 * Joins from one address per minute by default: a `meshwork worker` process of 64 threads
 * restarting a few times stays under it; 2,000 fake workers in 1.7 s (issue 20) do not.
 */
export const DEFAULT_JOINS_PER_ADDRESS_PER_MINUTE = 256;

export class Admissions {
  private readonly failedLogins: AddressWindow;
  private readonly joins: AddressWindow;
  private readonly log: LogThrottle;
  /**
   * Workers admitted whose welcome is on its way: whether each is trusted (admit() decides,
   * joined() hands it to the shell), and the name and address they hold meanwhile.
   */
  private readonly joining = new Map<string, { trusted: boolean; name: string; address: string }>();

  constructor(
    private readonly options: SchedulerOptions,
    private readonly state: SchedulerState,
    private readonly grants: DataGrants,
    private readonly nextId: (role: "client" | "worker") => number,
    /** Where refusals are logged: the scheduler's runtime's logger. */
    logger: Logger,
  ) {
    this.log = new LogThrottle(logger);
    this.failedLogins = new AddressWindow(options.maxFailedLoginsPerMinute ?? DEFAULT_FAILED_LOGINS_PER_MINUTE);
    this.joins = new AddressWindow(options.maxJoinsPerAddressPerMinute ?? DEFAULT_JOINS_PER_ADDRESS_PER_MINUTE);
  }

  /** Why a new connection from `peer` is closed before its hello (too many failed logins), or null. */
  lockedOut(peer: string): string | null {
    const host = hostOf(peer);
    if (!this.failedLogins.full(host)) return null;
    this.log.warn(
      `closing a connection from ${peer} before its hello: ${this.failedLogins.limit} failed logins from ${host} in the last minute`,
    );
    return "too many failed logins from this address: try again later";
  }

  /** The admitted worker `id`'s trust, once its welcome is sent (and its name and address are its own). */
  joined(id: string): { trusted: boolean } | undefined {
    const j = this.joining.get(id);
    this.joining.delete(id);
    return j;
  }

  /**
   * Who may connect. Refusals name no other role: a token that is right for another role gets the
   * same "wrong token" as a guess, so a stranger learns nothing about which tokens exist.
   */
  admit(hello: Hello, peer: string, connectedWorkers: number): Admission {
    const o = this.options;
    const clientToken = o.token;
    const workerToken = o.workerToken ?? clientToken;
    const compare = o.compareSecret ?? portableSecretEquals;
    const is = (expected: string | undefined) => matches(compare, hello.token, expected);
    const host = hostOf(peer);
    const fail = (role: string, hint: string): Admission => {
      const n = this.failedLogins.hit(host);
      this.log.warn(
        `failed login from ${peer} as ${role}: ${hello.token === undefined ? "no token" : "wrong token"} (${n} from ${host} in the last minute)`,
      );
      return { refuse: hello.token === undefined ? hint : "wrong token" };
    };
    if (hello.role === "client") {
      if (clientToken !== undefined && !is(clientToken))
        return fail("client", "this scheduler needs a token: Client.connect(address, { token })");
      const id = `client-${this.nextId("client")}`;
      return { id, dataToken: this.grants.credential(id) };
    }
    if (hello.role !== "worker") return { refuse: `role "${String(hello.role)}" cannot connect to a scheduler` };
    let trusted: boolean;
    if (is(workerToken)) trusted = true;
    else if (is(o.tabToken)) trusted = false;
    else if (workerToken === undefined && o.tabToken === undefined)
      trusted = true; // no tokens: an in-process cluster
    else
      return fail(
        "worker",
        "this scheduler needs a worker token (MESHWORK_WORKER_TOKEN=<worker token> meshwork worker <url>)",
      );
    if (o.untrustedWorkers) trusted = false;
    const w = hello.worker;
    if (!w || typeof w.address !== "string")
      return { refuse: "a worker must say where its data server listens (worker.address)" };
    const banned = trusted ? null : this.state.bannedWhy(w.name, w.address, host);
    if (banned) {
      this.log.warn(`refusing worker ${w.name} from ${peer}: ${banned}`);
      return { refuse: banned };
    }
    const taken = this.identityTaken(w.name, w.address);
    if (taken) return { refuse: taken };
    const maxWorkers = o.maxWorkers ?? DEFAULT_MAX_WORKERS;
    if (connectedWorkers + this.joining.size >= maxWorkers)
      return { refuse: `this scheduler takes at most ${maxWorkers} workers` };
    if (this.joins.full(host)) {
      this.log.warn(
        `refusing worker ${w.name} from ${peer}: ${this.joins.limit} workers joined from ${host} in the last minute`,
      );
      return { refuse: `too many workers joined from ${host} in the last minute (limit ${this.joins.limit})` };
    }
    this.joins.hit(host);
    const id = `worker-${this.nextId("worker")}`;
    this.joining.set(id, { trusted, name: w.name, address: w.address });
    const dataSecret = this.grants.secret(w.address);
    const clock = dataSecret === undefined ? undefined : this.grants.clock();
    return { id, dataToken: this.grants.credential(id), dataSecret, clock, rtc: o.webrtc };
  }

  /** Why a joining worker's name or data-server address cannot be its own: another worker has it, or is joining with it (or null). */
  private identityTaken(name: string, address: string): string | null {
    if (this.state.workerAt(address)) return `a worker already serves data at ${address}`;
    for (const j of this.joining.values()) {
      if (j.address === address) return `a worker already serves data at ${address}`;
      if (j.name === name) return `a worker named "${name}" is already connected`;
    }
    for (const ws of this.state.workers.values())
      if (ws.name === name) return `a worker named "${name}" is already connected`;
    return null;
  }
}

/**
 * An untrusted worker (a tab, or any worker with untrustedWorkers) claims what it likes; the
 * scheduler believes at most this much of it. A claim of 1e9 threads took 5 of 6 tasks (issue 20).
 */
export const UNTRUSTED_MAX_THREADS = 8;
/** Memory an untrusted worker may claim, in bytes: 4 GiB, a browser tab's practical ceiling. */
export const UNTRUSTED_MAX_MEMORY_BYTES = 4 * 1024 ** 3;

/** An untrusted worker's claims, capped: threads and memory bounded, resources (GPUs …) ignored; `log` hears what was cut. */
export function capUntrusted(w: WorkerHello, log: Logger): WorkerHello {
  const nthreads = Math.max(1, Math.min(UNTRUSTED_MAX_THREADS, Math.floor(w.nthreads) || 1));
  const memoryLimit =
    w.memoryLimit > 0 ? Math.min(w.memoryLimit, UNTRUSTED_MAX_MEMORY_BYTES) : UNTRUSTED_MAX_MEMORY_BYTES;
  if (nthreads !== w.nthreads || memoryLimit !== w.memoryLimit || Object.keys(w.resources).length > 0) {
    log.info(
      `untrusted worker ${w.name}: counted as ${nthreads} thread(s), ${memoryLimit} bytes, no resources (it claimed ${w.nthreads}, ${w.memoryLimit}, ${JSON.stringify(w.resources)})`,
    );
  }
  return { ...w, nthreads, memoryLimit, resources: {} };
}
