// What a client hears about work it waits for that is not going as planned: tasks no worker may
// run, work lost with a worker and computed again. Listeners get every notice; the log gets one
// warning per kind and reason per turn, however many tasks it concerns (a map of 10,000).

import type { Logger } from "../log.js";
import { defaultRuntime } from "../runtime.js";

/** The client's events and what each carries. */
export interface ClientEventMap {
  /** No connected worker may run a task this client waits for (`key`, or a task it needs); it stays pending. */
  "no-worker": { key: string; reason: string };
  /** Work this client waits for (`key`, or a task it needs) was lost with its worker and is being computed again. */
  recomputing: { key: string; reason: string };
}

export type ClientEventType = keyof ClientEventMap;

/** Keys named in one warning before "and N more". */
const KEYS_SHOWN = 3;

export class ClientEvents {
  private readonly listeners = new Map<ClientEventType, Set<(e: never) => void>>();
  /** Notices of this turn, by kind and reason, for the log. */
  private batch: Map<string, { type: ClientEventType; reason: string; keys: string[] }> | null = null;

  constructor(
    private readonly clientId: string,
    /** The client's runtime's logger. */
    private readonly log: Logger = defaultRuntime().logger,
  ) {}

  on<T extends ClientEventType>(type: T, listener: (e: ClientEventMap[T]) => void): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener as (e: never) => void);
    return () => void set.delete(listener as (e: never) => void);
  }

  emit<T extends ClientEventType>(type: T, event: ClientEventMap[T]): void {
    for (const l of this.listeners.get(type) ?? []) {
      try {
        (l as (e: ClientEventMap[T]) => void)(event);
      } catch (err) {
        this.log.error(`a client "${type}" listener threw`, err);
      }
    }
    if (!this.batch) {
      this.batch = new Map();
      queueMicrotask(() => this.flush());
    }
    const id = `${type}\0${event.reason}`;
    let b = this.batch.get(id);
    if (!b) this.batch.set(id, (b = { type, reason: event.reason, keys: [] }));
    b.keys.push(event.key);
  }

  private flush(): void {
    const batch = this.batch;
    this.batch = null;
    for (const { type, reason, keys } of batch?.values() ?? []) {
      const shown =
        keys.slice(0, KEYS_SHOWN).join(", ") +
        (keys.length > KEYS_SHOWN ? ` and ${keys.length - KEYS_SHOWN} more` : "");
      const what = keys.length === 1 ? "a task" : `${keys.length} tasks`;
      if (type === "no-worker") {
        this.log.warn(
          `client ${this.clientId}: ${what} it waits for cannot run yet (${shown}): ${reason}. They stay pending until such a worker joins; set noWorkerTimeout to fail instead.`,
        );
      } else {
        this.log.warn(
          `client ${this.clientId}: ${what} it waits for ${keys.length === 1 ? "was" : "were"} lost and ${keys.length === 1 ? "is" : "are"} being computed again (${shown}): ${reason}`,
        );
      }
    }
  }
}
