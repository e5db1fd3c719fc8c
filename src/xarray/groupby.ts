// groupby: positions along a dimension grouped by a coordinate's values or a part of its dates
// ("time.month"), then reduced per group (a monthly climatology) or combined with an array that
// has one entry per group (the anomaly from it). Groups are worked out on the client from the
// coordinate; the data is folded block by block on the workers (kernels.ts).

import { AlignmentError, ArgumentError, LabelError } from "../errors.js";
import { ChunkedArray } from "../array/core.js";
import { tokenName } from "../array/names.js";
import { blockIndices } from "../array/chunks.js";
import { isFloat, meanType, promote, sumType, type DType } from "../array/dtype.js";
import { rechunk } from "../array/rechunk.js";
import { NDArray } from "../array/ndarray.js";
import { LayeredGraph, Task, TaskRef, type GraphNode } from "../graph/task.js";
import { DEFAULT_SPLIT_EVERY } from "../array/reductions.js";
import { Coordinate } from "./coords.js";
import type { DataArray, Operand } from "./dataarray.js";
import { XK, type GroupChunkSpec, type GroupFinalizeSpec, type GroupOp, type GroupBinarySpec } from "./kernels.js";
import { Variable } from "./variable.js";
import "./zarr-group-fuse.js"; // grouped sums fused with their reads

/** Parts of a date groupby can group by: `groupby("time.month")`. */
const DATE_PARTS: Record<string, (d: Date) => number | string> = {
  year: (d) => d.getUTCFullYear(),
  month: (d) => d.getUTCMonth() + 1,
  day: (d) => d.getUTCDate(),
  hour: (d) => d.getUTCHours(),
  minute: (d) => d.getUTCMinutes(),
  second: (d) => d.getUTCSeconds(),
  dayofyear: (d) => Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1,
  // Monday 0 … Sunday 6, as pandas.
  dayofweek: (d) => (d.getUTCDay() + 6) % 7,
  season: (d) => ["DJF", "DJF", "MAM", "MAM", "MAM", "JJA", "JJA", "JJA", "SON", "SON", "SON", "DJF"][d.getUTCMonth()]!,
};

export interface GroupReduceOptions {
  /** The grouped dimension (the default, and the only one supported: reduce further afterwards). */
  dim?: string;
  skipna?: boolean;
  ddof?: number;
  keepAttrs?: boolean;
}

export class GroupBy {
  /** The dimension being grouped along. */
  readonly dim: string;
  /** The name of the result's group dimension ("month"). */
  readonly name: string;
  /** The group labels, ascending. */
  readonly labels: readonly (number | string)[];
  /** For each position along the dimension, its group's index in `labels`. */
  readonly codes: readonly number[];

  constructor(
    readonly array: DataArray,
    key: string,
  ) {
    const [coordName, part] = key.includes(".")
      ? [key.slice(0, key.indexOf(".")), key.slice(key.indexOf(".") + 1)]
      : [key, undefined];
    const coord = array.coords.get(coordName!);
    if (!coord)
      throw new LabelError(
        `cannot group by "${key}": there is no coordinate "${coordName}" (there are ${[...array.coords.keys()].map((k) => `"${k}"`).join(", ") || "none"})`,
      );
    if (coord.dims.length !== 1)
      throw new ArgumentError(
        `cannot group by "${coordName}": it has ${coord.dims.length} dimensions, groupby needs one`,
      );
    this.dim = coord.dims[0]!;
    let keys: (number | string)[];
    if (part !== undefined) {
      if (coord.kind !== "datetime")
        throw new ArgumentError(
          `"${key}": "${coordName}" holds ${coord.kind} values, not dates, so it has no ".${part}"`,
        );
      const f = DATE_PARTS[part];
      if (!f)
        throw new ArgumentError(
          `"${key}": dates have no part "${part}"; the parts are ${Object.keys(DATE_PARTS).join(", ")}`,
        );
      keys = Array.from(coord.values.contiguous().toTypedArray(), (ms) => f(new Date(ms)));
      this.name = part;
    } else {
      keys = coord.strings ? [...coord.strings] : Array.from(coord.values.contiguous().toTypedArray(), Number);
      this.name = coordName!;
    }
    const labels = [...new Set(keys)].sort((a, b) =>
      typeof a === "number" && typeof b === "number"
        ? a - b
        : String(a) < String(b)
          ? -1
          : String(a) > String(b)
            ? 1
            : 0,
    );
    const at = new Map(labels.map((l, i) => [l, i]));
    this.labels = labels;
    this.codes = keys.map((k) => at.get(k)!);
  }

