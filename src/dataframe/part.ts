// A partition: named columns of one length. On the wire it is a small header (names, types,
// lengths, null counts) and each column's buffers as raw frames, never copied into the message;
// between threads the frames are transferred. Registered as a wire class, so a worker that
// receives one gets a Part back. This file has no dependencies, so every worker loads it eagerly.

import { ArgumentError, ColumnError } from "../errors.js";
import { registerWireClass } from "../protocol/wire-classes.js";
import { Column, type Values } from "./column.js";
import { isDType, storageOf, type DType } from "./dtypes.js";

/** Column names and types, in order. */
export interface Schema {
  readonly names: readonly string[];
  readonly types: readonly DType[];
}

export class Part {
  constructor(
    readonly names: readonly string[],
    readonly columns: readonly Column[],
    readonly length: number = columns[0]?.length ?? 0,
  ) {
    if (names.length !== columns.length)
      throw new ArgumentError(`a partition has ${names.length} names for ${columns.length} columns`);
    for (const c of columns)
      if (c.length !== length)
        throw new ArgumentError(`columns of one partition differ in length (${c.length} and ${length})`);
  }

  get schema(): Schema {
    return { names: this.names, types: this.columns.map((c) => c.type) };
  }

  get nbytes(): number {
    return this.columns.reduce((s, c) => s + c.nbytes, 0);
  }

  /** The column called `name`; ColumnError listing the columns there are otherwise. */
  column(name: string): Column {
    const i = this.names.indexOf(name);
    if (i < 0) throw new ColumnError([name], this.names);
    return this.columns[i]!;
  }

  has(name: string): boolean {
    return this.names.includes(name);
  }

  select(names: readonly string[]): Part {
    return new Part(
      names,
      names.map((n) => this.column(n)),
      this.length,
    );
  }

  /** Rows `idx[0..n)`, in that order. */
  take(idx: Int32Array | Uint32Array, n = idx.length): Part {
    return new Part(
      this.names,
      this.columns.map((c) => c.take(idx, n)),
      n,
    );
  }

  slice(start: number, end: number): Part {
    const cols = this.columns.map((c) => c.slice(start, end));
    return new Part(this.names, cols, cols[0]?.length ?? Math.max(0, Math.min(end, this.length) - Math.max(0, start)));
  }

  /** This partition with `name` set to `col` (replacing a column of that name, else added at the end). */
  with(name: string, col: Column): Part {
    const i = this.names.indexOf(name);
    if (i < 0) return new Part([...this.names, name], [...this.columns, col], this.length);
    const cols = [...this.columns];
    cols[i] = col;
    return new Part(this.names, cols, this.length);
  }

  /** Partitions of one schema joined end to end (an empty list gives an empty partition of `schema`). */
  static concat(parts: readonly Part[], schema?: Schema): Part {
    const nonEmpty = parts.filter((p) => p.length > 0);
    const use = nonEmpty.length > 0 ? nonEmpty : parts.slice(0, 1);
    if (use.length === 0) {
      if (!schema) throw new ArgumentError("concatenating no partitions needs a schema");
      return Part.empty(schema);
    }
    if (use.length === 1) return use[0]!;
    const first = use[0]!;
    const cols = first.names.map((name, j) =>
      Column.concat(use.map((p) => p.columns[p.names.indexOf(name)] ?? badConcat(p, name, first.columns[j]!.type))),
    );
    return new Part(first.names, cols);
  }

  static empty(schema: Schema): Part {
    return new Part(
      schema.names,
      schema.types.map((t) => Column.nulls(t, 0)),
      0,
    );
  }
}

function badConcat(p: Part, name: string, _t: DType): never {
  throw new ColumnError([name], p.names);
}

// ---- on the wire: { n, names, types, cols: [{ v, m?, o?, z }] }; typed arrays go out as frames ----

interface WireColumn {
  v: Values;
  m?: Uint8Array;
  o?: Int32Array;
  z: number;
}

registerWireClass<Part>({
  name: "DFPart",
  Class: Part,
  encode(p) {
    return {
      n: p.length,
      names: [...p.names],
      types: p.columns.map((c) => c.type),
      cols: p.columns.map((c) => {
        const w: WireColumn = { v: c.values, z: c.nullCount };
        if (c.validity) w.m = c.validity;
        if (c.offsets) w.o = c.offsets;
        return w;
      }),
    };
  },
  decode(fields) {
    const f = fields as { n: number; names: string[]; types: string[]; cols: WireColumn[] };
    if (
      !Number.isInteger(f?.n) ||
      f.n < 0 ||
      !Array.isArray(f.names) ||
      !Array.isArray(f.cols) ||
      f.cols.length !== f.names.length
    )
      throw new ArgumentError("malformed partition header");
    const n = f.n;
    const cols = f.cols.map((w, j) => {
      const type = f.types[j];
      if (!isDType(type)) throw new ArgumentError(`partition column ${f.names[j]} has unknown type ${String(type)}`);
      const Ctor = storageOf(type);
      const want = type === "bool" ? (n + 7) >> 3 : type === "utf8" ? (w.o?.[n] ?? 0) : n;
      if (!(w.v instanceof (Ctor as unknown as typeof Uint8Array)) || w.v.length < want)
        throw new ArgumentError(`partition column ${f.names[j]}: values do not fit its type ${type} and ${n} rows`);
      if (w.m && w.m.length < (n + 7) >> 3)
        throw new ArgumentError(`partition column ${f.names[j]}: validity bitmap too short`);
      if (type === "utf8" && (!(w.o instanceof Int32Array) || w.o.length !== n + 1))
        throw new ArgumentError(`partition column ${f.names[j]}: offsets missing or of the wrong length`);
      return new Column(type, n, w.v, w.m ?? null, w.z, w.o ?? null);
    });
    return new Part(f.names, cols, n);
  },
});
