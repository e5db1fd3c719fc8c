// progress(): a bar for work under way. For futures it counts their tasks and everything they
// need on the scheduler; for the promise of a compute or persist, the whole graph of every
// computation running until the promise settles. A bar in a terminal, a line every few seconds
// elsewhere, nothing under CI; its timer never keeps a process alive.

import { ArgumentError } from "../errors.js";
import { followComputations, type Computation, type CountSource } from "../graph/computation.js";
import { isCollection } from "../graph/collection.js";
import type { ProgressCounts } from "../protocol/messages.js";
import { checkKnownOptions, describe } from "./arguments.js";
import { Future } from "./future.js";
import { clientPlatform } from "./platform.js";
import { ProgressDisplay, type ProgressStream } from "./progress-render.js";
import { unrefTimer } from "../util/timers.js";

export type { ProgressStream } from "./progress-render.js";

export interface ProgressOptions {
  /**
   * Where to draw. Default: the platform's (stderr in Node); a browser has none, so nothing is
   * drawn there unless a stream is given.
   */
  stream?: ProgressStream;
  /** Milliseconds between updates. Default 200 in a terminal (`stream.isTTY`), 5,000 otherwise (one line each). */
  interval?: number;
  /** Draw nothing. Default: true when the CI environment variable is set (Node), else false. */
  quiet?: boolean;
}

const OPTION_NAMES = ["stream", "interval", "quiet"];
const TTY_INTERVAL_MS = 200;
const LINE_INTERVAL_MS = 5_000;

/**
 * Shows the progress of futures (resolves once they have all finished, failed or been cancelled,
 * as `wait` does: a failed task shows in the bar and does not reject) or of the promise of a
 * collection's compute or persist (resolves or rejects as that promise does).
 *
 * ```ts
 * await progress(client.map(f, items));             // the map's tasks
 * const y = await progress(x.sum().persist());      // every task of x.sum()'s graph, all layers
 * ```
 */
