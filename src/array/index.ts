// meshwork/array: chunked n-d arrays that feel like NumPy (dask.array for JavaScript), computed on
// a cluster or, with none, on this machine. `import * as mw from "meshwork/array"`.

import "../client/local.js";

export { ChunkedArray } from "./core.js";
export type {
  ArrayValue,
  NumberArray,
  BooleanArray,
  FullReduceOptions,
  FullVarOptions,
  FullArgOptions,
} from "./result.js";
export { ChunkedArray as Array } from "./core.js";
export { NDArray } from "./ndarray.js";
export type { DType, TypedArray } from "./dtype.js";
export { DTYPES } from "./dtype.js";
export type { Chunks, ChunksSpec } from "./chunks.js";
export type { Index, SliceSpec } from "./indexing.js";
export { setPrintOptions, getPrintOptions } from "./print.js";
export type { PrintOptions } from "./print.js";
export { fromArray, full, zeros, ones, arange, linspace, random, uniform, normal } from "./creation.js";
export type { CreateOptions, ChunkOptions, RandomOptions } from "./creation.js";
export { where, clip, astype, transpose } from "./elementwise.js";
export type { ArrayLike } from "./elementwise.js";
export { concatenate, stack, mapBlocks, reshape } from "./shape.js";
export type { MapBlocksOptions } from "./shape.js";
export { rechunk } from "./rechunk.js";
export { mapBlockValues, reduceBlocks, BlockValues } from "./block-values.js";
export type { BlockValuesOptions, ReduceBlocksOptions } from "./block-values.js";
export { tensordot, matmul, dot } from "./linalg.js";
/** NumPy's np.linalg: `mw.linalg.norm(x, { ord, axis })`. */
export * as linalg from "./norm.js";
export type { NormOptions } from "./norm.js";
export type { ReduceOptions, VarOptions, ArgOptions } from "./reductions.js";
export { fromZarr, inspectZarr } from "../io/zarr.js";
export { toZarr } from "../io/zarr-write.js";
export type { FromZarrOptions, ZarrArrayInfo } from "../io/zarr.js";
export type { ToZarrOptions, Compressor } from "../io/zarr-write.js";
export { fromNetcdf, inspectNetcdf } from "../io/netcdf.js";
export type { FromNetcdfOptions, NetcdfInfo, NetcdfVariableInfo } from "../io/netcdf.js";
export { compute, persist, computeWith, persistWith, release } from "../graph/collection.js";
export type { ComputeOptions, SchedulerChoice } from "../graph/collection.js";
export { delayed, Delayed } from "../graph/delayed.js";
