// DataArray: a chunked array with a name for each dimension, coordinates (labels along them) and
// attributes, as xarray's. Operations are lazy and by name: `air.sub(air.mean({ dim: "time" }))`
// lines the two up by "lat" and "lon" and broadcasts over "time". `compute()` gives a DataArray
// holding its values; `persist()` one whose blocks stay on the workers.

import { ArgumentError } from "../errors.js";
import { ChunkedArray } from "../array/core.js";
import { where as whereArrays } from "../array/elementwise.js";
import { NDArray } from "../array/ndarray.js";
import type { DType } from "../array/dtype.js";
import {
  COLLECTION,
  computeWith,
  persistWith,
  type Collection,
  type CollectionParts,
  type ComputeOptions,
} from "../graph/collection.js";
import type { GraphNode } from "../graph/task.js";
import { broadcastPair, type Labeled } from "./align.js";
import { toCoordinate, type Coordinate } from "./coords.js";
import { DataArrayRef, GroupBy } from "./groupby.js";
import {
  iselCoord,
  iselVariable,
  labelsToPositions,
  type LabelSelector,
  type Positions,
  type SelOptions,
} from "./indexing.js";
import { reduceVariable, type ReduceName, type ReduceOptions } from "./reduce.js";
import { formatDataArray } from "./repr.js";
import { expandEllipsis, Variable, type ArrayData } from "./variable.js";

type BinaryName =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "pow"
  | "maximum"
  | "minimum"
  | "eq"
  | "ne"
  | "lt"
  | "le"
  | "gt"
  | "ge";
type UnaryName = "neg" | "abs" | "exp" | "log" | "sqrt" | "sin" | "cos";

export type Operand = DataArray | number | boolean;

export interface DataArrayInit {
  data: ArrayData;
  dims: readonly string[];
  coords?: ReadonlyMap<string, Coordinate> | Record<string, Coordinate>;
  attrs?: Record<string, unknown>;
  name?: string | null;
  encoding?: Record<string, unknown>;
}

export class DataArray implements Collection<DataArray>, Labeled {
  readonly variable: Variable;
  /** Coordinates whose dimensions are among this array's (scalar ones included). */
  readonly coords: ReadonlyMap<string, Coordinate>;
  readonly name: string | null;

  constructor(init: DataArrayInit) {
    this.variable = new Variable(init.dims, init.data, init.attrs ?? {}, init.encoding ?? {});
    const all = init.coords instanceof Map ? init.coords : new Map(Object.entries(init.coords ?? {}));
    const coords = new Map<string, Coordinate>();
    for (const [n, c] of all) {
      if (!c.dims.every((d: string) => this.variable.dims.includes(d))) continue;
      for (const d of c.dims) {
        const want = this.variable.shape[this.variable.axis(d)]!;
        const has = c.shape[c.dims.indexOf(d)]!;
        if (want !== has)
          throw new ArgumentError(`coordinate "${n}" has ${has} labels along "${d}", which has length ${want}`);
      }
      coords.set(n, c);
    }
    this.coords = coords;
    this.name = init.name ?? null;
  }

  /** @internal */
  static of(variable: Variable, coords: ReadonlyMap<string, Coordinate>, name: string | null): DataArray {
    return new DataArray({
      data: variable.data,
      dims: variable.dims,
      coords,
      attrs: { ...variable.attrs },
      name,
      encoding: { ...variable.encoding },
    });
  }

  get dims(): readonly string[] {
    return this.variable.dims;
  }
  get shape(): readonly number[] {
    return this.variable.shape;
  }
  get ndim(): number {
    return this.variable.dims.length;
  }
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  get dtype(): DType {
    return this.variable.dtype;
  }
  get attrs(): Readonly<Record<string, unknown>> {
    return this.variable.attrs;
  }
  get encoding(): Readonly<Record<string, unknown>> {
    return this.variable.encoding;
  }
  /** Sizes by dimension name: `{ time: 730, lat: 25, lon: 53 }`. */
  get sizes(): Record<string, number> {
    return this.variable.sizes;
  }
  /** The data: a lazy ChunkedArray, or an NDArray once computed. */
  get data(): ArrayData {
    return this.variable.data;
  }
  /** Block sizes by dimension (null once computed). */
  get chunks(): Record<string, readonly number[]> | null {
    const d = this.variable.data;
    return d instanceof ChunkedArray ? Object.fromEntries(this.dims.map((n, i) => [n, d.chunks[i]!])) : null;
  }
  /** The values of a computed array (an NDArray). */
  get values(): NDArray {
    const d = this.variable.data;
    if (d instanceof NDArray) return d;
    throw new ArgumentError(`${this.label()} is lazy: \`await x.compute()\` gives one with values`);
  }

