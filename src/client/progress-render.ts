// What progress() writes: a bar redrawn in place in a terminal, a line every few seconds
// elsewhere (a log file, a pipe), and the last counts when the work ends. Pure formatting over a
// stream the platform gives (stderr in Node); the clock is passed in so tests are exact.

import type { ProgressCounts } from "../protocol/messages.js";

/** Where progress is written: Node's process.stderr fits, or anything with `write`. */
export interface ProgressStream {
  write(text: string): unknown;
  /** A terminal: the bar is redrawn in place. Otherwise a line is written every `interval`. */
  isTTY?: boolean;
  /** The terminal's width in characters (default 80). */
  columns?: number;
}

/** The rate is measured over this much recent time (ms), so it follows the work's pace. */
const RATE_WINDOW_MS = 10_000;
const BAR_MIN = 10;
const BAR_MAX = 40;

export class ProgressDisplay {
  private readonly samples: { t: number; done: number }[] = [];
  private drawn = false;
  private readonly start: number;

  constructor(
    private readonly stream: ProgressStream,
    now: number,
  ) {
    this.start = now;
  }

  /** Shows the counts at time `now` (ms): the bar in a terminal, a line otherwise. */
  update(c: ProgressCounts, now: number): void {
    this.sample(c, now);
    if (c.total === 0 && !this.drawn) return; // nothing to show yet (the scheduler has not answered)
    this.write(this.text(c, now, false));
  }

  /** The last counts, and the end of the bar's line. */
  end(c: ProgressCounts, now: number): void {
    this.sample(c, now);
    if (c.total === 0 && !this.drawn) return;
    this.write(this.text(c, now, true));
    if (this.stream.isTTY) this.stream.write("\n");
  }

  private write(line: string): void {
    this.drawn = true;
    if (this.stream.isTTY) {
      const width = Math.max(20, (this.stream.columns || 80) - 1);
      // \r back to the line's start, \x1b[K clears what a longer earlier line left.
      this.stream.write(`\r${line.length > width ? line.slice(0, width) : line}\x1b[K`);
    } else {
      this.stream.write(`${line}\n`);
    }
  }

  private sample(c: ProgressCounts, now: number): void {
    const s = this.samples;
    s.push({ t: now, done: c.done + c.erred });
    while (s.length > 2 && now - s[1]!.t >= RATE_WINDOW_MS) s.shift();
  }

  /** Tasks per second over the recent window (0 until two samples apart in time). */
  private rate(): number {
    const s = this.samples;
    const first = s[0]!;
    const last = s[s.length - 1]!;
    const dt = (last.t - first.t) / 1000;
    return dt > 0 ? Math.max(0, last.done - first.done) / dt : 0;
  }

  private text(c: ProgressCounts, now: number, final: boolean): string {
    return this.stream.isTTY
      ? barText(c, this.rate(), now - this.start, final, this.stream.columns || 80)
      : lineText(c, this.rate(), now - this.start, final);
  }
}

/** `[########----] 1,234 / 10,000  12%  812/s  ETA 11s  3 erred` */
export function barText(c: ProgressCounts, rate: number, elapsedMs: number, final: boolean, columns: number): string {
  const finished = c.done + c.erred;
  const fraction = c.total > 0 ? Math.min(1, finished / c.total) : 1;
  const width = Math.max(BAR_MIN, Math.min(BAR_MAX, columns - 50));
  const filled = Math.round(fraction * width);
  const bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
  const parts = [`${bar} ${fmt(finished)} / ${fmt(c.total)}`, `${Math.floor(fraction * 100)}%`];
  if (final) parts.push(`in ${duration(elapsedMs)}`);
  else {
    parts.push(rate > 0 ? `${fmtRate(rate)}/s` : "–/s");
    const left = c.total - finished;
    parts.push(rate > 0 && left > 0 ? `ETA ${duration((left / rate) * 1000)}` : "ETA –");
  }
  if (c.erred > 0) parts.push(`${fmt(c.erred)} erred`);
  return parts.join("  ");
}

/** `progress: 1,234 / 10,000 tasks (12%), 812/s, ETA 11s, 3 erred` */
export function lineText(c: ProgressCounts, rate: number, elapsedMs: number, final: boolean): string {
  const finished = c.done + c.erred;
  const pct = c.total > 0 ? Math.floor((Math.min(finished, c.total) / c.total) * 100) : 100;
  const parts = [`progress: ${fmt(finished)} / ${fmt(c.total)} tasks (${pct}%)`];
  if (final) parts.push(`in ${duration(elapsedMs)}`);
  else {
    if (rate > 0) parts.push(`${fmtRate(rate)}/s`);
    const left = c.total - finished;
    if (rate > 0 && left > 0) parts.push(`ETA ${duration((left / rate) * 1000)}`);
  }
  if (c.erred > 0) parts.push(`${fmt(c.erred)} erred`);
  return parts.join(", ");
}

function fmt(n: number): string {
  return n.toLocaleString("en");
}

function fmtRate(r: number): string {
  return r >= 100 ? fmt(Math.round(r)) : r >= 10 ? r.toFixed(0) : r.toFixed(1);
}

/** 850 ms, 12s, 3m05s, 2h04m */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}
