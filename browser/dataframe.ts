// meshwork/dataframe in the browser: partitioned Arrow tables, computed in the page or on a cluster a Client connects to.

import "./index.js";

export * from "../src/dataframe/index.js";
