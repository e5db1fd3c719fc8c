// One column of a partition in Arrow's memory layout: values in a typed array (bits for bool,
// UTF-8 bytes plus int32 offsets for strings) and a validity bitmap where there are nulls. The
// buffers are what travels between workers, as raw frames; everything else is derived here.

import { ArgumentError } from "../errors.js";
import { isTimestamp, MS_PER_UNIT, storageOf, timestampUnit, type DType } from "./dtypes.js";

export { columnFrom, numberColumn, rawColumn, stringColumn } from "./column-build.js";

export type Values =
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

const decoder = new TextDecoder();

/**
 * A utf8 column's rows as codes into a dictionary, as a Parquet reader met them: a code per row
 * (-1 where null) and the dictionary's UTF-8 bytes and offsets. Entries need not be distinct, and
 * some may be unused.
 */
export interface DictionaryCodes {
  codes: Int32Array;
  bytes: Uint8Array;
  offsets: Int32Array;
  size: number;
}

const NO_BYTES = new Uint8Array(0);

export class Column {
  /** JavaScript strings of a utf8 column, decoded once on first use (null where null). */
  private decoded: (string | null)[] | undefined;
  /**
   * The rows' dictionary codes when a reader had them: grouping by the column uses them, and
   * a column made from them (fromDictionary) gathers its bytes only when they are first asked for.
   * Never sent (the wire carries bytes and offsets); a copy or a gather has none.
   */
  dictionary: DictionaryCodes | null = null;
  private bytesOrValues: Values;
  private byteOffsets: Int32Array | null;
  /** Whether the bytes and offsets are still to be gathered from the dictionary. */
  private pending = false;

  constructor(
    readonly type: DType,
    readonly length: number,
    /** Values (bool: LSB-first bits; utf8: the bytes of all strings). */
    values: Values,
    /** LSB-first bits, 1 = valid; null when no value is null. */
    readonly validity: Uint8Array | null,
    readonly nullCount: number,
    /** utf8 only: `length + 1` byte offsets, starting at 0. */
    offsets: Int32Array | null = null,
  ) {
    this.bytesOrValues = values;
    this.byteOffsets = offsets;
    if (nullCount === 0) this.validity = null;
  }

  /** A utf8 column of `length` rows held as dictionary codes; its bytes and offsets are gathered on first use. */
  static fromDictionary(length: number, d: DictionaryCodes, validity: Uint8Array | null, nullCount: number): Column {
    const c = new Column("utf8", length, NO_BYTES, validity, nullCount, null);
    c.dictionary = d;
    c.pending = true;
    return c;
  }

  /** Values (bool: LSB-first bits; utf8: the bytes of all strings). */
  get values(): Values {
    if (this.pending) this.gather();
    return this.bytesOrValues;
  }

  /** utf8 only: `length + 1` byte offsets, starting at 0. */
  get offsets(): Int32Array | null {
    if (this.pending) this.gather();
    return this.byteOffsets;
  }

  private gather(): void {
    const { codes, bytes, offsets: dof } = this.dictionary!;
    const n = this.length;
    let size = 0;
    for (let i = 0; i < n; i++) {
      const j = codes[i]!;
      if (j >= 0) size += dof[j + 1]! - dof[j]!;
    }
    const out = new Uint8Array(size);
    const offsets = new Int32Array(n + 1);
    let q = 0;
    for (let i = 0; i < n; i++) {
      const j = codes[i]!;
      if (j >= 0) {
        const a = dof[j]!;
        const e = dof[j + 1]!;
        if (e - a < 16) for (let t = a; t < e; t++) out[q++] = bytes[t]!;
        else {
          out.set(bytes.subarray(a, e), q);
          q += e - a;
        }
      }
      offsets[i + 1] = q;
    }
    this.bytesOrValues = out;
    this.byteOffsets = offsets;
    this.pending = false;
  }

  isValid(i: number): boolean {
    const m = this.validity;
    return m === null || ((m[i >> 3]! >> (i & 7)) & 1) === 1;
  }

  /** The value at `i` as JavaScript sees it in expressions: numbers (int64 as Number), timestamps in epoch ms, booleans, strings; null where null. */
  get(i: number): number | boolean | string | null {
    if (!this.isValid(i)) return null;
    const t = this.type;
    if (t === "utf8") return this.strings()[i]!;
    if (t === "bool") return (((this.values[i >> 3] as number) >> (i & 7)) & 1) === 1;
    if (t === "date32") return (this.values[i] as number) * 86_400_000;
    if (isTimestamp(t)) return Number(this.values[i] as bigint) * MS_PER_UNIT[timestampUnit(t)];
    return Number(this.values[i]);
  }

