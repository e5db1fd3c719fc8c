// CSV text into columns: a tokenizer that finds each record's fields as offsets into the text (one
// reused buffer of offsets, no array per row), and per-column builders that parse the fields into
// the column's type. Quotes ("…", "" inside) as RFC 4180; \r\n and \n end records.

import { ParseError } from "../../errors.js";
import { type Column, rawColumn, stringColumn } from "../column.js";
import { isInteger, isTimestamp, MS_PER_UNIT, timestampUnit, type DType, type TimestampType } from "../dtypes.js";

const QUOTE = 34;
const CR = 13;
const LF = 10;

/**
 * Calls `onRecord(n, line)` for each record, with fields [starts[k], ends[k]) of `text` (quoted
 * ones flagged in `quoted`, their quotes already excluded). `line` counts from 0 at the text's start.
 */
export function tokenize(
  text: string,
  sep: number,
  onRecord: (n: number, line: number, starts: Int32Array, ends: Int32Array, quoted: Uint8Array) => void,
): void {
  let cap = 64;
  let starts = new Int32Array(cap);
  let ends = new Int32Array(cap);
  let quoted = new Uint8Array(cap);
  let n = 0;
  let line = 0;
  let recordLine = 0;
  let i = 0;
  const len = text.length;
  const push = (s: number, e: number, q: number) => {
    if (n === cap) {
      cap *= 2;
      const s2 = new Int32Array(cap);
      s2.set(starts);
      starts = s2;
      const e2 = new Int32Array(cap);
      e2.set(ends);
      ends = e2;
      const q2 = new Uint8Array(cap);
      q2.set(quoted);
      quoted = q2;
    }
    starts[n] = s;
    ends[n] = e;
    quoted[n] = q;
    n++;
  };
  while (i < len) {
    // One field.
    let c = text.charCodeAt(i);
    if (c === QUOTE) {
      const s = i + 1;
      let j = s;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q < 0) {
          j = len;
          break;
        }
        if (text.charCodeAt(q + 1) === QUOTE) {
          j = q + 2;
          continue;
        }
        j = q;
        break;
      }
      for (let k = s; k < j; k++) if (text.charCodeAt(k) === LF) line++;
      push(s, j, 1);
      i = j + 1;
      // Anything between the closing quote and the separator is dropped (lenient, as pandas).
      while (i < len && text.charCodeAt(i) !== sep && text.charCodeAt(i) !== LF && text.charCodeAt(i) !== CR) i++;
      c = i < len ? text.charCodeAt(i) : LF;
    } else {
      const s = i;
      while (i < len) {
        c = text.charCodeAt(i);
        if (c === sep || c === LF) break;
        i++;
      }
      let e = i;
      if (e > s && text.charCodeAt(e - 1) === CR && (i >= len || c === LF)) e--;
      push(s, e, 0);
      if (i >= len) c = LF;
    }
    if (c === sep) {
      i++;
      if (i >= len) push(i, i, 0);
      continue;
    }
    if (c === CR) {
      i++;
      c = i < len ? text.charCodeAt(i) : LF;
    }
    // End of record (LF or end of text).
    i++;
    if (!(n === 1 && ends[0] === starts[0] && !quoted[0])) onRecord(n, recordLine, starts, ends, quoted);
    n = 0;
    line++;
    recordLine = line;
  }
  if (n > 0) onRecord(n, recordLine, starts, ends, quoted);
}

export function fieldText(text: string, s: number, e: number, quoted: number): string {
  const t = text.slice(s, e);
  return quoted && t.includes('"') ? t.replaceAll('""', '"') : t;
}

const TRUE = new Set(["true", "True", "TRUE"]);
const FALSE = new Set(["false", "False", "FALSE"]);
const INT = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|nan|NaN|inf|-inf|Infinity|-Infinity)$/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Epoch ms of an ISO date or date-time (a time without zone is UTC, as pandas' naive times), or NaN. */
export function parseIsoMs(s: string): number {
  const m = ISO.exec(s);
  if (!m) return NaN;
  let ms = Date.UTC(
    +m[1]!,
    +m[2]! - 1,
    +m[3]!,
    +(m[4] ?? 0),
    +(m[5] ?? 0),
    +(m[6] ?? 0),
    m[7] ? Math.floor(+`0.${m[7]}` * 1000) : 0,
  );
  if (m[8] && m[8] !== "Z") {
    const z = m[8].replace(":", "");
    ms -= (z[0] === "-" ? -1 : 1) * (+z.slice(1, 3) * 60 + +z.slice(3, 5)) * 60_000;
  }
  return ms;
}

/** The type a column's sample values suggest: int64, float64, bool, timestamp[ms] or utf8 (all empty: float64, as pandas). */
export function inferType(values: readonly string[]): DType {
  const present = values.filter((v) => v !== "");
  if (present.length === 0) return "float64";
  if (present.every((v) => INT.test(v))) return "int64";
  if (present.every((v) => FLOAT.test(v))) return "float64";
  if (present.every((v) => TRUE.has(v) || FALSE.has(v))) return "bool";
  if (present.every((v) => ISO.test(v))) return "timestamp[ms]";
  return "utf8";
}

/** Builds one column from field texts. `add` returns false when the text is not of the type. */
export interface Builder {
  add(s: string): boolean;
  addNull(): void;
  finish(): Column;
}

export function builderFor(type: DType): Builder {
  if (type === "utf8") {
    const out: (string | null)[] = [];
    return { add: (s) => (out.push(s), true), addNull: () => void out.push(null), finish: () => stringColumn(out) };
  }
  const out: unknown[] = [];
  let parse: (s: string) => unknown;
  if (type === "bool") parse = (s) => (TRUE.has(s) ? true : FALSE.has(s) ? false : undefined);
  else if (isInteger(type))
    parse = (s) => (INT.test(s) ? (type === "int64" || type === "uint64" ? BigInt(s) : Number(s)) : undefined);
  else if (type === "float32" || type === "float64")
    parse = (s) =>
      FLOAT.test(s) ? (s.endsWith("inf") ? (s[0] === "-" ? -Infinity : Infinity) : Number(s)) : undefined;
  else if (isTimestamp(type)) {
    const per = MS_PER_UNIT[timestampUnit(type as TimestampType)];
    parse = (s) => {
      const ms = parseIsoMs(s);
      return Number.isNaN(ms) ? undefined : BigInt(Math.round(ms / per));
    };
  } else if (type === "date32")
    parse = (s) => {
      const ms = parseIsoMs(s);
      return Number.isNaN(ms) ? undefined : Math.floor(ms / 86_400_000);
    };
  else throw new ParseError(`cannot read CSV values as ${type}`, "", 0);
  return {
    add(s) {
      const v = parse(s.trim());
      if (v === undefined) return false;
      out.push(v);
      return true;
    },
    addNull: () => void out.push(null),
    finish: () => rawColumn(type, out),
  };
}
