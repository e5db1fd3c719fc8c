// meshwork/dataframe: partitioned tables on Apache Arrow, like dask.dataframe. Frames come from
// Parquet and CSV files (planned from metadata, read where each task runs) or from Arrow tables and
// records held here; verbs compile row expressions to column loops; reductions, groupby and joins
// run as trees of tasks on any scheduler; compute() gives an Arrow Table.
// `import * as dd from "meshwork/dataframe"`.

import "../client/local.js";
import "./register.js";

export { DataFrame } from "./frame.js";
export type {
  AssignValue,
  ExprOptions,
  MapPartitionsOptions,
  ReduceFrameOptions,
  Row,
  Params,
  RowExpr,
} from "./options.js";
export { GroupBy } from "./reduce.js";
export type { AggSpec, TreeOptions } from "./reduce.js";
export type { AggName } from "./kernels/aggregate.js";
export { LazyValue } from "./lazy.js";
export { readParquet, readCsv, fromArrow, fromRecords } from "./create.js";
export type { WriteOptions } from "./create.js";
export type { ReadParquetOptions } from "./io/parquet.js";
export type { Filters, FilterOp, Condition } from "./io/filters.js";
export type { ReadCsvOptions } from "./io/csv.js";
export { BROADCAST_MAX_BYTES } from "./merge.js";
export type { MergeOptions } from "./merge.js";
export { MAX_SHUFFLE_PIECES, SORT_SAMPLES_PER_PARTITION } from "./shuffle.js";
export type { SortOptions, RepartitionOptions, RepartitionBySizeOptions } from "./shuffle.js";
export type { DType } from "./dtypes.js";
export type { Schema } from "./part.js";
export { Part } from "./part.js";
export { toArrow } from "./arrow.js";
export { ColumnError, SchemaError, ParseError, NotSupportedError } from "../errors.js";
