// meshwork's Node entry point: the shared API plus what only Node has (LocalCluster, bundling).

import "./platform/platform.js";

export * from "../src/index.js";
export { LocalCluster } from "./hosts/local-cluster.js";
export { banFile } from "./platform/ban-file.js";
export type { LocalClusterOptions } from "./hosts/local-cluster.js";
export type { ThreadWorker } from "./hosts/thread-host.js";
export type { AdaptOptions } from "../src/scheduler/adaptive.js";
