// The worker's side of readParquet: one row group's requested columns, read by byte ranges from the
// file's store (hyparquet plans the ranges from the footer, cached per process) and turned into a
// partition. Errors name the file, the row group and the column.

import { parquetRead, type ColumnMetaData, type FileMetaData, type RowGroup, type SchemaElement } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { FormatError, SchemaError, StoreError } from "../../errors.js";
import { Column, rawColumn, stringColumn, type Values } from "../column.js";
import { storageOf, type DType } from "../dtypes.js";
import { Part } from "../part.js";
import { filterRows } from "./filters.js";
import { leaseScratch, type ScratchLease } from "../../util/scratch.js";
import { realmStores, type Stores } from "../../io/store.js";
import { storeOf } from "./files.js";
import { parquetColumns, RAW_PARSERS, readFooter } from "./parquet-meta.js";
import { decodeFlatChunk, flatChunkSupported } from "./parquet-pages.js";
import type { ParquetReadSpec } from "./parquet.js";

/**
 * Footers read in this process, by the stores read through, URL and size (a rewritten file of
 * another size is read again; a footer read with one member's credentials is not another's).
 */
const footers = new Map<string, Promise<FileMetaData>>();
const MAX_FOOTERS = 64;

function footer(url: string, size: number, stores: Stores): Promise<FileMetaData> {
  const key = `${stores.id}|${size}:${url}`;
  let p = footers.get(key);
  if (!p) {
    if (footers.size >= MAX_FOOTERS) footers.delete(footers.keys().next().value!);
    p = readFooter(url, size, stores);
    p.catch(() => footers.delete(key));
    footers.set(key, p);
  }
  return p;
}

/** A planned row group, checked against its file as it is now (the footer cached per process). */
export interface RowGroupAt {
  meta: FileMetaData;
  rg: RowGroup;
  rows: number;
  /** The row group's first row in the file. */
  rowStart: number;
}

export async function openRowGroup(spec: ParquetReadSpec, stores: Stores = realmStores): Promise<RowGroupAt> {
  const meta = await footer(spec.url, spec.size, stores);
  const rg = meta.row_groups[spec.rowGroup];
  if (!rg)
    throw new StoreError(`${spec.url} has no row group ${spec.rowGroup}: it changed since it was planned`, spec.url);
  const found = new Map(parquetColumns(meta).map((c) => [c.name, c.type]));
  spec.read.forEach((c, j) => {
    if (found.get(c) !== spec.types[j])
      throw new SchemaError(
        `${spec.url}: column ${JSON.stringify(c)} is ${JSON.stringify(found.get(c) ?? "missing")}, not ${spec.types[j]} as planned: the file changed since it was planned`,
      );
  });
  let rowStart = 0;
  for (let g = 0; g < spec.rowGroup; g++) rowStart += Number(meta.row_groups[g]!.num_rows);
  return { meta, rg, rows: Number(rg.num_rows), rowStart };
}

/** A flat column's chunk in a row group, with its schema element, when the page decoder takes it; else null. */
export function flatChunk(
  at: RowGroupAt,
  name: string,
  type: DType,
): { element: SchemaElement; meta: ColumnMetaData } | null {
  const element = topLevelElements(at.meta).get(name);
  const cm = at.rg.columns.find(
    (c) => c.meta_data?.path_in_schema.length === 1 && c.meta_data.path_in_schema[0] === name,
  )?.meta_data;
  if (!element || !cm || !flatChunkSupported(element, cm, type)) return null;
  return { element, meta: cm };
}

/**
 * A column chunk's bytes (from its dictionary page or first data page to its end), in the
 * thread's scratch buffer where `lease` gets it (../../util/scratch.ts): a chunk is decoded or
 * counted before its lease is released, and nothing decoded keeps a view of it.
 */
export async function chunkBytes(
  spec: ParquetReadSpec,
  cm: ColumnMetaData,
  lease?: ScratchLease,
  stores: Stores = realmStores,
): Promise<Uint8Array> {
  const { store, key } = storeOf(spec.url, stores);
  const start = Number(cm.dictionary_page_offset ?? cm.data_page_offset);
  const length = Number(cm.total_compressed_size);
  const bytes = await store.get(key, { offset: start, length }, lease && ((n) => lease.take(n)));
  if (!bytes || bytes.length < length)
    throw new StoreError(`${spec.url} ends before byte ${start + length}: it changed since it was planned`, spec.url);
  return bytes;
}

