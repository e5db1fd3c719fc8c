// Where a scheduler keeps its ban list beyond its own lifetime (issue 20). Workers banned for lying
// are banned by name, data-server address and (untrusted ones) host (verify.ts); without a store
// the list lives in memory and a restarted scheduler forgets it. A store is a platform piece:
// node/ban-file.ts keeps it in a JSON file (`meshwork scheduler --ban-file FILE`).

import { ArgumentError } from "../errors.js";

/** The banned names, data-server addresses and hosts, as a store keeps them. */
export interface BanList {
  names: string[];
  addresses: string[];
  hosts: string[];
}

/**
 * Keeps a scheduler's ban list: loaded once when the scheduler starts, saved whole after each
 * ban. `describe` names it in messages (a file's path).
 */
export interface BanStore {
  readonly describe: string;
  load(): BanList | Promise<BanList>;
  save(list: BanList): void | Promise<void>;
}

/** At most this many entries per list: a file that grew past it is refused at start, not half read. */
export const MAX_BANS_PER_LIST = 100_000;

/** A ban list read from anywhere (a file's JSON), checked: named errors say what is wrong, and where. */
export function checkBanList(value: unknown, where: string): BanList {
  if (!value || typeof value !== "object" || Array.isArray(value))
    throw new ArgumentError(`${where}: a ban list is an object { names, addresses, hosts }`);
  const out: BanList = { names: [], addresses: [], hosts: [] };
  for (const field of ["names", "addresses", "hosts"] as const) {
    const list = (value as Record<string, unknown>)[field] ?? [];
    if (!Array.isArray(list) || list.some((x) => typeof x !== "string" || x.length === 0 || x.length > 1024))
      throw new ArgumentError(
        `${where}: "${field}" must be a list of non-empty strings (at most 1,024 characters each)`,
      );
    if (list.length > MAX_BANS_PER_LIST)
      throw new ArgumentError(`${where}: "${field}" has ${list.length} entries, more than ${MAX_BANS_PER_LIST}`);
    out[field] = list as string[];
  }
  return out;
}

/** The scheduler's ban sets (SchedulerState.banned). */
export interface BanSets {
  names: Set<string>;
  addresses: Set<string>;
  hosts: Set<string>;
}

/** Loads a store into the scheduler's ban sets, and saves them to it after each ban, one save at a time. */
export class BanKeeper {
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly banned: BanSets,
    private readonly store: BanStore | undefined,
    private readonly onError: (message: string) => void,
  ) {}

  /** Adds the store's list to the ban sets; returns how many entries it had. A store that cannot be read fails the start. */
  async load(): Promise<number> {
    if (!this.store) return 0;
    const list = checkBanList(await this.store.load(), this.store.describe);
    for (const n of list.names) this.banned.names.add(n);
    for (const a of list.addresses) this.banned.addresses.add(a);
    for (const h of list.hosts) this.banned.hosts.add(h);
    return list.names.length + list.addresses.length + list.hosts.length;
  }

  /** Saves the ban sets as they are now, after any save still under way (a failed save is reported, not thrown). */
  save(): void {
    const store = this.store;
    if (!store) return;
    const list: BanList = {
      names: [...this.banned.names],
      addresses: [...this.banned.addresses],
      hosts: [...this.banned.hosts],
    };
    this.saving = this.saving
      .then(() => store.save(list))
      .catch((err: Error) =>
        this.onError(`could not save the ban list to ${store.describe}: ${err.message} (the bans hold until restart)`),
      );
  }

  /** Resolves once every save asked for has finished. */
  settled(): Promise<void> {
    return this.saving;
  }
}
