// A bounded log of task transitions, so that `story(key)` can tell what happened to a key and why
// (which stimulus caused each step). Parallel arrays in a ring: no allocation per entry. A numbered
// stimulus is kept as its kind (a constant string) and its number, and spelled "kind-number" only
// when asked for: a string made per event and held by the ring would outlive the young generation,
// and every one would be copied out of it by the garbage collector.

export interface StoryEntry {
  key: string;
  start: string;
  finish: string;
  /** The event that caused it, e.g. "task-finished-42". */
  stimulus: string;
  /** Milliseconds, on the clock the scheduler shell passed in. */
  time: number;
  /** Why, where the scheduler says more than the states do ("no worker may run it: …"). */
  note?: string;
}

/** Transitions kept by default: enough to explain the recent past without growing without bound. */
export const DEFAULT_STORY_CAPACITY = 100_000;

export class Story {
  private readonly keys: string[];
  private readonly starts: string[];
  private readonly finishes: string[];
  private readonly stimuli: string[];
  /** The stimulus's number, or NaN when `stimuli` holds it whole. */
  private readonly numbers: Float64Array;
  private readonly times: Float64Array;
  /** Notes are rare: kept by ring position only where there is one. */
  private readonly notes = new Map<number, string>();
  private next = 0;
  private filled = 0;

  constructor(readonly capacity = DEFAULT_STORY_CAPACITY) {
    this.keys = new Array<string>(capacity);
    this.starts = new Array<string>(capacity);
    this.finishes = new Array<string>(capacity);
    this.stimuli = new Array<string>(capacity);
    this.numbers = new Float64Array(capacity);
    this.times = new Float64Array(capacity);
  }

  /**
   * Records a transition of `key`. `stimulus` names the event that caused it; with `number` (not
   * NaN) it is the event's kind, and the entry's stimulus reads "stimulus-number".
   */
  record(
    key: string,
    start: string,
    finish: string,
    stimulus: string,
    time: number,
    note?: string,
    number = NaN,
  ): void {
    const i = this.next;
    if (note !== undefined) this.notes.set(i, note);
    else if (this.notes.size > 0) this.notes.delete(i); // most rings never hold a note: no lookup then
    this.keys[i] = key;
    this.starts[i] = start;
    this.finishes[i] = finish;
    this.stimuli[i] = stimulus;
    this.numbers[i] = number;
    this.times[i] = time;
    this.next = (i + 1) % this.capacity;
    if (this.filled < this.capacity) this.filled++;
  }

  /** Entries for `key`, oldest first (only those still in the ring). */
  of(key: string): StoryEntry[] {
    const out: StoryEntry[] = [];
    const first = this.filled < this.capacity ? 0 : this.next;
    for (let n = 0; n < this.filled; n++) {
      const i = (first + n) % this.capacity;
      if (this.keys[i] === key) {
        const entry: StoryEntry = {
          key,
          start: this.starts[i]!,
          finish: this.finishes[i]!,
          stimulus: stimulusId(this.stimuli[i]!, this.numbers[i]!),
          time: this.times[i]!,
        };
        const note = this.notes.get(i);
        if (note !== undefined) entry.note = note;
        out.push(entry);
      }
    }
    return out;
  }

  get size(): number {
    return this.filled;
  }
}

/** A stimulus as the story shows it: `name`, or "name-number" when it is numbered (not NaN). */
export function stimulusId(name: string, number: number): string {
  return Number.isNaN(number) ? name : `${name}-${number}`;
}