/** One planned row group's partition, read through `stores` (the running member's; default the realm's). */
export async function readParquetPart(spec: ParquetReadSpec, stores: Stores = realmStores): Promise<Part> {
  const at = await openRowGroup(spec, stores);
  const { meta, rows, rowStart } = at;
  const { store, key } = storeOf(spec.url, stores);
  const file = {
    byteLength: spec.size,
    async slice(start: number, end = spec.size): Promise<ArrayBuffer> {
      const b = await store.get(key, { offset: start, length: end - start });
      if (!b || b.length < end - start)
        throw new StoreError(`${spec.url} ends before byte ${end}: it changed since it was planned`, spec.url);
      return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength
        ? (b.buffer as ArrayBuffer)
        : (b.slice().buffer as ArrayBuffer);
    },
  };
  // Flat columns decode page by page straight into their buffers (parquet-pages.ts); the rest,
  // and any chunk with a page that path does not handle, through hyparquet.
  const decoded = new Map<string, Column>();
  await Promise.all(
    spec.read.map(async (name, j) => {
      const flat = flatChunk(at, name, spec.types[j]!);
      if (!flat) return;
      const lease = leaseScratch();
      const where = `${spec.url}, row group ${spec.rowGroup}, column ${JSON.stringify(name)}`;
      let col: Column | null;
      try {
        const bytes = await chunkBytes(spec, flat.meta, lease, stores);
        col = decodeFlatChunk(bytes, rows, flat.element, flat.meta, spec.types[j]!, compressors, where);
      } catch (err) {
        if (err instanceof FormatError || err instanceof StoreError) throw err;
        throw new FormatError(`${where}: ${(err as Error).message}`, { cause: err });
      } finally {
        lease.release();
      }
      if (col) decoded.set(name, col);
    }),
  );
  const rest = spec.read.filter((c) => !decoded.has(c));
  const chunks = new Map<string, { start: number; data: ArrayLike<unknown> }[]>();
  if (rest.length > 0) {
    try {
      await parquetRead({
        file,
        metadata: meta,
        columns: rest,
        rowStart,
        rowEnd: rowStart + rows,
        compressors,
        parsers: RAW_PARSERS,
        onChunk: ({ columnName, columnData, rowStart: from }) => {
          let list = chunks.get(columnName);
          if (!list) chunks.set(columnName, (list = []));
          list.push({ start: from - rowStart, data: columnData as ArrayLike<unknown> });
        },
      });
    } catch (err) {
      if (err instanceof StoreError) throw err;
      const msg = (err as Error).message;
      const enc = /unsupported encoding: (\S+)/.exec(msg);
      const codec = /codec|compression|decompress/i.test(msg);
      throw new FormatError(
        `${spec.url}, row group ${spec.rowGroup}: ${enc ? `a page is encoded with ${enc[1]}, which meshwork's Parquet reader (hyparquet) does not decode` : codec ? `cannot decompress: ${msg}` : msg}`,
        { cause: err },
      );
    }
  }
  const cols = spec.read.map(
    (name, j) => decoded.get(name) ?? toColumn(spec.types[j]!, rows, chunks.get(name) ?? [], name, spec),
  );
  let part = new Part(spec.read, cols, rows);
  const keep = filterRows(part, spec.filters);
  if (keep) part = part.take(keep);
  return spec.keep.length === spec.read.length ? part : part.select(spec.keep);
}

/** hyparquet's chunks of one column (typed arrays without nulls, plain arrays with them) as one Column. */
function toColumn(
  type: DType,
  rows: number,
  chunks: { start: number; data: ArrayLike<unknown> }[],
  name: string,
  spec: ParquetReadSpec,
): Column {
  chunks.sort((a, b) => a.start - b.start);
  const got = chunks.reduce((s, c) => s + c.data.length, 0);
  if (got !== rows)
    throw new FormatError(
      `${spec.url}, row group ${spec.rowGroup}: column ${JSON.stringify(name)} decoded to ${got} values for ${rows} rows`,
    );
  const Ctor = storageOf(type);
  if (
    chunks.length === 1 &&
    chunks[0]!.data instanceof (Ctor as unknown as typeof Uint8Array) &&
    type !== "bool" &&
    type !== "utf8"
  ) {
    return new Column(type, rows, chunks[0]!.data as unknown as Values, null, 0);
  }
  const all: unknown[] = new Array(rows);
  let p = 0;
  for (const c of chunks) for (let i = 0; i < c.data.length; i++) all[p++] = c.data[i];
  if (type === "utf8") return stringColumn(all as (string | null)[]);
  return rawColumn(type, all);
}

/** The schema elements of the top-level columns, by name. */
function topLevelElements(meta: FileMetaData): Map<string, SchemaElement> {
  const out = new Map<string, SchemaElement>();
  const schema = meta.schema;
  let i = 1;
  for (let c = 0; c < (schema[0]?.num_children ?? 0) && i < schema.length; c++) {
    const el = schema[i]!;
    out.set(el.name, el);
    // Skip the element's descendants.
    let pending = el.num_children ?? 0;
    i++;
    while (pending > 0 && i < schema.length) pending += (schema[i++]!.num_children ?? 0) - 1;
  }
  return out;
}