  private label(): string {
    return this.name ? `DataArray "${this.name}"` : "this DataArray";
  }

  private withVariable(
    v: Variable,
    coords: ReadonlyMap<string, Coordinate> = this.coords,
    name: string | null = this.name,
  ): DataArray {
    return DataArray.of(v, coords, name);
  }

  // ---- selection ----

  /** By position: `isel({ time: 0 })` (drops "time"), `isel({ time: { start: 0, stop: 10 } })`, `isel({ lat: [0, 2] })`. */
  isel(indexers: Readonly<Record<string, Positions>>): DataArray {
    for (const d of Object.keys(indexers)) this.variable.axis(d);
    const coords = new Map<string, Coordinate>();
    for (const [n, c] of this.coords) {
      const s = iselCoord(c, indexers);
      if (s) coords.set(n, s);
    }
    return this.withVariable(iselVariable(this.variable, indexers), coords);
  }

  /**
   * By label: `sel({ lat: 52.5, method: "nearest" })`, `sel({ time: { start: "2020-03-01", stop:
   * "2020-06-30" } })` (both ends included), `sel({ lon: [0, 7.5] })`.
   */
  sel(selectors: Readonly<Record<string, LabelSelector>> & SelOptions, options: SelOptions = {}): DataArray {
    const { method, tolerance, ...labels } = selectors as Record<string, unknown> & SelOptions;
    const opts: SelOptions = { method: options.method ?? method, tolerance: options.tolerance ?? tolerance };
    return this.isel(labelsToPositions(this.coords, this.dims, labels as Record<string, LabelSelector>, opts));
  }

  // ---- shape and names ----

  /** Dimensions in a new order; "..." stands for the others. */
  transpose(...dims: string[]): DataArray {
    const order = dims.length === 0 ? [...this.dims].reverse() : expandEllipsis(dims, this.dims);
    return this.withVariable(this.variable.transpose(order));
  }

  /** A new name (a string), or new names for dimensions and coordinates (`{ lat: "latitude" }`). */
  rename(to: string | Readonly<Record<string, string>>): DataArray {
    if (typeof to === "string") return this.withVariable(this.variable, this.coords, to);
    const rn = (n: string) => to[n] ?? n;
    const coords = new Map<string, Coordinate>();
    for (const [n, c] of this.coords) coords.set(rn(n), c.withDims(c.dims.map(rn)));
    return this.withVariable(this.variable.with(this.variable.data, this.dims.map(rn)), coords);
  }

  /** Adds or replaces coordinates: values along one dimension (numbers, Dates, strings) or Coordinates. */
  assignCoords(
    coords: Readonly<Record<string, Coordinate | readonly (number | Date | string)[] | NDArray>>,
  ): DataArray {
    const out = new Map(this.coords);
    for (const [n, v] of Object.entries(coords)) out.set(n, toCoordinate(n, v, this.dims.includes(n) ? [n] : null));
    return this.withVariable(this.variable, out);
  }

  /** Attributes replaced or added. */
  assignAttrs(attrs: Record<string, unknown>): DataArray {
    return this.withVariable(this.variable.with(this.variable.data, this.dims, { ...this.attrs, ...attrs }));
  }

  // ---- arithmetic, lined up by dimension name ----

  private binary(op: BinaryName, other: Operand): DataArray {
    if (typeof other === "number" || typeof other === "boolean") {
      return this.withVariable(this.variable.with(this.variable.lazy()[op](other), this.dims, {}));
    }
    if (!(other instanceof DataArray))
      throw new ArgumentError(`${op} takes a DataArray, a number or a boolean, got ${typeof other}`);
    const { x, y, dims, coords } = broadcastPair(this, other);
    const name = this.name === other.name ? this.name : null;
    return DataArray.of(new Variable(dims, x[op](y)), coords, name);
  }
  add(other: Operand): DataArray {
    return this.binary("add", other);
  }
  sub(other: Operand): DataArray {
    return this.binary("sub", other);
  }
  mul(other: Operand): DataArray {
    return this.binary("mul", other);
  }
  div(other: Operand): DataArray {
    return this.binary("div", other);
  }
  pow(other: Operand): DataArray {
    return this.binary("pow", other);
  }
  maximum(other: Operand): DataArray {
    return this.binary("maximum", other);
  }
  minimum(other: Operand): DataArray {
    return this.binary("minimum", other);
  }
  eq(other: Operand): DataArray {
    return this.binary("eq", other);
  }
  ne(other: Operand): DataArray {
    return this.binary("ne", other);
  }
  lt(other: Operand): DataArray {
    return this.binary("lt", other);
  }
  le(other: Operand): DataArray {
    return this.binary("le", other);
  }
  gt(other: Operand): DataArray {
    return this.binary("gt", other);
  }
  ge(other: Operand): DataArray {
    return this.binary("ge", other);
  }

