// Several files opened as one Dataset (openMfDataset): each opened on its own, checked to agree on
// everything but the dimension they follow each other along, and joined along it in label order.

import { NDArray } from "../array/ndarray.js";
import { concatenate } from "../array/shape.js";
import { AlignmentError, ArgumentError, LabelError } from "../errors.js";
import type { Stores } from "../io/store.js";
import { storesOf } from "../task-context.js";
import { Coordinate } from "./coords.js";
import { Dataset } from "./dataset.js";
import { OPEN_OPTIONS, openDataset, type OpenOptions } from "./open.js";
import type { Variable } from "./variable.js";
import { checkKnownOptions } from "../client/arguments.js";

export interface OpenMfOptions extends OpenOptions {
  /** The dimension the files follow each other along (default: the one whose labels differ between files). */
  concatDim?: string;
}

/**
 * Opens several files (paths, or one path with `*` in its last part) as one Dataset, joined along
 * `concatDim` in the order of that dimension's labels: `openMfDataset(["y2020.nc", "y2021.nc"],
 * { concatDim: "time" })`. Other dimensions must have the same labels in every file.
 */
export async function openMfDataset(
  locations: string | readonly (string | URL)[],
  options: OpenMfOptions = {},
): Promise<Dataset> {
  checkKnownOptions("openMfDataset options", options, [...OPEN_OPTIONS, "concatDim"]);
  const { concatDim, ...open } = options;
  const paths = typeof locations === "string" ? await expandGlob(locations, storesOf(options.stores)) : [...locations];
  if (paths.length === 0)
    throw new ArgumentError(
      `no files to open${typeof locations === "string" ? ` match ${JSON.stringify(locations)}` : ""}`,
    );
  const datasets = await Promise.all(paths.map((p) => openDataset(p, open)));
  const names = paths.map((p) => String(p));
  const dim = concatDim ?? inferConcatDim(datasets);
  datasets.forEach((ds, i) => {
    if (!ds.coords.has(dim) && !(dim in ds.sizes))
      throw new AlignmentError(
        `${names[i]} has no dimension "${dim}" to join along (its dimensions are ${ds.dims.join(", ")})`,
      );
  });
  // In the order of the first label along the dimension.
  const firstLabel = (ds: Dataset) => {
    const c = ds.coords.get(dim);
    return c && c.kind !== "string" && c.size > 0 ? c.values.contiguous().toTypedArray()[0]! : 0;
  };
  const order = datasets.map((_, i) => i).sort((a, b) => firstLabel(datasets[a]!) - firstLabel(datasets[b]!));
  const sorted = order.map((i) => datasets[i]!);
  const sortedNames = order.map((i) => names[i]!);
  const first = sorted[0]!;
  // Everything but the joined dimension must agree.
  sorted.forEach((ds, i) => {
    for (const [n, c] of first.coords) {
      if (c.dims.includes(dim)) continue;
      const other = ds.coords.get(n);
      if (!other) throw new AlignmentError(`${sortedNames[i]} has no coordinate "${n}", which ${sortedNames[0]} has`);
      if (!other.equals(c))
        throw new AlignmentError(
          `coordinate "${n}" differs between ${sortedNames[0]} (${describeCoord(c)}) and ${sortedNames[i]} (${describeCoord(other)})`,
        );
    }
    for (const n of first.keys())
      if (!ds.dataVars.has(n))
        throw new AlignmentError(`${sortedNames[i]} has no variable "${n}", which ${sortedNames[0]} has`);
    for (const n of ds.keys())
      if (!first.dataVars.has(n))
        throw new AlignmentError(`${sortedNames[i]} has a variable "${n}" that ${sortedNames[0]} lacks`);
    for (const [n, v] of first.dataVars) {
      const w = ds.dataVars.get(n)!;
      if (v.dims.join() !== w.dims.join())
        throw new AlignmentError(
          `"${n}" has dimensions (${w.dims.join(", ")}) in ${sortedNames[i]} but (${v.dims.join(", ")}) in ${sortedNames[0]}`,
        );
      v.dims.forEach((d, a) => {
        if (d !== dim && v.shape[a] !== w.shape[a])
          throw new AlignmentError(
            `"${n}" has ${w.shape[a]} positions along "${d}" in ${sortedNames[i]} but ${v.shape[a]} in ${sortedNames[0]}`,
          );
      });
    }
  });
  const vars = new Map<string, Variable>();
  for (const [n, v] of first.dataVars) {
    if (!v.dims.includes(dim)) {
      vars.set(n, v);
      continue;
    }
    const axis = v.dims.indexOf(dim);
    vars.set(
      n,
      v.with(
        concatenate(
          sorted.map((ds) => ds.dataVars.get(n)!.lazy()),
          axis,
        ),
      ),
    );
  }
  const coords = new Map<string, Coordinate>();
  for (const [n, c] of first.coords) {
    if (!c.dims.includes(dim)) {
      coords.set(n, c);
      continue;
    }
    if (c.dims[0] !== dim)
      throw new AlignmentError(
        `coordinate "${n}" runs along "${dim}" but not first; meshwork joins coordinates along their first dimension`,
      );
    const parts = sorted.map((ds) => ds.coords.get(n)!);
    if (c.strings)
      coords.set(
        n,
        new Coordinate({
          dims: c.dims,
          values: parts.flatMap((p) => [...p.strings!]),
          attrs: { ...c.attrs },
          encoding: { ...c.encoding },
        }),
      );
    else {
      const flat = parts.flatMap((p) => Array.from(p.values.contiguous().toTypedArray()));
      const shape = [flat.length / (c.size / c.shape[0]!), ...c.shape.slice(1)];
      coords.set(
        n,
        new Coordinate({
          dims: c.dims,
          kind: c.kind,
          values: NDArray.from(Float64Array.from(flat), { shape, dtype: c.values.dtype }),
          attrs: { ...c.attrs },
          encoding: { ...c.encoding },
        }),
      );
    }
  }
  const labels = coords.get(dim);
  if (labels && labels.kind !== "string") {
    const v = labels.values.contiguous().toTypedArray();
    for (let i = 1; i < v.length; i++)
      if (!(v[i]! > v[i - 1]!))
        throw new AlignmentError(
          `after joining, "${dim}" is not increasing at position ${i} (${labels.format(i - 1)} then ${labels.format(i)}): the files overlap along "${dim}"`,
        );
  }
  return new Dataset({ dataVars: vars, coords, attrs: { ...first.attrs } });
}

