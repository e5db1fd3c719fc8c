// A client's workerStory(key): the scheduler asks every connected worker what it recorded of the
// key (story-request), gathers the answers (story-entries) with the worker's name, and replies
// once all have answered or WORKER_STORY_TIMEOUT_MS has passed. Bounded: requests per client at
// once, entries per worker (protocol/validate.ts) and entries in one reply.

import { BackpressureError } from "../errors.js";
import { unrefTimer } from "../util/timers.js";
import type { StoryEntries, WorkerStoryEntry } from "../protocol/messages.js";

/** A worker that has not answered in this long is left out of the reply (a busy tab, a stalled thread). */
export const WORKER_STORY_TIMEOUT_MS = 5_000;

/** Entries in one reply, at most (the most recent of each worker's): 1,000 from each of ten workers. */
export const MAX_WORKER_STORY_ENTRIES = 10_000;

/** workerStory requests one client may have waiting at once. */
export const MAX_WORKER_STORIES_PER_CLIENT = 4;

interface Gathering {
  readonly key: string;
  readonly client: string;
  /** Workers asked that have not answered, by id, with their names. */
  readonly waiting: Map<string, string>;
  readonly entries: WorkerStoryEntry[];
  readonly resolve: (entries: WorkerStoryEntry[]) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export class WorkerStories {
  private nextId = 0;
  private readonly gatherings = new Map<number, Gathering>();
  private readonly perClient = new Map<string, number>();

  /**
   * Asks each of `workers` (id → name) for its story of `key` through `send`, and resolves with
   * every answer that came in time, each worker's entries oldest first, workers in the order asked.
   */
  ask(
    client: string,
    key: string,
    workers: ReadonlyMap<string, string>,
    send: (worker: string, id: number, key: string) => void,
  ): Promise<WorkerStoryEntry[]> {
    const open = this.perClient.get(client) ?? 0;
    if (open >= MAX_WORKER_STORIES_PER_CLIENT)
      return Promise.reject(
        new BackpressureError(
          `a client may wait for ${MAX_WORKER_STORIES_PER_CLIENT} worker stories at once; await one first`,
        ),
      );
    if (workers.size === 0) return Promise.resolve([]);
    const id = ++this.nextId;
    this.perClient.set(client, open + 1);
    return new Promise((resolve) => {
      // The client waiting keeps its process alive, not the scheduler.
      const timer = unrefTimer(setTimeout(() => this.finish(id), WORKER_STORY_TIMEOUT_MS));
      this.gatherings.set(id, { key, client, waiting: new Map(workers), entries: [], resolve, timer });
      for (const worker of workers.keys()) send(worker, id, key);
    });
  }

  /** `worker` answered request `m.id`; an answer to nothing asked of it is ignored. */
  answered(worker: string, m: StoryEntries): void {
    const g = this.gatherings.get(m.id);
    const name = g?.waiting.get(worker);
    if (!g || name === undefined) return;
    g.waiting.delete(worker);
    const room = MAX_WORKER_STORY_ENTRIES - g.entries.length;
    const entries = room <= 0 ? [] : m.entries.slice(-room);
    for (const e of entries) {
      const entry: WorkerStoryEntry = {
        key: g.key,
        start: e.start,
        finish: e.finish,
        stimulus: e.stimulus,
        time: e.time,
        worker: name,
      };
      if (e.note != null) entry.note = e.note;
      g.entries.push(entry);
    }
    if (g.waiting.size === 0) this.finish(m.id);
  }

  /** `worker` left: nothing more to wait for from it. */
  left(worker: string): void {
    for (const [id, g] of this.gatherings) if (g.waiting.delete(worker) && g.waiting.size === 0) this.finish(id);
  }

  /** Answers every request waiting (with what came so far): the scheduler is closing. */
  close(): void {
    for (const id of [...this.gatherings.keys()]) this.finish(id);
  }

  private finish(id: number): void {
    const g = this.gatherings.get(id);
    if (!g) return;
    this.gatherings.delete(id);
    clearTimeout(g.timer);
    const open = (this.perClient.get(g.client) ?? 1) - 1;
    if (open > 0) this.perClient.set(g.client, open);
    else this.perClient.delete(g.client);
    g.resolve(g.entries);
  }
}
