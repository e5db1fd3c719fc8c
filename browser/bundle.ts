// The ready-made browser bundle (scripts/build.mjs builds it into dist/page/meshwork.js; the
// scheduler serves it at /meshwork.js): meshwork's browser entry, with the collections as
// namespaces, for a page that imports it without a bundler:
//   import { Client, array } from "http://scheduler:8786/meshwork.js";

export * from "./index.js";
export * as array from "./array.js";
export * as xarray from "./xarray.js";
export * as dataframe from "./dataframe.js";
export * as glm from "./glm.js";
