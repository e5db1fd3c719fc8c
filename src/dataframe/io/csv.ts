// readCsv: files cut into blocks of `blocksize` bytes, planned on the client from the files' sizes
// and a sample of the first file (the header, and the types the first 256 kB suggest); each task
// reads its own block where it runs (csv-read.ts). A block's rows start after the first newline in
// its range and end after the first newline past its end, so every line is read exactly once.

import { ArgumentError, FormatError } from "../../errors.js";
import { Task, type GraphNode } from "../../graph/task.js";
import { storesOf, type StoresSource } from "../../task-context.js";
import { parseBytes } from "../../util/bytes.js";
import { toDType, type DType } from "../dtypes.js";
import type { Schema } from "../part.js";
import { DF } from "../register.js";
import { fieldText, inferType, tokenize } from "./csv-parse.js";
import { readRange, resolveFiles } from "./files.js";

export interface ReadCsvOptions {
  /** Bytes per partition (a number or "64MB"); default 64 MB, as dask. A file smaller than this is one partition. */
  blocksize?: number | string | null;
  /** Types by column name (others are inferred from the first 256 kB of the first file). */
  dtypes?: Record<string, string>;
  /** What to do with a row whose number of fields is wrong: "error" (default) or "skip". */
  onBadLines?: "error" | "skip";
  /** Field separator, one character (default ","). */
  sep?: string;
  /** Bytes of the first file read to infer types (default 256 kB, as dask's `sample`). */
  sample?: number;
  /**
   * What to list the files and read the sample through: a Client, Runtime or LocalCluster (its
   * runtime's stores: the schemes and data credentials it has) or a Stores. Default: the realm's.
   * The blocks are read where their tasks run, through the running worker's stores.
   */
  stores?: StoresSource;
}

export interface CsvReadSpec {
  url: string;
  size: number;
  start: number;
  end: number;
  names: string[];
  types: DType[];
  sep: string;
  onBadLines: "error" | "skip";
}

export const DEFAULT_BLOCKSIZE = 64_000_000;
const DEFAULT_SAMPLE = 256_000;

export async function planCsv(
  paths: string | URL | readonly (string | URL)[],
  options: ReadCsvOptions = {},
): Promise<{ tasks: GraphNode[]; schema: Schema; nbytes: number; token: unknown[] }> {
  const allowed = ["blocksize", "dtypes", "onBadLines", "sep", "sample", "stores"];
  const unknown = Object.keys(options).filter((k) => !allowed.includes(k));
  if (unknown.length > 0)
    throw new ArgumentError(`readCsv options are ${allowed.join(", ")}; unknown: ${unknown.join(", ")}`);
  const onBadLines = options.onBadLines ?? "error";
  if (onBadLines !== "error" && onBadLines !== "skip")
    throw new ArgumentError(`onBadLines is "error" or "skip", got ${JSON.stringify(onBadLines)}`);
  const sep = options.sep ?? ",";
  if (typeof sep !== "string" || sep.length !== 1)
    throw new ArgumentError(`sep is one character, got ${JSON.stringify(sep)}`);
  const blocksize =
    options.blocksize === null
      ? Infinity
      : options.blocksize === undefined
        ? DEFAULT_BLOCKSIZE
        : typeof options.blocksize === "number"
          ? options.blocksize
          : parseBytes(options.blocksize);
  if (!(blocksize > 0)) throw new ArgumentError(`blocksize must be positive, got ${String(options.blocksize)}`);
  const stores = storesOf(options.stores);
  const files = await resolveFiles(paths, [".csv", ".tsv", ".txt"], "readCsv", stores);

  // Header and sample from the first file.
  const first = files[0]!;
  const sampleBytes = Math.min(first.size, options.sample ?? DEFAULT_SAMPLE);
  let text = new TextDecoder().decode(await readRange(first.url, { offset: 0, length: sampleBytes }, stores));
  if (sampleBytes < first.size) text = text.slice(0, text.lastIndexOf("\n") + 1);
  const rows: string[][] = [];
  tokenize(text, sep.charCodeAt(0), (n, _line, starts, ends, quoted) => {
    const r: string[] = [];
    for (let k = 0; k < n; k++) r.push(fieldText(text, starts[k]!, ends[k]!, quoted[k]!));
    rows.push(r);
  });
  const names = rows[0];
  if (!names || names.length === 0) throw new FormatError(`${first.url} has no header line`);
  const dupes = names.filter((n, i) => names.indexOf(n) !== i);
  if (dupes.length > 0)
    throw new FormatError(
      `${first.url}: the header names ${dupes.map((d) => JSON.stringify(d)).join(", ")} more than once`,
    );
  const explicit = options.dtypes ?? {};
  const extra = Object.keys(explicit).filter((k) => !names.includes(k));
  if (extra.length > 0)
    throw new ArgumentError(
      `dtypes names ${extra.map((e) => JSON.stringify(e)).join(", ")}, not in the header of ${first.url} (${names.join(", ")})`,
    );
  const body = rows.slice(1).filter((r) => r.length === names.length);
  const types = names.map((n, j) =>
    explicit[n] !== undefined ? toDType(explicit[n], `dtypes.${n}`) : inferType(body.map((r) => r[j]!)),
  );

  const tasks: GraphNode[] = [];
  const token: unknown[] = [];
  for (const f of files) {
    const step = Math.min(blocksize, Math.max(f.size, 1));
    for (let start = 0; start < f.size || start === 0; start += step) {
      const end = Math.min(f.size, start + step);
      const spec: CsvReadSpec = { url: f.url, size: f.size, start, end, names, types, sep, onBadLines };
      tasks.push(new Task(DF.csvRead, [spec]));
      token.push([f.url, f.size, start, end]);
      if (end >= f.size) break;
    }
  }
  const nbytes = files.reduce((s, f) => s + f.size, 0);
  return { tasks, schema: { names, types }, nbytes, token: [token, types, sep, onBadLines] };
}
