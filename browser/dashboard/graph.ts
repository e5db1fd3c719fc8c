// The graph of the current computation: tasks in columns by depth (longest path from an input),
// edges from inputs to their users, each task coloured by its state. Above GRAPH_MAX_TASKS the
// scheduler sends counts by state instead, shown as text.

import type { GraphView } from "../../src/scheduler/telemetry.js";
import { ERROR, fitCanvas, prefixColour, tooltip, WAITING } from "./colors.js";

const STATE_NAMES: Record<string, string> = {
  r: "released",
  w: "waiting",
  n: "no worker",
  p: "processing",
  m: "in memory",
  e: "erred",
};
export const STATE_LEGEND: [string, string][] = [
  ["waiting", WAITING],
  ["no worker", "#f2c14e"],
  ["processing", "#4a7fb5"],
  ["in memory (colour by prefix)", "hsl(120 60% 50%)"],
  ["erred", ERROR],
];

export class GraphPanel {
  private keys: string[] = [];
  private prefixes: string[] = [];
  private edges: [number, number][] = [];
  private states = "";
  /** Per task: [column, row] in the layout. */
  private place: [number, number][] = [];
  private columns = 1;
  private rows = 1;
  summary: Record<string, number> | null = null;
  total = 0;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly note: HTMLElement,
    private readonly summaryElement: HTMLElement,
    onPick: (key: string) => void,
  ) {
    canvas.addEventListener("mousemove", (e) => {
      const i = this.at(e.offsetX, e.offsetY);
      tooltip(
        i === undefined ? null : `${this.keys[i]}\n${STATE_NAMES[this.states[i] ?? "r"] ?? "?"}`,
        e.clientX,
        e.clientY,
      );
    });
    canvas.addEventListener("mouseleave", () => tooltip(null));
    canvas.addEventListener("click", (e) => {
      const i = this.at(e.offsetX, e.offsetY);
      if (i !== undefined) onPick(this.keys[i]!);
    });
  }

  update(view: GraphView): void {
    this.total = view.total;
    if (view.kind === "summary") {
      this.summary = view.states;
      this.keys = [];
      this.states = "";
      return;
    }
    this.summary = null;
    if (view.keys) {
      this.keys = view.keys;
      this.prefixes = view.prefixes ?? [];
      this.edges = view.edges ?? [];
      this.layout();
    }
    // A new dashboard may see states before it has been sent the keys: draw nothing until they match.
    this.states = view.states.length === this.keys.length ? view.states : "";
  }

  private layout(): void {
    const n = this.keys.length;
    const indegree = new Int32Array(n);
    const out: number[][] = Array.from({ length: n }, () => []);
    for (const [a, b] of this.edges) {
      out[a]!.push(b);
      indegree[b]!++;
    }
    const depth = new Int32Array(n);
    const queue: number[] = [];
    for (let i = 0; i < n; i++) if (indegree[i] === 0) queue.push(i);
    for (let q = 0; q < queue.length; q++) {
      const i = queue[q]!;
      for (const j of out[i]!) {
        depth[j] = Math.max(depth[j]!, depth[i]! + 1);
        if (--indegree[j]! === 0) queue.push(j);
      }
    }
    const byDepth = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      let list = byDepth.get(depth[i]!);
      if (!list) byDepth.set(depth[i]!, (list = []));
      list.push(i);
    }
    // Wide levels wrap into several columns, so a map of thousands still fits.
    const maxRows = Math.max(8, Math.ceil(Math.sqrt(n / 2)));
    this.place = new Array(n);
    let column = 0;
    let rows = 1;
    for (const d of [...byDepth.keys()].sort((a, b) => a - b)) {
      const list = byDepth.get(d)!;
      list.forEach((i, k) => (this.place[i] = [column + Math.floor(k / maxRows), k % maxRows]));
      column += Math.ceil(list.length / maxRows);
      rows = Math.max(rows, Math.min(maxRows, list.length));
    }
    this.columns = Math.max(1, column);
    this.rows = rows;
  }

  private cell(width: number, height: number): { size: number; x0: number; y0: number } {
    const size = Math.min(40, width / this.columns, height / this.rows);
    return { size, x0: (width - size * this.columns) / 2, y0: (height - size * this.rows) / 2 };
  }

  draw(): void {
    const { ctx, width, height } = fitCanvas(this.canvas);
    if (this.summary) {
      this.canvas.hidden = true;
      this.note.textContent = `(${this.total.toLocaleString()} tasks: counts only past ${3_000} tasks)`;
      this.summaryElement.textContent = Object.entries(this.summary)
        .map(([state, n]) => `${state}: ${n.toLocaleString()}`)
        .join(" · ");
      return;
    }
    this.canvas.hidden = false;
    this.summaryElement.textContent = "";
    this.note.textContent = this.total === 0 ? "(no tasks)" : `(${this.total} tasks)`;
    if (this.states === "") return;
    const { size, x0, y0 } = this.cell(width, height);
    const centre = (i: number): [number, number] => [
      x0 + (this.place[i]![0] + 0.5) * size,
      y0 + (this.place[i]![1] + 0.5) * size,
    ];
    if (this.edges.length <= 20_000) {
      ctx.strokeStyle = "#0002";
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (const [a, b] of this.edges) {
        const [xa, ya] = centre(a);
        const [xb, yb] = centre(b);
        ctx.moveTo(xa, ya);
        ctx.lineTo(xb, yb);
      }
      ctx.stroke();
    }
    const r = Math.max(1, size * 0.35);
    for (let i = 0; i < this.keys.length; i++) {
      const s = this.states[i];
      ctx.fillStyle =
        s === "m"
          ? prefixColour(this.prefixes[i] ?? "")
          : s === "p"
            ? "#4a7fb5"
            : s === "e"
              ? ERROR
              : s === "n"
                ? "#f2c14e"
                : WAITING;
      const [x, y] = centre(i);
      ctx.fillRect(x - r, y - r, 2 * r, 2 * r);
    }
  }

  private at(px: number, py: number): number | undefined {
    if (this.states === "" || this.summary) return undefined;
    const { size, x0, y0 } = this.cell(this.canvas.clientWidth, this.canvas.clientHeight);
    const col = Math.floor((px - x0) / size);
    const row = Math.floor((py - y0) / size);
    for (let i = 0; i < this.place.length; i++) if (this.place[i]![0] === col && this.place[i]![1] === row) return i;
    return undefined;
  }
}
