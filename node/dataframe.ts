// meshwork/dataframe in Node: partitioned Arrow tables, with Node's transports and file system
// registered so that frames read files and compute on any cluster a Client connects to.

import "./platform/platform.js";

export * from "../src/dataframe/index.js";
