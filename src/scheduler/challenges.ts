// The scheduler's challenges at its workers' data servers (grants.ts `challenge`): whom the relay
// may let callers reach. A worker's claimed address (ws, wss, inproc, or a tab's relay:// slot) is
// reachable once its data server there has answered with the worker's secret; a relay slot whose
// listener left vouches for nobody who listens there next.

import type { TransportOptions } from "../comm/types.js";
import { challenge, type DataGrants } from "./grants.js";

export class Challenges {
  /** Workers' addresses, each with whether its data server answered the challenge there. */
  private readonly answers = new Map<string, Promise<boolean>>();
  /** The credential the scheduler's own challenges present at the relay (made at the first relay:// address). */
  private credential: string | undefined;

  constructor(
    private readonly grants: DataGrants,
    private readonly transport: TransportOptions | undefined,
  ) {}

  /** A worker joined claiming a data server at `address`: challenge it there (with tokens required). */
  joined(address: string): void {
    if (this.grants.enabled && /^(wss?|inproc|relays?):\/\//.test(address))
      this.answers.set(address, challenge(this.grants, address, this.transportFor(address)));
  }

  /** The worker at `address` left. */
  left(address: string): void {
    this.answers.delete(address);
  }

  /** Whether the data server at `address` answered (resolves once it has, or failed to); undefined if never challenged. */
  answered(address: string): Promise<boolean> | undefined {
    return this.answers.get(address);
  }

  /**
   * Whether a caller presenting `given` may reach the relay's listener at `slot`: a connected
   * worker whose relay:// address has that slot answered the scheduler's challenge there (resolves
   * once it has answered, or failed to); the challenge itself always may. True without tokens.
   */
  reachableSlot(slot: string, given: string | undefined): boolean | Promise<boolean> {
    if (!this.grants.enabled || (given !== undefined && given === this.credential)) return true;
    const answers: Promise<boolean>[] = [];
    for (const [address, answered] of this.answers) if (relaySlot(address) === slot) answers.push(answered);
    return answers.length === 0 ? false : Promise.all(answers).then((oks) => oks.includes(true));
  }

  /**
   * The relay's listener at `slot` left: a challenge it answered vouches for nobody who listens
   * there next, so callers are refused that slot from now on (its worker can no longer serve there).
   */
  relaySlotClosed(slot: string): void {
    for (const address of [...this.answers.keys()])
      if (relaySlot(address) === slot) this.answers.set(address, Promise.resolve(false));
  }

  /** The transport options the challenge at `address` connects with: through the relay, with the scheduler's own credential. */
  private transportFor(address: string): TransportOptions | undefined {
    if (!/^relays?:/.test(address)) return this.transport;
    this.credential ??= this.grants.credential("scheduler-challenge");
    return { ...this.transport, relayToken: this.credential };
  }
}

/** The slot of a relay:// or relays:// address (relay://host:port/<slot>), or undefined for any other. */
function relaySlot(address: string): string | undefined {
  return /^relays?:\/\/[^/]+\/([\w-]+)$/.exec(address)?.[1];
}
