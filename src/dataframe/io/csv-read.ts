// The worker's side of readCsv: one block of one file, read by byte range (plus what it takes to
// reach the end of the block's last line), parsed into columns of the planned types. A malformed
// row is a ParseError naming the file and line (or skipped, with onBadLines: "skip").

import { ParseError, SchemaError } from "../../errors.js";
import { realmStores, type Stores } from "../../io/store.js";
import { Part } from "../part.js";
import { builderFor, fieldText, tokenize } from "./csv-parse.js";
import { readRange } from "./files.js";
import type { CsvReadSpec } from "./csv.js";

/** Bytes read past a block's end at a time, looking for the newline that ends its last line. */
const OVERHANG = 64 * 1024;
const NL = 10;

/** One planned block of a CSV file as a partition, read through `stores` (the running member's; default the realm's). */
export async function readCsvPart(spec: CsvReadSpec, stores: Stores = realmStores): Promise<Part> {
  const { url, size, start, end } = spec;
  // The block's bytes, then more until the first newline at or past `end` (or the file's end).
  const pieces: Uint8Array[] = [await readRange(url, { offset: start, length: end - start }, stores)];
  let stop = -1; // absolute offset just past the block's last line
  let at = end;
  if (end >= size) stop = size;
  else {
    for (;;) {
      const more = await readRange(url, { offset: at, length: Math.min(OVERHANG, size - at) }, stores);
      const nl = more.indexOf(NL);
      if (nl >= 0) {
        pieces.push(more.subarray(0, nl + 1));
        stop = at + nl + 1;
        break;
      }
      pieces.push(more);
      at += more.length;
      if (at >= size) {
        stop = size;
        break;
      }
    }
  }
  const bytes = pieces.length === 1 ? pieces[0]! : concatBytes(pieces);
  // Where the block's first line starts: after the first newline at or past `start`.
  let begin = 0;
  if (start > 0) {
    const nl = bytes.indexOf(NL);
    begin = nl < 0 ? bytes.length : nl + 1;
  }
  const text = new TextDecoder().decode(bytes.subarray(begin, stop - start));
  const builders = spec.types.map(builderFor);
  const sep = spec.sep.charCodeAt(0);
  const width = spec.names.length;
  let firstLine = start === 0; // the file's header
  let error: { line: number; message: string } | null = null;
  tokenize(text, sep, (n, line, starts, ends, quoted) => {
    if (error) return;
    if (firstLine) {
      firstLine = false;
      const header = Array.from({ length: n }, (_, k) => fieldText(text, starts[k]!, ends[k]!, quoted[k]!));
      if (header.join("\u0000") !== spec.names.join("\u0000")) error = { line, message: `SCHEMA:${header.join(", ")}` };
      return;
    }
    if (n !== width) {
      if (spec.onBadLines === "skip") return;
      error = { line, message: `expected ${width} fields, saw ${n}` };
      return;
    }
    for (let k = 0; k < n; k++) {
      const s = starts[k]!;
      const e = ends[k]!;
      const b = builders[k]!;
      if (e === s && !quoted[k]) {
        b.addNull();
        continue;
      }
      const t = fieldText(text, s, e, quoted[k]!);
      if (!b.add(t)) {
        error = {
          line,
          message: `column ${JSON.stringify(spec.names[k])} is ${spec.types[k]}${spec.types[k] === "utf8" ? "" : " (inferred from the first file's first rows unless given)"}, but this row holds ${JSON.stringify(t.length > 40 ? `${t.slice(0, 40)}…` : t)}; read it as text with dtypes: { ${JSON.stringify(spec.names[k])}: "utf8" }`,
        };
        return;
      }
    }
  });
  if (error) {
    const e = error as { line: number; message: string };
    const lineNo = (await linesBefore(url, start + begin, stores)) + e.line + 1;
    if (e.message.startsWith("SCHEMA:"))
      throw new SchemaError(`${url} has the header ${e.message.slice(7)}; the first file has ${spec.names.join(", ")}`);
    throw new ParseError(`${url}, line ${lineNo}: ${e.message}`, url, lineNo);
  }
  return new Part(
    spec.names,
    builders.map((b) => b.finish()),
  );
}

function concatBytes(pieces: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((s, p) => s + p.length, 0));
  let p = 0;
  for (const x of pieces) {
    out.set(x, p);
    p += x.length;
  }
  return out;
}

/** Newlines in the file before byte `offset` (read only when an error needs a line number). */
async function linesBefore(url: string, offset: number, stores: Stores): Promise<number> {
  let count = 0;
  const step = 8 * 1024 * 1024;
  for (let at = 0; at < offset; at += step) {
    const b = await readRange(url, { offset: at, length: Math.min(step, offset - at) }, stores);
    for (let i = 0; i < b.length; i++) if (b[i] === NL) count++;
  }
  return count;
}