function describeCoord(c: Coordinate): string {
  return `${c.size} labels, ${c.format(0)} … ${c.format(c.size - 1)}`;
}

function inferConcatDim(datasets: Dataset[]): string {
  if (datasets.length === 1) return datasets[0]!.dims[0] ?? "";
  const candidates = datasets[0]!.dims.filter((d) => {
    const c0 = datasets[0]!.coords.get(d);
    return c0 && datasets.some((ds) => !ds.coords.get(d)?.equals(c0));
  });
  if (candidates.length !== 1)
    throw new ArgumentError(
      `cannot tell which dimension to join the files along (${candidates.length ? candidates.join(", ") + " differ" : "no dimension's labels differ"}); pass { concatDim: "time" }`,
    );
  return candidates[0]!;
}

/** A path with `*` or `?` in its last part, expanded by listing its directory (sorted). */
async function expandGlob(pattern: string, stores: Stores): Promise<string[]> {
  if (!/[*?]/.test(pattern)) return [pattern];
  const cut = pattern.lastIndexOf("/");
  const dir = cut < 0 ? "." : pattern.slice(0, cut) || "/";
  const glob = pattern.slice(cut + 1);
  if (/[*?]/.test(dir))
    throw new ArgumentError(`only the last part of a path may have wildcards: ${JSON.stringify(pattern)}`);
  const s = stores.open(stores.storeUrl(dir));
  if (!s.list)
    throw new ArgumentError(`cannot list ${dir} to expand ${JSON.stringify(glob)}; give the files as a list`);
  const re = new RegExp(
    `^${glob
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  );
  const names = (await s.list("")).filter((n) => re.test(n)).sort();
  if (names.length === 0) throw new LabelError(`no files match ${JSON.stringify(pattern)}`);
  return names.map((n) => (cut < 0 ? n : `${pattern.slice(0, cut)}/${n}`));
}
