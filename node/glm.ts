// meshwork/glm in Node: generalized linear models, with Node's transports registered so that
// fits run on any cluster a Client connects to, or on local threads.

import "./platform/platform.js";

export * from "../src/glm/index.js";
