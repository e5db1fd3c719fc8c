// meshwork/xarray in the browser: labeled arrays over Zarr stores and NetCDF files reached by URL.

import "./index.js";

export * from "../src/xarray/index.js";
