// Client.upload's module work: the platform bundles the module (for Node and, unless it needs
// Node, for browsers), the builds are named by content hash, and its exports become task handles.

import { ArgumentError } from "../errors.js";
import type { ModuleDef } from "../protocol/messages.js";
import { hash64 } from "../util/ids.js";
import { makeTaskHandle } from "./arguments.js";
import type { TaskHandle, TaskModule } from "./options.js";
import type { ClientPlatform } from "./platform.js";

/**
 * Bundles `module` with `platform`, stores it through `store` (the scheduler's "upload" request)
 * and returns handles for its exported functions; other exports are their values.
 */
export async function uploadModule<M>(
  platform: ClientPlatform | null,
  module: string | URL,
  store: (def: ModuleDef) => Promise<unknown>,
): Promise<TaskModule<M>> {
  if (!platform) throw new ArgumentError("upload needs a bundler; it is available when meshwork is imported in Node");
  const { source, exports, values, browser, nodeOnly } = await platform.bundle(module);
  // Content-hashed: each build by its text, the module by both (or by its Node build and why it has no other).
  const def: ModuleDef =
    browser !== undefined
      ? { hash: hash64(source, browser), source, exports, browser: { hash: hash64(browser), source: browser } }
      : { hash: hash64(source, "node-only"), source, exports, nodeOnly: nodeOnly ?? "it was built for Node only" };
  const hash = def.hash;
  await store(def);
  const handles: Record<string, TaskHandle | unknown> = {};
  for (const name of exports)
    handles[name] = values && Object.hasOwn(values, name) ? values[name] : makeTaskHandle(hash, name);
  return Object.freeze(handles) as unknown as TaskModule<M>;
}
