// meshwork/xarray: labeled arrays (xarray for JavaScript) over meshwork's chunked arrays: named
// dimensions, coordinates and attributes; NetCDF and Zarr in, Zarr out.
// `import { openDataset, openMfDataset } from "meshwork/xarray"`.

import "../client/local.js";

export { DataArray } from "./dataarray.js";
export type { DataArrayInit, Operand } from "./dataarray.js";
export { Dataset } from "./dataset.js";
export { Coordinate } from "./coords.js";
export type { CoordKind, Label } from "./coords.js";
export { GroupBy } from "./groupby.js";
export type { GroupReduceOptions } from "./groupby.js";
export type { ReduceOptions } from "./reduce.js";
export type { LabelSelector, Positions, SelOptions } from "./indexing.js";
export { openDataset } from "./open.js";
export { openMfDataset } from "./open-mf.js";
export type { OpenOptions } from "./open.js";
export type { OpenMfOptions } from "./open-mf.js";
export type { ToZarrOptions } from "./write.js";
export { parseDate, formatDate } from "./cf.js";
