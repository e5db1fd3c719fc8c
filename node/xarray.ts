// meshwork/xarray in Node: labeled arrays, with Node's transports and file system registered.

import "./platform/platform.js";

export * from "../src/xarray/index.js";