  /** The result's coordinate along the group dimension. */
  private groupCoord(): Coordinate {
    const strings = this.labels.every((l) => typeof l === "string");
    if (strings) return new Coordinate({ dims: [this.name], values: this.labels as string[] });
    const numbers = this.labels as number[];
    const ints = numbers.every((n) => Number.isInteger(n) && Math.abs(n) < 2 ** 31);
    return new Coordinate({
      dims: [this.name],
      values: ints ? NDArray.from(Int32Array.from(numbers)) : NDArray.from(Float64Array.from(numbers)),
    });
  }

  private reduce(op: GroupOp, options: GroupReduceOptions = {}): DataArray {
    if (options.dim !== undefined && options.dim !== this.dim)
      throw new ArgumentError(
        `a groupby over "${this.dim}" reduces over "${this.dim}"; reduce over "${options.dim}" afterwards`,
      );
    const v = this.array.variable;
    const x = v.lazy();
    const axis = v.axis(this.dim);
    const skipna = options.skipna ?? isFloat(x.dtype);
    const dtype: DType =
      op === "count"
        ? "float64"
        : op === "mean" || op === "var" || op === "std"
          ? meanType(x.dtype)
          : op === "sum" || op === "prod"
            ? sumType(x.dtype)
            : x.dtype;
    const data = groupReduce(x, axis, this.codes, this.labels.length, op, skipna, dtype, options.ddof ?? 0);
    const dims = v.dims.map((d) => (d === this.dim ? this.name : d));
    const coords = new Map([...this.array.coords].filter(([, c]) => !c.dims.includes(this.dim)));
    coords.set(this.name, this.groupCoord());
    const { DataArray: DA } = DataArrayRef;
    return DA.of(new Variable(dims, data, options.keepAttrs ? { ...v.attrs } : {}), coords, this.array.name);
  }

  sum(options?: GroupReduceOptions): DataArray {
    return this.reduce("sum", options);
  }
  prod(options?: GroupReduceOptions): DataArray {
    return this.reduce("prod", options);
  }
  mean(options?: GroupReduceOptions): DataArray {
    return this.reduce("mean", options);
  }
  min(options?: GroupReduceOptions): DataArray {
    return this.reduce("min", options);
  }
  max(options?: GroupReduceOptions): DataArray {
    return this.reduce("max", options);
  }
  var(options?: GroupReduceOptions): DataArray {
    return this.reduce("var", options);
  }
  std(options?: GroupReduceOptions): DataArray {
    return this.reduce("std", options);
  }
  count(options?: GroupReduceOptions): DataArray {
    return this.reduce("count", options);
  }

