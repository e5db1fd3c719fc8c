// The workers table (with a memory bar per worker) and the progress bars per task prefix. Plain
// DOM: a few hundred rows a second is cheap, and text stays selectable.

import type { PrefixRow, WorkerRow } from "../../src/scheduler/telemetry.js";
import { bytes, ERROR, prefixColour, WAITING } from "./colors.js";

/** A row's cells as text. */
function rowValues(w: WorkerRow): string[] {
  return [
    w.name,
    w.kind === "browser" ? "browser tab" : w.kind,
    w.address,
    `${w.executing} / ${w.processing}`,
    String(w.done),
    String(w.held),
    `${bytes(w.memory)} / ${w.memoryLimit > 0 ? bytes(w.memoryLimit) : "no limit"}`,
    w.spilled > 0 ? bytes(w.spilled) : "–",
    w.paused ? "paused" : w.status === "running" ? "" : w.status,
    `${(w.lastSeenMs / 1000).toFixed(1)} s ago`,
  ];
}

const NUMERIC = new Set([3, 4, 5, 7, 9]);
const MEMORY = 6;

interface Row {
  tr: HTMLTableRowElement;
  cells: HTMLTableCellElement[];
  /** The memory cell's text node and bar. */
  memoryText: Text;
  fill: HTMLSpanElement;
}

function makeRow(id: string): Row {
  const tr = document.createElement("tr");
  tr.dataset.worker = id;
  const cells = Array.from({ length: 10 }, (_, i) => {
    const td = document.createElement("td");
    if (NUMERIC.has(i)) td.className = "num";
    tr.append(td);
    return td;
  });
  const bar = document.createElement("span");
  bar.className = "mem";
  const fill = document.createElement("span");
  bar.append(fill);
  const memoryText = document.createTextNode("");
  cells[MEMORY]!.append(bar, memoryText);
  return { tr, cells, memoryText, fill };
}

/**
 * The workers table, updated in place: a row per worker kept by id, and only the cells whose text
 * changed are touched (rebuilding 100 rows every second cost a layout of the whole table).
 */
export class WorkersTable {
  private readonly rows = new Map<string, Row>();
  private order = "";
  private readonly more = document.createElement("tr");

  constructor(private readonly tbody: HTMLTableSectionElement) {
    const td = document.createElement("td");
    td.colSpan = 10;
    this.more.append(td);
  }

  update(workers: WorkerRow[], more: number): void {
    const scaleTo = Math.max(1, ...workers.map((w) => w.memory));
    const seen = new Set<string>();
    for (const w of workers) {
      seen.add(w.id);
      let row = this.rows.get(w.id);
      if (!row) this.rows.set(w.id, (row = makeRow(w.id)));
      const r = row;
      rowValues(w).forEach((v, i) => {
        if (i === MEMORY) {
          if (r.memoryText.data !== v) r.memoryText.data = v;
        } else if (r.cells[i]!.textContent !== v) r.cells[i]!.textContent = v;
      });
      const of = w.memoryLimit > 0 ? w.memoryLimit : scaleTo;
      const share = of > 0 ? Math.min(1, w.memory / of) : 0;
      const width = `${(share * 100).toFixed(1)}%`;
      if (r.fill.style.width !== width) r.fill.style.width = width;
      const cls = w.memoryLimit > 0 && share > 0.9 ? "full" : w.memoryLimit > 0 && share > 0.6 ? "high" : "";
      if (r.fill.className !== cls) r.fill.className = cls;
    }
    for (const id of [...this.rows.keys()]) if (!seen.has(id)) this.rows.delete(id);
    (this.more.firstChild as HTMLTableCellElement).textContent = `… and ${more} more workers`;
    const order = `${workers.map((w) => w.id).join(",")}|${more > 0}`;
    if (order !== this.order) {
      this.order = order;
      const trs = workers.map((w) => this.rows.get(w.id)!.tr);
      if (more > 0) trs.push(this.more);
      this.tbody.replaceChildren(...trs);
    }
  }
}

const SEGMENTS: [keyof PrefixRow, string, (colour: string) => string][] = [
  ["done", "done", (c) => c.replace(")", " / 0.4)")],
  ["memory", "in memory", (c) => c],
  ["processing", "processing", () => "#333a"],
  ["erred", "erred", () => ERROR],
  ["waiting", "waiting", () => WAITING],
];

/** The progress panel's legend: what each part of a bar means. */
export const PROGRESS_LEGEND: [string, string][] = [
  ["done (released)", "hsl(120 60% 50% / 0.4)"],
  ["in memory", "hsl(120 60% 50%)"],
  ["processing (queued on a worker or running)", "#333a"],
  ["erred", ERROR],
  ["waiting", WAITING],
];

export function renderProgress(container: HTMLElement, rows: PrefixRow[]): void {
  const items = rows.map((r) => {
    const total = r.done + r.memory + r.processing + r.erred + r.waiting;
    const colour = prefixColour(r.prefix);
    const item = document.createElement("div");
    item.className = "prefix";
    item.dataset.prefix = r.prefix;
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = r.prefix;
    name.title = r.prefix;
    const bar = document.createElement("span");
    bar.className = "bar";
    for (const [field, , paint] of SEGMENTS) {
      const n = r[field] as number;
      if (n === 0) continue;
      const part = document.createElement("span");
      part.style.width = `${((n / total) * 100).toFixed(2)}%`;
      part.style.background = paint(colour);
      part.title = `${field}: ${n}`;
      bar.append(part);
    }
    const counts = document.createElement("span");
    counts.className = "counts";
    counts.textContent =
      `${r.done + r.memory} / ${total} done` +
      (r.processing ? `, ${r.processing} processing` : "") +
      (r.erred ? `, ${r.erred} erred` : "");
    item.append(name, bar, counts);
    return item;
  });
  if (items.length === 0) {
    const none = document.createElement("p");
    none.textContent = "no tasks yet";
    items.push(none as unknown as HTMLDivElement);
  }
  container.replaceChildren(...items);
}
