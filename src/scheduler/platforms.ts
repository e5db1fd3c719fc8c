// Workers run on two platforms: Node (threads and processes) and browsers (tabs). A task module is
// built for both; each worker gets the build for its platform, and the tasks of a module that
// needs Node (no browser build) are placed on Node workers only. A worker's platform is its kind.

import type { ModuleDef, TaskMsg } from "../protocol/messages.js";
import type { WorkerRecord } from "./model.js";

/** Whether `ws` runs in a browser (a tab's Web Worker). */
export function inBrowser(ws: WorkerRecord): boolean {
  return ws.kind === "browser";
}

/**
 * The module as `ws` is sent it: Node workers the Node build; tabs the browser build, or, for a
 * module that needs Node, no source and the reason (a tab given one of its tasks says so).
 */
export function moduleFor(module: ModuleDef, ws: WorkerRecord): ModuleDef {
  const { hash, source, exports, browser, nodeOnly } = module;
  if (!inBrowser(ws)) return { hash, source, exports };
  return browser
    ? { hash, source: browser.source, exports }
    : { hash, source: "", exports, nodeOnly: nodeOnly ?? "it has no browser build" };
}

/** Why task `t` runs on Node workers only (its function is in a module that needs Node), or undefined. */
export function needsNode(t: TaskMsg, modules: ReadonlyMap<string, ModuleDef>): string | undefined {
  if (t.fn.kind !== "module") return undefined;
  const nodeOnly = modules.get(t.fn.module)?.nodeOnly;
  return nodeOnly === undefined ? undefined : `its task module needs Node: ${nodeOnly}`;
}
