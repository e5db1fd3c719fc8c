// The kind a worker reports to its scheduler when its options name none: the platform it runs on.
// The scheduler sends each worker the build of a task module for its kind (platforms.ts), so a
// worker in a browser page must say "browser", not "thread": meshwork's browser entry sets it.
// A fact of the realm (every worker in a page runs on a browser), so one setting per realm, not a
// dependency passed per instance: two clusters in one page cannot disagree about it.

import type { WorkerKind } from "../protocol/messages.js";

let platformKind: WorkerKind = "thread";

/** Sets the kind workers started in this process report by default (browser/index.ts: "browser"). */
export function setPlatformWorkerKind(kind: WorkerKind): void {
  platformKind = kind;
}

/** The kind a worker reports when its options name none: "thread" in Node, "browser" from the browser entry. */
export function platformWorkerKind(): WorkerKind {
  return platformKind;
}
