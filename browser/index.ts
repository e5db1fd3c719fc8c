// meshwork's browser entry: the shared API (Client, futures, asCompleted, errors, and the
// in-page Scheduler and Worker). Browser tabs as workers, the worker page and the WebRTC transport
// come with the browser work; this entry is the same web-standard core that Node runs.

export * from "../src/index.js";
