// `readParquet(…).filter(expr).len()` and `readParquet(…).len()` as one task per row group (the
// graph's fusers in ../count-fuse.ts make it): the length from the footer when nothing filters; a
// filter on one numeric column counted page by page as the pages are decompressed, each page's
// values read where they lie (a PLAIN page of doubles is a Float64Array over the decompressed
// bytes) by the filter's own compiled loop in its counting mode: no column, mask or filtered rows
// are made. Anything else (several columns, strings, dnf filters, pages only hyparquet decodes)
// reads the partition as readParquet does and counts it with the same loop.

import { compressors } from "hyparquet-compressors";
import { FormatError, StoreError } from "../../errors.js";
import { realmStores, type Stores } from "../../io/store.js";
import { leaseScratch } from "../../util/scratch.js";
import { Column, type Values } from "../column.js";
import { storageOf, type DType } from "../dtypes.js";
import type { ExprSpec } from "../expr.js";
import { countColumns, countTrue } from "../kernels/expr-run.js";
import { readDictionary, WIDTH, type Dictionary } from "./parquet-encodings.js";
import { numbersInto, Unsupported, walkPages } from "./parquet-pages.js";
import { chunkBytes, flatChunk, openRowGroup, readParquetPart } from "./parquet-read.js";
import type { ParquetReadSpec } from "./parquet.js";

const stats = { scans: 0, pagesInPlace: 0, pagesGathered: 0, general: 0 };

/** Counters for tests and diagnostics: chunks counted page by page (pages read in place or gathered), and partitions counted by the general path. */
export function countScanStats(): typeof stats {
  return { ...stats };
}

/** The rows of a planned row group (after its dnf filters) where `expr` is truthy; all of them when `expr` is null. */
export async function countParquetPart(
  spec: ParquetReadSpec,
  expr: ExprSpec | null,
  stores: Stores = realmStores,
): Promise<number> {
  if (spec.filters.length === 0) {
    const at = await openRowGroup(spec, stores);
    if (expr === null) return at.rows;
    const column = expr.columns.length === 1 ? expr.columns[0]! : null;
    const type = column === null ? null : spec.types[spec.read.indexOf(column)];
    const flat = column !== null && type && type !== "utf8" ? flatChunk(at, column, type) : null;
    if (flat) {
      const lease = leaseScratch();
      const where = `${spec.url}, row group ${spec.rowGroup}, column ${JSON.stringify(column)}`;
      try {
        const bytes = await chunkBytes(spec, flat.meta, lease, stores);
        stats.scans++;
        return countChunk(bytes, at.rows, flat.element.repetition_type === "OPTIONAL", flat.meta, type!, expr, where);
      } catch (err) {
        // The expression's own errors go on as they are, as from filter; the rest is the file's.
        if (err instanceof ExpressionError) throw err.cause;
        if (!(err instanceof Unsupported)) {
          if (err instanceof FormatError || err instanceof StoreError) throw err;
          throw new FormatError(`${where}: ${(err as Error).message}`, { cause: err });
        }
        // A page the scan does not decode: the general path below.
      } finally {
        lease.release();
      }
    }
  }
  stats.general++;
  const part = await readParquetPart(spec, stores);
  return expr === null ? part.length : countTrue(part, expr);
}

/** What the expression threw while counting a page, set apart from the decoding's errors. */
class ExpressionError extends Error {
  constructor(override readonly cause: unknown) {
    super("the filter's expression threw");
  }
}

/** Values of a page gathered for the loop, in a buffer per thread and storage type. */
const gathered = new Map<unknown, Values>();

function gatherBuffer(type: DType, n: number): Values {
  const Ctor = storageOf(type);
  let b = gathered.get(Ctor);
  if (!b || b.length < n) gathered.set(Ctor, (b = new Ctor(Math.max(n, 2 * (b?.length ?? 0))) as Values));
  return b.subarray(0, n) as Values;
}

let bits = new Uint8Array(0);

/** The count of rows of one column chunk where `expr` (reading that column only) is truthy, page by page. */
function countChunk(
  chunk: Uint8Array,
  rows: number,
  optional: boolean,
  meta: Parameters<typeof walkPages>[3],
  type: DType,
  expr: ExprSpec,
  where: string,
): number {
  const physical = meta.type;
  const width = WIDTH[physical]!;
  const Ctor = storageOf(type);
  let dict: Dictionary | null = null;
  let count = 0;
  const cols: Column[] = [];
  walkPages(
    chunk,
    rows,
    optional,
    meta,
    compressors,
    where,
    (bytes, n) => {
      dict = readDictionary(bytes, n, physical, width, type);
    },
    (page) => {
      const { n, defs, bytes } = page;
      const start = bytes.byteOffset + page.at;
      let values: Values;
      if (
        page.encoding === "PLAIN" &&
        defs === null &&
        Ctor.BYTES_PER_ELEMENT === width &&
        start % width === 0 &&
        page.at + n * width <= bytes.length
      ) {
        // The page's values as they lie in the decompressed bytes.
        stats.pagesInPlace++;
        values = new (Ctor as unknown as new (b: ArrayBufferLike, o: number, n: number) => Values)(
          bytes.buffer,
          start,
          n,
        );
      } else {
        stats.pagesGathered++;
        values = gatherBuffer(type, n);
        numbersInto(values, 0, page, dict, physical, where);
      }
      let validity: Uint8Array | null = null;
      if (defs !== null) {
        const size = (n + 7) >> 3;
        if (bits.length < size) bits = new Uint8Array(Math.max(size, 2 * bits.length));
        validity = bits.subarray(0, size).fill(0);
        for (let i = 0; i < n; i++) if (defs[i]) validity[i >> 3]! |= 1 << (i & 7);
      }
      cols[0] = new Column(type, n, values, validity, n - page.present);
      try {
        count += countColumns(cols, n, expr);
      } catch (err) {
        throw new ExpressionError(err);
      }
    },
  );
  return count;
}
