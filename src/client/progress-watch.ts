// A progress watch on the scheduler, seen from the client: opened with the keys to follow (the
// scheduler counts them and everything they need), read by polling, ended when the computation
// settles. Never rejects: a closed client leaves the last counts standing.

import type { CountSource } from "../graph/computation.js";
import type { ProgressCounts, RequestWhat } from "../protocol/messages.js";
import { ClientClosedError } from "../errors.js";
import type { Logger } from "../log.js";

type Ask = <T>(what: RequestWhat) => Promise<T>;

const NONE: ProgressCounts = { total: 0, done: 0, erred: 0, processing: 0 };

export class SchedulerWatch implements CountSource {
  private last: ProgressCounts = NONE;
  private ended = false;
  private ending: Promise<void> | null = null;
  private readonly id: Promise<number | null>;
  /** The watch's id once the scheduler has answered. */
  private openId: number | undefined;

  /** Sends the watch now: in the same packet as the graph it follows, when called in its turn. */
  constructor(
    private readonly ask: Ask,
    keys: readonly string[],
    /** Where a watch that stopped early is reported: the client's runtime's logger. */
    private readonly log: Logger,
  ) {
    this.id = ask<ProgressCounts & { watch: number }>({ kind: "progress-watch", keys: [...keys] }).then(
      ({ watch, ...counts }) => {
        this.last = counts;
        this.openId = watch;
        return watch;
      },
      (err: unknown) => {
        this.stop(err);
        return null;
      },
    );
  }

  async read(): Promise<ProgressCounts> {
    const id = await this.id;
    if (this.ending) await this.ending;
    if (id === null || this.ended) return this.last;
    await this.poll(id, false);
    return this.last;
  }

  /**
   * Ends the watch; its answer is the final counts, which reads give from then on. Sent at once
   * when the watch is open, so it goes before whatever this turn sends next (the releases of a
   * failed computation's futures would drop its erred tasks before they were counted).
   */
  end(): void {
    if (this.ending || this.ended) return;
    const last = async (id: number | null) => {
      if (id !== null && !this.ended) await this.poll(id, true);
      this.ended = true;
    };
    this.ending = this.openId !== undefined ? last(this.openId) : this.id.then(last);
  }

  private async poll(id: number, end: boolean): Promise<void> {
    try {
      this.last = await this.ask<ProgressCounts>({ kind: "progress", watch: id, end });
    } catch (err) {
      this.stop(err);
    }
  }

  private stop(err: unknown): void {
    // A closed client is the usual end (its futures settle too); anything else is worth a word.
    if (!this.ended && !(err instanceof ClientClosedError))
      this.log.warn(`progress: the scheduler stopped counting: ${(err as Error).message}`);
    this.ended = true;
  }
}