  private unary(op: UnaryName): DataArray {
    return this.withVariable(this.variable.with(this.variable.lazy()[op](), this.dims, {}));
  }
  neg(): DataArray {
    return this.unary("neg");
  }
  abs(): DataArray {
    return this.unary("abs");
  }
  exp(): DataArray {
    return this.unary("exp");
  }
  log(): DataArray {
    return this.unary("log");
  }
  sqrt(): DataArray {
    return this.unary("sqrt");
  }
  sin(): DataArray {
    return this.unary("sin");
  }
  cos(): DataArray {
    return this.unary("cos");
  }
  astype(dtype: DType): DataArray {
    return this.withVariable(this.variable.with(this.variable.lazy().astype(dtype)));
  }

  /** This array where `cond` holds, `other` elsewhere (NaN by default), as xarray's `where`. */
  where(cond: DataArray, other: Operand = NaN): DataArray {
    const { x, y, dims, coords } = broadcastPair(this, cond);
    const o =
      other instanceof DataArray ? broadcastPair(DataArray.of(new Variable(dims, x), coords, null), other).y : other;
    return DataArray.of(new Variable(dims, whereArrays(y, x, o)), coords, this.name);
  }

  // ---- reductions by dimension name ----

  private reduce(op: ReduceName, options: ReduceOptions = {}): DataArray {
    const { data, dims } = reduceVariable(this.variable, op, options);
    const coords = new Map([...this.coords].filter(([, c]) => c.dims.every((d) => dims.includes(d))));
    return DataArray.of(new Variable(dims, data, options.keepAttrs ? { ...this.attrs } : {}), coords, this.name);
  }
  sum(options?: ReduceOptions): DataArray {
    return this.reduce("sum", options);
  }
  prod(options?: ReduceOptions): DataArray {
    return this.reduce("prod", options);
  }
  mean(options?: ReduceOptions): DataArray {
    return this.reduce("mean", options);
  }
  min(options?: ReduceOptions): DataArray {
    return this.reduce("min", options);
  }
  max(options?: ReduceOptions): DataArray {
    return this.reduce("max", options);
  }
  var(options?: ReduceOptions): DataArray {
    return this.reduce("var", options);
  }
  std(options?: ReduceOptions): DataArray {
    return this.reduce("std", options);
  }
  /** How many values are not missing. */
  count(options?: ReduceOptions): DataArray {
    return this.reduce("count", options);
  }

  /** Groups along a dimension by a coordinate's values or a date part: `groupby("time.month")`. */
  groupby(key: string): GroupBy {
    return new GroupBy(this, key);
  }

  // ---- computing ----

  [COLLECTION](): CollectionParts<DataArray> {
    const x = this.variable.lazy();
    const parts = x[COLLECTION]();
    const dtype = x.dtype;
    return {
      graph: parts.graph,
      keys: parts.keys,
      finalize: (values) => this.withVariable(this.variable.with(asNDArray(parts.finalize(values), dtype))),
      rebuild: (held: ReadonlyMap<string, GraphNode>) =>
        this.withVariable(this.variable.with(parts.rebuild(held) as ChunkedArray)),
    };
  }

  /** The same DataArray with its values computed (on the default client, or here). */
  async compute(options?: ComputeOptions): Promise<DataArray> {
    const [v] = await computeWith(options, [this] as const);
    return v as DataArray;
  }

  /** The same DataArray with its blocks computed and kept where they were computed. */
  async persist(options?: ComputeOptions): Promise<DataArray> {
    const [v] = await persistWith(options, [this] as const);
    return v as DataArray;
  }

  /** A Dataset with this array as its one variable (named `name`, or the array's name). */
  async toDataset(name?: string): Promise<import("./dataset.js").Dataset> {
    const { Dataset } = await import("./dataset.js");
    return Dataset.fromDataArray(this, name);
  }

  /** Writes to a Zarr store as xarray does (a Dataset of one variable): `await da.toZarr("out.zarr")`. */
  async toZarr(store: string | URL, options?: import("./write.js").ToZarrOptions): Promise<void> {
    const ds = await this.toDataset();
    await ds.toZarr(store, options);
  }

  toString(): string {
    return formatDataArray(this);
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/** A computed value as an NDArray (0-d results come back as numbers). */
function asNDArray(v: unknown, dtype: DType): NDArray {
  if (v instanceof NDArray) return v;
  return NDArray.from(v as number, { dtype });
}

DataArrayRef.DataArray = DataArray;
