// The mesh: workers as nodes on a circle, the data links between them as edges labelled with their
// kind and rate; relay links (through the scheduler) dashed. Both directions of a pair are one edge.

import type { LinkRow, WorkerRow } from "../../src/scheduler/telemetry.js";
import { bytes, fitCanvas, KIND_COLOURS, LINK_COLOURS } from "./colors.js";

/** Past this many workers, only the busiest links carry a label… */
const MAX_LABELLED_EDGES = 8;
/** …and past this many, nodes carry no name (hover the workers table instead). */
const MAX_NAMED_NODES = 40;

export interface MeshEdge {
  a: string;
  b: string;
  kind: string;
  MBps: number;
  bytes: number;
}

/** Pairs of workers with the links between them, merged both ways; links to peers that are not workers are left out. */
export function meshEdges(workers: WorkerRow[], links: LinkRow[]): MeshEdge[] {
  const ids = new Set(workers.map((w) => w.id));
  const pairs = new Map<string, MeshEdge>();
  for (const l of links) {
    if (!ids.has(l.from) || !ids.has(l.to) || l.from === l.to) continue;
    const [a, b] = l.from < l.to ? [l.from, l.to] : [l.to, l.from];
    const id = `${a} ${b} ${l.kind}`;
    const e = pairs.get(id);
    if (e) {
      e.MBps += l.MBps;
      e.bytes += l.bytes;
    } else pairs.set(id, { a, b, kind: l.kind, MBps: l.MBps, bytes: l.bytes });
  }
  return [...pairs.values()];
}

export function drawMesh(canvas: HTMLCanvasElement, workers: WorkerRow[], edges: MeshEdge[]): void {
  const { ctx, width, height } = fitCanvas(canvas);
  if (workers.length === 0) {
    ctx.fillStyle = "#777";
    ctx.font = "13px system-ui, sans-serif";
    ctx.fillText("no workers", 10, 20);
    return;
  }
  const cx = width / 2;
  const cy = height / 2;
  const radius = Math.max(10, Math.min(width, height) / 2 - 40);
  const at = new Map<string, [number, number]>();
  workers.forEach((w, i) => {
    const angle = (2 * Math.PI * i) / workers.length - Math.PI / 2;
    at.set(w.id, [cx + radius * Math.cos(angle), cy + radius * Math.sin(angle)]);
  });
  const many = workers.length > 24;
  // With many workers, only the busiest links are labelled (all are drawn).
  const labelled = new Set(many ? [...edges].sort((a, b) => b.MBps - a.MBps).slice(0, MAX_LABELLED_EDGES) : edges);
  ctx.font = "11px system-ui, sans-serif";
  for (const e of edges) {
    const [x1, y1] = at.get(e.a)!;
    const [x2, y2] = at.get(e.b)!;
    ctx.strokeStyle = LINK_COLOURS[e.kind] ?? "#999";
    ctx.lineWidth = 1 + Math.min(5, Math.log10(1 + e.MBps * 10));
    ctx.setLineDash(e.kind === "relay" ? [6, 4] : []);
    ctx.beginPath();
    ctx.moveTo(x1, y1);
    ctx.lineTo(x2, y2);
    ctx.stroke();
    if (labelled.has(e)) {
      const label = `${e.kind} ${e.MBps.toFixed(e.MBps < 10 ? 1 : 0)} MB/s`;
      ctx.fillStyle = "#fffc";
      const w = ctx.measureText(label).width;
      const mx = (x1 + x2) / 2;
      const my = (y1 + y2) / 2;
      ctx.fillRect(mx - w / 2 - 2, my - 7, w + 4, 14);
      ctx.fillStyle = LINK_COLOURS[e.kind] ?? "#555";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText(label, mx, my);
      ctx.textAlign = "start";
      ctx.fillStyle = "#888";
      ctx.fillText(bytes(e.bytes), mx, my + 12);
      ctx.textAlign = "start";
    }
  }
  ctx.setLineDash([]);
  const r = many ? 5 : 10;
  for (const w of workers) {
    const [x, y] = at.get(w.id)!;
    ctx.fillStyle = KIND_COLOURS[w.kind] ?? "#777";
    ctx.beginPath();
    ctx.arc(x, y, r, 0, 2 * Math.PI);
    ctx.fill();
    if (workers.length <= MAX_NAMED_NODES) {
      ctx.fillStyle = "#222";
      ctx.textAlign = x < cx - 5 ? "right" : x > cx + 5 ? "left" : "center";
      ctx.textBaseline = y < cy ? "bottom" : "top";
      const dx = x < cx - 5 ? -r - 3 : x > cx + 5 ? r + 3 : 0;
      const dy = y < cy ? -r : r;
      ctx.fillText(`${w.name}${w.kind === "browser" ? " (tab)" : ""}`, x + dx, y + dy);
    }
  }
  ctx.textAlign = "start";
}
