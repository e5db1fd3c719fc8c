// meshwork/glm in the browser: generalized linear models, fitted in the page or on a cluster a Client connects to.

import "./index.js";

export * from "../src/glm/index.js";
