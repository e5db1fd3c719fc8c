// meshwork/array in Node: chunked n-d arrays, with Node's transports registered so that arrays
// compute on any cluster a Client connects to.

import "./platform/platform.js";

export * from "../src/array/index.js";