  /** The raw value at `i`: bigint for 64-bit types, numbers, booleans, strings; null where null. */
  raw(i: number): number | bigint | boolean | string | null {
    if (!this.isValid(i)) return null;
    if (this.type === "utf8") return this.strings()[i]!;
    if (this.type === "bool") return (((this.values[i >> 3] as number) >> (i & 7)) & 1) === 1;
    return this.values[i]!;
  }

  /** A utf8 column's strings (null where null), decoded once. */
  strings(): (string | null)[] {
    if (this.decoded) return this.decoded;
    if (this.type !== "utf8") throw new ArgumentError(`strings() of a ${this.type} column`);
    const out = new Array<string | null>(this.length);
    const d = this.dictionary;
    if (d !== null) {
      // Each entry decoded once.
      const entries = Array.from({ length: d.size }, (_, j) => decodeUtf8(d.bytes, d.offsets[j]!, d.offsets[j + 1]!));
      for (let i = 0; i < this.length; i++) out[i] = d.codes[i]! < 0 ? null : entries[d.codes[i]!]!;
      this.decoded = out;
      return out;
    }
    const o = this.offsets!;
    const bytes = this.values as Uint8Array;
    for (let i = 0; i < this.length; i++) out[i] = this.isValid(i) ? decodeUtf8(bytes, o[i]!, o[i + 1]!) : null;
    this.decoded = out;
    return out;
  }

  /** Bytes the buffers take. */
  get nbytes(): number {
    return this.values.byteLength + (this.validity?.byteLength ?? 0) + (this.offsets?.byteLength ?? 0);
  }

  /** Rows `idx[0..n)` of this column, in that order (a gather). */
  take(idx: Int32Array | Uint32Array, n = idx.length): Column {
    const t = this.type;
    const m = this.validity;
    let validity: Uint8Array | null = null;
    let nulls = 0;
    if (m !== null) {
      validity = new Uint8Array((n + 7) >> 3);
      for (let k = 0; k < n; k++) {
        const i = idx[k]!;
        if ((m[i >> 3]! >> (i & 7)) & 1) validity[k >> 3]! |= 1 << (k & 7);
        else nulls++;
      }
    }
    if (t === "utf8" && this.pending) {
      // Still codes: the rows' codes are gathered, the bytes left for when they are asked for.
      const d = this.dictionary!;
      const codes = new Int32Array(n);
      for (let k = 0; k < n; k++) codes[k] = d.codes[idx[k]!]!;
      return Column.fromDictionary(n, { codes, bytes: d.bytes, offsets: d.offsets, size: d.size }, validity, nulls);
    }
    if (t === "utf8") {
      const o = this.offsets!;
      const src = this.values as Uint8Array;
      let size = 0;
      for (let k = 0; k < n; k++) size += o[idx[k]! + 1]! - o[idx[k]!]!;
      const bytes = new Uint8Array(size);
      const offsets = new Int32Array(n + 1);
      let p = 0;
      for (let k = 0; k < n; k++) {
        const i = idx[k]!;
        const a = o[i]!;
        const b = o[i + 1]!;
        if (b - a < 16) for (let j = a; j < b; j++) bytes[p++] = src[j]!;
        else {
          bytes.set(src.subarray(a, b), p);
          p += b - a;
        }
        offsets[k + 1] = p;
      }
      const c = new Column(t, n, bytes, validity, nulls, offsets);
      if (this.decoded) c.decoded = Array.from({ length: n }, (_, k) => this.decoded![idx[k]!]!);
      return c;
    }
    if (t === "bool") {
      const src = this.values as Uint8Array;
      const bits = new Uint8Array((n + 7) >> 3);
      for (let k = 0; k < n; k++) {
        const i = idx[k]!;
        if ((src[i >> 3]! >> (i & 7)) & 1) bits[k >> 3]! |= 1 << (k & 7);
      }
      return new Column(t, n, bits, validity, nulls);
    }
    const Ctor = storageOf(t);
    const out = new Ctor(n) as Values;
    const src = this.values;
    // Moved as bits, in loops of one array type each (a loop over every storage type is slow for all
    // of them); 64-bit values as two 32-bit halves: reading a BigInt64Array makes a BigInt per value.
    const width = src.BYTES_PER_ELEMENT;
    if (width === 8)
      gatherPairs(
        new Int32Array(src.buffer, src.byteOffset, src.length * 2),
        new Int32Array(out.buffer, 0, n * 2),
        idx,
        n,
      );
    else if (width === 4)
      gather32(new Int32Array(src.buffer, src.byteOffset, src.length), new Int32Array(out.buffer, 0, n), idx, n);
    else if (width === 2)
      gather16(new Int16Array(src.buffer, src.byteOffset, src.length), new Int16Array(out.buffer, 0, n), idx, n);
    else gather8(new Uint8Array(src.buffer, src.byteOffset, src.length), new Uint8Array(out.buffer, 0, n), idx, n);
    return new Column(t, n, out, validity, nulls);
  }

