// The workers table (with a memory bar per worker) and the progress bars per task prefix. Plain
// DOM: a few hundred rows a second is cheap, and text stays selectable.

import type { PrefixRow, WorkerRow } from "../../src/scheduler/telemetry.js";
import { bytes, ERROR, prefixColour, WAITING } from "./colors.js";

function cell(text: string, className?: string): HTMLTableCellElement {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function memoryCell(w: WorkerRow, scaleTo: number): HTMLTableCellElement {
  const td = document.createElement("td");
  const bar = document.createElement("span");
  bar.className = "mem";
  const fill = document.createElement("span");
  const of = w.memoryLimit > 0 ? w.memoryLimit : scaleTo;
  const share = of > 0 ? Math.min(1, w.memory / of) : 0;
  fill.style.width = `${(share * 100).toFixed(1)}%`;
  if (w.memoryLimit > 0 && share > 0.9) fill.className = "full";
  else if (w.memoryLimit > 0 && share > 0.6) fill.className = "high";
  bar.append(fill);
  td.append(bar, `${bytes(w.memory)} / ${w.memoryLimit > 0 ? bytes(w.memoryLimit) : "no limit"}`);
  return td;
}

export function renderWorkers(tbody: HTMLTableSectionElement, workers: WorkerRow[], more: number): void {
  const scaleTo = Math.max(1, ...workers.map((w) => w.memory));
  const rows = workers.map((w) => {
    const tr = document.createElement("tr");
    tr.dataset.worker = w.id;
    tr.append(
      cell(w.name),
      cell(w.kind === "browser" ? "browser tab" : w.kind),
      cell(w.address),
      cell(`${w.executing} / ${w.processing}`, "num"),
      cell(String(w.done), "num"),
      cell(String(w.held), "num"),
      memoryCell(w, scaleTo),
      cell(w.spilled > 0 ? bytes(w.spilled) : "–", "num"),
      cell(w.paused ? "paused" : w.status === "running" ? "" : w.status),
      cell(`${(w.lastSeenMs / 1000).toFixed(1)} s ago`, "num"),
    );
    return tr;
  });
  if (more > 0) {
    const tr = document.createElement("tr");
    const td = cell(`… and ${more} more workers`);
    td.colSpan = 10;
    tr.append(td);
    rows.push(tr);
  }
  tbody.replaceChildren(...rows);
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
    counts.textContent = `${r.done + r.memory} / ${total} done` + (r.processing ? `, ${r.processing} processing` : "") + (r.erred ? `, ${r.erred} erred` : "");
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
