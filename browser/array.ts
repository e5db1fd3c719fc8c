// meshwork/array in the browser: chunked n-d arrays, computed in the page or on a cluster a Client connects to.

import "./index.js";

export * from "../src/array/index.js";
