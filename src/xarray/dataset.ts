// Dataset: named variables sharing dimensions and coordinates, as xarray's (a NetCDF file or a Zarr
// group). `ds.get("air")` is a DataArray with the coordinates along its dimensions; selections and
// reductions apply to every variable that has the dimensions named.

import { ArgumentError, LabelError } from "../errors.js";
import { ChunkedArray } from "../array/core.js";
import { NDArray } from "../array/ndarray.js";
import {
  COLLECTION,
  computeWith,
  persistWith,
  type Collection,
  type CollectionParts,
  type ComputeOptions,
} from "../graph/collection.js";
import { LayeredGraph, type GraphNode } from "../graph/task.js";
import { toCoordinate, type Coordinate } from "./coords.js";
import { DataArray } from "./dataarray.js";
import {
  iselCoord,
  iselVariable,
  labelsToPositions,
  type LabelSelector,
  type Positions,
  type SelOptions,
} from "./indexing.js";
import { reduceVariable, type ReduceName, type ReduceOptions } from "./reduce.js";
import { formatDataset } from "./repr.js";
import { Variable } from "./variable.js";

export class Dataset implements Collection<Dataset> {
  readonly dataVars: ReadonlyMap<string, Variable>;
  readonly coords: ReadonlyMap<string, Coordinate>;
  readonly attrs: Readonly<Record<string, unknown>>;

  constructor(init: {
    dataVars?: ReadonlyMap<string, Variable> | Record<string, Variable | DataArray>;
    coords?: ReadonlyMap<string, Coordinate> | Record<string, Coordinate>;
    attrs?: Record<string, unknown>;
  }) {
    const vars = new Map<string, Variable>();
    const coords = new Map<string, Coordinate>(
      init.coords instanceof Map ? init.coords : Object.entries(init.coords ?? {}),
    );
    const entries = init.dataVars instanceof Map ? [...init.dataVars] : Object.entries(init.dataVars ?? {});
    for (const [n, v] of entries) {
      if (v instanceof DataArray) {
        vars.set(n, v.variable);
        for (const [cn, c] of v.coords) if (!coords.has(cn)) coords.set(cn, c);
      } else vars.set(n, v as Variable);
    }
    // Every dimension has one length.
    const sizes = new Map<string, number>();
    const check = (name: string, dims: readonly string[], shape: readonly number[]) =>
      dims.forEach((d, i) => {
        const n = sizes.get(d);
        if (n === undefined) sizes.set(d, shape[i]!);
        else if (n !== shape[i])
          throw new ArgumentError(`"${name}" has ${shape[i]} positions along "${d}", which other variables give ${n}`);
      });
    for (const [n, v] of vars) check(n, v.dims, v.shape);
    for (const [n, c] of coords) check(n, c.dims, c.shape);
    this.dataVars = vars;
    this.coords = coords;
    this.attrs = Object.freeze({ ...(init.attrs ?? {}) });
  }

  static fromDataArray(a: DataArray, name?: string): Dataset {
    const n = name ?? a.name;
    if (!n) throw new ArgumentError('the DataArray has no name: pass one (toDataset("air"))');
    return new Dataset({ dataVars: new Map([[n, a.variable]]), coords: a.coords });
  }