  /**
   * Each position combined with its group's entry of `other`, which has the group dimension
   * (`air.groupby("time.month").sub(clim)`: the anomaly from the monthly climatology).
   */
  private binary(op: "add" | "sub" | "mul" | "div", other: Operand): DataArray {
    if (typeof other === "number" || typeof other === "boolean") return this.array[op](other);
    const v = this.array.variable;
    const o = other.variable;
    if (!o.dims.includes(this.name))
      throw new AlignmentError(
        `the other array has no "${this.name}" dimension to match the groups with (its dimensions are ${o.dims.map((d) => `"${d}"`).join(", ")})`,
      );
    for (const d of o.dims)
      if (d !== this.name && !v.dims.includes(d))
        throw new AlignmentError(
          `the other array's dimension "${d}" is not one of this array's (${v.dims.join(", ")})`,
        );
    // Which row of `other` each group is.
    const theirs = other.coords.get(this.name);
    const rowOfGroup = this.labels.map((label, g) => {
      if (!theirs) return g < o.shape[o.axis(this.name)]! ? g : -1;
      const keys = theirs.strings ?? Array.from(theirs.values.contiguous().toTypedArray(), Number);
      return (keys as (number | string)[]).indexOf(label);
    });
    const missing = this.labels.filter((_, g) => rowOfGroup[g]! < 0);
    if (missing.length > 0)
      throw new AlignmentError(
        `the other array has no "${this.name}" entry for ${missing.map((m) => JSON.stringify(m)).join(", ")}`,
      );
    // `other` laid out like this array: the group dimension where the grouped one is, 1 where it has no dimension.
    const dims = v.dims.map((d) => (d === this.dim ? this.name : d));
    let y = o.expandTo(dims);
    const x = v.lazy();
    const axis = v.axis(this.dim);
    y = rechunk(y, y.shape.map((n, k) => (k === axis || n === 1 ? -1 : x.chunks[k]!)) as never);
    const rows = this.codes.map((c) => rowOfGroup[c]!);
    const t = promote(x.dtype, y.dtype);
    const data = groupBinaryGraph(op, x, y, axis, rows, t);
    const coords = new Map(this.array.coords);
    for (const [n, c] of other.coords) if (!c.dims.includes(this.name) && !coords.has(n)) coords.set(n, c);
    const { DataArray: DA } = DataArrayRef;
    return DA.of(new Variable(v.dims, data), coords, this.array.name === other.name ? this.array.name : null);
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

  toString(): string {
    return `GroupBy over "${this.dim}" by ${this.name}: ${this.labels.length} groups (${this.labels.slice(0, 12).join(", ")}${this.labels.length > 12 ? ", …" : ""})`;
  }
}

/** DataArray, set by dataarray.ts (the two modules refer to each other). */
export const DataArrayRef = {} as { DataArray: typeof DataArray };

/** The tree: a partial per block, merged in groups of DEFAULT_SPLIT_EVERY along the axis, then laid out. */
function groupReduce(
  x: ChunkedArray,
  axis: number,
  codes: readonly number[],
  ngroups: number,
  op: GroupOp,
  skipna: boolean,
  dtype: DType,
  ddof: number,
): ChunkedArray {
  const name = tokenName(`groupby-${op}`, x.name, axis, codes, ngroups, skipna, dtype, ddof);
  const layer = new Map<string, GraphNode>();
  const outChunks = x.chunks.map((c, k) => (k === axis ? [ngroups] : [...c]));
  const out = new ChunkedArray(LayeredGraph.merge([x.graph], name, layer), name, outChunks, dtype);
  const starts = [0];
  for (const c of x.chunks[axis]!) starts.push(starts[starts.length - 1]! + c);
  const others = x.numblocks.map((n, k) => (k === axis ? 1 : n));
  for (const idx of blockIndices(others)) {
    let level: string[] = [];
    for (let b = 0; b < x.numblocks[axis]!; b++) {
      const blockIdx = idx.map((v, k) => (k === axis ? b : v));
      const spec: GroupChunkSpec = { op, axis, codes: codes.slice(starts[b]!, starts[b + 1]!) as number[], skipna };
      const key = `${name}-p0-${b}[${idx.join(",")}]`;
      layer.set(key, new Task(XK.groupChunk, [spec, new TaskRef(x.key(blockIdx))]));
      level.push(key);
    }
    for (let l = 1; level.length > 1; l++) {
      const next: string[] = [];
      for (let i = 0; i < level.length; i += DEFAULT_SPLIT_EVERY) {
        const key = `${name}-p${l}-${i / DEFAULT_SPLIT_EVERY}[${idx.join(",")}]`;
        layer.set(
          key,
          new Task(XK.groupCombine, [op, ...level.slice(i, i + DEFAULT_SPLIT_EVERY).map((k) => new TaskRef(k))]),
        );
        next.push(key);
      }
      level = next;
    }
    const innerShape = x.chunks.map((c, k) => c[idx[k]!]!).filter((_, k) => k !== axis);
    const spec: GroupFinalizeSpec = { op, ngroups, innerShape, axis, dtype, ddof };
    layer.set(out.key(idx), new Task(XK.groupFinalize, [spec, new TaskRef(level[0]!)]));
  }
  return out;
}

function groupBinaryGraph(
  op: "add" | "sub" | "mul" | "div",
  x: ChunkedArray,
  y: ChunkedArray,
  axis: number,
  rows: number[],
  dtype: DType,
): ChunkedArray {
  const name = tokenName(`groupby-${op}`, x.name, y.name, axis, rows, dtype);
  const layer = new Map<string, GraphNode>();
  const out = new ChunkedArray(
    LayeredGraph.merge([x.graph, y.graph], name, layer),
    name,
    x.chunks.map((c) => [...c]),
    dtype,
  );
  const starts = [0];
  for (const c of x.chunks[axis]!) starts.push(starts[starts.length - 1]! + c);
  for (const idx of blockIndices(x.numblocks)) {
    const yIdx = idx.map((b, k) => (k === axis || y.numblocks[k] === 1 ? 0 : b));
    const spec: GroupBinarySpec = { op, axis, rows: rows.slice(starts[idx[axis]!]!, starts[idx[axis]! + 1]!), dtype };
    layer.set(out.key(idx), new Task(XK.groupBinary, [spec, new TaskRef(x.key(idx)), new TaskRef(y.key(yIdx))]));
  }
  return out;
}