  /** Rows [start, end) (copies bitmaps and offsets, shares value storage where it can). */
  slice(start: number, end: number): Column {
    start = Math.max(0, Math.min(start, this.length));
    end = Math.max(start, Math.min(end, this.length));
    if (start === 0 && end === this.length) return this;
    const n = end - start;
    if (this.type === "bool" || this.validity !== null || this.type === "utf8") {
      const idx = new Int32Array(n);
      for (let k = 0; k < n; k++) idx[k] = start + k;
      return this.take(idx);
    }
    return new Column(this.type, n, this.values.subarray(start, end) as Values, null, 0);
  }

  /** Columns of one type joined end to end. */
  static concat(cols: readonly Column[]): Column {
    if (cols.length === 1) return cols[0]!;
    const t = cols[0]!.type;
    const n = cols.reduce((s, c) => s + c.length, 0);
    const nulls = cols.reduce((s, c) => s + c.nullCount, 0);
    let validity: Uint8Array | null = null;
    if (nulls > 0) {
      validity = new Uint8Array((n + 7) >> 3);
      let p = 0;
      for (const c of cols) {
        for (let i = 0; i < c.length; i++, p++) if (c.isValid(i)) validity[p >> 3]! |= 1 << (p & 7);
      }
    }
    if (t === "utf8") {
      const size = cols.reduce((s, c) => s + c.offsets![c.length]! - c.offsets![0]!, 0);
      const bytes = new Uint8Array(size);
      const offsets = new Int32Array(n + 1);
      let p = 0;
      let r = 0;
      for (const c of cols) {
        const o = c.offsets!;
        bytes.set((c.values as Uint8Array).subarray(o[0]!, o[c.length]!), p);
        for (let i = 0; i < c.length; i++) offsets[++r] = p + o[i + 1]! - o[0]!;
        p += o[c.length]! - o[0]!;
      }
      return new Column(t, n, bytes, validity, nulls, offsets);
    }
    if (t === "bool") {
      const bits = new Uint8Array((n + 7) >> 3);
      let p = 0;
      for (const c of cols) {
        const v = c.values as Uint8Array;
        for (let i = 0; i < c.length; i++, p++) if ((v[i >> 3]! >> (i & 7)) & 1) bits[p >> 3]! |= 1 << (p & 7);
      }
      return new Column(t, n, bits, validity, nulls);
    }
    const Ctor = storageOf(t);
    const out = new Ctor(n) as Values;
    let p = 0;
    for (const c of cols) {
      (out as Float64Array).set(c.values as Float64Array, p);
      p += c.length;
    }
    return new Column(t, n, out, validity, nulls);
  }

  /** A column of `n` nulls. */
  static nulls(type: DType, n: number): Column {
    const Ctor = storageOf(type);
    const size = type === "bool" ? (n + 7) >> 3 : type === "utf8" ? 0 : n;
    return new Column(
      type,
      n,
      new Ctor(size) as Values,
      new Uint8Array((n + 7) >> 3),
      n,
      type === "utf8" ? new Int32Array(n + 1) : null,
    );
  }
}

function gatherPairs(from: Int32Array, to: Int32Array, idx: Int32Array | Uint32Array, n: number): void {
  for (let k = 0; k < n; k++) {
    const i = idx[k]!;
    to[2 * k] = from[2 * i]!;
    to[2 * k + 1] = from[2 * i + 1]!;
  }
}

function gather32(from: Int32Array, to: Int32Array, idx: Int32Array | Uint32Array, n: number): void {
  for (let k = 0; k < n; k++) to[k] = from[idx[k]!]!;
}

function gather16(from: Int16Array, to: Int16Array, idx: Int32Array | Uint32Array, n: number): void {
  for (let k = 0; k < n; k++) to[k] = from[idx[k]!]!;
}

function gather8(from: Uint8Array, to: Uint8Array, idx: Int32Array | Uint32Array, n: number): void {
  for (let k = 0; k < n; k++) to[k] = from[idx[k]!]!;
}

/** Decodes bytes [a, b) as UTF-8; short ASCII runs without TextDecoder (its call costs more than they do). */
export function decodeUtf8(bytes: Uint8Array, a: number, b: number): string {
  if (b - a < 24) {
    let s = "";
    for (let j = a; j < b; j++) {
      const c = bytes[j]!;
      if (c >= 0x80) return decoder.decode(bytes.subarray(a, b));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return decoder.decode(bytes.subarray(a, b));
}
