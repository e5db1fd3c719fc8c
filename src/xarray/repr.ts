// Printing labeled arrays as xarray does: the name and sizes, the data (values once computed, the
// blocks while lazy), the coordinates (index ones starred) and the attributes.

import { ChunkedArray } from "../array/core.js";
import type { Coordinate } from "./coords.js";
import { formatNumber } from "./coords.js";
import type { DataArray } from "./dataarray.js";
import type { Dataset } from "./dataset.js";
import type { Variable } from "./variable.js";

const WIDTH = 80;

function sizes(dims: readonly string[], shape: readonly number[]): string {
  return `(${dims.map((d, i) => `${d}: ${shape[i]}`).join(", ")})`;
}

/** The data of a variable in a line: its blocks while lazy, else a few of its values. */
function dataLine(v: Variable): string {
  const d = v.data;
  if (d instanceof ChunkedArray)
    return `meshwork.Array<chunksize=(${d.chunksize.join(", ")}), blocks=${d.numblocks.reduce((a, b) => a * b, 1)}, dtype=${d.dtype}>`;
  return d.toString();
}

function valuesPreview(c: Coordinate, room: number): string {
  const n = c.size;
  const parts: string[] = [];
  let used = 0;
  let i = 0;
  for (; i < n; i++) {
    const s = c.format(i);
    if (used + s.length + 1 > room && i > 0) break;
    parts.push(s);
    used += s.length + 1;
  }
  if (i < n) {
    const last = c.format(n - 1);
    while (parts.length > 1 && used + last.length + 5 > room) used -= parts.pop()!.length + 1;
    return `${parts.join(" ")} ... ${last}`;
  }
  return parts.join(" ");
}

function coordLines(coords: ReadonlyMap<string, Coordinate>, dims: readonly string[]): string[] {
  if (coords.size === 0) return [];
  const names = [...coords.keys()].sort((a, b) => {
    const ia = dims.indexOf(a);
    const ib = dims.indexOf(b);
    return (ia < 0 ? 1e9 : ia) - (ib < 0 ? 1e9 : ib) || (a < b ? -1 : 1);
  });
  const pad = Math.max(...names.map((n) => n.length));
  return [
    "Coordinates:",
    ...names.map((n) => {
      const c = coords.get(n)!;
      const star = c.dims.length === 1 && c.dims[0] === n ? "*" : " ";
      const head = `  ${star} ${n.padEnd(pad)}  (${c.dims.join(", ")}) ${c.dtype} `;
      return head + valuesPreview(c, Math.max(10, WIDTH - head.length));
    }),
  ];
}

function attrLines(attrs: Readonly<Record<string, unknown>>): string[] {
  const keys = Object.keys(attrs);
  if (keys.length === 0) return [];
  return [
    "Attributes:",
    ...keys.map(
      (k) =>
        `    ${k}: ${truncate(typeof attrs[k] === "string" ? (attrs[k] as string) : JSON.stringify(attrs[k]), WIDTH - k.length - 6)}`,
    ),
  ];
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, Math.max(1, n - 3))}...` : s;
}

export function formatDataArray(a: DataArray): string {
  const lines = [
    `<meshwork.DataArray${a.name ? ` '${a.name}'` : ""} ${sizes(a.dims, a.shape)}>`,
    dataLine(a.variable),
    ...coordLines(a.coords, a.dims),
    ...attrLines(a.attrs),
  ];
  return lines.join("\n");
}

export function formatDataset(ds: Dataset): string {
  const dims = Object.entries(ds.sizes);
  const lines = [
    `<meshwork.Dataset>`,
    `Dimensions:  (${dims.map(([d, n]) => `${d}: ${n}`).join(", ")})`,
    ...coordLines(
      ds.coords,
      dims.map(([d]) => d),
    ),
  ];
  if (ds.dataVars.size > 0) {
    const pad = Math.max(...[...ds.dataVars.keys()].map((n) => n.length));
    lines.push("Data variables:");
    for (const [n, v] of ds.dataVars) {
      const d = v.data;
      const what =
        d instanceof ChunkedArray ? `meshwork.Array<chunksize=(${d.chunksize.join(", ")})>` : previewValues(v);
      lines.push(`    ${n.padEnd(pad)}  (${v.dims.join(", ")}) ${v.dtype} ${what}`);
    }
  }
  lines.push(...attrLines(ds.attrs));
  return lines.join("\n");
}

function previewValues(v: Variable): string {
  const d = v.data;
  if (d instanceof ChunkedArray) return "";
  const flat = d.contiguous().toTypedArray();
  const shown = Array.from(flat.subarray(0, 4), (x) => formatNumber(x, d.dtype));
  return shown.join(" ") + (flat.length > 4 ? " ..." : "");
}
