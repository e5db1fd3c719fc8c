// The task stream: one lane per worker, a bar per task coloured by its prefix, transfers and spills
// as marks of their own colour, errors in black; drawn on one canvas, the last WINDOW_MS only.

import type { Bar, DashboardFrame, WorkerRow } from "../../src/scheduler/telemetry.js";
import { bytes, ERROR, prefixColour, SPILL, TRANSFER, tooltip } from "./colors.js";

/** What the stream shows: the last 15 seconds. */
export const WINDOW_MS = 15_000;
/** Bars kept at most (the oldest go first): bounds memory and drawing time at 10,000 tasks/s. */
export const MAX_KEPT_BARS = 60_000;
const LABEL_WIDTH = 110;

interface Drawn {
  lane: string;
  /** Local clock (performance.now of this page). */
  start: number;
  end: number;
  kind: Bar[3];
  key: string;
  prefix: string;
  bytes: number;
  row: number;
  colour: string;
}

export class TaskStream {
  private bars: Drawn[] = [];
  private lanes: WorkerRow[] = [];
  /** Per lane, when each of its rows is free again (rows: a worker's concurrent tasks). */
  private rowsFree = new Map<string, number[]>();
  /** Local clock minus the scheduler's, from the latest frame. */
  private offset = 0;
  total = 0;
  /** Milliseconds the last draws took (the newest last). */
  readonly drawMs: number[] = [];
  /** Bars of `bars` already in the bitmap (those before this index). */
  private painted = 0;
  /** The page-clock time at the bitmap's left edge (after the labels). */
  private origin = 0;
  private lanesKey = "";

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly onPick: (key: string) => void,
  ) {
    canvas.addEventListener("mousemove", (e) => {
      const bar = this.at(e.offsetX, e.offsetY);
      if (!bar) return tooltip(null);
      const worker = this.lanes.find((w) => w.id === bar.lane)?.name ?? bar.lane;
      const what =
        bar.kind === "task"
          ? `${bar.key}\nran ${(bar.end - bar.start).toFixed(1)} ms on ${worker}`
          : bar.kind === "transfer"
            ? `${bar.key}\nfetched by ${worker}`
            : bar.kind === "spill"
              ? `spilled on ${worker}`
              : `${bar.key}\nfailed on ${worker}`;
      tooltip(`${what}${bar.bytes > 0 ? `\n${bytes(bar.bytes)}` : ""}`, e.clientX, e.clientY);
    });
    canvas.addEventListener("mouseleave", () => tooltip(null));
    canvas.addEventListener("click", (e) => {
      const bar = this.at(e.offsetX, e.offsetY);
      if (bar?.key) this.onPick(bar.key);
    });
  }

  update(frame: DashboardFrame): void {
    this.offset = performance.now() - frame.now;
    this.lanes = frame.workers;
    const sorted = frame.bars.slice().sort((a, b) => a[1] - b[1]);
    for (const [lane, start, end, kind, key, prefix, nbytes] of sorted) {
      const s = start + this.offset;
      const e = end + this.offset;
      let free = this.rowsFree.get(lane);
      if (!free) this.rowsFree.set(lane, (free = []));
      let row = 0;
      if (kind === "task") {
        while (row < free.length && free[row]! > s) row++;
        free[row] = e;
      }
      const colour =
        kind === "task" ? prefixColour(prefix) : kind === "transfer" ? TRANSFER : kind === "spill" ? SPILL : ERROR;
      this.bars.push({ lane, start: s, end: e, kind, key, prefix, bytes: nbytes, row, colour });
    }
    this.total += frame.bars.length;
    const cutoff = performance.now() - WINDOW_MS;
    let drop = 0;
    while (drop < this.bars.length && (this.bars[drop]!.end < cutoff || this.bars.length - drop > MAX_KEPT_BARS))
      drop++;
    if (drop > 0) {
      this.bars = this.bars.slice(drop);
      this.painted = Math.max(0, this.painted - drop);
    }
    for (const id of this.rowsFree.keys()) if (!this.lanes.some((w) => w.id === id)) this.rowsFree.delete(id);
  }

  get kept(): number {
    return this.bars.length;
  }

  private laneGeometry(height: number): { laneHeight: number; index: Map<string, number> } {
    const index = new Map(this.lanes.map((w, i) => [w.id, i]));
    return { laneHeight: Math.max(2, (height - 16) / Math.max(1, this.lanes.length)), index };
  }

  /**
   * Draws incrementally: the bars already drawn are kept in a bitmap that scrolls left with time,
   * and only bars that arrived since the last draw are painted, so a draw costs what is new (about
   * a second's bars), not the 15 s shown. A change of lanes or size repaints everything.
   */
  draw(): void {
    const t0 = performance.now();
    const width = this.canvas.clientWidth;
    const height = this.canvas.clientHeight;
    const ratio = window.devicePixelRatio || 1;
    const now = performance.now();
    const scale = (width - LABEL_WIDTH) / WINDOW_MS;
    const lanesKey = this.lanes.map((w) => `${w.id}:${w.nthreads}`).join(",");
    const ctx = this.canvas.getContext("2d")!;
    let from = this.painted;
    if (
      this.canvas.width !== Math.round(width * ratio) ||
      this.canvas.height !== Math.round(height * ratio) ||
      lanesKey !== this.lanesKey
    ) {
      this.canvas.width = Math.round(width * ratio);
      this.canvas.height = Math.round(height * ratio);
      this.lanesKey = lanesKey;
      this.origin = now - WINDOW_MS;
      from = 0;
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    } else {
      // Scroll by whole device pixels; the origin moves by exactly what was scrolled.
      const shift = Math.floor((now - WINDOW_MS - this.origin) * scale * ratio);
      if (shift > 0) {
        const x0 = Math.round(LABEL_WIDTH * ratio);
        ctx.setTransform(1, 0, 0, 1, 0, 0);
        ctx.drawImage(
          this.canvas,
          x0 + shift,
          0,
          this.canvas.width - x0 - shift,
          this.canvas.height,
          x0,
          0,
          this.canvas.width - x0 - shift,
          this.canvas.height,
        );
        ctx.clearRect(this.canvas.width - shift, 0, shift, this.canvas.height);
        this.origin += shift / (scale * ratio);
      }
    }
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const { laneHeight, index } = this.laneGeometry(height);
    if (from === 0) {
      ctx.font = "11px system-ui, sans-serif";
      ctx.textBaseline = "middle";
      const labelEvery = Math.ceil(12 / laneHeight);
      this.lanes.forEach((w, i) => {
        if (i % labelEvery === 0) {
          ctx.fillStyle = "#444";
          ctx.fillText(
            w.name.length > 16 ? `${w.name.slice(0, 15)}…` : w.name,
            2,
            i * laneHeight + laneHeight / 2,
            LABEL_WIDTH - 6,
          );
        }
      });
    }
    // New bars, grouped by colour (one fillStyle per colour).
    const byColour = new Map<string, Drawn[]>();
    for (let i = from; i < this.bars.length; i++) {
      const b = this.bars[i]!;
      let list = byColour.get(b.colour);
      if (!list) byColour.set(b.colour, (list = []));
      list.push(b);
    }
    this.painted = this.bars.length;
    ctx.save();
    ctx.beginPath();
    ctx.rect(LABEL_WIDTH, 0, width - LABEL_WIDTH, height - 16);
    ctx.clip();
    for (const [colour, list] of byColour) {
      ctx.fillStyle = colour;
      for (const b of list) {
        const lane = index.get(b.lane);
        if (lane === undefined) continue;
        const nthreads = Math.max(1, this.lanes[lane]!.nthreads);
        const rowHeight = laneHeight / Math.max(nthreads, b.row + 1);
        const x = LABEL_WIDTH + (b.start - this.origin) * scale;
        const w = Math.max(b.kind === "task" ? 1 : 3, (b.end - b.start) * scale);
        const y = lane * laneHeight + (b.kind === "task" ? b.row * rowHeight : 0);
        const h = b.kind === "task" ? Math.max(1, rowHeight - (rowHeight > 4 ? 1 : 0)) : laneHeight;
        ctx.fillRect(x, y, w, h);
      }
    }
    ctx.restore();
    // The time axis (seconds ago), below the lanes.
    ctx.clearRect(LABEL_WIDTH, height - 16, width - LABEL_WIDTH, 16);
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "#777";
    ctx.textBaseline = "bottom";
    for (let s = 0; s <= WINDOW_MS / 1000; s += 5) {
      const x = width - s * 1000 * scale;
      ctx.fillRect(x - 0.5, height - 14, 1, 4);
      ctx.fillText(s === 0 ? "now" : `-${s} s`, Math.max(LABEL_WIDTH, Math.min(x - 8, width - 24)), height);
    }
    this.drawMs.push(performance.now() - t0);
    if (this.drawMs.length > 120) this.drawMs.shift();
  }

  private at(px: number, py: number): Drawn | undefined {
    const width = this.canvas.clientWidth;
    const { laneHeight, index } = this.laneGeometry(this.canvas.clientHeight);
    const now = performance.now();
    const scale = (width - LABEL_WIDTH) / WINDOW_MS;
    const t = now - WINDOW_MS + (px - LABEL_WIDTH) / scale;
    const lane = this.lanes[Math.floor(py / laneHeight)];
    if (!lane || index.get(lane.id) === undefined) return undefined;
    const slack = 3 / scale;
    for (let i = this.bars.length - 1; i >= 0; i--) {
      const b = this.bars[i]!;
      if (b.lane === lane.id && b.start - slack <= t && t <= b.end + slack) return b;
    }
    return undefined;
  }
}
