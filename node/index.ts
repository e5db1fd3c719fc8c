// meshwork's Node entry point: the shared API plus what only Node has (LocalCluster, bundling).

import "./platform.js";

export * from "../src/index.js";
export { LocalCluster } from "./local-cluster.js";
export { banFile } from "./ban-file.js";
export type { LocalClusterOptions } from "./local-cluster.js";
export type { ThreadWorker } from "./thread-host.js";
export type { AdaptOptions } from "../src/scheduler/adaptive.js";