// Futures first: a Future is a PromiseLike too, but progress(future) resolves to nothing, as for many.
export function progress(work: Future | Iterable<Future>, options?: ProgressOptions): Promise<void>;
export function progress<T>(work: PromiseLike<T>, options?: ProgressOptions): Promise<T>;
export function progress(work: unknown, options: ProgressOptions = {}): Promise<unknown> {
  try {
    const opts = checkProgressOptions(options);
    // A Future is awaitable too: check for futures before promises.
    if (work instanceof Future) return followFutures([work], opts);
    if (isCollection(work)) {
      throw new ArgumentError(
        "progress takes the promise of a collection's work, not the collection: `await progress(x.persist())` or `await progress(x.compute())` (meshwork's persist waits for the work, so the promise is the computation)",
      );
    }
    if (isThenable(work)) return followPromise(work, opts);
    if (
      typeof work === "object" &&
      work !== null &&
      typeof (work as Iterable<unknown>)[Symbol.iterator] === "function" &&
      typeof work !== "string"
    ) {
      const list = [...(work as Iterable<unknown>)];
      list.forEach((f, i) => {
        if (!(f instanceof Future))
          throw new ArgumentError(
            `progress takes futures or the promise of a compute or persist; item ${i} is ${describe(f)}`,
          );
      });
      return followFutures(list as Future[], opts);
    }
    throw new ArgumentError(`progress takes futures or the promise of a compute or persist, got ${describe(work)}`);
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

interface Settings {
  stream: ProgressStream | null;
  interval: number;
}

function checkProgressOptions(options: ProgressOptions): Settings {
  checkKnownOptions("progress options", options, OPTION_NAMES);
  const { stream, interval, quiet } = options;
  if (stream !== undefined && (typeof stream !== "object" || stream === null || typeof stream.write !== "function")) {
    throw new ArgumentError(
      `progress's stream must have a write(text) method (process.stderr fits), got ${describe(stream)}`,
    );
  }
  if (interval !== undefined && (typeof interval !== "number" || !Number.isFinite(interval) || interval < 10)) {
    throw new ArgumentError(`progress's interval must be a number of milliseconds ≥ 10, got ${describe(interval)}`);
  }
  if (quiet !== undefined && typeof quiet !== "boolean")
    throw new ArgumentError(`progress's quiet must be true or false, got ${describe(quiet)}`);
  const platform = clientPlatform()?.progressOutput?.();
  const out = stream ?? platform?.stream ?? null;
  const silent = quiet ?? platform?.quiet ?? false;
  return { stream: silent ? null : out, interval: interval ?? (out?.isTTY ? TTY_INTERVAL_MS : LINE_INTERVAL_MS) };
}

/** Futures: one watch per client on the scheduler, opened now (in the turn they were submitted). */
async function followFutures(futures: Future[], s: Settings): Promise<void> {
  const settled = Promise.all(futures.map((f) => f.settled()));
  if (!s.stream) return void (await settled);
  const byHost = new Map<Future["host"], string[]>();
  for (const f of futures) {
    let keys = byHost.get(f.host);
    if (!keys) byHost.set(f.host, (keys = []));
    keys.push(f.key);
  }
  const sources: CountSource[] = [];
  for (const [host, keys] of byHost) if (host.watchProgress) sources.push(host.watchProgress(keys));
  const run = new Run(s.stream, s.interval, () => readAll(sources));
  try {
    await settled;
  } finally {
    for (const source of sources) source.end?.(); // the answer to ending is the final count
    await run.stop(await readAll(sources));
  }
}

/** A promise: every computation running now or starting before it settles. */
async function followPromise<T>(work: PromiseLike<T>, s: Settings): Promise<T> {
  if (!s.stream) return await work;
  const computations: Computation[] = [];
  const stop = followComputations((c) => {
    c.follow();
    computations.push(c);
  });
  const counts = async () => sum(await Promise.all(computations.map(countsOf)));
  const run = new Run(s.stream, s.interval, counts);
  try {
    return await work;
  } finally {
    stop();
    await run.stop(await counts());
  }
}

/** A computation's counts: its sources' sum; a computation that succeeded did all of its tasks. */
async function countsOf(c: Computation): Promise<ProgressCounts> {
  const counts = await readAll(c.sources);
  return c.outcome === "done" ? { total: counts.total, done: counts.total, erred: 0, processing: 0 } : counts;
}

async function readAll(sources: readonly CountSource[]): Promise<ProgressCounts> {
  return sum(await Promise.all(sources.map((s) => s.read())));
}

function sum(list: readonly ProgressCounts[]): ProgressCounts {
  const out = { total: 0, done: 0, erred: 0, processing: 0 };
  for (const c of list) {
    out.total += c.total;
    out.done += c.done;
    out.erred += c.erred;
    out.processing += c.processing;
  }
  return out;
}

/** The drawing loop: reads the counts every `interval` ms (one read at a time) and draws them. */
class Run {
  private readonly display: ProgressDisplay;
  private readonly timer: ReturnType<typeof setInterval>;
  private reading: Promise<void> | null = null;
  private stopped = false;

  constructor(
    stream: ProgressStream,
    interval: number,
    private readonly read: () => Promise<ProgressCounts>,
  ) {
    this.display = new ProgressDisplay(stream, performance.now());
    // Drawing a bar is no reason for a process to stay: the work it shows keeps it alive, or not.
    this.timer = unrefTimer(setInterval(() => this.tick(), interval));
  }

  private tick(): void {
    if (this.reading || this.stopped) return;
    this.reading = this.read()
      .then(
        (c) => {
          if (!this.stopped) this.display.update(c, performance.now());
        },
        () => {}, // sources never reject; a failed read just skips a frame
      )
      .finally(() => (this.reading = null));
  }

  async stop(final: ProgressCounts): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.reading;
    this.display.end(final, performance.now());
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    (typeof v === "object" || typeof v === "function") &&
    v !== null &&
    typeof (v as { then?: unknown }).then === "function"
  );
}