  /** Sizes of every dimension. */
  get sizes(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const v of this.dataVars.values()) Object.assign(out, v.sizes);
    for (const c of this.coords.values()) c.dims.forEach((d, i) => (out[d] = c.shape[i]!));
    return out;
  }

  get dims(): string[] {
    return Object.keys(this.sizes);
  }

  /** Names of the data variables. */
  keys(): string[] {
    return [...this.dataVars.keys()];
  }

  has(name: string): boolean {
    return this.dataVars.has(name) || this.coords.has(name);
  }

  /** A data variable (or a coordinate) as a DataArray with its coordinates. */
  get(name: string): DataArray {
    const v = this.dataVars.get(name);
    if (v) return DataArray.of(v, this.coordsFor(v.dims), name);
    const c = this.coords.get(name);
    if (c) {
      const data = c.kind === "string" ? c.values : c.values;
      return new DataArray({ data, dims: c.dims, coords: this.coordsFor(c.dims), attrs: { ...c.attrs }, name });
    }
    throw new LabelError(
      `no variable "${name}" in this Dataset; it has ${[...this.dataVars.keys(), ...this.coords.keys()].map((k) => `"${k}"`).join(", ")}`,
    );
  }

  private coordsFor(dims: readonly string[]): Map<string, Coordinate> {
    return new Map([...this.coords].filter(([, c]) => c.dims.every((d) => dims.includes(d))));
  }

  private with(
    vars: Map<string, Variable>,
    coords: ReadonlyMap<string, Coordinate> = this.coords,
    attrs: Record<string, unknown> = { ...this.attrs },
  ): Dataset {
    return new Dataset({ dataVars: vars, coords, attrs });
  }

  /** Adds or replaces data variables. */
  assign(vars: Readonly<Record<string, DataArray>>): Dataset {
    const out = new Map(this.dataVars);
    const coords = new Map(this.coords);
    for (const [n, a] of Object.entries(vars)) {
      out.set(n, a.variable);
      for (const [cn, c] of a.coords) if (!coords.has(cn)) coords.set(cn, c);
    }
    return this.with(out, coords);
  }

  /** Without these variables or coordinates. */
  drop(...names: string[]): Dataset {
    for (const n of names) if (!this.has(n)) throw new LabelError(`cannot drop "${n}": no such variable`);
    return this.with(
      new Map([...this.dataVars].filter(([n]) => !names.includes(n))),
      new Map([...this.coords].filter(([n]) => !names.includes(n))),
    );
  }

  isel(indexers: Readonly<Record<string, Positions>>): Dataset {
    const sizes = this.sizes;
    for (const d of Object.keys(indexers))
      if (!(d in sizes))
        throw new LabelError(
          `no dimension "${d}"; the dimensions are ${Object.keys(sizes)
            .map((x) => `"${x}"`)
            .join(", ")}`,
        );
    const vars = new Map([...this.dataVars].map(([n, v]) => [n, iselVariable(v, indexers)]));
    const coords = new Map<string, Coordinate>();
    for (const [n, c] of this.coords) {
      const s = iselCoord(c, indexers);
      if (s) coords.set(n, s);
    }
    return this.with(vars, coords);
  }

  sel(selectors: Readonly<Record<string, LabelSelector>> & SelOptions, options: SelOptions = {}): Dataset {
    const { method, tolerance, ...labels } = selectors as Record<string, unknown> & SelOptions;
    return this.isel(
      labelsToPositions(this.coords, this.dims, labels as Record<string, LabelSelector>, {
        method: options.method ?? method,
        tolerance: options.tolerance ?? tolerance,
      }),
    );
  }

  rename(names: Readonly<Record<string, string>>): Dataset {
    const rn = (n: string) => names[n] ?? n;
    const vars = new Map([...this.dataVars].map(([n, v]) => [rn(n), v.with(v.data, v.dims.map(rn))]));
    const coords = new Map([...this.coords].map(([n, c]) => [rn(n), c.withDims(c.dims.map(rn))]));
    return this.with(vars, coords);
  }

  assignCoords(coords: Readonly<Record<string, Coordinate | readonly (number | Date | string)[] | NDArray>>): Dataset {
    const out = new Map(this.coords);
    for (const [n, v] of Object.entries(coords)) out.set(n, toCoordinate(n, v, n in this.sizes ? [n] : null));
    return this.with(new Map(this.dataVars), out);
  }

  private reduce(op: ReduceName, options: ReduceOptions = {}): Dataset {
    const dims =
      options.dim === undefined ? this.dims : typeof options.dim === "string" ? [options.dim] : [...options.dim];
    for (const d of dims)
      if (!this.dims.includes(d))
        throw new LabelError(
          `cannot reduce over "${d}": the dimensions are ${this.dims.map((x) => `"${x}"`).join(", ")}`,
        );
    const vars = new Map<string, Variable>();
    for (const [n, v] of this.dataVars) {
      const mine = dims.filter((d) => v.dims.includes(d));
      const r = reduceVariable(v, op, { ...options, dim: mine });
      vars.set(n, new Variable(r.dims, r.data, options.keepAttrs ? { ...v.attrs } : {}));
    }
    const coords = new Map([...this.coords].filter(([, c]) => c.dims.every((d) => !dims.includes(d))));
    return this.with(vars, coords, options.keepAttrs ? { ...this.attrs } : {});
  }
  sum(options?: ReduceOptions): Dataset {
    return this.reduce("sum", options);
  }
  mean(options?: ReduceOptions): Dataset {
    return this.reduce("mean", options);
  }
  min(options?: ReduceOptions): Dataset {
    return this.reduce("min", options);
  }
  max(options?: ReduceOptions): Dataset {
    return this.reduce("max", options);
  }
  std(options?: ReduceOptions): Dataset {
    return this.reduce("std", options);
  }
  var(options?: ReduceOptions): Dataset {
    return this.reduce("var", options);
  }
  count(options?: ReduceOptions): Dataset {
    return this.reduce("count", options);
  }

  // ---- computing ----

  [COLLECTION](): CollectionParts<Dataset> {
    const lazy = [...this.dataVars].filter(([, v]) => v.data instanceof ChunkedArray) as [string, Variable][];
    const parts = lazy.map(([, v]) => (v.data as ChunkedArray)[COLLECTION]());
    const keys = parts.flatMap((p) => p.keys);
    return {
      graph: LayeredGraph.merge(parts.map((p) => p.graph)),
      keys,
      finalize: (values) => {
        const vars = new Map(this.dataVars);
        let at = 0;
        lazy.forEach(([n, v], i) => {
          const p = parts[i]!;
          const value = p.finalize(values.slice(at, at + p.keys.length));
          at += p.keys.length;
          vars.set(n, v.with(value instanceof NDArray ? value : NDArray.from(value as number, { dtype: v.dtype })));
        });
        return this.with(vars);
      },
      rebuild: (held: ReadonlyMap<string, GraphNode>) => {
        const vars = new Map(this.dataVars);
        lazy.forEach(([n, v], i) => vars.set(n, v.with(parts[i]!.rebuild(held) as ChunkedArray)));
        return this.with(vars);
      },
    };
  }

  async compute(options?: ComputeOptions): Promise<Dataset> {
    const [v] = await computeWith(options, [this] as const);
    return v as Dataset;
  }

  async persist(options?: ComputeOptions): Promise<Dataset> {
    const [v] = await persistWith(options, [this] as const);
    return v as Dataset;
  }

  /** Writes to a Zarr store that xarray's open_zarr reads with names, coordinates and attributes. */
  async toZarr(store: string | URL, options?: import("./write.js").ToZarrOptions): Promise<void> {
    const { datasetToZarr } = await import("./write.js");
    await datasetToZarr(this, store, options);
  }

  toString(): string {
    return formatDataset(this);
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}
